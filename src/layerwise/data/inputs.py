"""People's own inputs for a model: images (PNG, JPEG), CSV rows and NPZ/NPY arrays.

``read_inputs(path, model)`` returns ``(names, X)``: one name per row ("digit.png",
"rows.csv:3", "arrays.npz[0]") and the rows in the raw units the model was trained on,
ready for ``model.predict_proba``. Every problem is a LayerwiseError naming the input.
"""

import math
from pathlib import Path

import numpy as np

from ..errors import LayerwiseError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def read_inputs(path, model, *, invert=False):
    path = Path(path)
    if not path.is_file():
        raise LayerwiseError(f"input {path} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return [str(path)], read_image(path, model, invert=invert)[None, :]
    if suffix == ".csv":
        return read_csv(path, model.n_features)
    if suffix in (".npz", ".npy"):
        return read_arrays(path, model)
    raise LayerwiseError(
        f"input {path}: unknown file type {suffix or '(none)'}; use PNG, JPEG, CSV, NPZ or NPY"
    )


# --- images ---------------------------------------------------------------------------


def image_geometry(model):
    """(height, width) and the raw value of full intensity that the model's inputs have."""
    prep = model.preprocessing
    shape = prep.image_shape if prep is not None else None
    if shape is None:
        side = math.isqrt(model.n_features)
        if side * side != model.n_features:
            raise LayerwiseError(
                f"the model has {model.n_features} inputs and no image shape, so it cannot read images"
            )
        shape = (side, side)
    pixel_max = prep.pixel_max if prep is not None and prep.pixel_max is not None else 255.0
    return shape, pixel_max


def read_image(path, model, *, invert=False):
    """An image as one raw row: grayscale, resized to the model's image shape, scaled so
    that full intensity is the model's ``pixel_max``; ``invert`` for dark ink on light paper."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise LayerwiseError("reading images needs Pillow: pip install 'layerwise[onnx]'") from None
    (height, width), pixel_max = image_geometry(model)
    try:
        with Image.open(path) as image:
            gray = image.convert("L").resize((width, height), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as e:
        raise LayerwiseError(f"input {path} is not an image Pillow can read ({e})") from None
    pixels = np.asarray(gray, dtype=np.float64) / 255.0
    if invert:
        pixels = 1.0 - pixels
    return (pixels * pixel_max).ravel()


# --- tables and arrays ----------------------------------------------------------------


def read_csv(path, n_features):
    """Rows of ``n_features`` numbers; a first line that is not numeric is a header."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise LayerwiseError(f"input {path} cannot be read as text ({e})") from None
    names, rows = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if not rows and number == _first_line(lines):
                continue  # the header
            raise LayerwiseError(f"input {path} line {number} has a value that is not a number") from None
        if len(values) != n_features:
            raise LayerwiseError(
                f"input {path} line {number} has {len(values)} values; the model expects {n_features}"
            )
        names.append(f"{path}:{number}")
        rows.append(values)
    if not rows:
        raise LayerwiseError(f"input {path} has no rows of numbers")
    return names, _finite(np.array(rows), path)


def _first_line(lines):
    return next(i for i, line in enumerate(lines, start=1) if line.strip())


def read_arrays(path, model):
    """The array of an NPY file, or of an NPZ file ("X", else its only array), as rows:
    shape (N, n_features), (N, height, width) or a single row (n_features,)."""
    from .arrays import read_npy, read_npz

    if path.suffix.lower() == ".npy":
        array = read_npy(path)
    else:
        array = _pick_array(read_npz(path), path)
    if array.dtype.kind not in "biuf":
        raise LayerwiseError(f"input {path} holds {array.dtype} values, not numbers")
    rows = _as_rows(array, model.n_features, path)
    return [f"{path}[{i}]" for i in range(len(rows))], _finite(rows.astype(np.float64), path)


def _pick_array(arrays, path):
    if "X" in arrays:
        return arrays["X"]
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    raise LayerwiseError(f"input {path} holds arrays {', '.join(arrays) or 'none'}; name the one to use X")


def _as_rows(array, n_features, path):
    if array.ndim == 1 and array.size == n_features:
        return array[None, :]
    if array.ndim >= 2 and math.prod(array.shape[1:]) == n_features:
        return array.reshape(len(array), n_features)
    raise LayerwiseError(
        f"input {path} holds an array of shape {array.shape}; the model expects rows of {n_features} values"
    )


def _finite(X, path):
    if not np.isfinite(X).all():
        raise LayerwiseError(f"input {path} contains NaN or infinite values")
    return X
