"""The models the app serves, and what it shows of them.

Models come from the model files given and from every run directory served that holds a
model (its model.safetensors, or the checkpoint of a run that did not finish), read with
``load_model_or_checkpoint`` as every command reads them, on first use and again when the
file changes. A file that cannot be read is listed with its one-line error, and the
others are served as usual.

For a model, ``ServedModel`` gives:

- ``predict(X)``: predictions and probabilities for rows in the model's raw input space,
  through the model's preprocessing, as ``layerwise predict`` gives them;
- ``look(drawing)``: a drawing (ink from 0 to 1 on a blank canvas) prepared as
  ``layerwise predict`` prepares a PNG of it (``drawing_row``: framed and resized to the
  model's images, scaled to its pixel values), its prediction, and the output of every
  layer for it: the "layerwise" view;
- ``weights()``: the first layer's weights as images, as the run's report draws them.

A network's layers reuse their buffers from one call to the next, so each model is used
by one request at a time (its ``lock``), and arrays that are kept are copies.
"""

import base64
import threading
import time
from pathlib import Path

import numpy as np

from ..data.inputs import image_geometry, prepare_image
from ..errors import LayerwiseError
from ..io.model_file import CHECKPOINT_FILENAME, MODEL_FILENAME, load_model_or_checkpoint
from ..nn.conv import Conv2D
from ..nn.layer_spec import layers_text
from ..nn.layers import Linear
from ..nn.losses import SoftmaxCrossEntropy
from ..reports.figures import first_layer_tiles
from .refusals import Refused

MAX_ROWS = 10_000  # rows in one request to predict
DRAWING_SIDES = (8, 1024)  # the smallest and largest side of a drawing, in cells
MAX_CHANNELS = 64  # channel maps shown per layer, at most
RESCAN_SECONDS = 2.0  # the list of models is found again at most this often


class ModelRegistry:
    """The models of the files ``files`` and of the runs of ``runs`` (a RunIndex), by
    name: a file's name, a run's id."""

    def __init__(self, files, runs):
        self.files = [Path(f).expanduser().resolve() for f in files]
        self.runs = runs
        self._lock = threading.Lock()
        self._sources = {}  # name -> the path given to load_model_or_checkpoint
        self._found = -float("inf")
        self._loaded = {}  # path -> ServedModel or the LayerwiseError of its file

    def sources(self, fresh=False):
        """Name -> path of every model served (found again when older than RESCAN_SECONDS)."""
        with self._lock:
            if fresh or time.monotonic() - self._found > RESCAN_SECONDS:
                sources = {}
                for path in self.files:
                    name, n = path.name, 2
                    while name in sources:
                        name, n = f"{path.name} ({n})", n + 1
                    sources[name] = path
                for run in self.runs.runs(fresh=fresh).values():
                    if run.has(MODEL_FILENAME) or run.has(CHECKPOINT_FILENAME):
                        sources.setdefault(run.id, run.folder)
                self._sources = sources
                self._found = time.monotonic()
            return self._sources

    def get(self, name):
        """The ServedModel named ``name``; ``name`` None: the only model served. A
        LayerwiseError (answered with 400) for an unknown name or a model that cannot be
        read."""
        sources = self.sources()
        if name is None:
            if len(sources) != 1:
                have = "no model is served" if not sources else f"{len(sources)} models are served"
                raise Refused(f'give "model": {have} (GET /api/models lists them)')
            name = next(iter(sources))
        if not isinstance(name, str):
            raise Refused(f'"model" must be the name of a model, not {name!r}')
        if name not in sources:
            sources = self.sources(fresh=True)
        if name not in sources:
            raise Refused(f"unknown model {name!r} (GET /api/models lists the models served)")
        served = self._load(name, sources[name])
        if isinstance(served, LayerwiseError):
            raise Refused(f"model {name!r} cannot be used: {served}")
        return served

    def listing(self):
        """Every model served: its description, or its name, path and error."""
        entries = []
        for name, path in self.sources(fresh=True).items():
            served = self._load(name, path)
            if isinstance(served, LayerwiseError):
                entries.append({"name": name, "path": str(path), "error": str(served)})
            else:
                entries.append(served.info)
        return entries

    def _load(self, name, path):
        """The model at ``path`` as last read, read again when its file changed."""
        key = _file_key(path)
        with self._lock:
            cached = self._loaded.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            served = ServedModel(name, path, load_model_or_checkpoint(path))
        except LayerwiseError as e:
            served = e
        except (OSError, ValueError, MemoryError) as e:  # what a damaged file can still cause
            served = LayerwiseError(f"{path} cannot be read: {e}")
        with self._lock:
            self._loaded[path] = (key, served)
        return served


def _file_key(path):
    """What tells that a model's file changed: the stat of the file read for ``path``."""
    candidates = [path] if path.is_file() else [path / MODEL_FILENAME, path / CHECKPOINT_FILENAME]
    for candidate in candidates:
        try:
            stat = candidate.stat()
        except OSError:
            continue
        return (str(candidate), stat.st_mtime_ns, stat.st_size)
    return None


class ServedModel:
    """A model read from ``path`` (a ModelSource ``source``), served as ``name``."""

    def __init__(self, name, path, source):
        self.name, self.path, self.source = name, path, source
        self.model = source.model
        self.network = source.model.network
        self.lock = threading.Lock()
        self.image = _image(self.model)
        self.info = self._info()

    def _info(self):
        model, net = self.model, self.network
        classes = None if model.classes is None else model.classes.tolist()
        layers = [
            {
                "index": i,
                "type": type(layer).__name__,
                "label": repr(layer),
                "shape": list(shape),
                "parameters": sum(p.value.size for p in layer.parameters()),
            }
            for i, (layer, shape) in enumerate(zip(net.layers, net.shapes))
        ]
        metadata = model.metadata
        return {
            "name": self.name,
            "path": str(self.path),
            "file": str(self.source.path),
            "note": self.source.note,
            "dataset": metadata.get("dataset") if isinstance(metadata.get("dataset"), str) else None,
            "network": _architecture(net),
            "n_features": model.n_features,
            "input_shape": list(net.input_shape),
            "classes": classes,
            "classifier": net.loss.classifier,
            "image": self.image,
            "layers": layers,
            "parameters": sum(p.value.size for p in net.parameters()),
            "error": None,
        }

    def predict(self, X):
        """Predictions for the rows ``X`` (raw input values): ``{"predictions": [...],
        "probabilities": [[...]]}``, probabilities None for a regression."""
        with self.lock, np.errstate(over="ignore", invalid="ignore"):
            if not self.network.loss.classifier:
                outputs = self.model.predict(X)
                _check_outputs(outputs)
                return {"predictions": outputs.tolist(), "probabilities": None}
            proba = self.model.predict_proba(X)
        _check_outputs(proba)
        labels = self.model.classes[proba.argmax(axis=1)]
        return {"predictions": labels.tolist(), "probabilities": proba.astype(np.float64).tolist()}

    def look(self, drawing=None, row=None):
        """The model's input for a drawing (or one row of raw input values), its
        prediction and every layer's output for it, each as an encoded array (``encode``)."""
        if drawing is not None:
            if self.image is None:
                raise Refused(f"model {self.name!r} does not take images: {self.image_problem()}")
            row = drawing_row(self.model, drawing)
        with self.lock, np.errstate(over="ignore", invalid="ignore"):
            x = self.model.transform(row[None, :])
            net = self.network.train(False)
            outputs = []
            for layer in net.layers:
                x = layer.forward(x)
                outputs.append(np.array(x[0], dtype=np.float64))  # a copy: buffers are reused
        _check_outputs(outputs[-1])
        answer = {"model": self.name, "layers": []}
        if net.loss.classifier:
            proba = SoftmaxCrossEntropy.softmax(outputs[-1][None, :].copy())[0]
            answer["prediction"] = self.model.classes[int(proba.argmax())].tolist()
            answer["probabilities"] = proba.tolist()
        else:
            answer["prediction"] = outputs[-1].tolist()
            answer["probabilities"] = None
        if self.image is not None:
            shape = self.image["shape"]
            answer["input"] = encode(row.reshape(shape), low=0.0, high=self.image["pixel_max"])
        else:
            answer["input"] = encode(row)
        for i, (layer, out) in enumerate(zip(net.layers, outputs)):
            shown = out[:MAX_CHANNELS] if out.ndim == 3 else out
            entry = {"index": i, "type": type(layer).__name__, "label": repr(layer)}
            entry.update(encode(shown))
            entry["shape"] = list(out.shape)  # the channels shown are the first channels_shown
            entry["channels_shown"] = len(shown) if out.ndim == 3 else None
            answer["layers"].append(entry)
        return answer

    def weights(self):
        """The first layer's weights as images, one colour scale for all: the units of a
        first Linear layer on images, or the filters of a first convolution; ``tiles``
        None when the first layer has nothing to show as images."""
        shape = self.image["shape"] if self.image is not None else None
        with self.lock:
            tiles = first_layer_tiles(self.network, shape, limit=MAX_CHANNELS)
            if tiles is None:
                return {"model": self.name, "title": None, "captions": [], "tiles": None}
            images, captions, title = tiles
            images = np.array(images, dtype=np.float64)
        first = next(layer for layer in self.network.layers if isinstance(layer, (Conv2D, Linear)))
        units = first.n_out if isinstance(first, Linear) else len(first.weight.value)
        return {
            "model": self.name,
            "title": title.split("\n")[0],
            "legend": title.split("\n")[1] if "\n" in title else None,
            "captions": captions,
            "units": units,
            "tiles": encode(images, symmetric=True),
        }

    def image_problem(self):
        """Why the model takes no drawing (for a model that takes one: None)."""
        try:
            (height, width), _ = image_geometry(self.model)
        except LayerwiseError as e:
            return str(e)
        if height * width != self.model.n_features:
            return f"its {self.model.n_features} inputs are not one {height}x{width} grey image"
        return None


def _check_outputs(values):
    """A one-line Refused when inputs far out of the model's range made its outputs
    overflow (infinite or NaN), rather than answers JSON cannot carry."""
    if not np.isfinite(values).all():
        raise Refused("the inputs are so large that the model's outputs overflow; give values in its range")


def _image(model):
    """The images a model takes, or None: their shape, the pixel value of full intensity,
    their polarity and framing (``Preprocessing``)."""
    try:
        (height, width), pixel_max = image_geometry(model)
    except LayerwiseError:
        return None
    if height * width != model.n_features:
        return None  # colour images, or rows that merely have a square number of values
    prep = model.preprocessing
    return {
        "shape": [height, width],
        "pixel_max": float(pixel_max),
        "polarity": prep.polarity if prep is not None else None,
        "framing": prep.framing if prep is not None else None,
    }


def _architecture(net):
    """64-48-32-10 for a network of Linear layers; else its layers as a spec of
    ``--layers`` after the shape of its input: ``1x8x8 -> conv4k3p1,relu,...``."""
    if all(
        type(layer).__name__ in ("Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Dropout")
        for layer in net.layers
    ):
        return "-".join(str(n) for n in net.sizes)
    try:
        spec = layers_text(net.layers)
    except LayerwiseError:
        spec = ", ".join(type(layer).__name__ for layer in net.layers)
    inputs = net.shapes[0] if type(net.layers[0]).__name__ == "Reshape" else net.input_shape
    return "x".join(str(n) for n in inputs) + " -> " + spec


def drawing_row(model, drawing):
    """A drawing as one row of raw input values for ``model``, prepared exactly as
    ``layerwise predict`` prepares a PNG of it (dark ink on white).

    The drawing is ink from 0 (none) to 1 on a blank canvas. It is framed as the model's
    training images were (``Preprocessing.framing``: "mnist" centres the ink's box, scaled
    to 20x20 of 28x28, by its mass; "fill" scales it to the frame) or else resized to the
    model's image shape, shown as the training images were (bright ink on a dark
    background for a model of ``polarity`` "dark_background", as the digits and MNIST;
    dark ink on white otherwise, as the PNG is) and scaled to the model's ``pixel_max``.

    Parameters
    ----------
    model : Model
        A model of grey images (``image_geometry``).
    drawing : ndarray of shape (height, width)
        Ink, from 0 to 1.

    Returns
    -------
    ndarray of shape (n_features,)
        The raw input values.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> prep = lw.Preprocessing(scale=1 / 16, image_shape=(8, 8), pixel_max=16,
    ...                         polarity="dark_background", framing="none")
    >>> model = lw.Model(lw.Network.from_spec("64-10", seed=0), preprocessing=prep)
    >>> drawing = np.zeros((56, 56))
    >>> drawing[:, 21:35] = 1.0  # a vertical bar in the middle
    >>> drawing_row(model, drawing).reshape(8, 8)[4].round().astype(int).tolist()  # Lanczos, as a PNG's
    [0, 0, 1, 15, 15, 1, 0, 0]
    """
    prep = model.preprocessing
    dark = prep is not None and prep.polarity == "dark_background"
    # the drawing as a PNG of it would be read: dark ink on white, inverted for a model of
    # bright ink on a dark background
    return prepare_image(1.0 - np.asarray(drawing, dtype=np.float64), model, invert=dark)


def encode(values, low=None, high=None, symmetric=None):
    """An array as bytes for the page to paint: each value mapped to 0..255, in base64.

    ``scale`` "diverging" (values of both signs, or ``symmetric``): 127.5 is zero and 0
    and 255 are -m and +m, m the largest absolute value; "sequential": 0 and 255 are
    ``low`` and ``high`` (default: the smallest and largest value).

    Examples
    --------
    >>> import base64
    >>> import numpy as np
    >>> out = encode(np.array([[-2.0, 0.0, 1.0]]))
    >>> out["shape"], out["scale"], list(base64.b64decode(out["data"]))
    ([1, 3], 'diverging', [0, 128, 191])
    >>> list(base64.b64decode(encode(np.array([0.0, 8.0, 16.0]), low=0, high=16)["data"]))
    [0, 128, 255]
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo = float(values.min()) if values.size else 0.0
    hi = float(values.max()) if values.size else 0.0
    if symmetric or (symmetric is None and low is None and lo < 0 < hi):
        limit = max(-lo, hi) or 1.0
        q = (values / limit + 1.0) * 127.5
        scale = "diverging"
    else:
        lo = lo if low is None else float(low)
        hi = hi if high is None else float(high)
        q = (values - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(values)
        scale = "sequential"
    data = np.clip(np.rint(q), 0, 255).astype(np.uint8)
    return {
        "shape": list(values.shape),
        "min": lo,
        "max": hi,
        "scale": scale,
        "data": base64.b64encode(data.tobytes()).decode("ascii"),
    }


def rows(inputs, n_features):
    """The ``inputs`` of a request (a list of rows of numbers; each row may also be an
    image of the model's input shape, nested) as a float64 array (N, n_features), or a
    one-line Refused."""
    if not isinstance(inputs, list) or not inputs:
        raise Refused('"inputs" must be a non-empty list of rows of numbers, e.g. [[0, 1.5, ...], ...]')
    if len(inputs) > MAX_ROWS:
        raise Refused(f'"inputs" has {len(inputs)} rows; at most {MAX_ROWS} per request')
    try:
        X = np.array(inputs)
    except (ValueError, TypeError, OverflowError):
        raise Refused('"inputs" must be rows of numbers of the same length') from None
    if X.dtype.kind not in "iuf" or X.dtype == object:
        raise Refused('"inputs" must hold numbers only (no text, true/false or null)')
    if X.ndim == 1:
        raise Refused('"inputs" must be a list of rows, [[...], ...], not a single row')
    X = X.reshape(len(X), -1).astype(np.float64)
    if X.shape[1] != n_features:
        raise Refused(
            f'each row of "inputs" must hold the model\'s {n_features} input values, not {X.shape[1]}'
        )
    if not np.isfinite(X).all():
        raise Refused('"inputs" must hold finite numbers')
    return X


def drawing(value):
    """The ``drawing`` of a request (rows of ink values from 0 to 1) as a float64 array,
    or a one-line Refused."""
    low, high = DRAWING_SIDES
    if not isinstance(value, list) or not value:
        raise Refused('"drawing" must be a list of rows of ink values from 0 to 1')
    try:
        ink = np.array(value)
    except (ValueError, TypeError, OverflowError):
        raise Refused('"drawing" must be rows of numbers of the same length') from None
    if ink.dtype.kind not in "iuf" or ink.ndim != 2:
        raise Refused('"drawing" must be a list of rows of ink values from 0 to 1')
    if not (low <= ink.shape[0] <= high and low <= ink.shape[1] <= high):
        raise Refused(
            f'"drawing" must be {low} to {high} cells on each side, not {ink.shape[0]}x{ink.shape[1]}'
        )
    ink = ink.astype(np.float64)
    if not np.isfinite(ink).all() or ink.min() < 0 or ink.max() > 1:
        raise Refused('"drawing" must hold ink values from 0 to 1')
    return ink


def one_row(value, n_features):
    """The ``input`` of a request: one row of raw input values."""
    return rows([value] if isinstance(value, list) else value, n_features)[0]
