"""The losses, each with ``forward(z, y)`` and ``backward()``: softmax cross-entropy
(fused, log-sum-exp stable) for classification, mean squared error for regression; and
the tutorial's L2 penalty.

Each loss takes an optional weight per example: the weighted mean sum w_i l_i / sum w_i,
so that equal weights give the plain mean and a weight of 2 counts an example twice.

A loss also validates its targets (``check_target``), says whether it classifies
(``classifier``), counts correct predictions for the accuracy (``n_correct``) and turns
the last layer's output into predictions (``predict``)."""

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import LayerwiseError
from .layers import Parameter
from .types import Array, ArrayLike, Labels, Targets


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(z) for integer labels 0..K-1.

    z holds the last layer's output, one row of K values per example. With
    P = softmax(z) (each row's exponentials divided by their sum), the loss is
    L = -(1/N) sum over the examples of log P[i, y_i]. ``forward(z, y)`` returns the loss;
    ``backward()`` returns (P - onehot(y)) / N, the gradient with respect to z.

    With a weight w_i per example, ``forward(z, y, sample_weight=w)`` returns the weighted
    mean L = -sum w_i log P[i, y_i] / sum w_i, and ``backward()`` then returns
    w_i (P_i - onehot(y_i)) / sum w. Equal weights give the mean; a weight of 2 counts an
    example as twice.

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

    Weights per example: the second example counts three times as much as the first.

    >>> round(loss.forward(z, np.array([0, 2]), sample_weight=np.array([1.0, 3.0])), 4)
    0.1119
    >>> np.round(loss.backward(), 4).tolist()
    [[-0.0837, 0.0612, 0.0225], [0.005, 0.005, -0.01]]
    """

    classifier = True  # the targets are class labels; predictions are the argmax

    # What backward() and probabilities need from the last forward pass:
    _exps: Array  # exp(z - max), shape (N, K)
    _total: Array  # their row sums, shape (N,)
    _target: Labels  # the flat index of each row's true class
    _probs: Array | None  # softmax(z), once asked for
    _ones_k: Array  # K ones: row sums as a matrix-vector product
    _scale: Array | None  # w_i / sum w of a weighted forward pass; None: unweighted

    def forward(
        self, z: Array, y: Targets, sample_weight: Array | None = None, total_weight: float | None = None
    ) -> float:
        """Return the mean cross-entropy of softmax(z) for the labels ``y``.

        Remembers the exponentials (and the weights) for ``backward`` and
        ``probabilities``.

        Parameters
        ----------
        z : ndarray of shape (N, K)
            The last layer's output, one row per example, one column per class.
        y : ndarray of int of shape (N,)
            The labels 0..K-1, as ``Network.check_y`` returns them; they are not checked
            here.
        sample_weight : ndarray of shape (N,) or None, default None
            A weight per example, finite and non-negative with a positive sum, as
            ``Network.check_sample_weight`` returns them (not checked here); None: every
            example counts the same.
        total_weight : float or None, default None
            What the weighted losses are divided by: None, the sum of ``sample_weight``
            (the weighted mean); ``fit`` gives a mini-batch its share of the training set's
            weight instead (see ``fit``).

        Returns
        -------
        float
            The loss -(1/N) sum log P[i, y_i], summed in float64; with weights,
            -sum w_i log P[i, y_i] / sum w_i (or / ``total_weight``).

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
        # the flat index of each row's true class (y holds labels here)
        target: Labels = np.arange(0, n * k, k) + y  # type: ignore[assignment]
        self._exps, self._total, self._target, self._probs = exps, total, target, None
        if sample_weight is not None:
            return self._weighted(shifted, sample_weight, total_weight)
        self._scale = None
        loss: float = (
            float(np.log(total).sum(dtype=np.float64)) - float(shifted.ravel()[target].sum(dtype=np.float64))
        ) / n
        return loss

    def _weighted(self, shifted: Array, weights: Array, total_weight: float | None) -> float:
        """The weighted mean of each row's loss, log(total) - shifted[target] (divided by
        ``total_weight`` when given); keeps w_i / sum w for ``backward``."""
        rows = np.log(self._total)
        rows -= shifted.ravel()[self._target]
        if total_weight is None:
            total_weight = float(weights.sum(dtype=np.float64))
        self._scale = (weights / total_weight).astype(shifted.dtype, copy=False)
        return float(np.dot(rows.astype(np.float64), weights.astype(np.float64))) / total_weight

    def backward(self) -> Array:
        """Return dLoss/dz = (P - onehot(y)) / N for the last ``forward``.

        This is the ``grad`` a network passes to its last layer's ``backward``. After a
        weighted ``forward``, row i is w_i (P_i - onehot(y_i)) / sum w.

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
        exps, total, scale = self._exps, self._total, self._scale
        if scale is not None:  # weighted: row i scaled by w_i / sum w instead of 1 / N
            grad_w: Array = np.multiply(exps, (scale / total)[:, None], out=self._buffer("grad", exps))
            grad_w.ravel()[self._target] -= scale
            return grad_w
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

    def check_target(self, y: ArrayLike, n: int | None, n_outputs: int, dtype: np.dtype[Any]) -> Labels:
        """Return y as an integer array of labels 0..K-1, or raise a clear error.

        Floats with integer values (1.0) and booleans are accepted.

        Parameters
        ----------
        y : array_like of shape (N,)
            One label per example.
        n : int or None
            The number of examples of X, which y must match; None: not checked.
        n_outputs : int
            K, the number of classes (the network's outputs).
        dtype : numpy dtype
            The network's dtype (labels do not use it).

        Returns
        -------
        ndarray of intp of shape (N,)
            The labels.

        Raises
        ------
        LayerwiseError
            If y is not 1-D, its length is not ``n``, it holds non-integer values or a
            label outside 0..K-1, or it is not numeric.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.SoftmaxCrossEntropy().check_target([0, 2, 1.0], 3, 3, np.dtype("float32")).tolist()
        [0, 2, 1]
        """
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
        k = n_outputs
        if len(y) and (y.min() < 0 or y.max() >= k):
            bad = y[(y < 0) | (y >= k)][0]
            raise LayerwiseError(f"label {bad} is out of range: the network has {k} classes (0..{k - 1})")
        return y

    @staticmethod
    def n_correct(z: Array, y: Targets, sample_weight: Array | None = None) -> float:
        """Return how many rows of z have their largest value at their label.

        Parameters
        ----------
        z : ndarray of shape (N, K)
            The last layer's output.
        y : ndarray of int of shape (N,)
            The labels.
        sample_weight : ndarray of shape (N,) or None, default None
            A weight per example: the weights of the correct rows are summed instead of
            counting the rows.

        Returns
        -------
        int or float
            The number of correct predictions (an int); with weights, the sum of their
            weights (a float).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> z = np.array([[2.0, 1.0], [0.0, 3.0]])
        >>> lw.SoftmaxCrossEntropy.n_correct(z, np.array([0, 0]))
        1
        >>> lw.SoftmaxCrossEntropy.n_correct(z, np.array([0, 0]), sample_weight=np.array([0.5, 2.0]))
        0.5
        """
        correct = z.argmax(axis=1) == y
        if sample_weight is not None:
            return float(sample_weight[correct].sum(dtype=np.float64))
        return int(np.count_nonzero(correct))

    @staticmethod
    def predict(z: Array) -> Labels:
        """Return the class of each row of z: the index of its largest value.

        Parameters
        ----------
        z : ndarray of shape (N, K)
            The last layer's output.

        Returns
        -------
        ndarray of int of shape (N,)
            One class 0..K-1 per row.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.SoftmaxCrossEntropy.predict(np.array([[2.0, 1.0], [0.0, 3.0]])).tolist()
        [0, 1]
        """
        labels: Labels = z.argmax(axis=1)
        return labels

    def __getstate__(self) -> dict[str, Any]:
        return {}  # buffers and the last pass are not part of the loss

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"


class MeanSquaredError:
    """Mean squared error for regression: the mean over every value of (z - y)^2.

    z holds the last layer's output and y the targets, both of shape (N, K) (K outputs per
    example). The loss is L = 1/(N K) sum (z - y)^2, as PyTorch's ``MSELoss`` and Keras'
    ``MeanSquaredError`` compute it; ``backward()`` returns 2 (z - y) / (N K). The last
    layer's output is the prediction: no activation is applied to it. The loss has no
    constructor arguments.

    With a weight w_i per example, ``forward(z, y, sample_weight=w)`` returns the weighted
    mean L = sum_i w_i sum_k (z_ik - y_ik)^2 / (K sum w), and ``backward()`` then returns
    2 w_i (z_i - y_i) / (K sum w).

    See Also
    --------
    SoftmaxCrossEntropy : The loss for classification.
    layerwise.sklearn.LayerwiseRegressor : A scikit-learn regressor with this loss.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> loss = lw.MeanSquaredError()
    >>> z = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> loss.forward(z, np.array([[1.0, 0.0], [3.0, 5.0]]))  # (0 + 4 + 0 + 1) / 4
    1.25
    >>> loss.backward().tolist()
    [[0.0, 1.0], [0.0, -0.5]]
    >>> loss.forward(z, np.array([[1.0, 0.0], [3.0, 5.0]]), sample_weight=np.array([1.0, 3.0]))
    0.875
    """

    classifier = False  # the targets are numbers; predictions are the outputs themselves

    _diff: Array  # z - y of the last forward pass
    _scale: Array | None  # 2 w_i / (K sum w) of a weighted forward pass; None: unweighted

    def forward(
        self, z: Array, y: Targets, sample_weight: Array | None = None, total_weight: float | None = None
    ) -> float:
        """Return the mean over every value of (z - y)^2; remember z - y for ``backward``.

        Parameters
        ----------
        z : ndarray of shape (N, K)
            The last layer's output.
        y : ndarray of shape (N, K)
            The targets, as ``check_target`` returns them; they are not checked here.
        sample_weight : ndarray of shape (N,) or None, default None
            A weight per example, finite and non-negative with a positive sum (not
            checked here); None: every example counts the same.
        total_weight : float or None, default None
            What the weighted losses are divided by (times K): None, the sum of
            ``sample_weight``, as for ``SoftmaxCrossEntropy.forward``.

        Returns
        -------
        float
            The loss of the batch; with weights, sum_i w_i sum_k (z_ik - y_ik)^2 /
            (K sum w).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.MeanSquaredError().forward(np.zeros((2, 1)), np.array([[1.0], [3.0]]))
        5.0
        """
        diff = self._diff = np.subtract(z, y, out=self._buffer("diff", z))
        if sample_weight is not None:
            k: int = diff.shape[1]
            if total_weight is None:
                total_weight = float(sample_weight.sum(dtype=np.float64))
            rows = np.einsum("ij,ij->i", diff, diff)  # each example's sum of squares
            self._scale = (sample_weight * (2.0 / (k * total_weight))).astype(diff.dtype, copy=False)
            loss: float = float(np.dot(rows.astype(np.float64), sample_weight.astype(np.float64)))
            return loss / (k * total_weight)
        self._scale = None
        flat = diff.reshape(-1)
        return float(np.dot(flat, flat)) / flat.size

    def backward(self) -> Array:
        """Return dLoss/dz = 2 (z - y) / (N K) for the last ``forward``.

        After a weighted ``forward``, row i is 2 w_i (z_i - y_i) / (K sum w).

        Returns
        -------
        ndarray of shape (N, K)
            The gradient with respect to z, in a buffer the loss owns (valid until its next
            call with the same shape).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> loss = lw.MeanSquaredError()
        >>> _ = loss.forward(np.zeros((2, 1)), np.array([[1.0], [3.0]]))
        >>> loss.backward().tolist()
        [[-1.0], [-3.0]]
        """
        diff = self._diff
        if self._scale is not None:
            grad_w: Array = np.multiply(diff, self._scale[:, None], out=self._buffer("grad", diff))
            return grad_w
        grad: Array = np.multiply(diff, 2.0 / diff.size, out=self._buffer("grad", diff))
        return grad

    def _buffer(self, kind: str, like: Array) -> Array:
        return SoftmaxCrossEntropy._buffer(self, kind, like)  # type: ignore[arg-type]  # the same buffers

    def check_target(self, y: ArrayLike, n: int | None, n_outputs: int, dtype: np.dtype[Any]) -> Array:
        """Return the targets as an (N, K) array of the network's dtype, or a clear error.

        A 1-D y is one target per example, for a network with one output.

        Parameters
        ----------
        y : array_like of shape (N,) or (N, K)
            The targets.
        n : int or None
            The number of examples of X, which y must match; None: not checked.
        n_outputs : int
            K, the network's number of outputs.
        dtype : numpy dtype
            The network's dtype.

        Returns
        -------
        ndarray of shape (N, K)
            The targets, finite, in ``dtype``.

        Raises
        ------
        LayerwiseError
            If y is not numeric, not of shape (N,) or (N, K), or holds NaN or infinities.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.MeanSquaredError().check_target([1, 2.5], 2, 1, np.dtype("float32")).tolist()
        [[1.0], [2.5]]
        >>> lw.MeanSquaredError().check_target([[1.0, 2.0]], 1, 3, np.dtype("float32"))
        Traceback (most recent call last):
        ...
        layerwise.errors.LayerwiseError: y has 2 targets per example but the network has 3 outputs
        """
        try:
            y = np.asarray(y)
        except (TypeError, ValueError) as e:
            raise LayerwiseError(f"y is not a numeric array: {e}") from None
        if y.dtype.kind not in "biuf":
            raise LayerwiseError(f"regression targets must be numbers, not of dtype {y.dtype}")
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2:
            raise LayerwiseError(f"y must be of shape (N,) or (N, n_outputs), not {y.shape}")
        if n is not None and len(y) != n:
            raise LayerwiseError(f"X has {n} examples but y has {len(y)} targets")
        if y.shape[1] != n_outputs:
            raise LayerwiseError(
                f"y has {y.shape[1]} targets per example but the network has {n_outputs} outputs"
            )
        y = np.require(y, dtype=dtype, requirements=("C", "A"))
        if not np.isfinite(y).all():
            raise LayerwiseError("y contains NaN or infinite values")
        return y

    @staticmethod
    def n_correct(z: Array, y: Targets, sample_weight: Array | None = None) -> None:
        """Return None: regression has no accuracy.

        Parameters
        ----------
        z : ndarray of shape (N, K)
            The last layer's output.
        y : ndarray of shape (N, K)
            The targets.
        sample_weight : ndarray of shape (N,) or None, default None
            A weight per example (not used).

        Returns
        -------
        None
        """
        return None

    @staticmethod
    def predict(z: Array) -> Array:
        """Return a copy of the outputs: they are the predictions.

        Parameters
        ----------
        z : ndarray of shape (N, K)
            The last layer's output.

        Returns
        -------
        ndarray of shape (N, K)
            A new array holding z.
        """
        return np.array(z)

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return "MeanSquaredError()"


Loss = SoftmaxCrossEntropy | MeanSquaredError


def l2_penalty(parameters: Iterable[Parameter], l2: float, n: float) -> float:
    """Return lambda / (2N) * sum of squared weights (biases excluded), as in the tutorial.

    With weights per example, N is the sum of the weights (``fit``'s ``sample_weight``).

    Parameters
    ----------
    parameters : iterable of Parameter
        The parameters; only those with ``decay`` True (the weights) count.
    l2 : float
        lambda, the L2 strength; 0 gives 0.0 without reading the parameters.
    n : int or float
        N, the number of examples the loss is averaged over (with weights, their sum).

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
