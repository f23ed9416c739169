"""Batch normalisation: each feature or channel standardised over the batch, then scaled
and shifted by trained Parameters."""

from typing import Any

import numpy as np

from ..errors import LayerwiseError
from .layers import Layer, Parameter, as_dtype
from .types import Array, DTypeLike


class BatchNorm(Layer):
    """Batch normalisation of rows (N, F) or images (N, C, H, W), as PyTorch computes it.

    Each feature (each channel of images, over the batch and every pixel) is standardised
    with the mean and the variance of its values, then scaled by ``gamma`` and shifted by
    ``beta``: ``y = gamma * (x - mean) / sqrt(var + eps) + beta``. While ``training``
    the mean and the (biased) variance are those of the batch, and the running statistics
    are updated from them, as PyTorch's ``BatchNorm1d`` / ``BatchNorm2d`` do::

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)

    with n the values per feature (N, or N*H*W for images): the running variance is the
    unbiased one. At inference (``training`` False, which ``Network.eval`` sets) the
    running statistics are used instead, and the layer is an affine map.

    ``gamma`` (ones) and ``beta`` (zeros), of shape (num_features,), are Parameters
    without the L2 penalty. ``running_mean`` (zeros) and ``running_var`` (ones) are not
    trained: ``state()`` returns them, and model files and checkpoints save them.

    Parameters
    ----------
    num_features : int
        The features F of rows, or the channels C of images.
    momentum : float, default 0.1
        The weight of the batch in the running statistics, in [0, 1].
    eps : float, default 1e-5
        Added to the variance before its square root; positive.
    dtype : {"float32", "float64"} or numpy dtype, default "float32"
        The dtype of the Parameters, of the running statistics and of the inputs the
        layer takes.

    Raises
    ------
    LayerwiseError
        If ``num_features`` is not a positive integer, ``momentum`` is not in [0, 1],
        ``eps`` is not positive or ``dtype`` is not float32 or float64.

    See Also
    --------
    Network.eval : Switches every layer, BatchNorm included, to inference mode.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> bn = lw.BatchNorm(3, dtype="float64")
    >>> bn
    BatchNorm(3, momentum=0.1, eps=1e-05, dtype=float64)
    >>> x = np.array([[1.0, 10.0, -1.0], [3.0, 30.0, -1.0]])
    >>> np.round(bn.forward(x), 4).tolist()  # training: the batch's statistics
    [[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0]]
    >>> bn.running_mean.tolist(), np.round(bn.running_var, 4).tolist()
    ([0.2, 2.0, -0.1], [1.1, 20.9, 0.9])
    >>> bn.training = False  # what Network.eval() does: the running statistics
    >>> np.round(bn.forward(x), 3).tolist()
    [[0.763, 1.75, -0.949], [2.67, 6.125, -0.949]]
    """

    # Backward reads what forward kept (the centred input), never the output: the next
    # activation may overwrite the output in place.
    output_reusable = True
    needs_batch = True  # batch statistics of rows need more than one example
    # Seven kinds of buffers per batch shape (centred input, output, gradient, row sums,
    # a plane of one value per channel and two vectors of ones): room for the four batch
    # shapes the base class keeps (its limit is 3 * _max_buffers buffers).
    _max_buffers = 10
    # What backward needs from the last forward pass: (training?, kept, offset,
    # 1 / sqrt(var + eps)), with x - mean = kept - offset; kept has the shape (N, C) or
    # (N, C, H*W).
    _last: tuple[bool, Array, Array, Array]

    def __init__(
        self, num_features: int, momentum: float = 0.1, eps: float = 1e-5, *, dtype: DTypeLike = "float32"
    ) -> None:
        if (
            not isinstance(num_features, (int, np.integer))
            or isinstance(num_features, bool)
            or num_features < 1
        ):
            raise LayerwiseError(f"BatchNorm needs a positive number of features, not {num_features!r}")
        if not 0.0 <= momentum <= 1.0:
            raise LayerwiseError(f"BatchNorm's momentum must be in [0, 1], not {momentum!r}")
        if not (eps > 0.0 and np.isfinite(eps)):
            raise LayerwiseError(f"BatchNorm's eps must be positive, not {eps!r}")
        dtype = as_dtype(dtype)
        self.num_features = int(num_features)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.gamma = Parameter("gamma", np.ones(self.num_features, dtype), decay=False)
        self.beta = Parameter("beta", np.zeros(self.num_features, dtype), decay=False)
        self.running_mean = np.zeros(self.num_features, dtype)
        self.running_var = np.ones(self.num_features, dtype)

    # --- forward and backward ----------------------------------------------------------

    def forward(self, x: Array) -> Array:
        """Return the normalised, scaled and shifted batch; update the running statistics
        while training.

        While ``training`` the batch's mean and biased variance normalise it, and the
        running statistics move towards them (the variance unbiased); otherwise the running
        statistics normalise it. The centred batch is kept for ``backward`` (at inference,
        ``x`` itself: leave it unchanged until ``backward``).

        Parameters
        ----------
        x : ndarray of shape (N, num_features) or (N, num_features, H, W)
            A batch of rows or of NCHW images, of the layer's dtype.

        Returns
        -------
        ndarray of the shape of ``x``
            The output, in a buffer the layer owns (valid until its next call with the
            same batch shape).

        Raises
        ------
        LayerwiseError
            If ``x`` is not of the layer's dtype or shape, or, while training, holds a
            single value per feature (N = 1 for rows, N*H*W = 1 for images), whose
            variance is undefined.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> bn = lw.BatchNorm(2)
        >>> x = np.random.default_rng(0).normal(5.0, 3.0, (16, 2, 4, 4)).astype(np.float32)
        >>> out = bn.forward(x)
        >>> out.shape, np.round(out.std(axis=(0, 2, 3)), 3).tolist()  # each channel's
        ((16, 2, 4, 4), [1.0, 1.0])
        >>> bool(np.allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-6))
        True
        >>> bn.forward(x[:1, :, 0, 0])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        layerwise.errors.LayerwiseError: BatchNorm(2, ...) needs more than one value per feature ...
        """
        view = self._view(x)
        dtype = x.dtype
        if self.training:
            n = view.shape[0]
            if n == 1:
                raise LayerwiseError(
                    f"{self!r} needs more than one value per feature while training, "
                    f"not an input of shape {x.shape}"
                )
            mean = self._sums(view)
            mean /= n
            centred = np.subtract(view, mean, out=self._buffer("centred", view.shape, dtype))
            # The centred values' own mean (the rounding error of the first one, which in
            # float32 matters for inputs far from zero) corrects the mean and the variance
            # without another pass over the batch: the corrected two-pass algorithm.
            offset = self._sums(centred)
            offset /= n
            var = self._dots(centred, centred)
            var /= n
            var -= offset * offset
            np.maximum(var, 0.0, out=var)
            mean += offset
            inv_std = np.add(var, self.eps)
            np.sqrt(inv_std, out=inv_std)
            np.divide(1.0, inv_std, out=inv_std)
            scale = np.multiply(self.gamma.value, inv_std)
            shift = np.subtract(self.beta.value, offset * scale)
            out = np.multiply(centred, scale, out=self._buffer("out", view.shape, dtype))
            out += shift
            m = self.momentum
            self.running_mean *= 1.0 - m
            mean *= m
            self.running_mean += mean
            self.running_var *= 1.0 - m
            var *= m * n / (n - 1)
            self.running_var += var
            self._last = (True, centred, offset, inv_std)
        else:
            inv_std = np.add(self.running_var, self.eps)
            np.sqrt(inv_std, out=inv_std)
            np.divide(1.0, inv_std, out=inv_std)
            scale = np.multiply(self.gamma.value, inv_std)
            shift = np.subtract(self.beta.value, self.running_mean * scale)
            out = np.multiply(view, scale, out=self._buffer("out", view.shape, dtype))
            out += shift
            self._last = (False, view, self.running_mean.copy(), inv_std)
        return self._shaped(out, x.shape)

    def backward(self, grad: Array, input_grad: bool = True) -> Array | None:
        """Return dLoss/dx from dLoss/dy; fill ``gamma.grad`` and ``beta.grad``.

        With G = dLoss/dy, x^ the normalised input and n the values per feature, both
        sums over the batch (and the pixels): dLoss/dbeta = sum(G), dLoss/dgamma =
        sum(G x^). After a training pass, whose statistics depend on the batch,
        dLoss/dx = gamma / (n sqrt(var + eps)) * (n G - sum(G) - x^ sum(G x^)); after an
        inference pass, dLoss/dx = gamma / sqrt(running_var + eps) * G.

        Parameters
        ----------
        grad : ndarray of the shape of the last ``forward``'s input
            dLoss/dy for the batch of the last ``forward``.
        input_grad : bool, default True
            With ``input_grad=False`` (the first layer) dLoss/dx is not computed.

        Returns
        -------
        ndarray of the shape of ``grad`` or None
            dLoss/dx (in a buffer the layer owns), or None when ``input_grad`` is False.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> bn = lw.BatchNorm(2, dtype="float64")
        >>> x = np.array([[1.0, 0.0], [2.0, 4.0], [6.0, 2.0]])
        >>> y = bn.forward(x)
        >>> dx = bn.backward(np.ones((3, 2)))  # sum(y) does not depend on x
        >>> bool(np.abs(dx).max() < 1e-12), bn.beta.grad.tolist(), np.round(bn.gamma.grad, 12).tolist()
        (True, [3.0, 3.0], [0.0, 0.0])
        """
        # x - mean is kept - offset: the centred batch and its small offset after a
        # training pass, the input and the running mean after an inference pass
        training, kept, offset, inv_std = self._last
        g = self._rows(grad)
        dbeta = self._sums(g)
        np.copyto(self.beta.grad, dbeta)
        if not training:  # centred with the running mean, for gamma's gradient alone
            kept = np.subtract(kept, offset, out=self._buffer("centred", kept.shape, kept.dtype))
            offset = np.zeros_like(offset)
        dot = self._dots(g, kept)  # sum(G (x - mean))
        dot -= offset * dbeta
        np.multiply(dot, inv_std, out=self.gamma.grad)  # sum(G x^)
        if not input_grad:
            return None
        scale = np.multiply(self.gamma.value, inv_std)
        gx = self._buffer("grad", kept.shape, kept.dtype)
        if not training:
            np.multiply(g, scale, out=gx)
            return self._shaped(gx, grad.shape)
        n = kept.shape[0]
        # scale * (G - sum(G) / n - (x - mean) * inv_std^2 * sum(G (x - mean)) / n), in place,
        # with x - mean = kept - offset
        k = dot * inv_std * inv_std / n
        constant = dbeta / n - offset * k
        np.multiply(kept, k, out=gx)
        np.subtract(g, gx, out=gx)
        gx -= constant
        gx *= scale
        return self._shaped(gx, grad.shape)

    def _view(self, x: Array) -> Array:
        """x as rows (N, C), or images as rows (N*H*W, C), once its dtype and shape are
        checked."""
        if x.dtype != self.dtype:
            raise LayerwiseError(
                f"{self!r} takes {self.dtype.name} inputs, not {x.dtype}; convert the input or "
                f"the network (astype)"
            )
        if x.ndim not in (2, 4) or x.shape[1] != self.num_features:
            self.output_shape(x.shape[1:])
        return self._rows(x)

    @staticmethod
    def _rows(a: Array) -> Array:
        """Rows (N, C) as they are; images (N, C, H, W) as one row per pixel (N*H*W, C): a
        view when they are channels-last in memory (as convolutions return them), a copy
        otherwise. Images are then normalised as rows are."""
        return a if a.ndim == 2 else a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])

    @staticmethod
    def _shaped(rows: Array, shape: tuple[int, ...]) -> Array:
        """Rows back to ``shape``: images (N, C, H, W), channels-last in memory."""
        if len(shape) == 2:
            return rows
        n, c, h, w = shape
        return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)

    # Sums per feature as BLAS calls: ones @ a is several times faster than a.sum(axis=0);
    # einsum multiplies and sums in one pass.

    def _sums(self, a: Array) -> Array:
        """The sum of each feature's values: a of shape (n, C) -> (C,)."""
        sums: Array = np.dot(self._buffer("ones", (a.shape[0],), a.dtype, fill=1.0), a)
        return sums

    def _dots(self, a: Array, b: Array) -> Array:
        """The sum of each feature's products a * b: (n, C) -> (C,)."""
        dots: Array = np.einsum("ij,ij->j", a, b)
        return dots

    # --- shapes, parameters, state --------------------------------------------------------

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Return ``shape`` when it is (num_features,) or (num_features, H, W).

        Parameters
        ----------
        shape : tuple of int
            The shape of one example's input.

        Returns
        -------
        tuple of int
            ``shape`` itself: the layer keeps the shape.

        Raises
        ------
        LayerwiseError
            If ``shape`` is neither rows of num_features values nor images of
            num_features channels.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.BatchNorm(64).output_shape((64, 14, 14))
        (64, 14, 14)
        >>> lw.BatchNorm(64).output_shape((32, 14, 14))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        layerwise.errors.LayerwiseError: BatchNorm(64, ...) takes rows of 64 values or images of 64 ...
        """
        shape = tuple(shape)
        if len(shape) not in (1, 3) or shape[0] != self.num_features:
            raise LayerwiseError(
                f"{self!r} takes rows of {self.num_features} values or images of {self.num_features} "
                f"channels, not inputs of shape {shape}"
            )
        return shape

    def parameters(self) -> list[Parameter]:
        """Return ``[gamma, beta]``, the layer's two Parameters (not copies), without L2.

        Returns
        -------
        list of Parameter
            The scale gamma, then the shift beta, both of shape (num_features,).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> [(p.name, p.value.tolist(), p.decay) for p in lw.BatchNorm(2).parameters()]
        [('gamma', [1.0, 1.0], False), ('beta', [0.0, 0.0], False)]
        """
        return [self.gamma, self.beta]

    def state(self) -> dict[str, Array]:
        """Return the running statistics, the arrays themselves (not copies).

        Training updates them in place; loading a model writes into them.

        Returns
        -------
        dict of str to ndarray
            "running_mean" and "running_var", each of shape (num_features,).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> bn = lw.BatchNorm(2)
        >>> state = bn.state()
        >>> sorted(state), state["running_var"] is bn.running_var
        (['running_mean', 'running_var'], True)
        """
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    @property
    def dtype(self) -> np.dtype[np.floating]:
        """The dtype of the Parameters, of the running statistics and of the inputs."""
        return self.gamma.value.dtype

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_last", None)
        return state

    def __repr__(self) -> str:
        settings = f"momentum={self.momentum}, eps={self.eps}, dtype={self.dtype.name}"
        return f"BatchNorm({self.num_features}, {settings})"
