"""Datasets in CSV files (one example per row, one column of labels) and NPZ archives."""

import csv
import gzip
import re
import zlib
from pathlib import Path

import numpy as np

from ..errors import LayerwiseError
from .arrays import read_npz

MAX_CLASSES = 1000  # integer labels are class indices 0..MAX_CLASSES-1
_INTEGER = re.compile(r"^[+-]?\d+(\.0*)?$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf)$", re.I)


def load_csv(path, label_column=0, delimiter=",", drop_columns=()):
    """Examples from a CSV file (``.csv`` or ``.csv.gz``): one per row, the labels in
    ``label_column`` (an index from 0, negative counting from the end, or a header name),
    every other column a feature but those of ``drop_columns`` (indices or header names,
    e.g. an id column).

    The first row is a header when ``label_column`` is a name, when at least half of its
    feature cells are not numbers, or when its label cell is not a number but the next
    row's is; a file without a header works as well. Errors name the line of the file
    (the header is line 1) and the column from 1, as an editor counts them. The file is
    read once, by pandas' C reader.

    Returns (X, y, classes): X float32 of shape (N, features), y labels 0..K-1, and the
    class names (the sorted distinct labels when they are not integers).
    """
    path = _existing_file(path)
    first, second = _first_rows(path, delimiter)
    n_columns = len(first)
    label = _column_index(label_column, first, path, header=True)
    header = isinstance(label_column, str) or _is_header(first, second, label)
    names = first if header else None
    dropped = {_column_index(c, names, path, header, n_columns) for c in drop_columns}
    if label in dropped:
        raise LayerwiseError(
            f"{path}: the label column {_describe(label, names)} is among the dropped columns"
        )
    features = [i for i in range(n_columns) if i != label and i not in dropped]
    if not features:
        raise LayerwiseError(f"{path} has only one column: there are no features besides the labels")
    X, raw = _read_table(path, delimiter, header, n_columns, features, label, names)
    if len(X) == 0:
        raise LayerwiseError(f"{path} has no rows of data")
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        line, cells = _line(path, delimiter, header, row)
        column = features[col]
        if cells and len(cells) < n_columns:
            raise LayerwiseError(f"{path}: line {line} has {len(cells)} columns, not {n_columns}")
        value = cells[column].strip() if column < len(cells) else ""
        what = "is empty" if value in ("", '""') else f"{value!r} is not a finite number"
        where = f"line {line}, column {_describe(column, names)}"
        raise LayerwiseError(f"{path} has a NaN or infinite value in {where}: {what}")
    y, classes = _labels(raw, path, lambda row: _line(path, delimiter, header, row)[0])
    return X, y, classes


NA = ["", "nan", "NaN", "NAN", "NA", "N/A", "n/a", "null", "NULL", "None"]  # empty or missing: an error


def _read_table(path, delimiter, header, n_columns, features, label, names):
    """The feature columns as float32 and the label column as stripped text, read once."""
    import pandas as pd

    dtypes = dict.fromkeys(range(n_columns), str) | dict.fromkeys(features, np.float32)
    try:
        table = pd.read_csv(
            path, sep=delimiter, header=None, skiprows=int(header),
            dtype=dtypes, keep_default_na=False,
            na_values={i: NA for i in features}, engine="c", encoding="utf-8", compression="infer",
        )  # fmt: skip
        if table.shape[1] != n_columns:  # the first row of data is not as wide as the first row
            raise ValueError("ragged")
        X = np.ascontiguousarray(table[features].to_numpy(dtype=np.float32))
        raw = table[label].to_numpy(dtype=str, na_value="")
    except pd.errors.ParserError as e:
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if ragged:
            expected, line, saw = ragged.groups()
            raise LayerwiseError(f"{path}: line {line} has {saw} columns, not {expected}") from None
        raise LayerwiseError(f"{path} cannot be read as CSV: {_first_line(e)}") from None
    except pd.errors.EmptyDataError:
        return np.empty((0, len(features)), np.float32), np.empty(0, str)
    except UnicodeDecodeError as e:
        raise LayerwiseError(f"{path} cannot be read as text: {_first_line(e)}") from None
    except (ValueError, TypeError, OverflowError, KeyError):
        _not_a_number(path, delimiter, header, n_columns, features, names)
        raise LayerwiseError(f"{path} cannot be read as a table of numbers") from None
    except (OSError, EOFError, zlib.error, MemoryError) as e:
        raise LayerwiseError(f"{path} cannot be read: {_first_line(e)}") from None
    return X, np.char.strip(raw, " \t\"'")


def _not_a_number(path, delimiter, header, n_columns, features, names):
    """Raises the error naming the first row of another width, or the first feature value
    that is not a number: its line, its column, and the hint that it may be the label
    column."""
    with _open(path) as f:
        reader = csv.reader(f, delimiter=delimiter)
        for i, cells in enumerate(reader):
            if i < header or not any(cell.strip() for cell in cells):
                continue
            if len(cells) != n_columns:
                raise LayerwiseError(
                    f"{path}: line {reader.line_num} has {len(cells)} columns, not {n_columns}"
                )
            for column in features:
                value = cells[column].strip() if column < len(cells) else "" if column < len(cells) else ""
                if value not in NA and not _NUMBER.match(value):
                    name = names[column] if names else str(column)
                    raise LayerwiseError(
                        f"{path}: line {reader.line_num}, column {_describe(column, names)}: {value!r} is "
                        f"not a number; is {name!r} the label column? give --label-column {name}, or "
                        f"--drop-columns {name} to leave it out"
                    )


def _describe(column, names):
    """Column 3 ('species'): from 1 as an editor counts, with its header name."""
    return f"{column + 1} ({names[column]!r})" if names else str(column + 1)


def _first_line(error):
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _open(path):
    opener = gzip.open if path.suffix == ".gz" else open
    return opener(path, "rt", newline="", encoding="utf-8")


def _line(path, delimiter, header, row):
    """(line number from 1, cells) of the data row ``row`` (from 0, blank lines skipped)."""
    try:
        with _open(path) as f:
            reader = csv.reader(f, delimiter=delimiter)
            seen = -1
            for i, cells in enumerate(reader):
                if i >= header and any(cell.strip() for cell in cells):
                    seen += 1
                    if seen == row:
                        return reader.line_num, cells
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error):
        pass
    return row + 1 + header, []


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


def _first_rows(path, delimiter):
    """The cells of the first two rows that are not blank (the second None if none)."""
    rows = []
    try:
        with _open(path) as f:
            for cells in csv.reader(f, delimiter=delimiter):
                if any(cell.strip() for cell in cells):
                    rows.append([cell.strip() for cell in cells])
                    if len(rows) == 2:
                        break
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error) as e:
        raise LayerwiseError(f"{path} cannot be read as text: {_first_line(e)}") from None
    if not rows:
        raise LayerwiseError(f"{path} is empty")
    return rows[0], rows[1] if len(rows) > 1 else None


def _is_header(first, second, label):
    """A first row is a header when at least half its feature cells are not numbers, or
    when its label cell is not a number but the next row's is."""
    cells = [cell for i, cell in enumerate(first) if i != label]
    text = sum(not _NUMBER.match(cell) for cell in cells)
    if cells and 2 * text >= len(cells):
        return True
    return (
        not _NUMBER.match(first[label])
        and second is not None
        and label < len(second)
        and bool(_NUMBER.match(second[label]))
    )


def _column_index(column, names, path, header=True, n_columns=None):
    """The index from 0 of a column given as an index (negative from the end) or as a
    header name."""
    n_columns = len(names) if n_columns is None else n_columns
    if isinstance(column, str):
        if not header or names is None:
            raise LayerwiseError(
                f"{path} has no header, so no column named {column!r}; give the column's index from 0"
            )
        if column not in names:
            raise LayerwiseError(f"{path} has no column named {column!r}; its columns are {', '.join(names)}")
        return names.index(column)
    index = int(column)
    if not -n_columns <= index < n_columns:
        raise LayerwiseError(
            f"{path} has {n_columns} columns; there is no column {column} (indices count from 0)"
        )
    return index % n_columns


def _labels(raw, path, line_of):
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
        raise LayerwiseError(f"{path} has an empty label in line {line_of(int(np.argmax(raw == '')))}")
    classes, y = np.unique(raw, return_inverse=True)
    return y.astype(np.intp), [str(c) for c in classes]
