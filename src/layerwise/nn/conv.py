"""Convolution and pooling on images, NCHW: Conv2D, MaxPool2D, AvgPool2D.

Images are batches of shape (N, C, H, W), as in PyTorch and ONNX. In memory, the outputs
of these layers are channels-last (NHWC, PyTorch's ``channels_last`` format): the arrays
returned have shape (N, C, H, W) and are transposed views of (N, H, W, C) buffers. The
shape is the contract; the memory order is what makes the loops fast, since every pixel's
channels are then side by side: a convolution's output is its matrix product as computed,
pooling and col2im move runs of C values, and the next layer reads its input without a
copy. The elementwise layers (activations, dropout) keep the memory order they are given;
any array of the right shape and any memory order is accepted.

A convolution is computed as im2col plus matrix products: the kernel offsets copy shifted,
strided views of the images into a column matrix (a loop over the kH*kW kernel offsets,
never over examples or pixels), and one product with the weights gives every output of
those images at once. The batch goes through in chunks of examples whose column matrix
(about 2 MB in float32) stays in the processor's cache from its copy to its product: a
batch of 128 14x14 images of 32 channels is 16 chunks of 8, measured faster than one
product for the whole batch (and, by a few percent in interleaved runs, than chunks of 16).
Backward runs the same steps in reverse (col2im adds the column gradients back). Pooling
takes the maximum or the mean of shifted views, one axis at a time. The pixel loops
(im2col, col2im, max-pooling) also exist compiled, when numba is installed: ``kernels.py``
chooses. Like the other layers, these write into buffers they own, one per batch shape: a
returned array stays valid until the layer's next call with that shape.
"""

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..errors import LayerwiseError
from . import kernels
from .layers import INITS, Layer, Parameter, as_dtype, as_generator
from .types import Array, DTypeLike, Seed

_Pair = tuple[int, int]


def _pair(value: int | Sequence[int], what: str, minimum: int) -> _Pair:
    """(h, w) from an int or a pair of ints, each at least ``minimum``."""
    try:
        pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise LayerwiseError(f"{what} must be an int or a pair of ints, not {value!r}")
    if min(pair) < minimum:
        sign = "positive" if minimum == 1 else "non-negative"
        raise LayerwiseError(f"{what} must be {sign}, not {value!r}")
    return int(pair[0]), int(pair[1])


def _out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length along one axis: floor((size + 2 padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


class _Window(NamedTuple):
    """Along one axis, for one kernel offset: the outputs that read inside the image
    (``out``) and the inputs they read (``inp``), as slices."""

    out: slice
    inp: slice


@functools.lru_cache(maxsize=256)
def _windows(
    size: int, n_out: int, kernel: int, stride: int, padding: int
) -> tuple[tuple[int, _Window], ...]:
    """(i, window) for each kernel offset i along one axis that reads inside the image:
    output o of offset i reads input o * stride + i - padding."""
    windows = []
    for i in range(kernel):
        lo = max(0, -((i - padding) // stride))  # the first output whose input is >= 0
        hi = min(n_out, (size - 1 + padding - i) // stride + 1)  # past the last one < size
        if hi > lo:
            start = lo * stride + i - padding
            windows.append(
                (i, _Window(slice(lo, hi), slice(start, start + (hi - lo - 1) * stride + 1, stride)))
            )
    return tuple(windows)


def _covers(index: tuple[slice, ...], shape: tuple[int, ...]) -> bool:
    """Whether ``index`` (slices over the leading axes) selects all of an array of ``shape``."""
    return all(part.indices(size) == (0, size, 1) for part, size in zip(index, shape))


def _sum_into(target: Array, parts: Sequence[tuple[tuple[slice, ...], Array]]) -> None:
    """target = the sum of the parts, each added at its index; a part that covers the
    whole target is copied first, which spares filling zeros."""
    parts = list(parts)
    whole = next((k for k, (index, _) in enumerate(parts) if _covers(index, target.shape)), None)
    if whole is None:
        target.fill(0)
    else:
        index, values = parts.pop(whole)
        np.copyto(target, values)
    for index, values in parts:
        view = target[index]
        np.add(view, values, out=view)


def _nhwc(layer: Layer, a: Array, kind: str) -> Array:
    """NCHW images ``a`` as a C-contiguous NHWC array: a view when they are channels-last
    in memory, else a copy into ``layer``'s buffer of this kind."""
    nhwc = a.transpose(0, 2, 3, 1)
    if nhwc.flags.c_contiguous:
        return nhwc
    copy = layer._buffer(kind, nhwc.shape, a.dtype)
    np.copyto(copy, nhwc)
    return copy


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as every framework computes it) of NCHW images.

    ``out[n, o] = bias[o] + sum over c, i, j of weight[o, c, i, j] * x[n, c, ho s + i - p,
    wo s + j - p]``, with zeros outside the image (zero padding). ``weight`` has shape
    (out_channels, in_channels, kH, kW), PyTorch's and ONNX's layout; ``bias`` has shape
    (out_channels,) and starts at zero. Both are Parameters (the L2 penalty applies to the
    weight only).

    The output has spatial size floor((H + 2 pH - kH) / sH) + 1 by the same in W. It is
    computed as im2col, strided copies per kernel offset, plus one matrix product per chunk
    of examples (see the module's notes); backward adds the column gradients back the same
    way (col2im). The bias is one more row of the weight matrix, against a column of ones
    in the column matrix, so that the product adds it.

    Parameters
    ----------
    in_channels : int
        Channels of the input (C).
    out_channels : int
        Channels of the output, one filter each.
    kernel_size : int or pair of int
        (kH, kW), or one int for both.
    stride : int or pair of int, default 1
        Steps between two filter positions, (sH, sW) or one int.
    padding : int or pair of int, default 0
        Zeros added on each side, (pH, pW) or one int.
    init : str, default "he_uniform"
        How the weights start: "he_uniform" (uniform in +-sqrt(6/fan_in)), "he_normal"
        (normal with standard deviation sqrt(2/fan_in)) or "glorot_uniform" (uniform in
        +-sqrt(6/(fan_in + fan_out))), with fan_in = in_channels kH kW and fan_out =
        out_channels kH kW.
    dtype : {"float32", "float64"} or numpy dtype, default "float32"
        The dtype of the weights and biases.
    seed : int, SeedSequence, Generator or None, default None
        Seed of the initial weights (None: fresh entropy).

    Raises
    ------
    LayerwiseError
        If a number of channels or a kernel size or stride is not positive, a padding is
        negative, ``init`` is unknown or ``dtype`` is not float32 or float64.

    See Also
    --------
    MaxPool2D : The usual next layer after an activation.
    Flatten : Images to rows, before a Linear.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> conv = lw.Conv2D(1, 32, kernel_size=3, padding=1, seed=0)
    >>> conv
    Conv2D(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), dtype=float32)
    >>> conv.weight.value.shape, conv.bias.value.shape
    ((32, 1, 3, 3), (32,))
    >>> x = np.ones((8, 1, 28, 28), dtype=np.float32)  # 8 images of 28x28, one channel
    >>> conv.forward(x).shape, conv.output_shape((1, 28, 28))
    ((8, 32, 28, 28), (32, 28, 28))
    """

    output_reusable = True
    # The compiled loops (kernels.py) copy images of at least this many channels; for
    # fewer, NumPy's strided copies per kernel offset are faster (the benchmark's first
    # layer, one channel: 0.6 against 2.1 ms for a batch of 128 28x28 images).
    _compiled_from_channels = 8
    _chunk_values = 1 << 19  # values in the column matrix of one chunk of examples
    _max_buffers = 12  # (3 times this many buffers are kept) more kinds of buffers than a Linear

    _x: Array  # the input of the last forward pass
    _columns: Array | None  # its column matrix, when it was one chunk

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        *,
        init: str = "he_uniform",
        dtype: DTypeLike = "float32",
        seed: Seed = None,
    ) -> None:
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise LayerwiseError(f"Conv2D {what} must be a positive int, not {n!r}")
        if init not in INITS:
            raise LayerwiseError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "Conv2D kernel_size", 1)
        self.stride = _pair(stride, "Conv2D stride", 1)
        self.padding = _pair(padding, "Conv2D padding", 0)
        self.init = init
        dtype = as_dtype(dtype)
        rng = as_generator(seed)
        area = self.kernel_size[0] * self.kernel_size[1]
        fan_in, fan_out = self.in_channels * area, self.out_channels * area
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        if init == "glorot_uniform":
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-limit, limit, shape)
        elif init == "he_uniform":
            limit = np.sqrt(6.0 / fan_in)
            w = rng.uniform(-limit, limit, shape)
        else:
            w = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        self.weight = Parameter("weight", w.astype(dtype), decay=True)
        self.bias = Parameter("bias", np.zeros(self.out_channels, dtype), decay=False)

    def _spatial(self, shape: tuple[int, ...]) -> _Pair:
        """(Ho, Wo) for an input of (per-example or batch) shape ending in (H, W)."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return _out_size(shape[-2], kh, sh, ph), _out_size(shape[-1], kw, sw, pw)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return (out_channels, Ho, Wo) for an input of shape (in_channels, H, W).

        Parameters
        ----------
        shape : tuple of int
            The shape of one example's input.

        Returns
        -------
        tuple of int
            (out_channels, floor((H + 2 pH - kH) / sH) + 1, floor((W + 2 pW - kW) / sW) + 1).

        Raises
        ------
        LayerwiseError
            If ``shape`` is not (in_channels, H, W), or the kernel is larger than the
            padded image.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> conv = lw.Conv2D(3, 8, kernel_size=(3, 5), stride=2, padding=(1, 2))
        >>> conv.output_shape((3, 32, 31))
        (8, 16, 16)
        >>> conv.output_shape((1, 28, 28))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        layerwise.errors.LayerwiseError: Conv2D(3, 8, ...) takes images of shape (3, H, W), not inputs ...
        """
        shape = tuple(shape)
        if len(shape) != 3 or shape[0] != self.in_channels:
            raise LayerwiseError(
                f"{self!r} takes images of shape ({self.in_channels}, H, W), not inputs of shape {shape}"
            )
        ho, wo = self._spatial(shape)
        if ho < 1 or wo < 1:
            raise LayerwiseError(f"{self!r} has a kernel larger than the padded image of shape {shape}")
        return (self.out_channels, ho, wo)

    def parameters(self) -> list[Parameter]:
        """Return ``[weight, bias]``, the layer's two Parameters (not copies).

        Returns
        -------
        list of Parameter
            The weight, of shape (out_channels, in_channels, kH, kW), then the bias, of
            shape (out_channels,).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> [(p.name, p.value.shape, p.decay) for p in lw.Conv2D(1, 4, 3).parameters()]
        [('weight', (4, 1, 3, 3), True), ('bias', (4,), False)]
        """
        return [self.weight, self.bias]

    def _check(self, x: Array) -> _Pair:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise LayerwiseError(
                f"{self!r} takes batches of shape (N, {self.in_channels}, H, W), not {x.shape}"
            )
        ho, wo = self._spatial(x.shape)
        if ho < 1 or wo < 1:
            raise LayerwiseError(f"{self!r} has a kernel larger than the padded images of shape {x.shape}")
        return ho, wo

    def _chunk(self, n: int, p: int) -> int:
        """Examples per chunk: column matrices of about ``_chunk_values`` values, so that
        they stay in the processor's cache from their copy to their product."""
        q = self.in_channels * self.kernel_size[0] * self.kernel_size[1] + 1
        per_chunk = max(1, self._chunk_values // (q * p))
        chunks = max(1, -(-n // per_chunk))
        return max(1, -(-n // chunks))  # chunks as even as possible

    def _matrix(self, dtype: np.dtype[Any]) -> Array:
        """The weights as one (kH kW C + 1, O) matrix, in the column matrix's order (kernel
        row, kernel column, channel), with the bias as its last row."""
        (kh, kw), c, o = self.kernel_size, self.in_channels, self.out_channels
        q = kh * kw * c
        matrix = self._buffer("weight", (q + 1, o), dtype)
        np.copyto(matrix[:q].reshape(kh, kw, c, o), self.weight.value.transpose(2, 3, 1, 0))
        np.copyto(matrix[q], self.bias.value)
        return matrix

    def _im2col(self, x: Array, ho: int, wo: int) -> Array:
        """The column matrix (n Ho Wo, kH kW C + 1) of a chunk ``x`` of NHWC images: a row
        per output pixel, holding the inputs its filter reads (kernel row, kernel column,
        channel) and a last column of ones (for the bias).

        NumPy: one strided copy per kernel offset (i, j), of the inputs it reads for all
        the output pixels at once. The zeros (where the kernel reads padding) are written
        when the buffer is made and stay, since the same input shape always writes the
        same places."""
        n, h, w, c = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        q = kh * kw * c
        cols = self._buffer(f"cols{h}x{w}", (n * ho * wo, q + 1), x.dtype, fill=0.0)
        cols[:, q] = 1.0
        compiled = kernels.compiled() if c >= self._compiled_from_channels else None
        if compiled is not None:
            compiled.im2col(x, cols, kh, kw, sh, sw, ph, pw, ho, wo)
            return cols
        target = cols[:, :q].reshape(n, ho, wo, kh, kw, c)  # a view: axes only split
        for i, row in _windows(h, ho, kh, sh, ph):
            for j, column in _windows(w, wo, kw, sw, pw):
                np.copyto(target[:, row.out, column.out, i, j], x[:, row.inp, column.inp])
        return cols

    def _col2im(self, dcols: Array, gx: Array, ho: int, wo: int) -> None:
        """Write dLoss/dx of a chunk into ``gx`` (n, H, W, C) from its column gradients
        (n Ho Wo, kH kW C): ``_im2col`` backwards, each copy an addition."""
        n, h, w, c = gx.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        compiled = kernels.compiled() if c >= self._compiled_from_channels else None
        if compiled is not None:
            compiled.col2im(dcols, gx, kh, kw, sh, sw, ph, pw, ho, wo)
            return
        source = dcols.reshape(n, ho, wo, kh, kw, c)
        every = slice(None)
        parts = [
            ((every, row.inp, column.inp), source[:, row.out, column.out, i, j])
            for i, row in _windows(h, ho, kh, sh, ph)
            for j, column in _windows(w, wo, kw, sw, pw)
        ]
        _sum_into(gx, parts)

    def forward(self, x: Array) -> Array:
        """Return the convolution of a batch ``x`` of images, plus the bias.

        ``x`` itself is kept (not copied) for ``backward``: leave it unchanged until then.

        Parameters
        ----------
        x : ndarray of shape (N, in_channels, H, W)
            A batch of N images, of the layer's dtype, in any memory order (channels-last,
            as the image layers return them, is read without a copy).

        Returns
        -------
        ndarray of shape (N, out_channels, Ho, Wo)
            The output, channels-last in memory, in a buffer the layer owns (valid until
            its next call with the same input shape).

        Raises
        ------
        LayerwiseError
            If ``x`` is not of shape (N, in_channels, H, W) or is smaller than the kernel.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> conv = lw.Conv2D(1, 1, kernel_size=2, dtype="float64")
        >>> conv.weight.value[:] = [[[[1.0, 0.0], [0.0, -1.0]]]]
        >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
        >>> conv.forward(x)[0, 0].tolist()  # x[h, w] - x[h + 1, w + 1]
        [[-4.0, -4.0], [-4.0, -4.0]]
        """
        ho, wo = self._check(x)
        n, p, o = x.shape[0], ho * wo, self.out_channels
        images = x.transpose(0, 2, 3, 1)  # NHWC
        matrix = self._matrix(x.dtype)
        out = self._buffer("out", (n, ho, wo, o), x.dtype)
        rows = out.reshape(n * p, o)  # a row per output pixel: the product's own layout
        size = self._chunk(n, p)
        # A batch of one chunk keeps its column matrix for backward, which would copy the
        # same again (the benchmark's first layer: 2 ms a step); with several chunks each
        # is made again in turn, cheaper than keeping them all and reading them back.
        self._columns = None
        for start in range(0, n, size):
            chunk = images[start : start + size]
            cols = self._im2col(chunk, ho, wo)
            np.matmul(cols, matrix, out=rows[start * p : (start + len(chunk)) * p])
            if size >= n:
                self._columns = cols
        self._x = x
        return out.transpose(0, 3, 1, 2)

    def backward(self, grad: Array, input_grad: bool = True) -> Array | None:
        """Return dLoss/dx from dLoss/dout; fill ``weight.grad`` and ``bias.grad``.

        The column matrices are made again from the input of the last ``forward``, chunk
        by chunk, rather than kept: copying them is cheaper than reading them back from
        memory.

        Parameters
        ----------
        grad : ndarray of shape (N, out_channels, Ho, Wo)
            dLoss/dout for the batch of the last ``forward``, in any memory order.
        input_grad : bool, default True
            With ``input_grad=False`` (the first layer) dLoss/dx is not computed.

        Returns
        -------
        ndarray of shape (N, in_channels, H, W) or None
            dLoss/dx, channels-last in memory, in a buffer the layer owns; None when
            ``input_grad`` is False.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> conv = lw.Conv2D(2, 3, kernel_size=3, padding=1, dtype="float64", seed=0)
        >>> out = conv.forward(np.ones((4, 2, 5, 5)))
        >>> conv.backward(np.ones_like(out)).shape, conv.bias.grad.tolist()
        ((4, 2, 5, 5), [100.0, 100.0, 100.0])
        >>> conv.backward(np.ones_like(out), input_grad=False) is None
        True
        """
        x = self._x
        n, o, ho, wo = grad.shape
        p = ho * wo
        (kh, kw), c = self.kernel_size, self.in_channels
        q = kh * kw * c
        images = x.transpose(0, 2, 3, 1)
        rows = _nhwc(self, grad, "grad_nhwc").reshape(n * p, o)
        matrix_t = self._matrix(grad.dtype)[:q].T
        # dL/dW with dL/db as its last row (the column of ones), summed over the chunks
        total = self._buffer("dweight", (q + 1, o), grad.dtype)
        part = self._buffer("dweight_part", (q + 1, o), grad.dtype)
        gx = self._buffer("grad", images.shape, grad.dtype) if input_grad else None
        size = self._chunk(n, p)
        for start in range(0, n, size):
            chunk = images[start : start + size]
            b = len(chunk)
            cols = self._columns if self._columns is not None else self._im2col(chunk, ho, wo)
            g_chunk = rows[start * p : (start + b) * p]
            np.matmul(cols.T, g_chunk, out=total if start == 0 else part)
            if start > 0:
                total += part
            if gx is not None:
                dcols = self._buffer("dcols", (b * p, q), grad.dtype)
                np.matmul(g_chunk, matrix_t, out=dcols)
                self._col2im(dcols, gx[start : start + b], ho, wo)
        np.copyto(self.weight.grad, total[:q].reshape(kh, kw, c, o).transpose(3, 2, 0, 1))
        np.copyto(self.bias.grad, total[q])
        return None if gx is None else gx.transpose(0, 3, 1, 2)

    @property
    def dtype(self) -> np.dtype[np.floating]:
        """The dtype of the layer's weights and biases (float32 or float64)."""
        return self.weight.value.dtype

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_columns", None)
        return state

    def __repr__(self) -> str:
        return (
            f"Conv2D({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dtype={self.dtype.name})"
        )


def _along(a: Array, axis: int, start: int, n: int, step: int) -> Array:
    """The view of NHWC images ``a`` at start, start + step, ... (n of them) along their
    height (axis 0) or their width (axis 1)."""
    index = slice(start, start + (n - 1) * step + 1, step)
    return a[:, index] if axis == 0 else a[:, :, index]


class _Pool2D(Layer):
    """Pooling over kH x kW windows, stride (sH, sW), no padding: the shared parts.

    Both poolings are separable: along each row first (a window of kW columns, giving
    (N, rows, Wo, C) in NHWC order), then along the columns of that (kH rows, giving
    (N, Ho, Wo, C)). Each step is one NumPy call per kernel offset on strided views of the
    whole batch; backward runs the two steps in reverse. Axis 0 is the height (the kernel's
    first size), axis 1 the width."""

    _x_shape: tuple[int, ...]  # the input shape of the last forward pass

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None) -> None:
        name = type(self).__name__
        self.kernel_size = _pair(kernel_size, f"{name} kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, f"{name} stride", 1)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return (C, Ho, Wo) for an input of shape (C, H, W).

        Ho = floor((H - kH) / sH) + 1 and Wo likewise, as in PyTorch (no padding).

        Parameters
        ----------
        shape : tuple of int
            The shape of one example's input.

        Returns
        -------
        tuple of int
            The shape of one example's output.

        Raises
        ------
        LayerwiseError
            If ``shape`` is not (C, H, W) or the window is larger than the image.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.MaxPool2D(2).output_shape((32, 28, 28)), lw.AvgPool2D(3, stride=2).output_shape((8, 7, 6))
        ((32, 14, 14), (8, 3, 2))
        """
        shape = tuple(shape)
        if len(shape) != 3:
            raise LayerwiseError(f"{self!r} takes images of shape (C, H, W), not inputs of shape {shape}")
        ho, wo = self._spatial(shape)
        if ho < 1 or wo < 1:
            raise LayerwiseError(f"{self!r} has a window larger than the image of shape {shape}")
        return (shape[0], ho, wo)

    def _spatial(self, shape: tuple[int, ...]) -> _Pair:
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        return _out_size(shape[-2], kh, sh, 0), _out_size(shape[-1], kw, sw, 0)

    def _start(self, x: Array) -> tuple[Array, int, int, int]:
        """Check a batch; return it as NHWC images, (Ho, Wo, rows used); remember its shape."""
        if x.ndim != 4:
            raise LayerwiseError(f"{self!r} takes batches of shape (N, C, H, W), not {x.shape}")
        ho, wo = self._spatial(x.shape)
        if ho < 1 or wo < 1:
            raise LayerwiseError(f"{self!r} has a window larger than the images of shape {x.shape}")
        self._x_shape = x.shape
        return x.transpose(0, 2, 3, 1), ho, wo, (ho - 1) * self.stride[0] + self.kernel_size[0]

    def _backward(self, grad: Array, rows: int, index: tuple[Array, ...] | None) -> Array:
        """dLoss/dx (NCHW view of NHWC memory) from the windows' gradients ``grad`` (NHWC):
        the column step's backward into the ``rows`` rows the windows cover, then the row
        step's; ``index`` holds each step's offsets of the maxima (row step, column step),
        None: every offset gets ``grad``."""
        n, c, h, w = self._x_shape
        wo = grad.shape[2]
        wide = self._buffer("grad_wide", (n, rows, wo, c), grad.dtype)
        self._spread(grad, wide, 0, None if index is None else index[1])
        gx = self._buffer("grad", (n, h, w, c), grad.dtype)
        if rows < h:
            gx[:, rows:] = 0
        self._spread(wide, gx[:, :rows], 1, None if index is None else index[0])
        return gx.transpose(0, 3, 1, 2)

    def _spread(self, grad: Array, target: Array, axis: int, index: Array | None) -> None:
        """Backward of one step along ``axis``: write into ``target`` (whose axis has the
        step's input length) each window's gradient, to the offset ``index`` names (all
        offsets when it is None, each getting ``grad``)."""
        k, s = self.kernel_size[axis], self.stride[axis]
        n = grad.shape[axis + 1]
        views = [_along(target, axis, t, n, s) for t in range(k)]
        disjoint = s >= k
        if not (s == k and target.shape[axis + 1] == n * k):  # not every input in a window
            target.fill(0)
        if index is not None and k == 2 and disjoint:
            np.multiply(grad, index, out=views[1])
            np.subtract(grad, views[1], out=views[0])
            return
        mask = self._buffer(f"mask{axis}", grad.shape, np.dtype(bool)) if index is not None else None
        part = self._buffer(f"part{axis}", grad.shape, grad.dtype) if not disjoint else None
        for t, view in enumerate(views):
            if index is None or mask is None:
                value = grad
            else:
                np.equal(index, t, out=mask)
                value = np.multiply(grad, mask, out=view if part is None else part)
            if part is None:
                if value is not view:
                    np.copyto(view, value)
            else:
                np.add(view, value, out=view)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride})"


class MaxPool2D(_Pool2D):
    """Maximum over kH x kW windows of NCHW images, moved by ``stride`` (no padding).

    The output has spatial size floor((H - kH) / sH) + 1 by floor((W - kW) / sW) + 1, as
    in PyTorch. The gradient of each window goes to one of its maxima: the first in
    row-major order when several are equal, as PyTorch chooses.

    Parameters
    ----------
    kernel_size : int or pair of int
        The window, (kH, kW) or one int for both.
    stride : int or pair of int or None, default None
        Steps between two windows; None: the kernel size (windows side by side).

    Raises
    ------
    LayerwiseError
        If a kernel size or stride is not a positive int.

    See Also
    --------
    AvgPool2D : The mean over each window.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> pool = lw.MaxPool2D(2)
    >>> pool
    MaxPool2D(kernel_size=(2, 2), stride=(2, 2))
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> pool.forward(x)[0, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    >>> pool.backward(np.ones((1, 1, 2, 2)))[0, 0].tolist()
    [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0]]
    """

    # Where each window's maximum is (None at inference): per step, its offset (NumPy's
    # loops, two arrays), or its offset di kW + dj in the window (the compiled loops, one):
    _index: tuple[Array, ...] | None

    def _max(self, x: Array, axis: int, n: int, out: Array, index: Array | None) -> None:
        """One step: ``out`` = the maximum over the windows along ``axis``; ``index`` = the
        offset of its first occurrence (a later offset takes over only when larger)."""
        k, s = self.kernel_size[axis], self.stride[axis]
        views = [_along(x, axis, t, n, s) for t in range(k)]
        if k == 1:
            np.copyto(out, views[0])
            if index is not None:
                index.fill(0)
            return
        larger = (
            self._buffer(f"larger{axis}", out.shape, np.dtype(bool)) if k > 2 and index is not None else None
        )
        if index is not None:
            np.greater(views[1], views[0], out=index if larger is None else larger)
            if larger is not None:
                np.copyto(index, larger)
        np.maximum(views[0], views[1], out=out)
        for t, view in enumerate(views[2:], start=2):
            if index is not None and larger is not None:
                np.greater(view, out, out=larger)
                np.copyto(index, t, where=larger)
            np.maximum(out, view, out=out)

    def forward(self, x: Array) -> Array:
        """Return the maximum of each window; while training, remember where it is.

        Parameters
        ----------
        x : ndarray of shape (N, C, H, W)
            A batch of N images.

        Returns
        -------
        ndarray of shape (N, C, Ho, Wo)
            The maxima, in a buffer the layer owns (valid until its next call with the
            same input shape).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> x = np.array([[[[1.0, 5.0, 2.0], [3.0, 4.0, 0.0], [9.0, 8.0, 7.0]]]])
        >>> lw.MaxPool2D(2, stride=1).forward(x)[0, 0].tolist()
        [[5.0, 5.0], [9.0, 8.0]]
        """
        images, ho, wo, rows = self._start(x)
        n, c = x.shape[:2]
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        out = self._buffer("out", (n, ho, wo, c), x.dtype)
        self._index = None
        compiled = kernels.compiled()
        if compiled is not None:
            offsets = self._buffer("index", out.shape, np.min_scalar_type(kh * kw - 1))
            compiled.max_pool(images, out, offsets, kh, kw, sh, sw)
            self._index = (offsets,) if self.training else None
            return out.transpose(0, 3, 1, 2)
        if not self.training:
            # Rows first: the views of the first step are then runs of whole image rows,
            # faster than the stride of the columns. (In training, columns first gives
            # the first maximum in row-major order when several are equal.)
            width = (wo - 1) * sw + kw
            tall = self._buffer("tall", (n, ho, width, c), x.dtype)
            self._max(images[:, :, :width], 0, ho, tall, None)
            self._max(tall, 1, wo, out, None)
            return out.transpose(0, 3, 1, 2)
        kinds = np.min_scalar_type(max(self.kernel_size) - 1)
        wide = self._buffer("wide", (n, rows, wo, c), x.dtype)
        index = (self._buffer("index_w", wide.shape, kinds), self._buffer("index_h", out.shape, kinds))
        self._max(images[:, :rows], 1, wo, wide, index[0])
        self._max(wide, 0, ho, out, index[1])
        self._index = index
        return out.transpose(0, 3, 1, 2)

    def backward(self, grad: Array, input_grad: bool = True) -> Array:
        """Return dLoss/dx: each window's gradient at its maximum, zeros elsewhere.

        Call it after a ``forward`` in training mode.

        Parameters
        ----------
        grad : ndarray of shape (N, C, Ho, Wo)
            dLoss/dout for the batch of the last ``forward``.
        input_grad : bool, default True
            Accepted for the Layer interface; the input gradient is always computed.

        Returns
        -------
        ndarray of shape (N, C, H, W)
            dLoss/dx, in a buffer the layer owns.

        Raises
        ------
        LayerwiseError
            If the last ``forward`` was in inference mode (nothing was remembered).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> pool = lw.MaxPool2D(2)
        >>> _ = pool.forward(np.zeros((1, 1, 2, 2)))  # four equal maxima
        >>> pool.backward(np.ones((1, 1, 1, 1)))[0, 0].tolist()  # the first one takes it
        [[1.0, 0.0], [0.0, 0.0]]
        """
        if self._index is None:
            raise LayerwiseError("MaxPool2D.backward needs a forward pass in training mode first")
        if len(self._index) == 2:
            return self._backward(grad.transpose(0, 2, 3, 1), self._index[0].shape[1], self._index)
        g = _nhwc(self, grad, "grad_nhwc")  # the compiled loop reads it fastest in this order
        n, c, h, w = self._x_shape
        gx = self._buffer("grad", (n, h, w, c), grad.dtype)
        kernels.numba_loops().max_pool_backward(g, self._index[0], gx, *self.kernel_size, *self.stride)
        return gx.transpose(0, 3, 1, 2)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_index", None)
        return state


class AvgPool2D(_Pool2D):
    """Mean over kH x kW windows of NCHW images, moved by ``stride`` (no padding).

    The output has spatial size floor((H - kH) / sH) + 1 by floor((W - kW) / sW) + 1, as
    in PyTorch. Each input of a window receives 1/(kH kW) of its gradient.

    Parameters
    ----------
    kernel_size : int or pair of int
        The window, (kH, kW) or one int for both.
    stride : int or pair of int or None, default None
        Steps between two windows; None: the kernel size (windows side by side).

    Raises
    ------
    LayerwiseError
        If a kernel size or stride is not a positive int.

    See Also
    --------
    MaxPool2D : The maximum over each window.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> pool = lw.AvgPool2D(2)
    >>> pool
    AvgPool2D(kernel_size=(2, 2), stride=(2, 2))
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> pool.forward(x)[0, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    >>> pool.backward(np.ones((1, 1, 2, 2)))[0, 0, 0].tolist()
    [0.25, 0.25, 0.25, 0.25]
    """

    def _sum(self, x: Array, axis: int, n: int, out: Array) -> None:
        """One step: ``out`` = the sum over the windows along ``axis``."""
        k, s = self.kernel_size[axis], self.stride[axis]
        views = [_along(x, axis, t, n, s) for t in range(k)]
        if k == 1:
            np.copyto(out, views[0])
            return
        np.add(views[0], views[1], out=out)
        for view in views[2:]:
            np.add(out, view, out=out)

    def forward(self, x: Array) -> Array:
        """Return the mean of each window.

        Parameters
        ----------
        x : ndarray of shape (N, C, H, W)
            A batch of N images.

        Returns
        -------
        ndarray of shape (N, C, Ho, Wo)
            The means, in a buffer the layer owns (valid until its next call with the
            same input shape).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> x = np.arange(6.0).reshape(1, 1, 2, 3)
        >>> lw.AvgPool2D((2, 2), stride=1).forward(x)[0, 0].tolist()
        [[2.0, 3.0]]
        """
        images, ho, wo, rows = self._start(x)
        n, c = x.shape[:2]
        wide = self._buffer("wide", (n, rows, wo, c), x.dtype)
        out = self._buffer("out", (n, ho, wo, c), x.dtype)
        self._sum(images[:, :rows], 1, wo, wide)
        self._sum(wide, 0, ho, out)
        out *= x.dtype.type(1.0 / (self.kernel_size[0] * self.kernel_size[1]))
        return out.transpose(0, 3, 1, 2)

    def backward(self, grad: Array, input_grad: bool = True) -> Array:
        """Return dLoss/dx: each window's gradient shared equally by its inputs.

        Parameters
        ----------
        grad : ndarray of shape (N, C, Ho, Wo)
            dLoss/dout for the batch of the last ``forward``.
        input_grad : bool, default True
            Accepted for the Layer interface; the input gradient is always computed.

        Returns
        -------
        ndarray of shape (N, C, H, W)
            dLoss/dx, in a buffer the layer owns.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> pool = lw.AvgPool2D(2, stride=1)
        >>> _ = pool.forward(np.zeros((1, 1, 3, 3)))
        >>> pool.backward(np.ones((1, 1, 2, 2)))[0, 0].tolist()  # overlapping windows add
        [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]
        """
        rows = (grad.shape[2] - 1) * self.stride[0] + self.kernel_size[0]
        g = grad.transpose(0, 2, 3, 1)
        share = self._buffer("share", g.shape, grad.dtype)
        np.multiply(g, grad.dtype.type(1.0 / (self.kernel_size[0] * self.kernel_size[1])), out=share)
        return self._backward(share, rows, None)


__all__ = ["AvgPool2D", "Conv2D", "MaxPool2D"]
