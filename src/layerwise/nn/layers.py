"""Layers: objects with ``forward`` and ``backward``.

Rows are examples. ``forward(x)`` maps a batch ``x`` of shape (N, n_in) to the layer's
output and remembers what ``backward`` needs; ``backward(grad)`` takes dLoss/dOutput and
returns dLoss/dInput, filling the ``grad`` of the layer's parameters on the way.

Outputs and input gradients are written into buffers the layer owns (one per batch size),
so a training loop allocates nothing per step. A returned array stays valid until the
layer's next call with the same batch size; copy it to keep it.
"""

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import LayerwiseError
from .types import Array, DTypeLike, Seed

DTYPES: dict[str, type[np.floating]] = {"float32": np.float32, "float64": np.float64}


def as_dtype(dtype: DTypeLike) -> np.dtype[np.floating]:
    """Accept "float32", "float64" or the NumPy types; anything else is an error."""
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in DTYPES:
        raise LayerwiseError(f"dtype must be float32 or float64, not {dtype!r}")
    return np.dtype(DTYPES[key])


def as_generator(seed: Seed) -> np.random.Generator:
    """A numpy Generator from a seed (int, None, SeedSequence) or the Generator itself."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


class Parameter:
    """A trainable array: ``value`` and its ``grad`` (same shape), updated in place.

    ``decay`` says whether the L2 penalty applies (weights yes, biases no).
    """

    __slots__ = ("name", "value", "grad", "decay")

    def __init__(self, name: str, value: Array, decay: bool, grad: Array | None = None) -> None:
        self.name = name
        self.value = value
        self.grad = np.zeros_like(value) if grad is None else grad
        self.decay = decay

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"


def pack(parameters: Sequence[Parameter]) -> tuple[Array, Array]:
    """Moves the parameters into one flat array of values and one of gradients, in the
    order given; each Parameter keeps a view of its part. Returns the two flat arrays.

    Elementwise work over all parameters (an optimizer step, the L2 penalty, a copy of
    the weights) is then one NumPy call on a flat array instead of one per parameter.
    """
    dtype = parameters[0].value.dtype
    size = sum(p.value.size for p in parameters)
    values, grads = np.empty(size, dtype), np.zeros(size, dtype)
    start = 0
    for p in parameters:
        end = start + p.value.size
        values[start:end] = p.value.ravel()
        p.value = values[start:end].reshape(p.value.shape)
        p.grad = grads[start:end].reshape(p.value.shape)
        start = end
    return values, grads


def flat_block(parameters: Sequence[Parameter]) -> tuple[Array, Array, list[int]] | None:
    """The flat arrays (values, grads) that ``parameters`` tile exactly, each value and
    grad at the same offset (as ``pack`` leaves them), and the offsets; None otherwise."""
    if not parameters:
        return None
    values, grads = parameters[0].value.base, parameters[0].grad.base
    if not (isinstance(values, np.ndarray) and isinstance(grads, np.ndarray)):
        return None
    if values.ndim != 1 or grads.shape != values.shape or grads.dtype != values.dtype:
        return None
    v0, g0 = values.__array_interface__["data"][0], grads.__array_interface__["data"][0]
    offsets, covered = [], 0
    for p in parameters:
        if p.value.base is not values or p.grad.base is not grads or not p.value.flags.c_contiguous:
            return None
        offset = p.value.__array_interface__["data"][0] - v0
        if offset != p.grad.__array_interface__["data"][0] - g0 or not p.grad.flags.c_contiguous:
            return None
        offsets.append(offset // values.itemsize)
        covered += p.value.size
    ends = sorted((o, o + p.value.size) for o, p in zip(offsets, parameters))
    if covered != values.size or any(a[1] != b[0] for a, b in zip(ends, ends[1:])) or ends[0][0] != 0:
        return None
    return values, grads, offsets


class Layer(ABC):
    """Base class. Subclasses implement ``forward`` and ``backward``."""

    training = True
    _max_buffers = 4  # batch sizes kept: training, last batch, validation, prediction
    _buffers: dict[tuple[str, tuple[int, ...]], Array]  # made by _buffer on first use

    @abstractmethod
    def forward(self, x: Array) -> Array:
        """The layer's output for a batch ``x`` (rows are examples)."""

    @abstractmethod
    def backward(self, grad: Array, input_grad: bool = True) -> Array | None:
        """dLoss/dInput from dLoss/dOutput; fills the parameters' ``grad`` on the way.
        With ``input_grad=False`` (the first layer) the input gradient is not computed."""

    def parameters(self) -> list[Parameter]:
        return []

    def astype(self, dtype: DTypeLike) -> "Layer":
        """A copy of this layer in another dtype (parameters converted, buffers dropped)."""
        return copy.deepcopy(self)

    def _buffer(
        self, kind: str, shape: tuple[int, ...], dtype: np.dtype[Any], fill: float | None = None
    ) -> Array:
        """A reusable output array for this kind of result and this shape; a new one holds
        ``fill`` everywhere when given (its contents are undefined otherwise)."""
        buffers: dict[tuple[str, tuple[int, ...]], Array] = self.__dict__.setdefault("_buffers", {})
        out = buffers.get((kind, shape))
        if out is not None and out.dtype == dtype:
            return out
        if len(self._buffers) >= 3 * self._max_buffers:
            self._buffers.pop(next(iter(self._buffers)))
        out = self._buffers[kind, shape] = (
            np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
        )
        return out

    def __getstate__(self) -> dict[str, Any]:
        # Buffers and the caches of the last forward pass are not part of a layer's state.
        return {k: v for k, v in self.__dict__.items() if k not in ("_buffers", "_x", "_y", "_scale")}


INITS = ("glorot_uniform", "he_uniform", "he_normal")


class Linear(Layer):
    """Affine map ``Y = X @ W + b`` with W of shape (n_in, n_out), as in the tutorial.

    ``init``: "glorot_uniform" (the tutorial's uniform in +-sqrt(6/(n_in+n_out))),
    "he_uniform" or "he_normal" (for ReLU networks). Biases start at zero.
    """

    _x: Array  # the input of the last forward pass

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        init: str = "glorot_uniform",
        dtype: DTypeLike = "float32",
        seed: Seed = None,
    ) -> None:
        if int(n_in) < 1 or int(n_out) < 1:
            raise LayerwiseError(f"Linear sizes must be positive, not {n_in}x{n_out}")
        if init not in INITS:
            raise LayerwiseError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        self.n_in, self.n_out, self.init = int(n_in), int(n_out), init
        dtype = as_dtype(dtype)
        rng = as_generator(seed)
        shape = (self.n_in, self.n_out)
        if init == "glorot_uniform":
            limit = np.sqrt(6.0 / (self.n_in + self.n_out))
            w = rng.uniform(-limit, limit, shape)
        elif init == "he_uniform":
            limit = np.sqrt(6.0 / self.n_in)
            w = rng.uniform(-limit, limit, shape)
        else:
            w = rng.normal(0.0, np.sqrt(2.0 / self.n_in), shape)
        self.weight = Parameter("weight", w.astype(dtype), decay=True)
        self.bias = Parameter("bias", np.zeros(self.n_out, dtype), decay=False)

    def forward(self, x: Array) -> Array:
        self._x = x
        out = self._buffer("out", (x.shape[0], self.n_out), x.dtype)
        np.matmul(x, self.weight.value, out=out)
        out += self.bias.value
        return out

    def backward(self, grad: Array, input_grad: bool = True) -> Array | None:
        x = self._x
        np.matmul(x.T, grad, out=self.weight.grad)
        # The column sum as a BLAS call: ones @ grad is several times faster than sum(axis=0).
        ones = self._buffer("ones", (grad.shape[0],), grad.dtype, fill=1.0)
        np.dot(ones, grad, out=self.bias.grad)
        if not input_grad:
            return None
        gx = self._buffer("grad", x.shape, x.dtype)
        return np.matmul(grad, self.weight.value.T, out=gx)

    def parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]

    def astype(self, dtype: DTypeLike) -> "Linear":
        dtype = as_dtype(dtype)
        new = Linear.__new__(Linear)
        new.n_in, new.n_out, new.init = self.n_in, self.n_out, self.init
        new.weight = Parameter("weight", self.weight.value.astype(dtype), decay=True)
        new.bias = Parameter("bias", self.bias.value.astype(dtype), decay=False)
        return new

    @property
    def dtype(self) -> np.dtype[np.floating]:
        return self.weight.value.dtype

    def __repr__(self) -> str:
        return f"Linear({self.n_in}, {self.n_out}, dtype={self.dtype.name})"


class Activation(Layer):
    """An elementwise function whose derivative is computed from its own output."""

    # Each activation defines these two, writing into the array it is given and returning it:
    _apply: Callable[[Array, Array], Array]  # (x, out) -> f(x)
    _derivative: Callable[[Array, Array, Array], Array]  # (y, grad, gx) -> f'(x) * grad, from y = f(x)
    _y: Array  # the output of the last forward pass

    def forward(self, x: Array, out: Array | None = None) -> Array:
        """``out=x`` computes in place: the network does so when ``x`` is a Linear's output,
        which nothing else reads (every derivative here is computed from the output)."""
        if out is None:
            out = self._buffer("out", x.shape, x.dtype)
        self._y = self._apply(x, out)
        return out

    def backward(self, grad: Array, input_grad: bool = True) -> Array:
        gx = self._buffer("grad", grad.shape, grad.dtype)
        return self._derivative(self._y, grad, gx)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """1 / (1 + exp(-z)), computed as (1 + tanh(z/2)) / 2: no overflow for any z."""

    def _apply(self, x: Array, out: Array) -> Array:
        np.multiply(x, 0.5, out=out)
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5
        return out

    def _derivative(self, y: Array, grad: Array, gx: Array) -> Array:
        np.subtract(1.0, y, out=gx)  # y (1 - y) grad
        gx *= y
        gx *= grad
        return gx


class Tanh(Activation):
    def _apply(self, x: Array, out: Array) -> Array:
        return np.tanh(x, out=out)

    def _derivative(self, y: Array, grad: Array, gx: Array) -> Array:
        np.multiply(y, y, out=gx)  # (1 - y^2) grad
        np.subtract(1.0, gx, out=gx)
        gx *= grad
        return gx


class ReLU(Activation):
    def _apply(self, x: Array, out: Array) -> Array:
        return np.maximum(x, 0.0, out=out)

    def _derivative(self, y: Array, grad: Array, gx: Array) -> Array:
        np.multiply(grad, y > 0, out=gx)
        return gx


class LeakyReLU(Activation):
    """max(z, 0) + negative_slope * min(z, 0)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        if not 0 <= negative_slope < 1:
            raise LayerwiseError(f"negative_slope must be in [0, 1), not {negative_slope}")
        self.negative_slope = float(negative_slope)

    def _apply(self, x: Array, out: Array) -> Array:
        scaled = np.multiply(x, self.negative_slope, out=None if out is x else out)
        return np.maximum(x, scaled, out=out)

    def _derivative(self, y: Array, grad: Array, gx: Array) -> Array:
        slope = np.where(y > 0, 1.0, self.negative_slope).astype(grad.dtype, copy=False)
        return np.multiply(grad, slope, out=gx)

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability ``p`` and scale
    the rest by 1/(1-p); at inference the identity. Masks come from a seeded generator.

    ``freeze_mask = True`` reuses the last mask (a fixed mask, as gradient checks need).
    """

    _scale: Array | None  # the mask of the last forward pass; None: it was the identity

    def __init__(self, p: float = 0.5, seed: Seed = None) -> None:
        if not 0 <= p < 1:
            raise LayerwiseError(f"dropout probability must be in [0, 1), not {p}")
        self.p = float(p)
        self.rng = as_generator(seed)
        self.freeze_mask = False
        self.mask: Array | None = None

    def forward(self, x: Array) -> Array:
        if not self.training or self.p == 0:
            self._scale = None
            return x
        if not (self.freeze_mask and self.mask is not None and self.mask.shape == x.shape):
            keep = (
                self.rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64) >= self.p
            )
            self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        self._scale = self.mask
        out = self._buffer("out", x.shape, x.dtype)
        return np.multiply(x, self.mask, out=out)

    def backward(self, grad: Array, input_grad: bool = True) -> Array:
        if self._scale is None:
            return grad
        gx = self._buffer("grad", grad.shape, grad.dtype)
        return np.multiply(grad, self._scale, out=gx)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


ACTIVATIONS: dict[str, type[Activation] | None] = {
    "sigmoid": Sigmoid,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "identity": None,
    "linear": None,
}


def activation_layer(name: str) -> Activation | None:
    """The activation layer for a name ("sigmoid", "tanh", "relu", "leaky_relu",
    "identity"), or None for the identity."""
    key = str(name).lower().replace("-", "_")
    if key not in ACTIVATIONS:
        names = ", ".join(k for k in ACTIVATIONS if k not in ("logistic", "linear"))
        raise LayerwiseError(f"unknown activation {name!r}; choose one of {names}")
    cls = ACTIVATIONS[key]
    return None if cls is None else cls()
