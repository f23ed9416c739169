"""scikit-learn's 8x8 digits and the tutorial's split of them, read without importing
scikit-learn (whose import takes most of a second) from the data file it ships."""

import importlib.util
from pathlib import Path

import numpy as np

from ..errors import LayerwiseError


def digits_arrays():
    """(X, y): 1797 rows of 64 pixel values 0..16 (float64) and labels 0..9."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise LayerwiseError("the digits come with scikit-learn: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    data = np.loadtxt(path, delimiter=",")
    return data[:, :-1], data[:, -1].astype(np.intp)


def shuffle_split(n, test_size, random_state):
    """(train, test) row indices exactly as scikit-learn's train_test_split draws them."""
    n_test = int(np.ceil(test_size * n))
    order = np.random.RandomState(random_state).permutation(n)
    return order[n_test:], order[:n_test]


def tutorial_split():
    """The tutorial's split: train_test_split(test_size=0.33, random_state=111), then
    (test_size=0.40, random_state=123) on the rest. A dict with X_train, X_valid, X_test,
    y_train, y_valid, y_test (721 / 482 / 594 rows, pixel values as float64)."""
    X, y = digits_arrays()
    rest, test = shuffle_split(len(X), 0.33, 111)
    train, valid = shuffle_split(len(rest), 0.40, 123)
    X_rest, y_rest = X[rest], y[rest]
    return dict(X_train=X_rest[train], X_valid=X_rest[valid], X_test=X[test],
                y_train=y_rest[train], y_valid=y_rest[valid], y_test=y[test])  # fmt: skip
