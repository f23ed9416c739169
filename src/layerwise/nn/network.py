"""Network: an ordered list of layers plus a loss."""

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self

import numpy as np

from ..errors import LayerwiseError
from .config import DEFAULTS, default_init
from .layers import Activation, Dropout, Layer, Linear, Parameter, Reshape, activation_layer, as_dtype, pack
from .losses import Loss, SoftmaxCrossEntropy
from .types import Array, ArrayLike, DTypeLike, Targets


def parse_spec(spec: str | Sequence[int]) -> list[int]:
    """Return the layer sizes of a network spec: "64-48-32-10" -> [64, 48, 32, 10].

    Parameters
    ----------
    spec : str or sequence of int
        The sizes from the input to the output: a string of sizes separated by "-" (or
        "x"), or a list of ints.

    Returns
    -------
    list of int
        The sizes: at least an input and an output size, all positive.

    Raises
    ------
    LayerwiseError
        If a size is not a number, or there are fewer than two sizes or one below 1.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.network import parse_spec
    >>> parse_spec("64-48-32-10"), parse_spec([784, 10]), parse_spec("784x10")
    ([64, 48, 32, 10], [784, 10], [784, 10])
    >>> parse_spec("64-ten")
    Traceback (most recent call last):
    ...
    layerwise.errors.LayerwiseError: network spec '64-ten' is not a list of sizes like 64-48-32-10
    """
    parts: list[str] | list[int]
    if isinstance(spec, str):
        parts = spec.replace("x", "-").split("-")
    else:
        parts = list(spec)
    try:
        sizes = [int(p) for p in parts]
    except (TypeError, ValueError):
        raise LayerwiseError(f"network spec {spec!r} is not a list of sizes like 64-48-32-10") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise LayerwiseError(
            f"network spec {spec!r} needs at least an input and an output size, all positive"
        )
    return sizes


# Inference goes in slices of at most this many values in any one layer's output.
INFERENCE_VALUES = 2**21


def _all_finite(X: Array) -> bool:
    """True when no value of X is NaN or infinite. A NaN or an infinity makes the dot
    product of X with itself non-finite; that BLAS call is several times faster than
    np.isfinite(X).all(), which decides only when the dot product overflows."""
    flat = X.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        square = np.dot(flat, flat)
    return bool(np.isfinite(square)) or bool(np.isfinite(X).all())


def _weight_sum(weights: Array) -> float:
    """The sum of the weights per example, in float64."""
    return float(weights.sum(dtype=np.float64))


def _check_finite(X: Array) -> None:
    if not _all_finite(X):
        raise LayerwiseError("X contains NaN or infinite values")


class Network:
    """Layers applied in order, then a loss applied to the last layer's output.

    The loss is applied to whatever the last layer emits, so the tutorial's network
    (a sigmoid after the last linear map, then softmax) is written exactly as it is.
    Rows are examples: a batch X of shape (N, n_features) becomes an output of shape
    (N, n_classes). Convolutional networks take images, NCHW: a first ``Reshape((1, 28,
    28))`` turns the flat rows the loaders give into images, or ``input_shape`` says what
    one example is. The attributes ``layers`` and ``loss`` hold what was given.

    On construction the network follows one example's shape through the layers
    (``Layer.output_shape``), so that a layer that cannot take what the one before emits
    is reported at once; ``shapes`` keeps each layer's output shape. It also moves every
    parameter value and gradient into two flat arrays (``layers.pack``, weights first), so
    that the L2 penalty and an optimizer step are one NumPy call each; the Parameters keep
    views of their parts.

    Parameters
    ----------
    layers : iterable of Layer
        The layers, first to last; their parameters must share one dtype.
    loss : SoftmaxCrossEntropy, MeanSquaredError or None, default None
        The loss; None: a new SoftmaxCrossEntropy (classification).
    input_shape : tuple of int or None, default None
        The shape of one example, such as (1, 28, 28); None: the one the first layer
        fixes (a Linear's (n_in,), a Reshape's number of values).

    Raises
    ------
    LayerwiseError
        If ``layers`` is empty or holds something that is not a Layer, no layer has
        parameters, a layer cannot take the previous one's output, the last output is not
        one row of values per example, the dtypes of the parameters differ, or the input
        shape is neither given nor fixed by the first layers.

    See Also
    --------
    Network.from_spec : A fully connected network from its sizes.
    fit : Train a network.

    Examples
    --------
    The tutorial's network, a sigmoid after each linear map:

    >>> import numpy as np
    >>> import layerwise as lw
    >>> layers = [lw.Linear(4, 8, seed=0), lw.Sigmoid(), lw.Linear(8, 3, seed=1), lw.Sigmoid()]
    >>> net = lw.Network(layers)
    >>> net.sizes, net.n_features, net.n_classes
    ([4, 8, 3], 4, 3)
    >>> X = np.random.default_rng(0).random((5, 4))
    >>> net.predict_proba(X).shape
    (5, 3)

    A layer that cannot take its input is reported when the network is built:

    >>> lw.Network([lw.Linear(4, 8), lw.ReLU(), lw.Linear(6, 3)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    layerwise.errors.LayerwiseError: layer 2: Linear(6, 3, ...) takes rows of 6 values, not rows of 8 values
    """

    _flat: tuple[Array, Array, int]  # made by _packed: (values, grads, number of weight values)

    def __init__(
        self,
        layers: Iterable[Layer],
        loss: Loss | None = None,
        *,
        input_shape: Sequence[int] | None = None,
    ) -> None:
        layers = list(layers)
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise LayerwiseError("a Network needs a non-empty list of layers")
        params = [p for layer in layers for p in layer.parameters()]
        if not params:
            raise LayerwiseError("a Network needs at least one layer with parameters (a Linear)")
        if len({p.value.dtype for p in params}) > 1:
            raise LayerwiseError("all layers of a network must have the same dtype")
        self.input_shape = _input_shape(layers, input_shape)
        self.shapes = _shapes(layers, self.input_shape)
        if len(self.shapes[-1]) != 1:
            raise LayerwiseError(
                f"the last layer's output has shape {self.shapes[-1]} per example; the loss "
                "needs one row of values (put a Flatten() and a Linear at the end)"
            )
        self.layers = layers
        self._first_trained = next(i for i, layer in enumerate(layers) if layer.parameters())
        self.loss: Loss = SoftmaxCrossEntropy() if loss is None else loss
        self._training: bool | None = None
        self._packed()

    @classmethod
    def from_spec(
        cls,
        spec: str | Sequence[int],
        activation: str = DEFAULTS.activation,
        output_activation: str | None = DEFAULTS.output_activation,
        *,
        dropout: float = DEFAULTS.dropout,
        init: str | None = None,
        dtype: DTypeLike = DEFAULTS.dtype,
        seed: int | None = DEFAULTS.seed,
        negative_slope: float = 0.01,
    ) -> Self:
        """Return a fully connected network from sizes such as "64-256-128-10".

        One Linear per pair of consecutive sizes, each followed by its activation (and
        Dropout), and a SoftmaxCrossEntropy loss. The defaults are those of ``TrainConfig``.

        Parameters
        ----------
        spec : str or sequence of int
            The sizes from the input to the output: "64-256-128-10" or [64, 256, 128, 10].
        activation : str, default "relu"
            The activation that follows every hidden Linear: "relu", "leaky_relu", "tanh",
            "sigmoid" or "identity".
        output_activation : str or None, default None
            The activation that follows the last Linear; None = linear logits.
        dropout : float, default 0.0
            When > 0, adds Dropout with this probability after each hidden activation.
        init : str or None, default None
            The Linear layers' init ("glorot_uniform", "he_uniform", "he_normal"); None is
            he_uniform for ReLU-like activations and glorot_uniform (the tutorial's)
            otherwise.
        dtype : {"float32", "float64"}, default "float32"
            The dtype of the parameters.
        seed : int or None, default 0
            Makes the initial weights and dropout masks reproducible (None: fresh entropy).
        negative_slope : float, default 0.01
            The slope of LeakyReLU layers for negative inputs (with "leaky_relu" only).

        Returns
        -------
        Network
            The new network.

        Raises
        ------
        LayerwiseError
            If the spec, an activation name, ``init``, ``dtype`` or ``dropout`` is invalid.

        See Also
        --------
        TrainConfig.network : The network of a training's settings.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.Network.from_spec("4-8-3", seed=0)
        Network(
          (0): Linear(4, 8, dtype=float32)
          (1): ReLU()
          (2): Linear(8, 3, dtype=float32)
          (loss): SoftmaxCrossEntropy()
        )
        >>> net = lw.Network.from_spec([4, 8, 3], "sigmoid", "sigmoid", dropout=0.2, seed=0)
        >>> [type(layer).__name__ for layer in net.layers]
        ['Linear', 'Sigmoid', 'Dropout', 'Linear', 'Sigmoid']
        >>> net.linears[0].init
        'glorot_uniform'
        """
        init = init or default_init(activation)
        sizes = parse_spec(spec)
        activation_layer(activation)  # validates the names before any work
        activation_layer(output_activation or "identity")
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2 * len(sizes))]
        layers: list[Layer] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            layers.append(Linear(n_in, n_out, init=init, dtype=dtype, seed=rngs[2 * i]))
            act = activation_layer(output_activation or "identity") if last else activation_layer(activation)
            if act is not None:
                if hasattr(act, "negative_slope"):
                    act.negative_slope = float(negative_slope)
                layers.append(act)
            if dropout and not last:
                layers.append(Dropout(dropout, seed=rngs[2 * i + 1]))
        return cls(layers)

    # --- shape and type -------------------------------------------------------------

    @property
    def linears(self) -> list[Linear]:
        """The network's Linear layers, in order."""
        return [layer for layer in self.layers if isinstance(layer, Linear)]

    @property
    def n_features(self) -> int:
        """Input values per example (columns of X): the product of ``input_shape``."""
        return math.prod(self.input_shape)

    @property
    def n_outputs(self) -> int:
        """The width of the last layer's output: classes, or regression targets."""
        return self.shapes[-1][0]

    @property
    def n_classes(self) -> int:
        """Number of classes K: the last layer's output width (labels are 0..K-1)."""
        return self.n_outputs

    @property
    def sizes(self) -> list[int]:
        """The input size, then each Linear's output size: [n_features, ..., n_classes].

        For a network of Linear layers and activations, the sizes of its spec.
        """
        return [self.n_features] + [layer.n_out for layer in self.linears]

    @property
    def dtype(self) -> np.dtype[np.floating]:
        """The dtype of the parameters (float32 or float64); ``check_X`` converts X to it."""
        dtype: np.dtype[np.floating] = self.parameters()[0].value.dtype
        return dtype

    def parameters(self) -> list[Parameter]:
        """Return every Parameter, layer by layer (each Linear's weight, then its bias).

        The Parameter objects themselves, not copies: their ``value`` and ``grad`` are
        views of the network's flat arrays. ``named_parameters`` names them
        "<layer index>.weight" and so on.

        Returns
        -------
        list of Parameter
            Every trainable Parameter of the network.

        See Also
        --------
        named_parameters : The same, with their names.
        get_weights : Copies of the values.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> [p.value.shape for p in net.parameters()]
        [(4, 8), (8,), (8, 3), (3,)]
        """
        params = []
        for layer in self.layers:
            params.extend(layer.parameters())
        return params

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """Return every Parameter with its name "<layer index>.<name>", in parameters() order.

        The layer index counts every layer, activations and Dropout included.

        Returns
        -------
        list of (str, Parameter)
            Names such as "0.weight" and "0.bias", each with its Parameter.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> [name for name, _ in net.named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        return [(f"{i}.{p.name}", p) for i, layer in enumerate(self.layers) for p in layer.parameters()]

    def named_state(self) -> list[tuple[str, Array]]:
        """Return the arrays of state that are not trained, named "<layer index>.<name>".

        BatchNorm's running statistics are such arrays (``Layer.state``): saved with the
        model and in checkpoints, never changed by an optimizer.

        Returns
        -------
        list of (str, ndarray)
            Names such as "3.running_mean", each with the array itself (not a copy).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.Network.from_spec("4-8-3", seed=0).named_state()
        []
        """
        return [
            (f"{i}.{name}", a) for i, layer in enumerate(self.layers) for name, a in layer.state().items()
        ]

    def _packed(self) -> tuple[Array, Array, int]:
        """The flat arrays that hold every parameter value and gradient (layers.pack),
        weights first, and the number of weight values: the L2 penalty is then one call
        on ``values[:n_weights]``. Packs again when a parameter was replaced."""
        flat = self.__dict__.get("_flat")
        params = self.parameters()
        if flat is None or any(p.value.base is not flat[0] or p.grad.base is not flat[1] for p in params):
            weights = [p for p in params if p.decay]
            values, grads = pack(weights + [p for p in params if not p.decay])
            flat = self._flat = (values, grads, sum(p.value.size for p in weights))
        return flat

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_flat"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_first_trained" not in state:  # pickled before it existed
            self._first_trained = next(i for i, layer in enumerate(self.layers) if layer.parameters())
        self._packed()

    def _l2_penalty(self, l2: float, n: float) -> float:
        """lambda / (2N) * sum of squared weights (biases excluded), as in the tutorial; N
        is the number of examples, or the sum of their weights."""
        if not l2:
            return 0.0
        values, _, n_weights = self._flat
        weights = values[:n_weights]
        return 0.5 * l2 / n * float(np.dot(weights, weights))

    def get_weights(self) -> list[Array]:
        """Return copies of every parameter value, in ``parameters()`` order.

        Returns
        -------
        list of ndarray
            One array per Parameter; changing them does not change the network.

        See Also
        --------
        set_weights : Set every parameter value from such a list.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> [w.shape for w in net.get_weights()]
        [(4, 8), (8,), (8, 3), (3,)]
        """
        return [p.value.copy() for p in self.parameters()]

    def set_weights(self, values: Sequence[ArrayLike]) -> None:
        """Set every parameter value from a list in ``parameters()`` order (copied).

        The values are copied into the network's own arrays (converted to its dtype).

        Parameters
        ----------
        values : sequence of array_like
            One array per Parameter, each of that Parameter's shape.

        Raises
        ------
        LayerwiseError
            If the number of arrays or the shape of one differs from the parameters'.

        See Also
        --------
        get_weights : Copies of every parameter value.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> saved = net.get_weights()
        >>> net.set_weights([np.zeros_like(w) for w in saved])
        >>> P = net.predict_proba(np.ones((1, 4)))  # zero weights: every class equally likely
        >>> bool(np.allclose(P, 1 / 3))
        True
        >>> net.set_weights(saved)
        """
        params = self.parameters()
        if len(values) != len(params):
            raise LayerwiseError(f"expected {len(params)} arrays of weights, got {len(values)}")
        for p, v in zip(params, values):
            v = np.asarray(v)
            if v.shape != p.value.shape:
                raise LayerwiseError(f"weights for {p.name} have shape {v.shape}, expected {p.value.shape}")
            np.copyto(p.value, v, casting="unsafe")

    def astype(self, dtype: DTypeLike) -> "Network":
        """Return a copy of this network in another dtype.

        Every layer is copied with ``Layer.astype``, and the loss is a new one of the same
        class; this network is unchanged.

        Parameters
        ----------
        dtype : {"float32", "float64"} or numpy dtype
            The dtype of the copy.

        Returns
        -------
        Network
            The new network.

        Raises
        ------
        LayerwiseError
            If ``dtype`` is not float32 or float64.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> net64 = net.astype("float64")
        >>> net64.dtype.name, net.dtype.name
        ('float64', 'float32')
        """
        as_dtype(dtype)
        return Network(
            [layer.astype(dtype) for layer in self.layers],
            loss=type(self.loss)(),
            input_shape=self.input_shape,
        )

    # --- the core ---------------------------------------------------------------------

    def train(self, mode: bool = True) -> Self:
        """Set training mode (dropout active) or inference mode (``train(False)``).

        Sets the ``training`` flag of every layer.

        Parameters
        ----------
        mode : bool, default True
            True for training mode, False for inference mode.

        Returns
        -------
        Network
            The network itself, so that calls can be chained.

        See Also
        --------
        eval : The same as ``train(False)``.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", dropout=0.5, seed=0)
        >>> net.train() is net, net.layers[2].training
        (True, True)
        >>> net.train(False).layers[2].training
        False
        """
        if self._training is not mode:
            for layer in self.layers:
                layer.training = mode
            self._training = mode
        return self

    def eval(self) -> Self:
        """Set inference mode (dropout off): the same as ``train(False)``.

        Returns
        -------
        Network
            The network itself, so that calls can be chained.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", dropout=0.5, seed=0)
        >>> net.eval().layers[2].training
        False
        """
        return self.train(False)

    def forward(self, X: Array) -> Array:
        """Return the last layer's output for a batch already validated, of the network's dtype.

        Each layer's ``forward`` is applied in order, in the current mode (``train``); the
        loss is not applied. Nothing is checked: pass X through ``check_X`` first.

        Parameters
        ----------
        X : ndarray of shape (N, n_features)
            A batch of N examples, one per row, as ``check_X`` returns it.

        Returns
        -------
        ndarray of shape (N, n_classes)
            The last layer's output, in a buffer a layer owns (valid until the next
            forward pass with the same batch size).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> X = net.check_X(np.random.default_rng(0).random((5, 4)))
        >>> net.forward(X).shape
        (5, 3)
        """
        return self._forward(X, self.layers)

    @staticmethod
    def _forward(X: Array, layers: Sequence[Layer], reusable: bool = False) -> Array:
        for layer in layers:
            # An activation right after a Linear (or a Conv2D) overwrites that layer's
            # output buffer, which its backward does not read.
            X = layer.forward(X, out=X) if reusable and isinstance(layer, Activation) else layer.forward(X)
            reusable = layer.output_reusable
        return X

    def backward(self, grad: Array) -> None:
        """Backpropagate dLoss/dOutput through the layers in reverse, filling every .grad.

        Each layer's ``backward`` receives dLoss/d(its output) and returns dLoss/d(its
        input), which the layer before receives. The first layer with parameters does not
        compute its input gradient, and the layers before it are skipped. Call it after
        ``forward`` on the same batch.

        Parameters
        ----------
        grad : ndarray of shape (N, n_classes)
            dLoss/dOutput, the gradient with respect to the last layer's output: the
            loss's ``backward()``.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> X = net.check_X(np.random.default_rng(0).random((5, 4)))
        >>> y = net.check_y([0, 1, 2, 0, 1])
        >>> loss = net.loss.forward(net.forward(X), y)
        >>> net.backward(net.loss.backward())
        >>> net.parameters()[0].grad.shape
        (4, 8)
        """
        # Below the first layer with parameters no gradient is needed: that layer does not
        # compute its input gradient, and the layers before it (a Reshape) are not called.
        layers = self.layers[self._first_trained :]
        for layer in layers[:0:-1]:
            grad = layer.backward(grad)  # type: ignore[assignment]  # None only with input_grad=False
        layers[0].backward(grad, input_grad=False)

    def _loss_and_gradients(
        self, X: Array, y: Targets, l2: float, weights: Array | None = None, total: float | None = None
    ) -> tuple[float, Array]:
        """forward, loss, backward on validated arrays; returns the loss and the last
        layer's output (valid until the next forward pass). ``weights``: one per example,
        checked (the loss's weighted mean); ``total``: the N of the L2 term, and with
        weights what the weighted losses are divided by (None: the number of examples, or
        the sum of the weights)."""
        out = self.forward(X)
        loss = self.loss.forward(out, y) if weights is None else self.loss.forward(out, y, weights, total)
        self.backward(self.loss.backward())
        if l2:
            n = total if total is not None else X.shape[0] if weights is None else _weight_sum(weights)
            loss += self._l2_penalty(l2, n)
            values, grads, n_weights = self._flat
            grads[:n_weights] += (l2 / n) * values[:n_weights]  # d(penalty)/dW = lambda / N * W
        return loss, out

    def loss_and_gradients(
        self, X: ArrayLike, y: ArrayLike, l2: float = 0.0, sample_weight: ArrayLike | None = None
    ) -> float:
        """Run the forward pass, the loss and the backward pass; return the loss.

        The loss is the mean cross-entropy + lambda/(2N) sum W^2. Fills every parameter's
        ``grad`` and returns the loss. Uses training mode, so
        Dropout is active (and the network stays in training mode). With ``l2`` > 0 each
        weight's gradient includes the penalty's, lambda / N * W. With ``sample_weight``
        the loss is the weighted mean sum w_i l_i / sum w_i and N is the sum of the
        weights, as in ``fit``.

        Parameters
        ----------
        X : array_like of shape (N, n_features)
            The examples, one per row.
        y : array_like of int of shape (N,)
            Their labels 0..K-1.
        l2 : float, default 0.0
            lambda, the L2 strength (biases are not penalised).
        sample_weight : array_like of shape (N,) or None, default None
            A weight per example (see ``check_sample_weight``); None: every example 1.

        Returns
        -------
        float
            The loss of the batch.

        Raises
        ------
        LayerwiseError
            If X, y or the weights are invalid (see ``check_X``, ``check_y`` and
            ``check_sample_weight``).

        See Also
        --------
        gradcheck : Compare these gradients with finite differences.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> X = np.random.default_rng(0).random((6, 4))
        >>> loss = net.loss_and_gradients(X, [0, 1, 2, 0, 1, 2], l2=0.1)
        >>> loss > 0, net.parameters()[0].grad.shape
        (True, (4, 8))

        A weight of 2 counts an example twice, as if it were duplicated:

        >>> y = np.array([0, 1, 2, 0, 1, 2])
        >>> weighted = net.loss_and_gradients(X, y, l2=0.1, sample_weight=[2, 1, 1, 1, 1, 1])
        >>> duplicated = net.loss_and_gradients(np.vstack([X, X[:1]]), np.append(y, 0), l2=0.1)
        >>> bool(np.isclose(weighted, duplicated))
        True
        """
        X = self.check_X(X)
        y = self.check_y(y, len(X))
        weights, total = self._example_weights(sample_weight, len(X))
        self.train(True)
        self._packed()
        return self._loss_and_gradients(X, y, float(l2), weights, total)[0]

    def evaluate(
        self, X: ArrayLike, y: ArrayLike, l2: float = 0.0, sample_weight: ArrayLike | None = None
    ) -> tuple[float, float]:
        """Return (loss, accuracy) in inference mode; the loss includes the L2 term.

        The network is left in inference mode; no gradient is computed. With
        ``sample_weight`` both are weighted: the loss is sum w_i l_i / sum w_i plus
        lambda/(2N) sum W^2 with N the sum of the weights, the accuracy the share of the
        weight on the examples classified correctly.

        Parameters
        ----------
        X : array_like of shape (N, n_features)
            The examples, one per row.
        y : array_like of int of shape (N,)
            Their labels 0..K-1.
        l2 : float, default 0.0
            lambda, the L2 strength, for the lambda/(2N) sum W^2 term.
        sample_weight : array_like of shape (N,) or None, default None
            A weight per example (see ``check_sample_weight``); None: every example 1.

        Returns
        -------
        loss : float
            The loss (mean cross-entropy, or mean squared error), plus the L2 term.
        accuracy : float
            The share of examples whose predicted class is their label, in [0, 1]; NaN
            for a regression network (its loss is its measure).

        Raises
        ------
        LayerwiseError
            If X, y or the weights are invalid (see ``check_X``, ``check_y`` and
            ``check_sample_weight``).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> X = np.random.default_rng(0).random((6, 4))
        >>> loss, accuracy = net.evaluate(X, [0, 1, 2, 0, 1, 2])
        >>> loss > 0, 0 <= accuracy <= 1
        (True, True)
        """
        self._packed()
        X = self.check_X(X)
        y = self.check_y(y, len(X))
        weights, total = self._example_weights(sample_weight, len(X))
        return self._evaluate(X, y, l2, weights, total)

    def _inference(self, X: Array) -> Array:
        """The last layer's output for validated X, in inference mode. In slices when one
        layer's output for all of X would be large (a convolution's channel maps): memory
        stays bounded and each slice's buffers stay in cache. (Validating 6,000
        Fashion-MNIST images in one pass took a 3 GB peak.)"""
        self.train(False)
        step = max(1, INFERENCE_VALUES // max(math.prod(shape) for shape in self.shapes))
        if len(X) <= step:
            return self.forward(X)
        out = np.empty((len(X), self.n_outputs), self.dtype)
        for start in range(0, len(X), step):
            out[start : start + step] = self.forward(X[start : start + step])
        return out

    def _evaluate(
        self, X: Array, y: Targets, l2: float = 0.0, weights: Array | None = None, total: float | None = None
    ) -> tuple[float, float]:
        """Loss and accuracy (NaN for regression) on validated arrays, in inference mode;
        ``weights`` and ``total`` as for ``_loss_and_gradients``."""
        out = self._inference(X)
        if weights is None:
            loss = self.loss.forward(out, y) + self._l2_penalty(l2, len(X) if total is None else total)
            correct = self.loss.n_correct(out, y)
            return loss, math.nan if correct is None else correct / len(X)
        weight = _weight_sum(weights)
        loss = self.loss.forward(out, y, weights) + self._l2_penalty(l2, weight if total is None else total)
        correct = self.loss.n_correct(out, y, weights)
        return loss, math.nan if correct is None else correct / weight

    def _example_weights(self, sample_weight: ArrayLike | None, n: int) -> tuple[Array | None, float]:
        """The checked weights of ``n`` examples and the N of the L2 term (their sum).
        Equal weights c give the plain mean, which is computed as without weights (None,
        with N = c n), so that they give exactly the numbers of no weights."""
        if sample_weight is None:
            return None, float(n)
        weights = self.check_sample_weight(sample_weight, n)
        if weights.min() == weights.max():
            return None, float(weights[0]) * n
        return weights, _weight_sum(weights)

    def predict_proba(self, X: ArrayLike) -> Array:
        """Return the class probabilities, shape (N, n_classes).

        The softmax of the last layer's output, computed in inference mode (in which the
        network is left).

        Parameters
        ----------
        X : array_like of shape (N, n_features)
            The examples, one per row.

        Returns
        -------
        ndarray of shape (N, n_classes)
            One row per example; each row sums to 1.

        Raises
        ------
        LayerwiseError
            If X is invalid (see ``check_X``), NaN and infinities included.

        See Also
        --------
        predict : The most probable class of each example.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> P = net.predict_proba(np.random.default_rng(0).random((5, 4)))
        >>> P.shape, bool(np.allclose(P.sum(axis=1), 1))
        ((5, 3), True)
        """
        if not self.loss.classifier:
            raise LayerwiseError(
                f"predict_proba is for classification; this network's loss is {self.loss!r} (use predict)"
            )
        return SoftmaxCrossEntropy.softmax(self._logits(X))

    def predict(self, X: ArrayLike) -> Targets:
        """Return the predicted class indices, shape (N,), or the outputs of a regression.

        The index of each row's largest output, computed in inference mode (in which the
        network is left). With a MeanSquaredError loss, the outputs themselves, shape
        (N, n_outputs).

        Parameters
        ----------
        X : array_like of shape (N, n_features)
            The examples, one per row.

        Returns
        -------
        ndarray of int of shape (N,), or ndarray of shape (N, n_outputs)
            One class 0..K-1 per example; a regression's outputs.

        Raises
        ------
        LayerwiseError
            If X is invalid (see ``check_X``), NaN and infinities included.

        See Also
        --------
        predict_proba : The class probabilities.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> X = np.random.default_rng(0).random((5, 4))
        >>> labels = net.predict(X)
        >>> labels.shape, bool(np.array_equal(labels, net.predict_proba(X).argmax(axis=1)))
        ((5,), True)
        """
        return self.loss.predict(self._logits(X))

    def _logits(self, X: ArrayLike) -> Array:
        """The last layer's output in inference mode, for the public predict methods.

        Finiteness is checked on the first Linear's output rather than on X when that
        output is smaller: a NaN or an infinity in a row of X makes every value of the
        row's output NaN or infinite (inf * w is +-inf, or NaN when w is 0). Only when
        that output is not finite is X itself read, to tell bad input from overflow.
        """
        X = self.check_X(X, finite=False)
        self.train(False)
        first = self.layers[0]
        if not isinstance(first, Linear) or first.n_out >= first.n_in or X.ndim != 2:
            _check_finite(X)
            return self._inference(X)
        with np.errstate(over="ignore", invalid="ignore"):  # bad input is reported just below
            z = first.forward(X)
        if not _all_finite(z):
            _check_finite(X)
        return self._forward(z, self.layers[1:], reusable=True)

    # --- validation at the public boundary --------------------------------------------

    def check_X(self, X: ArrayLike, finite: bool = True) -> Array:
        """Return X as an aligned C-contiguous array of the network's dtype, or raise an error.

        The error, a LayerwiseError, says clearly what is wrong. X itself is returned, not
        a copy, when it already is such an array. A network of images takes them as
        (N, C, H, W) or as flat rows of C*H*W values, and gets them as images.

        Parameters
        ----------
        X : array_like of shape (N, n_features) or (N, *input_shape)
            The examples, one per row; integers and booleans are converted.
        finite : bool, default True
            ``finite=False`` leaves the check for NaN and infinities to the caller.

        Returns
        -------
        ndarray of shape (N, *input_shape)
            X, ready for ``forward``.

        Raises
        ------
        LayerwiseError
            If X is not numeric, not of one of those shapes (the wrong number of features),
            has no examples, or (with ``finite``) holds NaN or infinite values.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> net.check_X([[0, 1, 2, 3]]).dtype.name
        'float32'
        >>> net.check_X(np.ones((2, 5)))
        Traceback (most recent call last):
        ...
        layerwise.errors.LayerwiseError: X has 5 features but the network expects 4
        """
        try:
            X = np.asarray(X)
        except (TypeError, ValueError) as e:
            raise LayerwiseError(f"X is not a numeric array: {e}") from None
        if X.dtype.kind not in "biuf":
            raise LayerwiseError(f"X must be numeric, not of dtype {X.dtype}")
        shape = self.input_shape
        # images (N, C, H, W) also go to a network that starts by reshaping rows into them
        first = self.layers[0]
        image = first.shape if type(first) is Reshape else shape
        if X.ndim == 2 and X.shape[1] != self.n_features:
            raise LayerwiseError(f"X has {X.shape[1]} features but the network expects {self.n_features}")
        if X.ndim != 2 and X.shape[1:] not in (shape, image):
            if len(image) == 1:
                raise LayerwiseError(f"X must be 2-D (examples x features), not of shape {X.shape}")
            sizes = ", ".join(map(str, image))
            raise LayerwiseError(f"X must be of shape (N, {self.n_features}) or (N, {sizes}), not {X.shape}")
        if X.shape[0] == 0:
            raise LayerwiseError("X has no examples")
        if X.shape[1:] != shape:
            X = X.reshape((X.shape[0], *shape))
        # C order and aligned: arrays that arrive unaligned (unpickled from a byte stream
        # on a Dask worker, say) would keep NumPy from BLAS and its fast loops.
        X = np.require(X, dtype=self.dtype, requirements=("C", "A"))
        if finite:
            _check_finite(X)
        return X

    def check_y(self, y: ArrayLike, n: int | None = None) -> Targets:
        """Return y checked for the loss: labels 0..K-1, or a regression's targets.

        For classification, floats with integer values (1.0) and booleans are accepted;
        for regression (MeanSquaredError), y of shape (N,) or (N, n_outputs) becomes an
        (N, n_outputs) array of the network's dtype. The loss's ``check_target`` decides.

        Parameters
        ----------
        y : array_like of shape (N,) or (N, n_outputs)
            One label (or target row) per example.
        n : int or None, default None
            The number of examples of X, which y must match; None: not checked.

        Returns
        -------
        ndarray
            The labels (intp, shape (N,)) or the targets (shape (N, n_outputs)), ready for
            the loss.

        Raises
        ------
        LayerwiseError
            If y does not fit the loss: not 1-D, the wrong length, non-integer labels or a
            label outside 0..K-1; for regression, the wrong shape, NaN or infinities.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> net.check_y([0, 2, 1.0]).tolist()
        [0, 2, 1]
        >>> net.check_y([0, 3])
        Traceback (most recent call last):
        ...
        layerwise.errors.LayerwiseError: label 3 is out of range: the network has 3 classes (0..2)
        """
        return self.loss.check_target(y, n, self.n_outputs, self.dtype)

    def check_sample_weight(self, sample_weight: ArrayLike, n: int | None = None) -> Array:
        """Return the weights per example as a 1-D array of the network's dtype, or raise an error.

        The weights must be finite and non-negative, with a positive sum. The array
        itself is returned, not a copy, when it already is such an array (nothing here
        writes to it).

        Parameters
        ----------
        sample_weight : array_like of shape (N,)
            One weight per example; integers and booleans are converted.
        n : int or None, default None
            The number of examples of X, which the weights must match; None: not checked.

        Returns
        -------
        ndarray of shape (N,)
            The weights, ready for the loss.

        Raises
        ------
        LayerwiseError
            If the weights are not numbers, not 1-D, not ``n`` of them, hold NaN,
            infinities (or values too large for the dtype) or negative values, or are all
            zero.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> net.check_sample_weight([1, 2, 0.5]).tolist()
        [1.0, 2.0, 0.5]
        >>> net.check_sample_weight([1, -1, 1])
        Traceback (most recent call last):
        ...
        layerwise.errors.LayerwiseError: sample_weight must be non-negative, but it holds -1
        >>> net.check_sample_weight([0, 0], n=2)
        Traceback (most recent call last):
        ...
        layerwise.errors.LayerwiseError: sample_weight must have a positive sum, but every weight is zero
        """
        try:
            weights = np.asarray(sample_weight)
        except (TypeError, ValueError) as e:
            raise LayerwiseError(f"sample_weight is not a numeric array: {e}") from None
        if weights.dtype.kind not in "biuf":
            raise LayerwiseError(f"sample_weight must be numbers, not of dtype {weights.dtype}")
        if weights.ndim != 1:
            raise LayerwiseError(
                f"sample_weight must be 1-D, one weight per example, not of shape {weights.shape}"
            )
        if n is not None and len(weights) != n:
            raise LayerwiseError(f"X has {n} examples but sample_weight has {len(weights)} weights")
        if not np.isfinite(weights).all():
            raise LayerwiseError("sample_weight contains NaN or infinite values")
        with np.errstate(over="ignore"):  # a weight beyond the dtype's range is reported below
            weights = np.require(weights, dtype=self.dtype, requirements=("C", "A"))
        if not np.isfinite(weights).all():
            raise LayerwiseError(f"sample_weight holds values too large for {self.dtype.name}")
        if len(weights) and weights.min() < 0:
            raise LayerwiseError(f"sample_weight must be non-negative, but it holds {weights.min():g}")
        if not _weight_sum(weights) > 0:
            raise LayerwiseError("sample_weight must have a positive sum, but every weight is zero")
        return weights

    # --- description --------------------------------------------------------------

    def summary(self, print_fn: Callable[[str], object] | None = print) -> str:
        """Return a table of the layers, and print it, as Keras' ``model.summary()`` does.

        A first line gives the inputs, the classes, the dtype and the loss; then one row
        per layer: its index (as in ``named_parameters``), its type, the shape of its
        output for one example and its number of parameters; a last line gives the total
        number of parameters, all of them trainable, and their size in memory.

        Parameters
        ----------
        print_fn : callable or None, default print
            Called once with the whole table (a str of several lines); None prints
            nothing.

        Returns
        -------
        str
            The table, its lines separated by newlines (no newline at the end).

        See Also
        --------
        named_parameters : Every Parameter with its name.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("64-48-32-10", "sigmoid", "sigmoid", seed=0)
        >>> text = net.summary()
        Network: 64 inputs, 10 classes, float32, loss SoftmaxCrossEntropy
        #  Layer    Output shape  Parameters
        0  Linear   (48,)              3,120
        1  Sigmoid  (48,)                  0
        2  Linear   (32,)              1,568
        3  Sigmoid  (32,)                  0
        4  Linear   (10,)                330
        5  Sigmoid  (10,)                  0
        Total parameters: 5,018 (trainable: 5,018), 19.6 KiB
        >>> text.splitlines()[-1] == net.summary(print_fn=None).splitlines()[-1]
        True
        """
        rows = [("#", "Layer", "Output shape", "Parameters")]
        for i, (layer, shape) in enumerate(zip(self.layers, self.shapes)):
            count = sum(p.value.size for p in layer.parameters())
            rows.append((str(i), type(layer).__name__, str(shape), f"{count:,}"))
        widths = [max(len(row[c]) for row in rows) for c in range(4)]
        inputs = (
            f"inputs of shape {self.input_shape}"
            if len(self.input_shape) > 1
            else f"{self.n_features} inputs"
        )
        outputs = f"{self.n_classes} classes" if self.loss.classifier else f"{self.n_outputs} outputs"
        lines = [f"Network: {inputs}, {outputs}, {self.dtype.name}, loss {type(self.loss).__name__}"]
        for index, kind, out, number in rows:
            lines.append(
                f"{index:<{widths[0]}}  {kind:<{widths[1]}}  {out:<{widths[2]}}  {number:>{widths[3]}}"
            )
        params = self.parameters()
        total = sum(p.value.size for p in params)
        nbytes = sum(p.value.nbytes for p in params)
        line = f"Total parameters: {total:,} (trainable: {total:,}), {_size(nbytes)}"
        state = sum(a.size for _, a in self.named_state())
        if state:
            line += f"; {state:,} values of state not trained (running statistics)"
        lines.append(line)
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self) -> str:
        inner = "".join(f"  ({i}): {layer!r}\n" for i, layer in enumerate(self.layers))
        return f"Network(\n{inner}  (loss): {self.loss!r}\n)"


def _size(nbytes: int) -> str:
    """A number of bytes for people: 812 B, 19.6 KiB, 1.3 MiB."""
    if nbytes < 1024:
        return f"{nbytes} B"
    value = float(nbytes)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def _input_shape(layers: Sequence[Layer], given: Sequence[int] | None) -> tuple[int, ...]:
    """The shape of one example: ``given``, or the first one a layer fixes."""
    if given is not None:
        shape = tuple(int(d) for d in given)
        if not shape or min(shape) < 1:
            raise LayerwiseError(f"input_shape must be positive sizes, not {tuple(given)}")
        return shape
    for layer in layers:
        shape_of = layer.input_shape()
        if shape_of is not None:
            return shape_of
        if type(layer).output_shape is not Layer.output_shape:  # not elementwise: no guess
            break
    raise LayerwiseError(
        f"the input shape of a network that starts with {layers[0]!r} is not fixed by its layers: "
        "pass input_shape=(channels, height, width) or start with Reshape((channels, height, width))"
    )


def _shapes(layers: Sequence[Layer], shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Each layer's output shape for one example, from the input shape."""
    shapes = []
    for i, layer in enumerate(layers):
        try:
            shape = tuple(layer.output_shape(shape))
        except LayerwiseError as e:
            raise LayerwiseError(f"layer {i}: {e}") from None
        shapes.append(shape)
    return shapes
