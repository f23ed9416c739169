"""Datasets in CSV files (one example per row, one column of labels) and NPZ archives."""

import gzip
import re
import warnings
import zlib
from pathlib import Path

import numpy as np

from ..errors import LayerwiseError
from .arrays import read_npz

MAX_CLASSES = 1000  # integer labels are class indices 0..MAX_CLASSES-1
_INTEGER = re.compile(r"^[+-]?\d+(\.0*)?$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf)$", re.I)


def load_csv(path, label_column=0, delimiter=","):
    """Examples from a CSV file (``.csv`` or ``.csv.gz``): one per row, the labels in
    ``label_column`` (an index, negative counts from the end, or a header name), every
    other column a feature. A first row that is not numeric is taken as the header.

    Returns (X, y, classes): X float32 of shape (N, features), y labels 0..K-1, and the
    class names (the sorted distinct labels when they are not integers).
    """
    path = _existing_file(path)
    names = _header(path, delimiter)
    n_columns = len(names)
    label = _label_index(label_column, names, path)
    header = isinstance(label_column, str) or not all(
        _NUMBER.match(name) for i, name in enumerate(names) if i != label
    )
    features = [i for i in range(n_columns) if i != label]
    if not features:
        raise LayerwiseError(f"{path} has only one column: there are no features besides the labels")
    X, raw = _read_table(path, delimiter, int(header), features, label)
    if len(X) == 0:
        raise LayerwiseError(f"{path} has no rows of data")
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise LayerwiseError(
            f"{path} has a NaN or infinite value in line {row + 1 + header}, column {features[col] + 1}"
        )
    y, classes = _labels(np.char.strip(raw, " \t\"'"), path, first_line=1 + header)
    return np.ascontiguousarray(X), y, classes


def _read_table(path, delimiter, skip, features, label):
    """The feature columns as float32 and the label column as text."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty table is reported by the caller, as an error
            read = lambda columns, dtype, ndmin: np.loadtxt(  # noqa: E731
                path, delimiter=delimiter, skiprows=skip, usecols=columns, dtype=dtype, ndmin=ndmin
            )
            return read(features, np.float32, 2), read([label], str, 1)
    except ValueError as e:
        raise LayerwiseError(f"{path}: {e}".rstrip(".")) from None
    except (OSError, EOFError, zlib.error) as e:
        raise LayerwiseError(f"{path} cannot be read: {e}") from None


def load_npz(path):
    """Arrays from an NPZ archive: ``X_train``/``y_train`` with optional ``X_test``/``y_test``
    and ``X_valid``/``y_valid`` (``x_train`` and so on as Keras writes them), or ``X``/``y``;
    optionally ``classes``. Returns a dict of float32 feature arrays (N, features) and
    integer label arrays under those names (X and y become X_train and y_train)."""
    path = _existing_file(path)
    arrays = read_npz(path)
    keys = {key.lower(): key for key in arrays}
    if "x" in keys and "x_train" not in keys:
        keys["x_train"], keys["y_train"] = keys.pop("x"), keys.pop("y", "y")
    if "x_train" not in keys or "y_train" not in keys or keys["y_train"] not in arrays:
        raise LayerwiseError(
            f"{path} must hold arrays X_train and y_train (or X and y); it has {sorted(arrays)}"
        )
    out = {}
    for part in ("train", "valid", "test"):
        if f"x_{part}" in keys or f"y_{part}" in keys:
            X, y = (arrays.get(keys.get(f"{k}_{part}")) for k in "xy")
            if X is None or y is None:
                raise LayerwiseError(f"{path} has only one of X_{part} and y_{part}")
            out[f"X_{part}"], out[f"y_{part}"], out[f"shape_{part}"] = _checked_pair(X, y, part, path)
    if "classes" in keys:
        classes = arrays[keys["classes"]]
        if classes.ndim != 1:
            raise LayerwiseError(f"{path}: classes must be a 1-D array of names")
        out["classes"] = [str(c) for c in classes]
        if len(set(out["classes"])) != len(classes):
            raise LayerwiseError(f"{path}: the class names are not distinct")
    return out


def _checked_pair(X, y, part, path):
    if X.dtype.kind not in "biuf" or X.ndim < 2:
        raise LayerwiseError(
            f"{path}: X_{part} must be a numeric array of 2 or more dimensions, not {X.dtype} {X.shape}"
        )
    if y.ndim != 1 or y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not _integral(y)):
        raise LayerwiseError(f"{path}: y_{part} must be a 1-D array of integer labels")
    if len(X) != len(y):
        raise LayerwiseError(f"{path}: X_{part} has {len(X)} examples but y_{part} has {len(y)} labels")
    if X.size == 0:
        raise LayerwiseError(f"{path}: X_{part} has no examples or no features (shape {X.shape})")
    features = np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float32)
    if not np.isfinite(features).all():
        raise LayerwiseError(f"{path}: X_{part} contains NaN or infinite values (or values beyond float32)")
    bad = y[(y < 0) | (y >= MAX_CLASSES)]
    if len(bad):
        raise LayerwiseError(
            f"{path}: y_{part} has label {bad[0]:.0f}; labels are class indices 0..{MAX_CLASSES - 1}"
        )
    return features, y.astype(np.intp), X.shape[1:]


def _integral(y):
    return bool(np.isfinite(y).all() and (y == np.round(y)).all())


def _existing_file(path):
    path = Path(path)
    if not path.is_file():
        raise LayerwiseError(f"{path} does not exist or is not a file")
    return path


def _header(path, delimiter):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as f:
            first = f.readline()
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as e:
        raise LayerwiseError(f"{path} cannot be read as text: {e}") from None
    if not first.strip():
        raise LayerwiseError(f"{path} is empty")
    return [name.strip().strip('"') for name in first.rstrip("\r\n").split(delimiter)]


def _label_index(label_column, names, path):
    if isinstance(label_column, str):
        if label_column not in names:
            raise LayerwiseError(f"{path} has no column named {label_column!r}")
        return names.index(label_column)
    index = int(label_column)
    if not -len(names) <= index < len(names):
        raise LayerwiseError(f"{path} has {len(names)} columns; there is no column {label_column}")
    return index % len(names)


def _labels(raw, path, first_line):
    """Integer labels as they are; other labels become indices into their sorted names."""
    if all(_INTEGER.match(value) for value in np.unique(raw)):
        values = raw.astype(np.float64)
        bad = values[(values < 0) | (values >= MAX_CLASSES)]
        if len(bad):
            raise LayerwiseError(
                f"{path} has label {bad[0]:.0f}; integer labels are class indices 0..{MAX_CLASSES - 1}"
            )
        y = values.astype(np.intp)
        return y, [str(i) for i in range(int(y.max()) + 1)]
    if (raw == "").any():
        raise LayerwiseError(f"{path} has an empty label in line {int(np.argmax(raw == '')) + first_line}")
    classes, y = np.unique(raw, return_inverse=True)
    return y.astype(np.intp), [str(c) for c in classes]
