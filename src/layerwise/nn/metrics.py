"""Classification metrics on integer labels."""

import numpy as np
from numpy.typing import ArrayLike, NDArray


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The share of examples whose predicted label is the true one.

    Parameters
    ----------
    y_true : array_like of shape (n,)
        The true labels.
    y_pred : array_like of shape (n,)
        The predicted labels.

    Returns
    -------
    float
        Between 0 and 1.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.metrics import accuracy
    >>> accuracy([0, 1, 2, 2], [0, 1, 1, 2])
    0.75
    """
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None) -> NDArray[np.intp]:
    """The confusion matrix of predicted labels against true ones.

    counts[i, j] = how many examples of class i were predicted as class j.

    Parameters
    ----------
    y_true : array_like of shape (n,)
        The true labels, integers 0..K-1.
    y_pred : array_like of shape (n,)
        The predicted labels, integers 0..K-1.
    n_classes : int or None, optional
        K (None: the largest label in either array, plus 1).

    Returns
    -------
    ndarray of shape (K, K)
        The counts; row i is the true class, column j the predicted one.

    See Also
    --------
    precision_recall : Per-class precision and recall from the counts.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.metrics import confusion_matrix
    >>> confusion_matrix([0, 1, 2, 2], [0, 1, 1, 2]).tolist()
    [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    >>> confusion_matrix([0, 1], [0, 0], n_classes=3).shape
    (3, 3)
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = n_classes or int(max(y_true.max(), y_pred.max())) + 1
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def precision_recall(confusion: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-class precision and recall from a confusion matrix (0 where undefined).

    The precision of class j is the share of the examples predicted as j that are of
    class j; its recall the share of the examples of class j predicted as j. Where no
    example is predicted as j (precision), or none is of class j (recall), it is 0.

    Parameters
    ----------
    confusion : array_like of shape (K, K)
        Counts as ``confusion_matrix`` returns them: row i the true class, column j the
        predicted one.

    Returns
    -------
    precision : ndarray of shape (K,)
        Per-class precision.
    recall : ndarray of shape (K,)
        Per-class recall.

    See Also
    --------
    confusion_matrix : The counts this reads.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.metrics import confusion_matrix, precision_recall
    >>> precision, recall = precision_recall(confusion_matrix([0, 1, 2, 2], [0, 1, 1, 2]))
    >>> precision.tolist(), recall.tolist()
    ([1.0, 0.5, 1.0], [1.0, 1.0, 0.5])
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    return precision, recall
