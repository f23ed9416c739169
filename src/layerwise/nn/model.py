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
    """What ``Preprocessing.from_scaler`` reads: a fitted map x -> (x - offset) / scale."""

    @property
    def offset(self) -> ArrayLike: ...

    @property
    def scale(self) -> ArrayLike: ...


class Preprocessing:
    """The map from raw inputs to the network's inputs: ``(X * scale - mean) / std``.

    ``scale`` is a number (for instance 1/255 for 8-bit pixels); ``mean`` and ``std`` are
    None or arrays of one value per feature (standardisation fitted on training data;
    give constant features a std of 1). For image data, ``image_shape`` is (height, width)
    of the training images and ``pixel_max`` the raw value that stands for full intensity
    (255 for MNIST, 16 for the 8x8 digits); ``layerwise predict`` uses them to turn a PNG
    into a row of raw values.
    """

    def __init__(
        self,
        scale: float = 1.0,
        mean: ArrayLike | None = None,
        std: ArrayLike | None = None,
        image_shape: Sequence[int] | None = None,
        pixel_max: float | None = None,
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

    @classmethod
    def coerce(cls, value: "Preprocessing | dict[str, Any] | None") -> "Preprocessing | None":
        """A Preprocessing from None, a Preprocessing or a dict of its fields."""
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, dict):
            unknown = set(value) - {"scale", "mean", "std", "image_shape", "pixel_max"}
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
        """From a fitted ``layerwise.data.preprocessing.Scaler``, which maps x to (x - offset) / scale."""
        mean = np.broadcast_to(np.asarray(scaler.offset, np.float64), (n_features,))
        std = np.broadcast_to(np.asarray(scaler.scale, np.float64), (n_features,))
        return cls(mean=mean, std=std, image_shape=image_shape, pixel_max=pixel_max)

    def check_features(self, n_features: int) -> None:
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
        """The network's inputs for raw rows ``X`` (a float array, changed in place)."""
        if self.scale != 1:
            X *= X.dtype.type(self.scale)
        if self.mean is not None:
            X -= self.mean.astype(X.dtype)
        if self.std is not None:
            X /= self.std.astype(X.dtype)
        return X

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "mean": self.mean,
            "std": self.std,
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "pixel_max": self.pixel_max,
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
        return f"Preprocessing({', '.join(fields)})"


class Model:
    """A Network, its class labels and its preprocessing: what ``lw.load`` returns.

    - ``network``: the Network (inputs already preprocessed, outputs class indices).
    - ``classes``: array of labels, ``classes[i]`` is the label of output i (default 0..K-1).
    - ``preprocessing``: a Preprocessing or None.
    - ``metadata``: a dict of JSON values saved with the model (dataset, settings, ...).

    ``predict_proba(X)`` and ``predict(X)`` take raw rows and apply the preprocessing.
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
        self.classes = _classes(classes, network.n_classes)
        self.preprocessing = Preprocessing.coerce(preprocessing)
        if self.preprocessing is not None:
            self.preprocessing.check_features(network.n_features)
        self.metadata = dict(metadata or {})

    @classmethod
    def coerce(cls, net_or_model: "Network | Model") -> "Model":
        if isinstance(net_or_model, cls):
            return net_or_model
        if isinstance(net_or_model, Network):
            return cls(net_or_model)
        raise LayerwiseError(f"expected a Network or a Model, not {type(net_or_model).__name__}")

    @property
    def n_features(self) -> int:
        return self.network.n_features

    @property
    def n_classes(self) -> int:
        return self.network.n_classes

    def transform(self, X: ArrayLike) -> Array:
        """Raw rows -> the network's inputs (validated, in the network's dtype)."""
        X = self.network.check_X(X)
        if self.preprocessing is None:
            return X
        return self.preprocessing.transform(X.copy())  # check_X may return the caller's array

    def predict_proba(self, X: ArrayLike) -> Array:
        return self.network.predict_proba(self.transform(X))

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predicted labels (from ``classes``) for raw rows."""
        return self.classes[self.network.predict(self.transform(X))]

    def __repr__(self) -> str:
        return (
            f"Model(network={self.network.sizes}, classes={len(self.classes)}, "
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
