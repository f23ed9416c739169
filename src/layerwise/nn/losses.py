"""Softmax cross-entropy (fused, log-sum-exp stable) and the tutorial's L2 penalty."""

from collections.abc import Iterable
from typing import Any

import numpy as np

from .layers import Parameter
from .types import Array, Labels


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(z) for integer labels 0..K-1.

    z holds the last layer's output, one row of K values per example. With
    P = softmax(z) (each row's exponentials divided by their sum), the loss is
    L = -(1/N) sum over the examples of log P[i, y_i]. ``forward(z, y)`` returns the loss;
    ``backward()`` returns (P - onehot(y)) / N, the gradient with respect to z.

    The loss is computed as logsumexp(z) - z[y] with a maximum subtracted first (the row
    maximum, or the overall maximum when every logit lies within 60 of it), so no logit
    overflows and no log(0) is taken. The loss has no constructor arguments.

    See Also
    --------
    Network : Applies this loss to its last layer's output.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> loss = lw.SoftmaxCrossEntropy()
    >>> z = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 5.0]])  # 2 examples, 3 classes
    >>> round(loss.forward(z, np.array([0, 2])), 4)
    0.2105
    >>> np.round(loss.backward(), 4).tolist()
    [[-0.1674, 0.1224, 0.045], [0.0033, 0.0033, -0.0066]]
    >>> loss.forward(np.array([[1000.0, 0.0]]), np.array([1]))  # no overflow
    1000.0
    """

    # What backward() and probabilities need from the last forward pass:
    _exps: Array  # exp(z - max), shape (N, K)
    _total: Array  # their row sums, shape (N,)
    _target: Labels  # the flat index of each row's true class
    _probs: Array | None  # softmax(z), once asked for
    _ones_k: Array  # K ones: row sums as a matrix-vector product

    def forward(self, z: Array, y: Labels) -> float:
        """Return the mean cross-entropy of softmax(z) for the labels ``y``.

        Remembers the exponentials for ``backward`` and ``probabilities``.

        Parameters
        ----------
        z : ndarray of shape (N, K)
            The last layer's output, one row per example, one column per class.
        y : ndarray of int of shape (N,)
            The labels 0..K-1, as ``Network.check_y`` returns them; they are not checked
            here.

        Returns
        -------
        float
            The loss -(1/N) sum log P[i, y_i], summed in float64.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> loss = lw.SoftmaxCrossEntropy()
        >>> z = np.zeros((4, 2))  # every class equally likely: the loss is log(2)
        >>> bool(np.isclose(loss.forward(z, np.array([0, 1, 1, 0])), np.log(2)))
        True
        """
        n, k = z.shape
        # Subtract a maximum so exp cannot overflow. The row maxima are slow to find for
        # few classes, so when every logit lies within 60 of the largest one (no row can
        # then underflow to an all-zero sum), the overall maximum does the same job.
        top = z.max()
        if top - z.min() < 60:
            shifted = np.subtract(z, top, out=self._buffer("shifted", z))
        else:
            shifted = np.subtract(z, z.max(axis=1, keepdims=True), out=self._buffer("shifted", z))
        exps = np.exp(shifted, out=self._buffer("exps", z))
        total = np.dot(exps, self._ones(k, z.dtype))  # row sums as a BLAS call
        target = np.arange(0, n * k, k) + y  # flat index of each row's true class
        loss: float = (
            float(np.log(total).sum(dtype=np.float64)) - float(shifted.ravel()[target].sum(dtype=np.float64))
        ) / n
        self._exps, self._total, self._target, self._probs = exps, total, target, None
        return loss

    def backward(self) -> Array:
        """Return dLoss/dz = (P - onehot(y)) / N for the last ``forward``.

        This is the ``grad`` a network passes to its last layer's ``backward``.

        Returns
        -------
        ndarray of shape (N, K)
            The gradient with respect to z, in a buffer the loss owns (valid until its next
            call with the same shape); each row sums to 0.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> loss = lw.SoftmaxCrossEntropy()
        >>> _ = loss.forward(np.zeros((2, 2)), np.array([0, 1]))
        >>> loss.backward().tolist()  # P is 0.5 everywhere, N = 2
        [[-0.25, 0.25], [0.25, -0.25]]
        """
        exps, total = self._exps, self._total
        n = len(total)
        # (P - onehot) / N with P = exps / total, in one pass over the exponentials
        grad: Array = np.multiply(exps, (1.0 / n / total)[:, None], out=self._buffer("grad", exps))
        grad.ravel()[self._target] -= 1.0 / n
        return grad

    def _buffer(self, kind: str, like: Array) -> Array:
        buffers: dict[str, Array] = self.__dict__.setdefault("_buffers", {})
        out = buffers.get(kind)
        if out is None or out.shape != like.shape or out.dtype != like.dtype:
            out = buffers[kind] = np.empty_like(like)
        return out

    def _ones(self, k: int, dtype: np.dtype[Any]) -> Array:
        ones: Array | None = self.__dict__.get("_ones_k")
        if ones is None or len(ones) != k or ones.dtype != dtype:
            ones = self._ones_k = np.ones(k, dtype)
        return ones

    @property
    def probabilities(self) -> Array:
        """softmax(z) of the last forward pass (computed when first asked for).

        An array of shape (N, K), one row of class probabilities per example.
        """
        if self._probs is None:
            self._probs = self._exps / self._total[:, None]
        return self._probs

    @staticmethod
    def softmax(z: Array) -> Array:
        """Return softmax(z) row by row: each row's exponentials divided by their sum.

        The row maximum is subtracted first, so no exponential overflows.

        Parameters
        ----------
        z : ndarray of shape (N, K)
            One row of K values per example.

        Returns
        -------
        ndarray of shape (N, K)
            A new array of class probabilities; each row sums to 1.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> P = lw.SoftmaxCrossEntropy.softmax(np.array([[0.0, 0.0], [1000.0, 0.0]]))
        >>> P.tolist()
        [[0.5, 0.5], [1.0, 0.0]]
        """
        e: Array = np.exp(z - z.max(axis=1, keepdims=True))
        e /= e.sum(axis=1, keepdims=True)
        return e

    def __getstate__(self) -> dict[str, Any]:
        return {}  # buffers and the last pass are not part of the loss

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"


def l2_penalty(parameters: Iterable[Parameter], l2: float, n: int) -> float:
    """Return lambda / (2N) * sum of squared weights (biases excluded), as in the tutorial.

    Parameters
    ----------
    parameters : iterable of Parameter
        The parameters; only those with ``decay`` True (the weights) count.
    l2 : float
        lambda, the L2 strength; 0 gives 0.0 without reading the parameters.
    n : int
        N, the number of examples the loss is averaged over.

    Returns
    -------
    float
        The penalty added to the mean cross-entropy.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.losses import l2_penalty
    >>> layer = lw.Linear(2, 2)
    >>> layer.weight.value[:] = 1.0  # four squared weights: 4
    >>> layer.bias.value[:] = 5.0  # biases do not count
    >>> l2_penalty(layer.parameters(), l2=0.5, n=4)
    0.25
    """
    if l2 == 0:
        return 0.0
    total = sum(float(np.vdot(p.value, p.value)) for p in parameters if p.decay)
    return 0.5 * l2 / n * total
