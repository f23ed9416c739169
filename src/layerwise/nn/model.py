"""Model: a trained Network with what it needs to be used on raw data.

A Model bundles the network with its class labels and the preprocessing applied to the
raw inputs during training, so that ``model.predict(raw_X)`` gives labels directly. Model
files (``lw.save``/``lw.load``) and ONNX export work on Models.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self

import numpy as np
from numpy.typing import NDArray

from ..errors import LayerwiseError
from .network import Network
from .types import Array, ArrayLike


class ScalerLike(Protocol):
    """What ``Preprocessing.from_scaler`` reads: a fitted map x -> (x - offset) / scale.

    Any object with the two attributes (or properties) fits; nothing needs to inherit
    from this class.

    See Also
    --------
    Preprocessing.from_scaler : The Preprocessing of such a map.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> class MinMax:
    ...     def __init__(self, X):
    ...         self.offset = X.min(axis=0)
    ...         self.scale = X.max(axis=0) - X.min(axis=0)
    >>> X = np.array([[0.0, 10.0], [4.0, 30.0]])
    >>> pre = lw.Preprocessing.from_scaler(MinMax(X), n_features=2)
    >>> pre.transform(X.copy()).tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """

    @property
    def offset(self) -> ArrayLike:
        """The value subtracted from each feature: one number, or one per feature."""
        ...

    @property
    def scale(self) -> ArrayLike:
        """The value each feature is then divided by: one number, or one per feature."""
        ...


POLARITIES = ("dark_background", "light_background")
"""The values of ``Preprocessing.polarity``: what the training images' background is."""
FRAMINGS = ("mnist", "fill", "none")
"""The values of ``Preprocessing.framing``: how the training images were framed."""


class Preprocessing:
    """The map from raw inputs to the network's inputs: ``(X * scale - mean) / std``.

    ``scale`` is a number (for instance 1/255 for 8-bit pixels); ``mean`` and ``std`` are
    None or arrays of one value per feature (standardisation fitted on training data;
    give constant features a std of 1). For image data, ``image_shape`` is (height, width)
    of the training images and ``pixel_max`` the raw value that stands for full intensity
    (255 for MNIST, 16 for the 8x8 digits); ``layerwise predict`` uses them to turn a PNG
    into a row of raw values. ``polarity`` says what the training images look like
    ("dark_background": bright ink on dark, as MNIST; "light_background": the opposite)
    and ``framing`` how their content was placed in the frame ("mnist": the bounding box
    scaled to fit 20x20 of 28x28, then centred by mass; "fill": the bounding box scaled to
    fill the frame, keeping its aspect ratio, and centred, as Fashion-MNIST; "none": as
    drawn, as the 8x8 digits); ``predict`` inverts and frames an image to match (None:
    unknown, the image is only resized). The seven arguments are kept as attributes of
    those names (``mean`` and ``std`` as float64 arrays, ``image_shape`` as a tuple).

    Parameters
    ----------
    scale : float, default 1.0
        The factor applied first; finite and not 0.
    mean : array_like of shape (n_features,) or None, optional
        Subtracted after scaling (None: nothing); finite.
    std : array_like of shape (n_features,) or None, optional
        Divided by last (None: nothing); positive.
    image_shape : sequence of int or None, optional
        (height, width) of the training images, both positive (None: not image data).
    pixel_max : float or None, optional
        The raw value of full intensity; positive (None: unknown).
    polarity : {"dark_background", "light_background"} or None, optional
        The training images' background (None: unknown).
    framing : {"mnist", "fill", "none"} or None, optional
        How the training images were framed (None: unknown).

    Raises
    ------
    LayerwiseError
        If a value is not a finite number, ``scale`` is 0, ``mean`` or ``std`` is not 1-D,
        ``std`` is not positive for every feature, ``image_shape`` is not two positive
        integers, ``pixel_max`` is not positive, or ``polarity`` or ``framing`` is not one
        of its names.

    See Also
    --------
    Model : A network with its preprocessing and class labels.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> pre = lw.Preprocessing(scale=1 / 16, image_shape=(8, 8), pixel_max=16)
    >>> pre
    Preprocessing(scale=0.0625, image_shape=(8, 8), pixel_max=16)
    >>> pre.transform(np.full((1, 64), 8.0))[0, :3].tolist()
    [0.5, 0.5, 0.5]
    >>> pre = lw.Preprocessing(mean=[1.0, 2.0], std=[2.0, 4.0])
    >>> pre.transform(np.array([[3.0, 2.0]])).tolist()
    [[1.0, 0.0]]
    >>> lw.Preprocessing(scale=1 / 255, image_shape=(28, 28), polarity="dark_background", framing="mnist")
    Preprocessing(scale=0.00392157, image_shape=(28, 28), polarity='dark_background', framing='mnist')
    """

    def __init__(
        self,
        scale: float = 1.0,
        mean: ArrayLike | None = None,
        std: ArrayLike | None = None,
        image_shape: Sequence[int] | None = None,
        pixel_max: float | None = None,
        polarity: str | None = None,
        framing: str | None = None,
    ) -> None:
        self.scale = _finite_number(scale, "preprocessing scale")
        if self.scale == 0:
            raise LayerwiseError("preprocessing scale must not be 0")
        self.mean = None if mean is None else _feature_array(mean, "preprocessing mean")
        self.std = None if std is None else _feature_array(std, "preprocessing std")
        if self.std is not None and np.any(self.std <= 0):
            raise LayerwiseError("preprocessing std must be positive for every feature")
        self.image_shape = None if image_shape is None else _image_shape(image_shape)
        self.pixel_max = None if pixel_max is None else _finite_number(pixel_max, "preprocessing pixel_max")
        if self.pixel_max is not None and self.pixel_max <= 0:
            raise LayerwiseError("preprocessing pixel_max must be positive")
        self.polarity = _choice(polarity, POLARITIES, "polarity")
        self.framing = _choice(framing, FRAMINGS, "framing")

    @classmethod
    def coerce(cls, value: "Preprocessing | dict[str, Any] | None") -> "Preprocessing | None":
        """A Preprocessing from None, a Preprocessing or a dict of its fields.

        Parameters
        ----------
        value : Preprocessing, dict or None
            A Preprocessing (returned as it is), a dict of constructor arguments (as
            ``to_dict`` gives), or None (returned as it is).

        Returns
        -------
        Preprocessing or None
            The Preprocessing, or None for None.

        Raises
        ------
        LayerwiseError
            If ``value`` is another type, the dict has unknown fields, or a value fails the
            constructor's checks.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.Preprocessing.coerce({"scale": 0.5})
        Preprocessing(scale=0.5)
        >>> lw.Preprocessing.coerce(None) is None
        True
        """
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, dict):
            unknown = set(value) - {"scale", "mean", "std", "image_shape", "pixel_max", "polarity", "framing"}
            if unknown:
                raise LayerwiseError(f"unknown preprocessing field(s): {', '.join(sorted(unknown))}")
            return cls(**value)
        raise LayerwiseError(f"preprocessing must be a dict or a Preprocessing, not {type(value).__name__}")

    @classmethod
    def from_scaler(
        cls,
        scaler: ScalerLike,
        n_features: int,
        image_shape: Sequence[int] | None = None,
        pixel_max: float | None = None,
    ) -> Self:
        """A Preprocessing from a fitted scaler, which maps x to (x - offset) / scale.

        The scaler is a fitted ``layerwise.data.preprocessing.Scaler``, or any object with
        ``offset`` and ``scale`` (see ``ScalerLike``): they become ``mean`` and ``std``,
        one value per feature, and ``scale`` stays 1.

        Parameters
        ----------
        scaler : ScalerLike
            The fitted map.
        n_features : int
            Features per row; a single offset or scale is repeated for each.
        image_shape : sequence of int or None, optional
            (height, width) of the training images (None: not image data).
        pixel_max : float or None, optional
            The raw value of full intensity (None: unknown).

        Returns
        -------
        Preprocessing
            ``(X - offset) / scale``.

        Raises
        ------
        LayerwiseError
            If an offset or a scale is not finite, or a scale is not positive.
        ValueError
            If ``offset`` or ``scale`` holds neither one value nor ``n_features``.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from types import SimpleNamespace
        >>> pre = lw.Preprocessing.from_scaler(SimpleNamespace(offset=0.5, scale=2.0), n_features=3)
        >>> pre
        Preprocessing(scale=1, mean=<3 values>, std=<3 values>)
        >>> pre.transform(np.ones((1, 3))).tolist()
        [[0.25, 0.25, 0.25]]
        """
        mean = np.broadcast_to(np.asarray(scaler.offset, np.float64), (n_features,))
        std = np.broadcast_to(np.asarray(scaler.scale, np.float64), (n_features,))
        return cls(mean=mean, std=std, image_shape=image_shape, pixel_max=pixel_max)

    def check_features(self, n_features: int) -> None:
        """Check that ``mean``, ``std`` and ``image_shape`` fit ``n_features`` inputs.

        Parameters
        ----------
        n_features : int
            The network's inputs per example.

        Raises
        ------
        LayerwiseError
            If ``mean`` or ``std`` does not hold ``n_features`` values, or the
            ``image_shape`` does not have ``n_features`` pixels.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> pre = lw.Preprocessing(scale=1 / 16, image_shape=(8, 8))
        >>> pre.check_features(64)
        >>> try:
        ...     pre.check_features(10)
        ... except lw.LayerwiseError as e:
        ...     print(e)
        preprocessing image_shape (8, 8) does not fit the 10 inputs
        """
        for name in ("mean", "std"):
            values = getattr(self, name)
            if values is not None and values.shape != (n_features,):
                raise LayerwiseError(
                    f"preprocessing {name} has {values.size} values but the network has {n_features} inputs"
                )
        if self.image_shape is not None and math.prod(self.image_shape) != n_features:
            raise LayerwiseError(
                f"preprocessing image_shape {self.image_shape} does not fit the {n_features} inputs"
            )

    def transform(self, X: Array) -> Array:
        """The network's inputs for raw rows ``X`` (a float array, changed in place).

        Parameters
        ----------
        X : ndarray of shape (n_examples, n_features)
            Raw rows, of a float dtype; overwritten with the result.

        Returns
        -------
        ndarray of shape (n_examples, n_features)
            ``X`` itself, now ``(X * scale - mean) / std``, in its own dtype.

        See Also
        --------
        Model.transform : Validates raw rows and applies this to a copy.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> X = np.array([[0.0, 255.0]])
        >>> out = lw.Preprocessing(scale=1 / 255).transform(X)
        >>> out.tolist(), out is X
        ([[0.0, 1.0]], True)
        """
        if self.scale != 1:
            X *= X.dtype.type(self.scale)
        if self.mean is not None:
            X -= self.mean.astype(X.dtype)
        if self.std is not None:
            X /= self.std.astype(X.dtype)
        return X

    def to_dict(self) -> dict[str, Any]:
        """The seven fields by name, as the constructor (and ``coerce``) take them.

        Returns
        -------
        dict
            "scale", "mean" and "std" (arrays or None), "image_shape" (a list or None),
            "pixel_max", "polarity" and "framing".

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> pre = lw.Preprocessing(scale=0.5, image_shape=(2, 3))
        >>> d = pre.to_dict()
        >>> d["scale"], d["image_shape"], d["mean"]
        (0.5, [2, 3], None)
        >>> lw.Preprocessing.coerce(d)
        Preprocessing(scale=0.5, image_shape=(2, 3))
        """
        return {
            "scale": self.scale,
            "mean": self.mean,
            "std": self.std,
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "pixel_max": self.pixel_max,
            "polarity": self.polarity,
            "framing": self.framing,
        }

    def __repr__(self) -> str:
        fields = [f"scale={self.scale:g}"]
        fields += [
            f"{k}=<{v.size} values>" for k, v in (("mean", self.mean), ("std", self.std)) if v is not None
        ]
        if self.image_shape is not None:
            fields.append(f"image_shape={self.image_shape}")
        if self.pixel_max is not None:
            fields.append(f"pixel_max={self.pixel_max:g}")
        fields += [f"{k}={v!r}" for k, v in (("polarity", self.polarity), ("framing", self.framing)) if v]
        return f"Preprocessing({', '.join(fields)})"


class Model:
    """A Network, its class labels and its preprocessing: what ``lw.load`` returns.

    ``predict_proba(X)`` and ``predict(X)`` take raw rows and apply the preprocessing.
    The four arguments are kept as attributes of those names (``classes`` as an array,
    ``preprocessing`` as a Preprocessing or None, ``metadata`` as a dict).

    Parameters
    ----------
    network : Network
        The Network (inputs already preprocessed, outputs class indices).
    classes : array_like of shape (n_classes,) or None, optional
        Labels, distinct: ``classes[i]`` is the label of output i (None: 0..K-1). A
        regression network (MeanSquaredError) has none: ``classes`` is then None.
    preprocessing : Preprocessing, dict or None, optional
        A Preprocessing, a dict of its fields, or None (the rows go in as they are).
    metadata : mapping or None, optional
        JSON values saved with the model (dataset, settings, ...).

    Raises
    ------
    LayerwiseError
        If ``network`` is not a Network, ``classes`` does not hold one distinct label per
        output, or the preprocessing is invalid or does not fit the network's inputs.

    See Also
    --------
    Preprocessing : The map from raw inputs to the network's inputs.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> model = lw.Model(net, classes=["cat", "dog", "owl"], preprocessing={"scale": 0.5})
    >>> model.n_features, model.n_classes
    (4, 3)
    >>> labels = model.predict(np.ones((2, 4)))
    >>> labels.shape, set(labels.tolist()) <= {"cat", "dog", "owl"}
    ((2,), True)
    """

    def __init__(
        self,
        network: Network,
        classes: ArrayLike | None = None,
        preprocessing: Preprocessing | dict[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(network, Network):
            raise LayerwiseError(f"a Model needs a Network, not {type(network).__name__}")
        self.network = network
        if not network.loss.classifier and classes is not None:
            raise LayerwiseError("a regression network (MeanSquaredError) has no class labels")
        # a regression has none: its predictions are the network's outputs
        self.classes = _classes(classes, network.n_classes) if network.loss.classifier else None
        self.preprocessing = Preprocessing.coerce(preprocessing)
        if self.preprocessing is not None:
            self.preprocessing.check_features(network.n_features)
        self.metadata = dict(metadata or {})

    @classmethod
    def coerce(cls, net_or_model: "Network | Model") -> "Model":
        """A Model from a Network (classes 0..K-1, no preprocessing) or a Model (as it is).

        Parameters
        ----------
        net_or_model : Network or Model
            What to use as a Model.

        Returns
        -------
        Model
            ``net_or_model`` itself when it is a Model, else a new Model around it.

        Raises
        ------
        LayerwiseError
            If ``net_or_model`` is neither.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> model = lw.Model.coerce(lw.Network.from_spec("4-8-3", seed=0))
        >>> model.classes.tolist(), model.preprocessing
        ([0, 1, 2], None)
        >>> lw.Model.coerce(model) is model
        True
        """
        if isinstance(net_or_model, cls):
            return net_or_model
        if isinstance(net_or_model, Network):
            return cls(net_or_model)
        raise LayerwiseError(f"expected a Network or a Model, not {type(net_or_model).__name__}")

    @property
    def n_features(self) -> int:
        """Raw features per row: the network's inputs (the preprocessing keeps their number)."""
        return self.network.n_features

    @property
    def n_classes(self) -> int:
        """The number of classes: the network's outputs, one per label in ``classes``."""
        return self.network.n_classes

    def transform(self, X: ArrayLike) -> Array:
        """Raw rows -> the network's inputs (validated, in the network's dtype).

        Parameters
        ----------
        X : array_like of shape (n_examples, n_features)
            Raw rows; not changed.

        Returns
        -------
        ndarray of shape (n_examples, n_features) or (n_examples, *input_shape)
            The preprocessed rows, in the network's dtype (as images for a network whose
            input shape is one).

        Raises
        ------
        LayerwiseError
            If X is not a non-empty numeric 2-D array with ``n_features`` columns, or holds
            NaN or infinite values.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("2-4-3", seed=0)
        >>> model = lw.Model(net, preprocessing={"scale": 1 / 255})
        >>> X = model.transform([[0, 255], [51, 102]])
        >>> X.astype(np.float64).round(2).tolist(), str(X.dtype)
        ([[0.0, 1.0], [0.2, 0.4]], 'float32')
        """
        X = self.network.check_X(X)
        if self.preprocessing is None:
            return X
        # the preprocessing works on rows; a network of images gets them back as images
        rows = X.reshape(len(X), -1).copy()  # a copy: check_X may return the caller's array
        return self.preprocessing.transform(rows).reshape(X.shape)

    def predict_proba(self, X: ArrayLike) -> Array:
        """Class probabilities for raw rows: the preprocessing, then the network.

        Parameters
        ----------
        X : array_like of shape (n_examples, n_features)
            Raw rows.

        Returns
        -------
        ndarray of shape (n_examples, n_classes)
            Each row sums to 1; column i is the probability of ``classes[i]``.

        Raises
        ------
        LayerwiseError
            If X is not a valid batch of raw rows (see ``transform``).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> model = lw.Model(lw.Network.from_spec("4-8-3", seed=0), classes=["a", "b", "c"])
        >>> proba = model.predict_proba(np.ones((2, 4)))
        >>> proba.shape, np.allclose(proba.sum(axis=1), 1)
        ((2, 3), True)
        """
        return self.network.predict_proba(self.transform(X))

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predicted labels (from ``classes``) for raw rows.

        Parameters
        ----------
        X : array_like of shape (n_examples, n_features)
            Raw rows.

        Returns
        -------
        ndarray of shape (n_examples,)
            The label of the most probable class of each row.

        Raises
        ------
        LayerwiseError
            If X is not a valid batch of raw rows (see ``transform``).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> model = lw.Model(lw.Network.from_spec("4-8-3", seed=0), classes=[10, 20, 30])
        >>> X = np.random.default_rng(0).random((5, 4))
        >>> labels = model.predict(X)
        >>> bool(np.all(labels == model.classes[model.predict_proba(X).argmax(axis=1)]))
        True
        """
        outputs = self.network.predict(self.transform(X))
        if self.classes is None:
            return outputs
        labels: NDArray[Any] = self.classes[outputs]
        return labels

    def __repr__(self) -> str:
        return (
            f"Model(network={self.network.sizes}, "
            f"classes={None if self.classes is None else len(self.classes)}, "
            f"preprocessing={self.preprocessing!r})"
        )


def _finite_number(value: float, what: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise LayerwiseError(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(value):
        raise LayerwiseError(f"{what} must be finite, not {value}")
    return value


def _feature_array(values: ArrayLike, what: str) -> NDArray[np.float64]:
    try:
        values = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise LayerwiseError(f"{what} must be numbers") from None
    if values.ndim != 1:
        raise LayerwiseError(f"{what} must be 1-D (one value per feature), not of shape {values.shape}")
    if not np.isfinite(values).all():
        raise LayerwiseError(f"{what} contains NaN or infinite values")
    return values


def _image_shape(shape: Sequence[int]) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise LayerwiseError(f"image_shape must be (height, width), not {shape!r}") from None
    if len(shape) != 2 or min(shape) < 1:
        raise LayerwiseError(f"image_shape must be (height, width), not {shape!r}")
    return shape


def _choice(value: str | None, choices: tuple[str, ...], what: str) -> str | None:
    if value is not None and value not in choices:
        raise LayerwiseError(
            f"preprocessing {what} must be one of {', '.join(choices)} or None, not {value!r}"
        )
    return value


def _classes(classes: ArrayLike | None, n_classes: int) -> NDArray[Any]:
    if classes is None:
        return np.arange(n_classes)
    classes = np.asarray(classes)
    if classes.ndim != 1 or len(classes) != n_classes:
        raise LayerwiseError(
            f"{n_classes} class labels are needed (one per network output), got {classes.size}"
        )
    if len(set(classes.tolist())) != n_classes:
        raise LayerwiseError("class labels must be distinct")
    return classes
