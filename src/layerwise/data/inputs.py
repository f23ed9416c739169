"""People's own inputs for a model: images (PNG, JPEG), folders of images, CSV rows and
NPZ/NPY arrays.

``read_inputs(path, model)`` returns ``(names, X)``: one name per row ("digit.png",
"rows.csv:3", "arrays.npz[0]") and the rows in the raw units the model was trained on,
ready for ``model.predict_proba``. Every problem is a LayerwiseError naming the input.

Images are prepared as the model's training images were (``read_image``): transparency
composited onto a background, grey, inverted when their background is the opposite of the
training images' (``Preprocessing.polarity``), framed as they were
(``Preprocessing.framing``), resized to their shape and scaled to their ``pixel_max``.
"""

import math
from pathlib import Path

import numpy as np

from ..errors import LayerwiseError
from .preprocessing import border, has_light_background, ink_box, mass_centre

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
MNIST_BOX = 20 / 28  # MNIST's digits fit a 20x20 box in the middle of 28x28


def read_inputs(path, model, *, invert=None, note=None):
    """``(names, X)``: the rows of one input for ``model`` and a name for each.

    ``path`` is an image, a folder (every image directly inside, sorted by name), a CSV
    file or an NPZ/NPY file. ``invert`` and ``note`` are passed on to ``read_image``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import layerwise as lw
    >>> model = lw.Model(lw.Network.from_spec("4-2", seed=0))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.save(Path(d) / "rows.npy", np.arange(8.0).reshape(2, 4))
    ...     names, X = read_inputs(Path(d) / "rows.npy", model)
    >>> [Path(n).name for n in names], X.shape
    (['rows.npy[0]', 'rows.npy[1]'], (2, 4))
    """
    path = Path(path)
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not images:
            raise LayerwiseError(
                f"input {path} is a folder with no images in it (PNG, JPEG, BMP, GIF, TIFF, WebP), not a file"
            )
        rows = [read_image(image, model, invert=invert, note=note) for image in images]
        return [str(image) for image in images], np.stack(rows)
    if not path.is_file():
        raise LayerwiseError(f"input {path} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return [str(path)], read_image(path, model, invert=invert, note=note)[None, :]
    if suffix == ".csv":
        return read_csv(path, model.n_features, skip=recorded_columns(model))
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


def read_image(path, model, *, invert=None, note=None):
    """An image as one raw row for ``model``, prepared as its training images were.

    1. Transparency is composited onto the background: white under dark ink, black under
       light ink, so that black ink on a transparent canvas is a drawing, not a blank.
    2. The image becomes grey, 0 (black) to 1 (white).
    3. It is inverted when ``invert`` is True, or, when ``invert`` is None, when its
       background (by ``has_light_background``) is the opposite of the model's
       ``preprocessing.polarity``; then ``note`` (a callable, if given) gets one line
       saying so. None without a polarity: not inverted.
    4. It is framed as ``preprocessing.framing`` says ("mnist": the ink's bounding box
       scaled to fit 20x20 of 28x28, then moved so that its centre of mass is in the
       middle; "fill": the bounding box scaled to fill the frame, keeping its aspect
       ratio, and centred; both first take the background's level off) and otherwise
       only resized to the model's image shape.
    5. It is scaled so that white is the model's ``pixel_max`` (255 when unset).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> import layerwise as lw
    >>> prep = lw.Preprocessing(image_shape=(4, 4), pixel_max=16, polarity="dark_background")
    >>> model = lw.Model(lw.Network.from_spec("16-2", seed=0), preprocessing=prep)
    >>> pixels = np.full((4, 4), 255, np.uint8)
    >>> pixels[1:3, 1:3] = 0  # dark ink on white
    >>> with tempfile.TemporaryDirectory() as d:
    ...     Image.fromarray(pixels).save(f"{d}/ink.png")
    ...     row = read_image(f"{d}/ink.png", model, note=lambda line: print(line[len(d) + 1 :]))
    ink.png has a light background; inverted to match the model's dark background (--no-invert to keep it)
    >>> row.reshape(4, 4).astype(int).tolist()
    [[0, 0, 0, 0], [0, 16, 16, 0], [0, 16, 16, 0], [0, 0, 0, 0]]
    """
    return prepare_image(_grey(path), model, invert=invert, note=note, name=str(path))


def prepare_image(grey, model, *, invert=None, note=None, name="the image"):
    """A grey image as one raw row for ``model``: steps 3 to 5 of ``read_image``.

    ``read_image`` reads a file into ``grey`` and calls this; the web app's drawings come
    here directly, so that a drawing and a PNG of it give the same row.

    Parameters
    ----------
    grey : ndarray of shape (height, width)
        The image, 0 (black) to 1 (white).
    model : Model
        A model of grey images (``image_geometry``).
    invert : bool or None, default None
        Invert the image; None: when its background is the opposite of the model's
        polarity.
    note : callable or None, default None
        Told in one line when the image is inverted because of its background.
    name : str, default "the image"
        What ``note``'s line calls the image.

    Returns
    -------
    ndarray of shape (n_features,)
        The raw input values.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> prep = lw.Preprocessing(image_shape=(2, 2), pixel_max=16, polarity="dark_background")
    >>> model = lw.Model(lw.Network.from_spec("4-2", seed=0), preprocessing=prep)
    >>> prepare_image(np.array([[1.0, 0.0], [1.0, 1.0]]), model, invert=True).tolist()
    [0.0, 16.0, 0.0, 0.0]
    """
    (height, width), pixel_max = image_geometry(model)
    prep = model.preprocessing
    polarity = prep.polarity if prep is not None else None
    framing = prep.framing if prep is not None else None
    if invert is None:
        light = has_light_background(grey)
        invert = polarity is not None and light is not None and light != (polarity == "light_background")
        if invert and note is not None:
            have, want = ("light", "dark") if light else ("dark", "light")
            note(
                f"{name} has a {have} background; inverted to match the model's {want} background "
                "(--no-invert to keep it)"
            )
    if invert:
        grey = 1.0 - grey
    if framing in ("mnist", "fill"):
        dark = polarity == "dark_background" if polarity else has_light_background(grey) is not True
        ink = frame(grey if dark else 1.0 - grey, (height, width), framing)
        grey = ink if dark else 1.0 - ink
    else:
        grey = resize(grey, (height, width))
    return (grey * pixel_max).ravel()


def _grey(path):
    """The image at ``path`` as a 2-D float64 array, 0 black to 1 white, transparency
    composited onto white under dark ink and onto black under light ink."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise LayerwiseError("reading images needs Pillow: pip install 'layerwise[onnx]'") from None
    try:
        with Image.open(path) as image:
            if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit and float greys
                top = 65535.0 if image.mode != "F" else 1.0
                return np.clip(np.asarray(image, dtype=np.float64) / top, 0.0, 1.0)
            if "A" not in image.getbands() and "transparency" not in image.info:
                return np.asarray(image.convert("L"), dtype=np.float64) / 255.0
            rgba = np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise LayerwiseError(f"input {path} is not an image Pillow can read ({e})") from None
    grey, alpha = rgba[..., :3] @ np.array([0.299, 0.587, 0.114]), rgba[..., 3]
    if alpha.min() >= 1.0:
        return grey
    weight = alpha.sum()
    ink_tone = (alpha * grey).sum() / weight if weight > 0 else 0.0
    background = 1.0 if ink_tone < 0.5 else 0.0
    return grey * alpha + background * (1.0 - alpha)


def resize(image, shape):
    """A 2-D float image resized to ``shape`` (height, width) with Lanczos filtering,
    clipped to the range of the original.

    Examples
    --------
    >>> resize(np.ones((10, 6)), (5, 3)).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    from PIL import Image

    image = np.asarray(image, dtype=np.float64)
    if image.shape == tuple(shape):
        return image.copy()
    out = Image.fromarray(image.astype(np.float32)).resize((shape[1], shape[0]), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(out, dtype=np.float64), image.min(), image.max())


def frame(ink, shape, framing):
    """Bright ink on a dark background, framed in an image of ``shape`` as ``framing`` says.

    The background's level (the median of the border) is taken off first. "mnist": the
    ink's bounding box (``ink_box``) is scaled to fit 20/28 of the frame, keeping its
    aspect ratio, and placed so that its centre of mass (``mass_centre``) is in the middle,
    as MNIST's digits were; "fill": the box is scaled to fit the whole frame and centred, as
    Fashion-MNIST's items were. A blank image stays blank.

    Examples
    --------
    >>> canvas = np.zeros((200, 200))
    >>> canvas[150:190, 10:20] = 1.0  # a small stroke in a corner
    >>> digit = frame(canvas, (28, 28), "mnist")
    >>> top, bottom, _, _ = ink_box(digit)
    >>> bottom - top, bool(np.abs(mass_centre(digit) - 13.5).max() <= 0.5)  # centred to a pixel
    (20, True)
    >>> item = frame(canvas, (28, 28), "fill")
    >>> ink_box(item)
    (0, 28, 10, 17)
    """
    height, width = shape
    ink = np.clip(np.asarray(ink, dtype=np.float64) - np.median(border(ink)), 0.0, None)
    out = np.zeros((height, width))
    box = ink_box(ink)
    if box is None:
        return out
    top, bottom, left, right = box
    crop = ink[top:bottom, left:right]
    fraction = MNIST_BOX if framing == "mnist" else 1.0
    k = min(fraction * height / crop.shape[0], fraction * width / crop.shape[1])
    size = (max(1, min(height, round(crop.shape[0] * k))), max(1, min(width, round(crop.shape[1] * k))))
    small = resize(crop, size)
    if framing == "mnist":
        middle = (np.array([height, width]) - 1) / 2
        row, col = np.round(middle - mass_centre(small)).astype(int)
    else:
        row, col = (height - size[0]) // 2, (width - size[1]) // 2
    # paste, cutting off what falls outside
    r0, c0 = max(row, 0), max(col, 0)
    r1, c1 = min(row + size[0], height), min(col + size[1], width)
    out[r0:r1, c0:c1] = small[r0 - row : r1 - row, c0 - col : c1 - col]
    return out


# --- tables and arrays ----------------------------------------------------------------


def recorded_columns(model):
    """The columns of the model's training CSV that were not features: its label column
    and the dropped ones (names or indices), as its settings record them; none for a model
    trained on other data."""
    settings = model.metadata.get("settings") or {}
    if not str(settings.get("data", "")).lower().endswith(".csv"):
        return ()  # trained on other data: a CSV's every column is a feature
    columns = [settings.get("label_column"), *(settings.get("drop_columns") or ())]
    return tuple(c for c in columns if isinstance(c, (int, str)) and not isinstance(c, bool))


def read_csv(path, n_features, skip=()):
    r"""Rows of ``n_features`` numbers; a first line that is not numeric is a header.

    A file whose rows are wider than the model's input may still hold the columns of the
    training file that were not features: ``skip`` names them (the label column and the
    dropped ones, by header name or by index from 0, see ``recorded_columns``), and they
    are left out, so that a CSV in the training file's layout predicts as it is.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from layerwise.data.inputs import read_csv
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "rows.csv"
    ...     _ = path.write_text("id,species,a,b\n7,setosa,1.5,2.0\n8,virginica,3.0,4.5\n")
    ...     names, X = read_csv(path, 2, skip=("species", "id"))
    >>> X.tolist()
    [[1.5, 2.0], [3.0, 4.5]]
    """
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise LayerwiseError(f"input {path} cannot be read as text ({e})") from None
    first = _first_line(lines) if any(line.strip() for line in lines) else None
    header = None
    names, rows = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        keep = _kept_columns(fields, header, skip, n_features)
        try:
            values = [float(fields[i]) for i in keep]
        except ValueError:
            if not rows and number == first and header is None:
                header = fields  # the header: its names place the skipped columns
                continue
            raise LayerwiseError(f"input {path} line {number} has a value that is not a number") from None
        if len(values) != n_features:
            raise LayerwiseError(
                f"input {path} line {number} has {len(fields)} values; the model expects {n_features}"
            )
        names.append(f"{path}:{number}")
        rows.append(values)
    if not rows:
        raise LayerwiseError(f"input {path} has no rows of numbers")
    return names, _finite(np.array(rows), path)


def _kept_columns(fields, header, skip, n_features):
    """The indices of the feature columns of a row: all of them when the row has the
    model's width, else all but the skipped ones (by name in the header, or by index)."""
    width = len(fields)
    if width == n_features or not skip:
        return range(width)
    dropped = set()
    for column in skip:
        if isinstance(column, str) and header is not None and column in header:
            dropped.add(header.index(column))
        elif isinstance(column, int) and -width <= column < width:
            dropped.add(column % width)
    return [i for i in range(width) if i not in dropped]


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
