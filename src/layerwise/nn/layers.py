"""Layers: objects with ``forward`` and ``backward``.

Rows are examples. ``forward(x)`` maps a batch ``x`` of shape (N, n_in) to the layer's
output and remembers what ``backward`` needs; ``backward(grad)`` takes dLoss/dOutput and
returns dLoss/dInput, filling the ``grad`` of the layer's parameters on the way.

Outputs and input gradients are written into buffers the layer owns (one per batch size),
so a training loop allocates nothing per step. A returned array stays valid until the
layer's next call with the same batch size; copy it to keep it.
"""

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import LayerwiseError
from . import kernels
from .types import Array, DTypeLike, Seed

DTYPES: dict[str, type[np.floating]] = {"float32": np.float32, "float64": np.float64}


def as_dtype(dtype: DTypeLike) -> np.dtype[np.floating]:
    """Return the NumPy dtype for float32 or float64; anything else is an error.

    Parameters
    ----------
    dtype : str or numpy dtype
        "float32", "float64", or the NumPy types (``np.float32``, ``np.dtype("float64")``).

    Returns
    -------
    numpy.dtype
        ``dtype('float32')`` or ``dtype('float64')``.

    Raises
    ------
    LayerwiseError
        If ``dtype`` is any other dtype.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layers import as_dtype
    >>> as_dtype("float64").name, as_dtype(np.float32).name
    ('float64', 'float32')
    >>> as_dtype("int32")
    Traceback (most recent call last):
    ...
    layerwise.errors.LayerwiseError: dtype must be float32 or float64, not 'int32'
    """
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in DTYPES:
        raise LayerwiseError(f"dtype must be float32 or float64, not {dtype!r}")
    return np.dtype(DTYPES[key])


def as_generator(seed: Seed) -> np.random.Generator:
    """Return a NumPy Generator from a seed, or the Generator itself.

    Parameters
    ----------
    seed : int, SeedSequence, Generator or None
        A seed for ``np.random.default_rng`` (None: fresh entropy), or a Generator, which
        is returned as it is (not copied: drawing from it advances the caller's Generator).

    Returns
    -------
    numpy.random.Generator
        The generator to draw from.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layers import as_generator
    >>> rng = np.random.default_rng(0)
    >>> as_generator(rng) is rng
    True
    >>> bool(as_generator(7).random() == as_generator(7).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


class Parameter:
    """A trainable array: ``value`` and its ``grad`` (same shape), updated in place.

    A layer's ``backward`` fills ``grad`` with dLoss/dvalue; an optimizer then updates
    ``value`` in place from it. The four constructor arguments are kept as the attributes
    ``name``, ``value``, ``grad`` and ``decay``.

    Parameters
    ----------
    name : str
        The parameter's name within its layer: "weight" or "bias" for a Linear.
    value : ndarray
        The trainable values (W of shape (n_in, n_out), b of shape (n_out,), ...).
    decay : bool
        Whether the L2 penalty applies (weights yes, biases no).
    grad : ndarray or None, default None
        The gradient array, of ``value``'s shape; None: zeros of ``value``'s shape and
        dtype.

    See Also
    --------
    Linear : The layer whose ``weight`` and ``bias`` are Parameters.
    Network.parameters : Every Parameter of a network, layer by layer.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> p = lw.Parameter("weight", np.ones((3, 2)), decay=True)
    >>> p
    Parameter('weight', shape=(3, 2), dtype=float64)
    >>> p.grad.shape, float(p.grad.sum()), p.decay
    ((3, 2), 0.0, True)
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
    """Move the parameters into one flat array of values and one of gradients.

    The parameters are laid out in the order given; each Parameter keeps a view of its
    part (its ``value`` and ``grad`` are replaced by views of the flat arrays). The values
    are copied over; the gradients start at zero. Elementwise work over all parameters
    (an optimizer step, the L2 penalty, a copy of the weights) is then one NumPy call on a
    flat array instead of one per parameter.

    Parameters
    ----------
    parameters : sequence of Parameter
        The parameters to pack, at least one; the flat arrays take the first one's dtype.

    Returns
    -------
    values : ndarray of shape (n_values,)
        Every parameter value, one after the other.
    grads : ndarray of shape (n_values,)
        The gradients, at the same offsets as the values.

    See Also
    --------
    flat_block : Find the flat arrays that packed parameters tile.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layers import pack
    >>> w = lw.Parameter("weight", np.ones((2, 2)), decay=True)
    >>> b = lw.Parameter("bias", np.zeros(3), decay=False)
    >>> values, grads = pack([w, b])
    >>> values.tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    >>> w.value.base is values, b.grad.base is grads
    (True, True)
    >>> values[:4] *= 0.5  # updates w.value, which is a view
    >>> w.value.tolist()
    [[0.5, 0.5], [0.5, 0.5]]
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
    """Return the flat arrays that ``parameters`` tile exactly and the offsets, or None.

    The parameters tile the flat arrays (values, grads) when each value and grad is a
    contiguous view of them at the same offset and together they cover every element, as
    ``pack`` leaves them. An optimizer then updates all of them with one NumPy call.

    Parameters
    ----------
    parameters : sequence of Parameter
        The parameters to look at, in any order.

    Returns
    -------
    tuple of (ndarray, ndarray, list of int) or None
        The flat values, the flat grads, and the offset (in elements) of each parameter,
        in the order given; None when the parameters do not tile flat arrays exactly (or
        the sequence is empty).

    See Also
    --------
    pack : Move parameters into flat arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layers import flat_block, pack
    >>> w = lw.Parameter("weight", np.ones((2, 2)), decay=True)
    >>> b = lw.Parameter("bias", np.zeros(3), decay=False)
    >>> flat_block([w, b]) is None
    True
    >>> values, grads = pack([w, b])
    >>> found = flat_block([b, w])
    >>> found[0] is values, found[2]
    (True, [4, 0])
    >>> flat_block([w]) is None  # w alone does not cover the flat arrays
    True
    """
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
    """Base class of the layers. Subclasses implement ``forward`` and ``backward``.

    Rows are examples. ``forward(x)`` maps a batch to the layer's output and remembers
    what ``backward`` needs; ``backward(grad)`` receives dLoss/dOutput for that same
    batch and returns dLoss/dInput, filling the ``grad`` of the layer's parameters on the
    way. The class attribute ``training`` (True by default) says whether the layer is in
    training mode; ``Network.train`` sets it on every layer.

    See Also
    --------
    Linear : The affine layer Y = X W + b.
    Network : Layers applied in order, then a loss.

    Examples
    --------
    A layer without parameters that doubles its input:

    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layers import Layer
    >>> class Double(Layer):
    ...     def forward(self, x):
    ...         return 2 * x
    ...
    ...     def backward(self, grad, input_grad=True):
    ...         return 2 * grad if input_grad else None
    >>> layer = Double()
    >>> layer.forward(np.ones((2, 3))).tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    >>> layer.backward(np.ones((2, 3))).shape, layer.parameters()
    ((2, 3), [])
    """

    training = True
    # True when backward does not read the layer's output: the next layer, an activation,
    # may then write its own output over it (Network does, for Linear and Conv2D).
    output_reusable = False
    # True when a training batch needs more than one example (batch statistics): fit then
    # folds a last batch of one example into the batch before it.
    needs_batch = False
    _max_buffers = 4  # batch sizes kept: training, last batch, validation, prediction
    _buffers: dict[tuple[str, tuple[int, ...]], Array]  # made by _buffer on first use

    @abstractmethod
    def forward(self, x: Array) -> Array:
        """Return the layer's output for a batch ``x`` (rows are examples).

        Remembers what ``backward`` needs (the input, the output or a mask). The layers
        here write the output into a buffer they own: it stays valid until the layer's
        next call with the same batch size; copy it to keep it.

        Parameters
        ----------
        x : ndarray of shape (N, n_in)
            A batch of N examples, one per row.

        Returns
        -------
        ndarray of shape (N, n_out)
            The layer's output, one row per example.
        """

    @abstractmethod
    def backward(self, grad: Array, input_grad: bool = True) -> Array | None:
        """Return dLoss/dInput from dLoss/dOutput; fill the parameters' ``grad`` on the way.

        Call it after ``forward``: it uses what the last forward pass remembered. Each
        Parameter's ``grad`` is overwritten (not accumulated) with dLoss/dParameter.

        Parameters
        ----------
        grad : ndarray of shape (N, n_out)
            dLoss/dOutput: the gradient of the loss with respect to the output of the last
            ``forward``, one row per example.
        input_grad : bool, default True
            With ``input_grad=False`` (the first layer) the input gradient is not computed.

        Returns
        -------
        ndarray of shape (N, n_in) or None
            dLoss/dInput, one row per example (in a buffer the layer owns, as for
            ``forward``); None when ``input_grad`` is False and the layer skipped it.
        """

    def parameters(self) -> list[Parameter]:
        """Return the layer's trainable Parameters (none here; Linear has two).

        Returns
        -------
        list of Parameter
            The Parameter objects themselves (not copies), empty for a layer without any.
        """
        return []

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return the shape of one example's output for one example's input ``shape``.

        ``Network`` calls it layer by layer when it is built, so that a layer that cannot
        take what the layer before emits is reported then, in one sentence. This base
        version is that of the elementwise layers (activations, Dropout): the output has
        the input's shape.

        Parameters
        ----------
        shape : tuple of int
            The shape of one example's input: (n,) for rows, (C, H, W) for images.

        Returns
        -------
        tuple of int
            The shape of one example's output.

        Raises
        ------
        LayerwiseError
            If the layer cannot take inputs of this shape.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.ReLU().output_shape((32, 14, 14)), lw.Linear(784, 10).output_shape((784,))
        ((32, 14, 14), (10,))
        """
        return shape

    def input_shape(self) -> tuple[int, ...] | None:
        """Return the shape of one example's input when the layer alone fixes it, else None.

        A Linear fixes it ((n_in,)); a layer that takes any shape (an activation) or whose
        spatial size its settings leave open (a convolution) returns None. ``Network``
        uses the first layer that fixes it as its input shape, unless it is given one.

        Returns
        -------
        tuple of int or None
            The shape of one example's input, or None.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.Linear(784, 10).input_shape(), lw.ReLU().input_shape()
        ((784,), None)
        """
        return None

    def state(self) -> dict[str, Array]:
        """Return the arrays of the layer's state that are not trained, by name.

        BatchNorm's running mean and variance are such arrays: computed while training,
        used at inference, saved in model files and checkpoints, never touched by an
        optimizer or the L2 penalty. The arrays themselves are returned (loading a model
        writes into them); this base version has none.

        Returns
        -------
        dict of str to ndarray
            The arrays by name (empty for most layers).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.Linear(3, 2).state()
        {}
        """
        return {}

    def astype(self, dtype: DTypeLike) -> "Layer":
        """Return a copy of this layer in another dtype (parameters converted, no buffers).

        The copy has the same settings and mode, its own Parameters converted to ``dtype``
        (gradients at zero) and its state arrays (``state()``, such as BatchNorm's running
        statistics) converted too; it has neither buffers nor the caches of the last
        forward pass. Every layer uses this one method.

        Parameters
        ----------
        dtype : {"float32", "float64"} or numpy dtype
            The dtype of the copy.

        Returns
        -------
        Layer
            A new layer of the same class; this one is unchanged.

        Raises
        ------
        LayerwiseError
            If ``dtype`` is not float32 or float64.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> layer = lw.Linear(3, 2, seed=0)
        >>> copy = layer.astype("float64")
        >>> copy, layer.dtype.name
        (Linear(3, 2, dtype=float64), 'float32')
        >>> bool(np.allclose(copy.weight.value, layer.weight.value))
        True
        >>> lw.BatchNorm(4).astype("float64").state()["running_var"].dtype.name
        'float64'
        """
        dtype = as_dtype(dtype)
        new = copy.deepcopy(self)  # without buffers and the last pass: __getstate__
        for p in new.parameters():
            p.value = p.value.astype(dtype)
            p.grad = np.zeros_like(p.value)
        for name, array in self.state().items():
            setattr(new, name, array.astype(dtype))
        return new

    def _buffer(
        self,
        kind: str,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        fill: float | None = None,
        like: Array | None = None,
    ) -> Array:
        """A reusable output array for this kind of result and this shape; a new one holds
        ``fill`` everywhere when given (its contents are undefined otherwise). With
        ``like`` (an array of this shape) the buffer has its memory order: channels-last
        images stay channels-last through elementwise layers."""
        key: tuple[Any, ...] = (kind, shape)
        if like is not None:
            order = tuple(sorted(range(like.ndim), key=lambda axis: -like.strides[axis]))
            if order != tuple(range(like.ndim)):
                key = (kind, shape, order)
        buffers: dict[tuple[Any, ...], Array] = self.__dict__.setdefault("_buffers", {})
        out = buffers.get(key)
        if out is not None and out.dtype == dtype:
            return out
        if len(self._buffers) >= 3 * self._max_buffers:
            self._buffers.pop(next(iter(self._buffers)))
        if len(key) == 3 and like is not None:
            out = np.empty_like(like, dtype) if fill is None else np.full_like(like, fill, dtype)
        else:
            out = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
        self._buffers[key] = out
        return out

    def __getstate__(self) -> dict[str, Any]:
        # Buffers and the caches of the last forward pass are not part of a layer's state.
        return {k: v for k, v in self.__dict__.items() if k not in ("_buffers", "_x", "_y", "_scale")}


INITS = ("glorot_uniform", "he_uniform", "he_normal")


class Linear(Layer):
    """Affine map ``Y = X @ W + b`` with W of shape (n_in, n_out), as in the tutorial.

    Each row of X is an example; each column of W holds the weights of one output unit.
    ``weight`` (W) and ``bias`` (b, shape (n_out,)) are Parameters. Biases start at zero.

    Parameters
    ----------
    n_in : int
        Inputs per example (the rows of W).
    n_out : int
        Outputs per example (the columns of W).
    init : str, default "glorot_uniform"
        How W starts: "glorot_uniform" (the tutorial's uniform in +-sqrt(6/(n_in+n_out))),
        "he_uniform" (uniform in +-sqrt(6/n_in)) or "he_normal" (normal with standard
        deviation sqrt(2/n_in)), the last two for ReLU networks.
    dtype : {"float32", "float64"} or numpy dtype, default "float32"
        The dtype of W and b.
    seed : int, SeedSequence, Generator or None, default None
        Seed of the initial weights (None: fresh entropy).

    Raises
    ------
    LayerwiseError
        If a size is not positive, ``init`` is unknown or ``dtype`` is not float32 or
        float64.

    See Also
    --------
    Network.from_spec : A network of Linear layers and activations from its sizes.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> layer = lw.Linear(3, 2, seed=0)
    >>> layer
    Linear(3, 2, dtype=float32)
    >>> layer.weight.value.shape, layer.bias.value.tolist()
    ((3, 2), [0.0, 0.0])
    >>> X = np.ones((4, 3), dtype=np.float32)  # 4 examples of 3 features
    >>> Y = layer.forward(X)
    >>> Y.shape, bool(np.allclose(Y, X @ layer.weight.value + layer.bias.value))
    ((4, 2), True)
    """

    _x: Array  # the input of the last forward pass
    output_reusable = True

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
        """Return ``Y = x W + b`` for a batch ``x`` and remember ``x`` for ``backward``.

        ``x`` itself is kept (not copied): leave it unchanged until ``backward``. The
        output is a buffer the layer owns, valid until its next call with the same batch
        size.

        Parameters
        ----------
        x : ndarray of shape (N, n_in)
            A batch of N examples, one per row, of the layer's dtype.

        Returns
        -------
        ndarray of shape (N, n_out)
            Y, one row per example.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> layer = lw.Linear(2, 2, dtype="float64")
        >>> layer.weight.value[:] = [[1.0, 2.0], [3.0, 4.0]]
        >>> layer.bias.value[:] = [0.5, -0.5]
        >>> layer.forward(np.array([[1.0, 1.0], [1.0, 0.0]])).tolist()
        [[4.5, 5.5], [1.5, 1.5]]
        """
        self._x = x
        out = self._buffer("out", (x.shape[0], self.n_out), x.dtype)
        np.matmul(x, self.weight.value, out=out)
        out += self.bias.value
        return out

    def backward(self, grad: Array, input_grad: bool = True) -> Array | None:
        """Return dLoss/dX from dLoss/dY; fill ``weight.grad`` and ``bias.grad``.

        With X the input of the last ``forward`` and G = dLoss/dY: dLoss/dW = X^T G,
        dLoss/db = the column sums of G (summed over the examples), dLoss/dX = G W^T.
        The two gradients are overwritten, not accumulated.

        Parameters
        ----------
        grad : ndarray of shape (N, n_out)
            dLoss/dY for the batch of the last ``forward``.
        input_grad : bool, default True
            With ``input_grad=False`` (the first layer) dLoss/dX is not computed.

        Returns
        -------
        ndarray of shape (N, n_in) or None
            dLoss/dX (in a buffer the layer owns), or None when ``input_grad`` is False.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> layer = lw.Linear(3, 2, dtype="float64", seed=0)
        >>> X = np.arange(12.0).reshape(4, 3)
        >>> _ = layer.forward(X)
        >>> G = np.ones((4, 2))
        >>> layer.backward(G).shape
        (4, 3)
        >>> bool(np.allclose(layer.weight.grad, X.T @ G)), layer.bias.grad.tolist()
        (True, [4.0, 4.0])
        >>> layer.backward(G, input_grad=False) is None
        True
        """
        x = self._x
        np.matmul(x.T, grad, out=self.weight.grad)
        # The column sum as a BLAS call: ones @ grad is several times faster than sum(axis=0).
        ones = self._buffer("ones", (grad.shape[0],), grad.dtype, fill=1.0)
        np.dot(ones, grad, out=self.bias.grad)
        if not input_grad:
            return None
        gx = self._buffer("grad", x.shape, x.dtype)
        return np.matmul(grad, self.weight.value.T, out=gx)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return (n_out,) for an input of shape (n_in,); any other shape is an error.

        Parameters
        ----------
        shape : tuple of int
            The shape of one example's input.

        Returns
        -------
        tuple of int
            (n_out,).

        Raises
        ------
        LayerwiseError
            If ``shape`` is not (n_in,): images need a Flatten first.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.Linear(3136, 128).output_shape((3136,))
        (128,)
        >>> lw.Linear(3136, 128).output_shape((64, 7, 7))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        layerwise.errors.LayerwiseError: Linear(3136, ...) takes ... (64, 7, 7); put a Flatten() before it
        """
        if tuple(shape) != (self.n_in,):
            hint = "; put a Flatten() before it" if len(shape) > 1 and math.prod(shape) == self.n_in else ""
            what = f"inputs of shape {tuple(shape)}" if len(shape) > 1 else f"rows of {shape[0]} values"
            raise LayerwiseError(f"{self!r} takes rows of {self.n_in} values, not {what}{hint}")
        return (self.n_out,)

    def input_shape(self) -> tuple[int, ...]:
        """Return (n_in,): a Linear takes rows of n_in values.

        Returns
        -------
        tuple of int
            (n_in,).
        """
        return (self.n_in,)

    def parameters(self) -> list[Parameter]:
        """Return ``[weight, bias]``, the layer's two Parameters (not copies).

        Returns
        -------
        list of Parameter
            W of shape (n_in, n_out), then b of shape (n_out,).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> [(p.name, p.value.shape, p.decay) for p in lw.Linear(3, 2).parameters()]
        [('weight', (3, 2), True), ('bias', (2,), False)]
        """
        return [self.weight, self.bias]

    @property
    def dtype(self) -> np.dtype[np.floating]:
        """The dtype of the layer's weights and biases (float32 or float64)."""
        return self.weight.value.dtype

    def __repr__(self) -> str:
        return f"Linear({self.n_in}, {self.n_out}, dtype={self.dtype.name})"


class Activation(Layer):
    """Base class of the activations: elementwise functions, derived from their output.

    An activation is an elementwise function f whose derivative is computed from its own
    output. ``forward`` computes y = f(x) and remembers y; ``backward`` returns
    f'(x) * grad, with f'(x) written in terms of y (y (1 - y) for the sigmoid, 1 - y^2 for
    tanh, ...). As nothing but the output is needed, ``forward`` may overwrite its input
    (``out=x``).
    Subclasses: Sigmoid, Tanh, ReLU, LeakyReLU.

    See Also
    --------
    activation_layer : The activation layer for a name.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layers import Activation
    >>> isinstance(lw.Tanh(), Activation), isinstance(lw.Linear(2, 2), Activation)
    (True, False)
    """

    # Each activation defines these two, writing into the array it is given and returning it:
    _apply: Callable[[Array, Array], Array]  # (x, out) -> f(x)
    _derivative: Callable[[Array, Array, Array], Array]  # (y, grad, gx) -> f'(x) * grad, from y = f(x)
    _y: Array  # the output of the last forward pass

    def forward(self, x: Array, out: Array | None = None) -> Array:
        """Return y = f(x), elementwise, and remember y for ``backward``.

        ``out=x`` computes in place: the network does so when ``x`` is a Linear's output,
        which nothing else reads (every derivative here is computed from the output).

        Parameters
        ----------
        x : ndarray of shape (N, n)
            A batch of N examples, one per row.
        out : ndarray of shape (N, n) or None, default None
            Where to write y, ``x`` itself included; None: a buffer the layer owns, valid
            until its next call with the same batch size.

        Returns
        -------
        ndarray of shape (N, n)
            y, which is ``out`` when given.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> relu = lw.ReLU()
        >>> x = np.array([[-2.0, 0.5, 3.0]])
        >>> relu.forward(x).tolist(), x.tolist()
        ([[0.0, 0.5, 3.0]], [[-2.0, 0.5, 3.0]])
        >>> relu.forward(x, out=x) is x, x.tolist()
        (True, [[0.0, 0.5, 3.0]])
        """
        if out is None:
            out = self._buffer("out", x.shape, x.dtype, like=x)
        self._y = self._apply(x, out)
        return out

    def backward(self, grad: Array, input_grad: bool = True) -> Array:
        """Return dLoss/dx = f'(x) * grad, elementwise, from the last ``forward``'s output.

        Parameters
        ----------
        grad : ndarray of shape (N, n)
            dLoss/dy for the batch of the last ``forward``.
        input_grad : bool, default True
            Accepted for the Layer interface; an activation has no parameters, so the
            input gradient is always computed.

        Returns
        -------
        ndarray of shape (N, n)
            dLoss/dx, in a buffer the layer owns (valid until its next call with the same
            batch size).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> sigmoid = lw.Sigmoid()
        >>> sigmoid.forward(np.array([[0.0, 1000.0]])).tolist()
        [[0.5, 1.0]]
        >>> sigmoid.backward(np.array([[1.0, 1.0]])).tolist()  # y (1 - y) * grad
        [[0.25, 0.0]]
        """
        gx = self._buffer("grad", grad.shape, grad.dtype, like=grad)
        return self._derivative(self._y, grad, gx)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """Logistic sigmoid 1 / (1 + exp(-z)), elementwise: the tutorial's activation.

    Computed as (1 + tanh(z/2)) / 2: no overflow for any z. Outputs lie in (0, 1) (0 and 1
    themselves once rounded); the derivative is y (1 - y), from the output y.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> sigmoid = lw.Sigmoid()
    >>> sigmoid.forward(np.array([[-1000.0, 0.0, 1000.0]])).tolist()
    [[0.0, 0.5, 1.0]]
    """

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
    """Hyperbolic tangent tanh(z), elementwise.

    Outputs lie in (-1, 1); the derivative is 1 - y^2, from the output y.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> tanh = lw.Tanh()
    >>> np.round(tanh.forward(np.array([[-1.0, 0.0, 2.0]])), 3).tolist()
    [[-0.762, 0.0, 0.964]]
    >>> np.round(tanh.backward(np.ones((1, 3))), 3).tolist()
    [[0.42, 1.0, 0.071]]
    """

    def _apply(self, x: Array, out: Array) -> Array:
        return np.tanh(x, out=out)

    def _derivative(self, y: Array, grad: Array, gx: Array) -> Array:
        np.multiply(y, y, out=gx)  # (1 - y^2) grad
        np.subtract(1.0, gx, out=gx)
        gx *= grad
        return gx


class ReLU(Activation):
    """Rectified linear unit max(z, 0), elementwise.

    The derivative is 1 where the output is positive and 0 elsewhere (z = 0 included).

    See Also
    --------
    LeakyReLU : A small slope instead of 0 for negative inputs.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> relu = lw.ReLU()
    >>> relu.forward(np.array([[-1.0, 0.0, 2.0]])).tolist()
    [[0.0, 0.0, 2.0]]
    >>> relu.backward(np.array([[5.0, 5.0, 5.0]])).tolist()
    [[0.0, 0.0, 5.0]]
    """

    def _apply(self, x: Array, out: Array) -> Array:
        return np.maximum(x, 0.0, out=out)

    def _derivative(self, y: Array, grad: Array, gx: Array) -> Array:
        # images: one compiled pass when chosen (kernels.py); rows stay with NumPy, so that
        # a network without images never loads the compiler
        compiled = kernels.compiled() if y.ndim == 4 else None
        views = kernels.flat(y, grad, gx) if compiled is not None else None
        if compiled is not None and views is not None:
            compiled.relu_backward(*views)
        else:
            np.multiply(grad, y > 0, out=gx)
        return gx


class LeakyReLU(Activation):
    """Leaky rectified linear unit max(z, 0) + negative_slope * min(z, 0), elementwise.

    The derivative is 1 where the output is positive and ``negative_slope`` elsewhere.

    Parameters
    ----------
    negative_slope : float, default 0.01
        The slope for negative inputs, in [0, 1).

    Raises
    ------
    LayerwiseError
        If ``negative_slope`` is not in [0, 1).

    See Also
    --------
    ReLU : The same with a slope of 0.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> leaky = lw.LeakyReLU(0.25)
    >>> leaky
    LeakyReLU(negative_slope=0.25)
    >>> leaky.forward(np.array([[-2.0, 0.0, 2.0]])).tolist()
    [[-0.5, 0.0, 2.0]]
    >>> leaky.backward(np.ones((1, 3))).tolist()
    [[0.25, 0.25, 1.0]]
    """

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
    the rest by 1/(1-p); at inference the identity.

    Masks come from a seeded generator (the attribute ``rng``). The last mask, scale
    included, is the attribute ``mask`` (None before the first one). ``freeze_mask = True``
    reuses the last mask (a fixed mask, as gradient checks need) while the batch shape
    stays the same.

    Parameters
    ----------
    p : float, default 0.5
        The probability of zeroing a unit, in [0, 1); 0 makes the layer the identity.
    seed : int, SeedSequence, Generator or None, default None
        Seed of the masks (None: fresh entropy).

    Raises
    ------
    LayerwiseError
        If ``p`` is not in [0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> dropout = lw.Dropout(0.5, seed=0)
    >>> x = np.ones((2, 4))
    >>> out = dropout.forward(x)  # training: each value 0, or 1 / (1 - 0.5)
    >>> sorted(set(out.ravel().tolist()))
    [0.0, 2.0]
    >>> dropout.training = False  # what Network.eval() does
    >>> dropout.forward(x) is x
    True
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
        """Return ``x`` times a fresh mask of 0 and 1/(1-p) while training; ``x`` otherwise.

        Parameters
        ----------
        x : ndarray of shape (N, n)
            A batch of N examples, one per row.

        Returns
        -------
        ndarray of shape (N, n)
            The masked batch, in a buffer the layer owns (valid until its next call with
            the same batch size); ``x`` itself, not a copy, at inference or when p is 0.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> dropout = lw.Dropout(0.25, seed=0)
        >>> out = dropout.forward(np.ones((100, 10)))
        >>> bool(np.all((out == 0) | np.isclose(out, 1 / 0.75)))
        True
        """
        if not self.training or self.p == 0:
            self._scale = None
            return x
        if not (self.freeze_mask and self.mask is not None and self.mask.shape == x.shape):
            keep = (
                self.rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64) >= self.p
            )
            self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        self._scale = self.mask
        out = self._buffer("out", x.shape, x.dtype, like=x)
        return np.multiply(x, self.mask, out=out)

    def backward(self, grad: Array, input_grad: bool = True) -> Array:
        """Return dLoss/dx: ``grad`` times the mask of the last ``forward``.

        Parameters
        ----------
        grad : ndarray of shape (N, n)
            dLoss/dOutput for the batch of the last ``forward``.
        input_grad : bool, default True
            Accepted for the Layer interface; the input gradient is always computed.

        Returns
        -------
        ndarray of shape (N, n)
            dLoss/dx, in a buffer the layer owns; ``grad`` itself when the last
            ``forward`` was the identity.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> dropout = lw.Dropout(0.5, seed=0)
        >>> out = dropout.forward(np.ones((2, 4)))
        >>> bool(np.array_equal(dropout.backward(np.ones((2, 4))), out))  # the same mask
        True
        """
        if self._scale is None:
            return grad
        gx = self._buffer("grad", grad.shape, grad.dtype, like=grad)
        return np.multiply(grad, self._scale, out=gx)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class Reshape(Layer):
    """Give each example a new shape: flat rows of 784 values become (1, 28, 28) images.

    The batch dimension stays; each example's values keep their order (C order, as
    ``numpy.reshape`` and PyTorch's ``view`` read them). No copy is made: the output is a
    view of the input. As the first layer of a convolutional network it turns the rows the
    loaders give into NCHW images.

    Parameters
    ----------
    shape : int or tuple of int
        The shape of one example's output, such as (1, 28, 28).

    Raises
    ------
    LayerwiseError
        If a size is not a positive integer, or (when the network is built) the input
        has another number of values.

    See Also
    --------
    Flatten : Images back to rows, before a Linear.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> reshape = lw.Reshape((1, 2, 3))
    >>> reshape
    Reshape((1, 2, 3))
    >>> reshape.forward(np.arange(12.0).reshape(2, 6)).shape
    (2, 1, 2, 3)
    >>> reshape.backward(np.ones((2, 1, 2, 3))).shape
    (2, 6)
    """

    _in_shape: tuple[int, ...]  # the input shape of the last forward pass, batch included

    def __init__(self, shape: int | Sequence[int]) -> None:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if not shape or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in shape):
            raise LayerwiseError(f"Reshape needs a shape of positive integers, not {shape!r}")
        if min(shape) < 1:
            raise LayerwiseError(f"Reshape needs a shape of positive integers, not {shape!r}")
        self.shape = tuple(int(d) for d in shape)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return the layer's shape, when the input has as many values.

        Parameters
        ----------
        shape : tuple of int
            The shape of one example's input.

        Returns
        -------
        tuple of int
            ``self.shape``.

        Raises
        ------
        LayerwiseError
            If the input has another number of values than the shape.
        """
        if math.prod(shape) != math.prod(self.shape):
            raise LayerwiseError(
                f"{self!r} needs {math.prod(self.shape)} values per example, "
                f"not an input of shape {tuple(shape)}"
            )
        return self.shape

    def input_shape(self) -> tuple[int, ...]:
        """Return (number of values,): as a first layer, Reshape takes flat rows.

        Returns
        -------
        tuple of int
            The product of the shape, as a 1-tuple.
        """
        return (math.prod(self.shape),)

    def forward(self, x: Array) -> Array:
        """Return ``x`` seen with each example of the layer's shape (a view when ``x`` is
        C-contiguous; channels-last images are copied, in NCHW order).

        Parameters
        ----------
        x : ndarray of shape (N, ...)
            A batch of N examples of any shape with as many values as the layer's shape.

        Returns
        -------
        ndarray of shape (N, *shape)
            The same values.
        """
        self._in_shape = x.shape
        return x.reshape((x.shape[0], *self.shape))

    def backward(self, grad: Array, input_grad: bool = True) -> Array:
        """Return ``grad`` seen with the input's shape: reshaping moves no value.

        Parameters
        ----------
        grad : ndarray of shape (N, *shape)
            dLoss/dOutput for the batch of the last ``forward``.
        input_grad : bool, default True
            Accepted for the Layer interface.

        Returns
        -------
        ndarray
            dLoss/dInput, of the last input's shape (a view of ``grad``).
        """
        return grad.reshape(self._in_shape)

    def __repr__(self) -> str:
        return f"Reshape({self.shape})"


class Flatten(Reshape):
    """Make each example a flat row: images of shape (C, H, W) become rows of C*H*W values.

    The values keep their C order (channel, then row, then column), as PyTorch's
    ``nn.Flatten`` and ONNX's ``Flatten`` lay them out, so that weights move between
    them unchanged. No copy is made.

    See Also
    --------
    Reshape : Any per-example shape.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> flatten = lw.Flatten()
    >>> flatten.forward(np.zeros((8, 64, 7, 7))).shape
    (8, 3136)
    >>> flatten.output_shape((64, 7, 7))
    (3136,)
    """

    def __init__(self) -> None:
        self.shape = ()

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return (number of values,) for any input shape.

        Parameters
        ----------
        shape : tuple of int
            The shape of one example's input.

        Returns
        -------
        tuple of int
            The product of ``shape``, as a 1-tuple.
        """
        return (math.prod(shape),)

    def input_shape(self) -> None:  # type: ignore[override]  # Flatten takes any shape
        """Return None: a Flatten takes inputs of any shape.

        Returns
        -------
        None
        """
        return None

    def forward(self, x: Array) -> Array:
        """Return ``x`` with each example as one flat row, in NCHW order as PyTorch and ONNX
        flatten (a view when ``x`` is C-contiguous; channels-last images are copied).

        Parameters
        ----------
        x : ndarray of shape (N, ...)
            A batch of N examples.

        Returns
        -------
        ndarray of shape (N, n)
            The same values, n per example.
        """
        self._in_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def __repr__(self) -> str:
        return "Flatten()"


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
    """Return a new activation layer for a name, or None for the identity.

    Parameters
    ----------
    name : str
        "sigmoid", "tanh", "relu", "leaky_relu" or "identity" (also "logistic" for
        sigmoid and "linear" for identity); case and "-" for "_" do not matter.

    Returns
    -------
    Activation or None
        A new layer (a LeakyReLU with its default slope), or None for the identity.

    Raises
    ------
    LayerwiseError
        If the name is none of these.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layers import activation_layer
    >>> activation_layer("ReLU"), activation_layer("leaky-relu")
    (ReLU(), LeakyReLU(negative_slope=0.01))
    >>> activation_layer("identity") is None
    True
    """
    key = str(name).lower().replace("-", "_")
    if key not in ACTIVATIONS:
        names = ", ".join(k for k in ACTIVATIONS if k not in ("logistic", "linear"))
        raise LayerwiseError(f"unknown activation {name!r}; choose one of {names}")
    cls = ACTIVATIONS[key]
    return None if cls is None else cls()
