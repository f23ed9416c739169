"""Network: an ordered list of layers plus a loss."""

from collections.abc import Iterable, Sequence
from typing import Any, Self

import numpy as np

from ..errors import LayerwiseError
from .config import DEFAULTS, default_init
from .layers import Activation, Dropout, Layer, Linear, Parameter, activation_layer, as_dtype, pack
from .losses import SoftmaxCrossEntropy
from .types import Array, ArrayLike, DTypeLike, Labels


def parse_spec(spec: str | Sequence[int]) -> list[int]:
    """ "64-48-32-10" (or a list of ints) -> [64, 48, 32, 10]."""
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


def _all_finite(X: Array) -> bool:
    """True when no value of X is NaN or infinite. A NaN or an infinity makes the dot
    product of X with itself non-finite; that BLAS call is several times faster than
    np.isfinite(X).all(), which decides only when the dot product overflows."""
    flat = X.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        square = np.dot(flat, flat)
    return bool(np.isfinite(square)) or bool(np.isfinite(X).all())


def _check_finite(X: Array) -> None:
    if not _all_finite(X):
        raise LayerwiseError("X contains NaN or infinite values")


class Network:
    """Layers applied in order, then a loss applied to the last layer's output.

    The loss is applied to whatever the last layer emits, so the tutorial's network
    (a sigmoid after the last linear map, then softmax) is written exactly as it is.
    """

    _flat: tuple[Array, Array, int]  # made by _packed: (values, grads, number of weight values)

    def __init__(self, layers: Iterable[Layer], loss: SoftmaxCrossEntropy | None = None) -> None:
        layers = list(layers)
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise LayerwiseError("a Network needs a non-empty list of layers")
        linears = [layer for layer in layers if isinstance(layer, Linear)]
        if not linears:
            raise LayerwiseError("a Network needs at least one Linear layer")
        for a, b in zip(linears, linears[1:]):
            if a.n_out != b.n_in:
                raise LayerwiseError(f"layer sizes do not chain: {a!r} is followed by {b!r}")
        dtypes = {layer.dtype for layer in linears}
        if len(dtypes) > 1:
            raise LayerwiseError("all Linear layers of a network must have the same dtype")
        self.layers = layers
        self.loss = SoftmaxCrossEntropy() if loss is None else loss
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
        """A fully connected network from sizes such as "64-256-128-10".

        ``activation`` follows every hidden Linear; ``output_activation`` (None = linear
        logits) follows the last one; ``dropout`` > 0 adds Dropout after each hidden
        activation. ``init`` None is he_uniform for ReLU-like activations and
        glorot_uniform (the tutorial's) otherwise. ``seed`` makes the initial weights and
        dropout masks reproducible. The defaults are those of ``TrainConfig``.
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
        return [layer for layer in self.layers if isinstance(layer, Linear)]

    @property
    def n_features(self) -> int:
        return self.linears[0].n_in

    @property
    def n_classes(self) -> int:
        return self.linears[-1].n_out

    @property
    def sizes(self) -> list[int]:
        linears = self.linears
        return [linears[0].n_in] + [layer.n_out for layer in linears]

    @property
    def dtype(self) -> np.dtype[np.floating]:
        return self.linears[0].dtype

    def parameters(self) -> list[Parameter]:
        """Every Parameter, layer by layer, named "<layer index>.weight" and so on."""
        params = []
        for layer in self.layers:
            params.extend(layer.parameters())
        return params

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        return [(f"{i}.{p.name}", p) for i, layer in enumerate(self.layers) for p in layer.parameters()]

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
        self._packed()

    def _l2_penalty(self, l2: float, n: int) -> float:
        """lambda / (2N) * sum of squared weights (biases excluded), as in the tutorial."""
        if not l2:
            return 0.0
        values, _, n_weights = self._flat
        weights = values[:n_weights]
        return 0.5 * l2 / n * float(np.dot(weights, weights))

    def get_weights(self) -> list[Array]:
        """Copies of every parameter value, in ``parameters()`` order."""
        return [p.value.copy() for p in self.parameters()]

    def set_weights(self, values: Sequence[ArrayLike]) -> None:
        """Sets every parameter value from a list in ``parameters()`` order (copied)."""
        params = self.parameters()
        if len(values) != len(params):
            raise LayerwiseError(f"expected {len(params)} arrays of weights, got {len(values)}")
        for p, v in zip(params, values):
            v = np.asarray(v)
            if v.shape != p.value.shape:
                raise LayerwiseError(f"weights for {p.name} have shape {v.shape}, expected {p.value.shape}")
            np.copyto(p.value, v, casting="unsafe")

    def astype(self, dtype: DTypeLike) -> "Network":
        """A copy of this network in another dtype."""
        as_dtype(dtype)
        return Network([layer.astype(dtype) for layer in self.layers], loss=type(self.loss)())

    # --- the core ---------------------------------------------------------------------

    def train(self, mode: bool = True) -> Self:
        """Training mode (dropout active) or inference mode (``train(False)``)."""
        if self._training is not mode:
            for layer in self.layers:
                layer.training = mode
            self._training = mode
        return self

    def eval(self) -> Self:
        return self.train(False)

    def forward(self, X: Array) -> Array:
        """The last layer's output for a batch already validated and of the network's dtype."""
        return self._forward(X, self.layers)

    @staticmethod
    def _forward(X: Array, layers: Sequence[Layer], after_linear: bool = False) -> Array:
        for layer in layers:
            # An activation right after a Linear overwrites the Linear's output buffer.
            X = (
                layer.forward(X, out=X)
                if after_linear and isinstance(layer, Activation)
                else layer.forward(X)
            )
            after_linear = isinstance(layer, Linear)
        return X

    def backward(self, grad: Array) -> None:
        """Backpropagates dLoss/dOutput through the layers in reverse, filling every .grad."""
        layers = self.layers
        for layer in layers[:0:-1]:
            grad = layer.backward(grad)  # type: ignore[assignment]  # None only with input_grad=False
        layers[0].backward(grad, input_grad=False)

    def _loss_and_gradients(self, X: Array, y: Labels, l2: float) -> tuple[float, Array]:
        """forward, loss, backward on validated arrays; returns the loss and the last
        layer's output (valid until the next forward pass)."""
        out = self.forward(X)
        loss = self.loss.forward(out, y)
        self.backward(self.loss.backward())
        if l2:
            n = X.shape[0]
            loss += self._l2_penalty(l2, n)
            values, grads, n_weights = self._flat
            grads[:n_weights] += (l2 / n) * values[:n_weights]  # d(penalty)/dW = lambda / N * W
        return loss, out

    def loss_and_gradients(self, X: ArrayLike, y: ArrayLike, l2: float = 0.0) -> float:
        """Forward pass, loss (mean cross-entropy + lambda/(2N) sum W^2), backward pass.

        Fills every parameter's ``grad`` and returns the loss. Uses training mode, so
        Dropout is active.
        """
        X = self.check_X(X)
        y = self.check_y(y, len(X))
        self.train(True)
        self._packed()
        return self._loss_and_gradients(X, y, float(l2))[0]

    def evaluate(self, X: ArrayLike, y: ArrayLike, l2: float = 0.0) -> tuple[float, float]:
        """(loss, accuracy) in inference mode; the loss includes the L2 term."""
        self._packed()
        X = self.check_X(X)
        y = self.check_y(y, len(X))
        return self._evaluate(X, y, l2)

    def _evaluate(self, X: Array, y: Labels, l2: float = 0.0) -> tuple[float, float]:
        self.train(False)
        out = self.forward(X)
        loss = self.loss.forward(out, y) + self._l2_penalty(l2, len(X))
        accuracy = float(np.mean(out.argmax(axis=1) == y))
        return loss, accuracy

    def predict_proba(self, X: ArrayLike) -> Array:
        """Class probabilities, shape (N, n_classes)."""
        return SoftmaxCrossEntropy.softmax(self._logits(X))

    def predict(self, X: ArrayLike) -> Labels:
        """Predicted class indices, shape (N,)."""
        labels: Labels = self._logits(X).argmax(axis=1)
        return labels

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
        if not isinstance(first, Linear) or first.n_out >= first.n_in:
            _check_finite(X)
            return self.forward(X)
        with np.errstate(over="ignore", invalid="ignore"):  # bad input is reported just below
            z = first.forward(X)
        if not _all_finite(z):
            _check_finite(X)
        return self._forward(z, self.layers[1:], after_linear=True)

    # --- validation at the public boundary --------------------------------------------

    def check_X(self, X: ArrayLike, finite: bool = True) -> Array:
        """X as an aligned C-contiguous array of the network's dtype, or a clear error.
        ``finite=False`` leaves the check for NaN and infinities to the caller."""
        try:
            X = np.asarray(X)
        except (TypeError, ValueError) as e:
            raise LayerwiseError(f"X is not a numeric array: {e}") from None
        if X.dtype.kind not in "biuf":
            raise LayerwiseError(f"X must be numeric, not of dtype {X.dtype}")
        if X.ndim != 2:
            raise LayerwiseError(f"X must be 2-D (examples x features), not of shape {X.shape}")
        if X.shape[1] != self.n_features:
            raise LayerwiseError(f"X has {X.shape[1]} features but the network expects {self.n_features}")
        if X.shape[0] == 0:
            raise LayerwiseError("X has no examples")
        # C order and aligned: arrays that arrive unaligned (unpickled from a byte stream
        # on a Dask worker, say) would keep NumPy from BLAS and its fast loops.
        X = np.require(X, dtype=self.dtype, requirements=("C", "A"))
        if finite:
            _check_finite(X)
        return X

    def check_y(self, y: ArrayLike, n: int | None = None) -> Labels:
        """y as an integer array of labels 0..K-1, or a clear error."""
        y = np.asarray(y)
        if y.ndim != 1:
            raise LayerwiseError(f"y must be 1-D, not of shape {y.shape}")
        if n is not None and len(y) != n:
            raise LayerwiseError(f"X has {n} examples but y has {len(y)} labels")
        if y.dtype.kind == "f":
            if not np.isfinite(y).all() or np.any(y != np.round(y)):
                raise LayerwiseError("labels must be integers 0..K-1; y has non-integer values")
        elif y.dtype.kind not in "iub":
            raise LayerwiseError(f"labels must be integers 0..K-1, not of dtype {y.dtype}")
        y = y.astype(np.intp)
        k = self.n_classes
        if len(y) and (y.min() < 0 or y.max() >= k):
            bad = y[(y < 0) | (y >= k)][0]
            raise LayerwiseError(f"label {bad} is out of range: the network has {k} classes (0..{k - 1})")
        return y

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Network([\n{inner}\n], loss={self.loss!r})"
