"""Softmax cross-entropy (fused, log-sum-exp stable) and the tutorial's L2 penalty."""

from collections.abc import Iterable
from typing import Any

import numpy as np

from .layers import Parameter
from .types import Array, Labels


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(z) for integer labels 0..K-1.

    ``forward(z, y)`` returns the loss; ``backward()`` returns (P - onehot(y)) / N, the
    gradient with respect to z. The loss is computed as logsumexp(z) - z[y] with the row
    maximum subtracted first, so no logit overflows and no log(0) is taken.
    """

    # What backward() and probabilities need from the last forward pass:
    _exps: Array  # exp(z - max), shape (N, K)
    _total: Array  # their row sums, shape (N,)
    _target: Labels  # the flat index of each row's true class
    _probs: Array | None  # softmax(z), once asked for
    _ones_k: Array  # K ones: row sums as a matrix-vector product

    def forward(self, z: Array, y: Labels) -> float:
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
        """softmax(z) of the last forward pass (computed when first asked for)."""
        if self._probs is None:
            self._probs = self._exps / self._total[:, None]
        return self._probs

    @staticmethod
    def softmax(z: Array) -> Array:
        e: Array = np.exp(z - z.max(axis=1, keepdims=True))
        e /= e.sum(axis=1, keepdims=True)
        return e

    def __getstate__(self) -> dict[str, Any]:
        return {}  # buffers and the last pass are not part of the loss

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"


def l2_penalty(parameters: Iterable[Parameter], l2: float, n: int) -> float:
    """lambda / (2N) * sum of squared weights (biases excluded), as in the tutorial."""
    if l2 == 0:
        return 0.0
    total = sum(float(np.vdot(p.value, p.value)) for p in parameters if p.decay)
    return 0.5 * l2 / n * total
