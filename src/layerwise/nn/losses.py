"""Softmax cross-entropy (fused, log-sum-exp stable) and the tutorial's L2 penalty."""

import numpy as np


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(z) for integer labels 0..K-1.

    ``forward(z, y)`` returns the loss; ``backward()`` returns (P - onehot(y)) / N, the
    gradient with respect to z. The loss is computed as logsumexp(z) - z[y] with the row
    maximum subtracted first, so no logit overflows and no log(0) is taken.
    """

    def forward(self, z, y):
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
        loss = (
            float(np.log(total).sum(dtype=np.float64)) - float(shifted.ravel()[target].sum(dtype=np.float64))
        ) / n
        self._exps, self._total, self._target, self._probs = exps, total, target, None
        return loss

    def backward(self):
        exps, total = self._exps, self._total
        n = len(total)
        # (P - onehot) / N with P = exps / total, in one pass over the exponentials
        grad = np.multiply(exps, (1.0 / n / total)[:, None], out=self._buffer("grad", exps))
        grad.ravel()[self._target] -= 1.0 / n
        return grad

    def _buffer(self, kind, like):
        buffers = self.__dict__.setdefault("_buffers", {})
        out = buffers.get(kind)
        if out is None or out.shape != like.shape or out.dtype != like.dtype:
            out = buffers[kind] = np.empty_like(like)
        return out

    def _ones(self, k, dtype):
        ones = self.__dict__.get("_ones_k")
        if ones is None or len(ones) != k or ones.dtype != dtype:
            ones = self._ones_k = np.ones(k, dtype)
        return ones

    @property
    def probabilities(self):
        """softmax(z) of the last forward pass (computed when first asked for)."""
        if self._probs is None:
            self._probs = self._exps / self._total[:, None]
        return self._probs

    @staticmethod
    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        e /= e.sum(axis=1, keepdims=True)
        return e

    def __getstate__(self):
        return {}  # buffers and the last pass are not part of the loss

    def __repr__(self):
        return "SoftmaxCrossEntropy()"


def l2_penalty(parameters, l2, n):
    """lambda / (2N) * sum of squared weights (biases excluded), as in the tutorial."""
    if l2 == 0:
        return 0.0
    total = sum(float(np.vdot(p.value, p.value)) for p in parameters if p.decay)
    return 0.5 * l2 / n * total
