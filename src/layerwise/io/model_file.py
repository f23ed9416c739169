"""Model files: the weights in the safetensors format, everything else as JSON metadata.

A file is ``8-byte little-endian header length | JSON header | tensor bytes``. The header
maps each tensor name to its dtype, shape and byte range: the parameters ("0.weight",
"0.bias", ...), the state that is not trained ("3.running_mean", "3.running_var" of a
BatchNorm) and the preprocessing's ("preprocessing.mean"). It also holds
``__metadata__``: string values naming the format and its version, the package version,
and JSON for the architecture (the layers, the input shape of one example, the loss, the
dtype), the class labels (null for a regression), the preprocessing and the user's
metadata. Any safetensors reader can open the weights; ``load`` reads the file with NumPy
and json only, never pickle, and checks every part of it against the architecture before
building anything: each field of each layer, then the bytes the layers' tensors need
against the file's size, then each tensor's name, dtype, shape and byte range.

``LAYER_TYPES`` holds one entry per layer type: its JSON fields, how each is checked, how
the layer is built from them; saving and loading both use it. Format version 1 covers
every layer type and both losses: a reader of an older layerwise refuses a file with a
layer type or a loss it does not know with one error, and reads every file it could read
before, so that no file is ever misread.

Where a command takes "a model file or a run directory", ``load_model_or_checkpoint``
resolves it: a run directory's model.safetensors, or, for a run that did not finish and
holds only checkpoint.safetensors, the model of that checkpoint (its weights of the last
epoch checkpointed). ``load`` stays strict: it reads model files only.
"""

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._version import __version__
from ..errors import LayerwiseError
from ..nn.conv import AvgPool2D, Conv2D, MaxPool2D
from ..nn.layers import Dropout, Flatten, Layer, LeakyReLU, Linear, ReLU, Reshape, Sigmoid, Tanh, as_dtype
from ..nn.losses import MeanSquaredError, SoftmaxCrossEntropy
from ..nn.model import Model, Preprocessing
from ..nn.network import Network
from ..nn.normalization import BatchNorm
from .atomic import write_atomic

FORMAT = "layerwise-model"
CHECKPOINT_FORMAT = "layerwise-checkpoint"  # checkpoint.py: a model plus the training state
FORMAT_VERSION = 1
MODEL_FILENAME = "model.safetensors"  # the model's name inside a run directory
CHECKPOINT_FILENAME = "checkpoint.safetensors"  # a checkpoint's name inside a run directory
MAX_HEADER = 16 * 2**20

SAFETENSORS_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
DTYPE_CODES = {"float32": "F32", "float64": "F64"}


# --- saving --------------------------------------------------------------------------


def save(
    net: Network | Model,
    path: str | os.PathLike[str],
    *,
    classes: ArrayLike | None = None,
    preprocessing: Preprocessing | dict[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a Network (or a Model) to exactly ``path``, atomically, and return the Path.

    The file is written whole or not at all (a temporary file in the same folder, then a
    rename); no suffix is added to ``path``. Its format is described in this module's
    docstring: the weights as safetensors, everything else as JSON metadata.

    Parameters
    ----------
    net : Network or Model
        The network to save, or a Model whose network, labels, preprocessing and metadata
        are saved (each of them unless given below).
    path : str or os.PathLike
        The file to write; its folder must exist. An existing file is replaced.
    classes : array_like of shape (n_classes,), optional
        The label of each output, strings or numbers (default: the Model's, else
        0..K-1).
    preprocessing : Preprocessing or dict, optional
        A Preprocessing or a dict of its fields (scale, mean, std, image_shape,
        pixel_max, polarity, framing); default: the Model's, else none.
    metadata : mapping, optional
        A dict of JSON values kept with the model (default: the Model's, else empty).

    Returns
    -------
    Path
        ``path``, as a Path.

    Raises
    ------
    LayerwiseError
        If ``net`` is neither a Network nor a Model, has a layer that cannot be saved, a
        label that is neither a string nor a number, preprocessing that does not fit the
        network, metadata that is not JSON (NaN included), or if the file cannot be
        written.

    See Also
    --------
    load : Read a model file back as a Model.
    to_onnx : Export a model as an ONNX graph.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> import layerwise as lw
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.safetensors")
    ...     path = lw.save(net, path, classes=["a", "b", "c"])
    ...     model = lw.load(path)
    >>> path.name
    'model.safetensors'
    >>> model.classes.tolist()
    ['a', 'b', 'c']
    """
    model = Model.coerce(net)
    model = Model(
        model.network,
        classes=model.classes if classes is None else classes,
        preprocessing=model.preprocessing if preprocessing is None else preprocessing,
        metadata=model.metadata if metadata is None else metadata,
    )
    path = Path(path)
    data = to_bytes(model)
    try:
        write_atomic(path, data)
    except OSError as e:
        raise LayerwiseError(f"cannot write the model to {path}: {e.strerror or e}") from None
    return path


def to_bytes(model):
    """Return the model file's content for a Model.

    Parameters
    ----------
    model : Model
        The model; its network, labels, preprocessing and metadata are written.

    Returns
    -------
    bytes
        What ``save`` writes to the file for ``model``.

    Raises
    ------
    LayerwiseError
        If the network has a layer that cannot be saved, a label is neither a string nor
        a number, or the metadata is not JSON.

    Examples
    --------
    >>> import json
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.io.model_file import to_bytes
    >>> data = to_bytes(lw.Model(lw.Network.from_spec("4-8-3", seed=0)))
    >>> n = int.from_bytes(data[:8], "little")
    >>> json.loads(data[8 : 8 + n])["__metadata__"]["format"]
    'layerwise-model'
    """
    tensors, metadata = model_parts(model)
    return safetensors_bytes(tensors, metadata)


def model_parts(model, fmt=FORMAT):
    """Return a Model as (list of (name, array), metadata of strings).

    That is what a file of format ``fmt`` holds for it; checkpoints add their own tensors
    and metadata.

    Parameters
    ----------
    model : Model
        The model to describe.
    fmt : str, default FORMAT
        The file format named in the metadata: ``FORMAT`` ("layerwise-model") or
        ``CHECKPOINT_FORMAT`` ("layerwise-checkpoint").

    Returns
    -------
    tensors : list of (str, ndarray)
        The network's parameters by name ("0.weight", "0.bias", ...), then the
        preprocessing's mean and std where it has them ("preprocessing.mean", ...).
    metadata : dict of str to str
        The format and its version, the package version, and JSON text for the
        architecture, class labels, preprocessing and the user's metadata.

    Raises
    ------
    LayerwiseError
        If the network has a layer that cannot be saved, a label is neither a string nor
        a number, or the metadata is not JSON.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.io.model_file import model_parts
    >>> tensors, metadata = model_parts(lw.Model(lw.Network.from_spec("4-8-3", seed=0)))
    >>> [name for name, _ in tensors]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> metadata["format"]
    'layerwise-model'
    """
    net = model.network
    tensors = [(name, p.value) for name, p in net.named_parameters()]
    tensors += net.named_state()  # BatchNorm's running statistics
    prep = model.preprocessing
    prep_json = None
    if prep is not None:
        prep_json = {"scale": prep.scale, "image_shape": prep.image_shape, "pixel_max": prep.pixel_max}
        for field in ("polarity", "framing"):  # written only when known: older files lack them
            if getattr(prep, field) is not None:
                prep_json[field] = getattr(prep, field)
        for field in ("mean", "std"):
            if getattr(prep, field) is not None:
                tensors.append((f"preprocessing.{field}", getattr(prep, field)))
    metadata = {
        "format": fmt,
        "format_version": str(FORMAT_VERSION),
        "layerwise_version": __version__,
        "architecture": _dumps(architecture(net)),
        "classes": _dumps(_classes_json(model.classes)),
        "preprocessing": _dumps(prep_json),
        "metadata": _dumps(model.metadata),
    }
    return tensors, metadata


def architecture(net):
    """Return the JSON description of a network.

    Each layer is described by the entry of its type in ``LAYER_TYPES``, which loading
    reads back.

    Parameters
    ----------
    net : Network
        The network to describe.

    Returns
    -------
    dict
        ``layers`` (one dict per layer, with its ``type`` and its sizes or settings),
        ``input_shape`` (the shape of one example, a list), ``loss``
        ("softmax_cross_entropy" or "mean_squared_error") and ``dtype``.

    Raises
    ------
    LayerwiseError
        If the network has a layer or a loss that cannot be saved.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.io.model_file import architecture
    >>> arch = architecture(lw.Network.from_spec("4-8-3", seed=0))
    >>> [layer["type"] for layer in arch["layers"]]
    ['Linear', 'ReLU', 'Linear']
    >>> arch["layers"][0]
    {'type': 'Linear', 'n_in': 4, 'n_out': 8}
    >>> arch["input_shape"], arch["loss"], arch["dtype"]
    ([4], 'softmax_cross_entropy', 'float32')

    Images, and a regression:

    >>> layers = [lw.Reshape((1, 5, 4)), lw.Conv2D(1, 2, kernel_size=3, padding=1)]
    >>> layers += [lw.Flatten(), lw.Linear(40, 1)]
    >>> net = lw.Network(layers, loss=lw.MeanSquaredError())
    >>> arch = architecture(net)
    >>> conv = arch["layers"][1]
    >>> conv["type"], conv["in_channels"], conv["out_channels"]
    ('Conv2D', 1, 2)
    >>> conv["kernel_size"], conv["stride"], conv["padding"]
    ([3, 3], [1, 1], [1, 1])
    >>> arch["layers"][0], arch["input_shape"], arch["loss"]
    ({'type': 'Reshape', 'shape': [1, 5, 4]}, [20], 'mean_squared_error')
    """
    loss = LOSS_NAMES.get(type(net.loss))
    if loss is None:
        raise LayerwiseError(f"cannot save a network with the loss {net.loss!r}")
    return {
        "layers": [_layer_json(layer) for layer in net.layers],
        "input_shape": list(net.input_shape),
        "loss": loss,
        "dtype": net.dtype.name,
    }


# --- the layer types: one entry each, for saving and for loading -----------------------


def _positive(value, what):
    if type(value) is not int or value < 1:
        raise LayerwiseError(f"{what} must be a positive integer, not {value!r}")
    return value


def _pair(minimum):
    """The check of a pair of ints, each at least ``minimum`` (sizes, strides, paddings)."""
    words = "positive integers" if minimum == 1 else "non-negative integers"

    def check(value, what):
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(type(v) is int and v >= minimum for v in value)
        ):
            raise LayerwiseError(f"{what} must be two {words}, not {value!r}")
        return tuple(value)

    return check


def _shape(value, what):
    if not (isinstance(value, list) and value and all(type(v) is int and v >= 1 for v in value)):
        raise LayerwiseError(f"{what} must be a list of positive integers, not {value!r}")
    return tuple(value)


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LayerwiseError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _no_values(args):
    return 0


@dataclass(frozen=True)
class LayerType:
    """How one type of layer is saved and loaded: its entry in ``LAYER_TYPES``.

    A layer is saved as ``{"type": name, field: value, ...}``, each field the layer's
    attribute of that name (pairs as lists). Loading checks each field, then the bytes
    that the layers' tensors need against the file's size, and only then builds them.

    Parameters
    ----------
    cls : type
        The layer's class; only layers of exactly this class are saved as this type.
    fields : mapping of str to callable, optional
        Each JSON field and its check, ``check(value, what) -> argument``, which raises a
        LayerwiseError naming ``what`` for a value it refuses (a float where an int is
        needed, a size below 1...). The arguments are the constructor's, by name.
    values : callable, optional
        ``values(args)``: the number of values of the layer's tensors in the file
        (parameters and state), from the checked fields; default none.
    build : callable, optional
        ``build(args, dtype) -> layer``; default ``cls(**args)``.
    check : callable, optional
        ``check(layer) -> str or None``: what is wrong with the values read into the
        layer, or None.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.io.model_file import LAYER_TYPES
    >>> kind = LAYER_TYPES["Linear"]
    >>> kind.to_json("Linear", lw.Linear(3, 2))
    {'type': 'Linear', 'n_in': 3, 'n_out': 2}
    >>> args = kind.parse({"type": "Linear", "n_in": 3, "n_out": 2}, "layer 0 (Linear)")
    >>> kind.values(args), kind.make(args, np.dtype("float64"))
    (8, Linear(3, 2, dtype=float64))
    >>> kind.parse({"type": "Linear", "n_in": 3.0, "n_out": 2}, "layer 0 (Linear)")
    Traceback (most recent call last):
    ...
    layerwise.errors.LayerwiseError: layer 0 (Linear) n_in must be a positive integer, not 3.0
    """

    cls: type[Layer]
    fields: Mapping[str, Callable[[Any, str], Any]] = dataclass_field(default_factory=dict)
    values: Callable[[dict[str, Any]], int] = _no_values
    build: Callable[[dict[str, Any], np.dtype], Layer] | None = None
    check: Callable[[Layer], str | None] | None = None

    def to_json(self, name, layer):
        """Return the layer's JSON: its type, then its fields.

        Parameters
        ----------
        name : str
            The type's name in ``LAYER_TYPES``.
        layer : Layer
            A layer of the class ``cls``.

        Returns
        -------
        dict
            ``{"type": name, field: value, ...}``, pairs as lists.
        """
        out = {"type": name}
        for key in self.fields:
            value = getattr(layer, key)
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def parse(self, spec, what):
        """Return the constructor's arguments from a layer's JSON, each field checked.

        Parameters
        ----------
        spec : dict
            The layer's JSON, as ``to_json`` writes it.
        what : str
            The layer in words, for the errors ("layer 3 (Conv2D)").

        Returns
        -------
        dict
            The arguments by name.

        Raises
        ------
        LayerwiseError
            If a field is missing, unknown, or refused by its check.
        """
        unknown = sorted(set(spec) - {"type", *self.fields})
        if unknown:
            raise LayerwiseError(f"{what} has an unknown field {unknown[0]!r}")
        args = {}
        for key, check in self.fields.items():
            if key not in spec:
                raise LayerwiseError(f"{what} lacks its field {key!r}")
            args[key] = check(spec[key], f"{what} {key}")
        return args

    def make(self, args, dtype):
        """Return the layer of ``parse``'s arguments, in ``dtype``.

        Its parameters and state hold initial values, which loading then overwrites with
        the file's.

        Parameters
        ----------
        args : dict
            The arguments ``parse`` returned.
        dtype : numpy dtype
            float32 or float64.

        Returns
        -------
        Layer
            A new layer.

        Raises
        ------
        LayerwiseError
            If the constructor refuses the arguments (a dropout probability of 2...).
        """
        return self.cls(**args) if self.build is None else self.build(args, dtype)


def _running_var(layer):
    if (layer.running_var < 0).any():
        return "its running_var has negative values"
    return None


POOL_FIELDS = {"kernel_size": _pair(1), "stride": _pair(1)}

LAYER_TYPES = {
    "Linear": LayerType(
        Linear,
        {"n_in": _positive, "n_out": _positive},
        values=lambda a: (a["n_in"] + 1) * a["n_out"],
        build=lambda a, dtype: Linear(a["n_in"], a["n_out"], dtype=dtype, seed=0),
    ),
    "Sigmoid": LayerType(Sigmoid),
    "Tanh": LayerType(Tanh),
    "ReLU": LayerType(ReLU),
    "LeakyReLU": LayerType(LeakyReLU, {"negative_slope": _number}),
    "Dropout": LayerType(Dropout, {"p": _number}),
    "Conv2D": LayerType(
        Conv2D,
        {
            "in_channels": _positive,
            "out_channels": _positive,
            "kernel_size": _pair(1),
            "stride": _pair(1),
            "padding": _pair(0),
        },
        values=lambda a: a["out_channels"] * (a["in_channels"] * math.prod(a["kernel_size"]) + 1),
        build=lambda a, dtype: Conv2D(**a, dtype=dtype, seed=0),
    ),
    "MaxPool2D": LayerType(MaxPool2D, POOL_FIELDS),
    "AvgPool2D": LayerType(AvgPool2D, POOL_FIELDS),
    "BatchNorm": LayerType(
        BatchNorm,
        {"num_features": _positive, "momentum": _number, "eps": _number},
        values=lambda a: 4 * a["num_features"],  # gamma, beta, running_mean, running_var
        build=lambda a, dtype: BatchNorm(**a, dtype=dtype),
        check=_running_var,
    ),
    "Reshape": LayerType(Reshape, {"shape": _shape}),
    "Flatten": LayerType(Flatten),
}
"""Every layer type a model file holds, by the name it has there ("type" in the JSON)."""

TYPE_NAMES = {kind.cls: name for name, kind in LAYER_TYPES.items()}
LOSSES = {"softmax_cross_entropy": SoftmaxCrossEntropy, "mean_squared_error": MeanSquaredError}
LOSS_NAMES = {cls: name for name, cls in LOSSES.items()}


def _layer_json(layer):
    name = TYPE_NAMES.get(type(layer))
    if name is None:
        raise LayerwiseError(f"cannot save a network with a {type(layer).__name__} layer")
    return LAYER_TYPES[name].to_json(name, layer)


def _classes_json(classes):
    """Labels as a JSON list plus the NumPy dtype to restore them with; None (a
    regression's) as null."""
    if classes is None:
        return None
    kind = classes.dtype.kind
    dtype = classes.dtype.str if kind in "biufU" else "object"
    values = classes.tolist()
    for v in values:
        if not isinstance(v, (str, int, float, bool)):
            raise LayerwiseError(f"class label {v!r} cannot be saved: labels must be strings or numbers")
    return {"dtype": dtype, "values": values}


def dumps(obj):
    """Return JSON text for a metadata value (no NaN), or raise a LayerwiseError.

    Parameters
    ----------
    obj : object
        A JSON value; NumPy arrays and scalars are written as lists and numbers.

    Returns
    -------
    str
        The JSON text.

    Raises
    ------
    LayerwiseError
        If ``obj`` holds a value that is not JSON, or NaN or an infinity.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.io.model_file import dumps
    >>> dumps({"epochs": np.int64(3), "sizes": np.arange(2)})
    '{"epochs": 3, "sizes": [0, 1]}'
    >>> dumps(float("nan"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    layerwise.errors.LayerwiseError: metadata cannot be saved as JSON: ...
    """
    return _dumps(obj)


def _dumps(obj):
    def default(value):
        if hasattr(value, "tolist"):
            return value.tolist()
        raise LayerwiseError(f"metadata value {value!r} is not JSON")

    try:
        return json.dumps(obj, default=default, allow_nan=False)
    except ValueError as e:
        raise LayerwiseError(f"metadata cannot be saved as JSON: {e}") from None


def safetensors_bytes(tensors, metadata):
    """Return the bytes of a safetensors file holding ``tensors`` and ``metadata``.

    The file is ``8-byte little-endian header length | JSON header | tensor bytes``; the
    header is padded with spaces to a multiple of 8 bytes, so that the tensors start
    aligned, and the tensors follow one another in the order given, little-endian.

    Parameters
    ----------
    tensors : list of (str, array_like)
        Each tensor's name and values, float32 or float64 (the only dtypes written).
    metadata : dict of str to str
        The header's ``__metadata__``.

    Returns
    -------
    bytes
        The file's content.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.io.model_file import safetensors_bytes
    >>> data = safetensors_bytes([("w", np.zeros((2, 3), np.float32))], {"format": "demo"})
    >>> n = int.from_bytes(data[:8], "little")
    >>> n % 8, len(data) - 8 - n
    (0, 24)
    """
    header = {"__metadata__": metadata}
    offset = 0
    for name, value in tensors:
        value = np.asarray(value)
        code = DTYPE_CODES[value.dtype.name]
        size = value.size * value.dtype.itemsize
        header[name] = {"dtype": code, "shape": list(value.shape), "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the format allows padding so tensors start aligned
    body = [np.ascontiguousarray(v, dtype=SAFETENSORS_DTYPES[DTYPE_CODES[v.dtype.name]]) for _, v in tensors]
    return len(head).to_bytes(8, "little") + head + b"".join(v.tobytes() for v in body)


# --- loading -------------------------------------------------------------------------


def resolve_model_path(path):
    """Return the model file at ``path``, or the model file inside a run directory.

    Parameters
    ----------
    path : str or os.PathLike
        A model file, or a run directory holding one named ``model.safetensors``.

    Returns
    -------
    Path
        The model file's path.

    Raises
    ------
    LayerwiseError
        If there is no such file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.io.model_file import resolve_model_path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = lw.save(lw.Network.from_spec("4-3", seed=0), Path(folder) / "model.safetensors")
    ...     resolve_model_path(folder).name
    'model.safetensors'
    """
    path = Path(path)
    folder = path if path.is_dir() else None
    if folder is not None:
        path = folder / MODEL_FILENAME
    if not path.is_file():
        if folder is not None and (folder / CHECKPOINT_FILENAME).is_file():
            raise LayerwiseError(
                f"no model file at {path}: the run did not finish; its weights are in "
                f"{folder / CHECKPOINT_FILENAME} (layerwise evaluate, predict and export use them)"
            )
        raise LayerwiseError(f"no model file at {path}")
    return path


@dataclass(frozen=True)
class ModelSource:
    """A model read for use, and the file it came from.

    Parameters
    ----------
    model : Model
        The network with its class labels, preprocessing and metadata.
    path : Path
        The file read: a model file, or a checkpoint.
    checkpoint_epoch : int or None, default None
        The epochs done when the checkpoint was written, when ``path`` is a checkpoint
        (None for a model file).
    unfinished : bool, default False
        True when ``path`` is the checkpoint of a run directory without a model file: a
        run that did not finish.

    See Also
    --------
    load_model_or_checkpoint : Returns one.

    Examples
    --------
    >>> from pathlib import Path
    >>> import layerwise as lw
    >>> from layerwise.io.model_file import ModelSource
    >>> net = lw.Network.from_spec("4-3", seed=0)
    >>> source = ModelSource(lw.Model(net), Path("runs/a/checkpoint.safetensors"), 7, unfinished=True)
    >>> print(source.note)
    using the weights of the checkpoint of epoch 7 in runs/a/checkpoint.safetensors: the run did not finish
    >>> ModelSource(lw.Model(net), Path("model.safetensors")).note is None
    True
    """

    model: Model
    path: Path
    checkpoint_epoch: int | None = None
    unfinished: bool = False

    @property
    def note(self) -> str | None:
        """One line saying which checkpoint's weights are used (None for a model file)."""
        if self.checkpoint_epoch is None:
            return None
        note = f"using the weights of the checkpoint of epoch {self.checkpoint_epoch} in {self.path}"
        return note + (": the run did not finish" if self.unfinished else "")


def load_model_or_checkpoint(path: str | os.PathLike[str]) -> ModelSource:
    """Read the model a command is given: a model file, a run directory or a checkpoint.

    A run directory gives its ``model.safetensors``; one without it but with a
    ``checkpoint.safetensors`` (a run stopped by Ctrl-C or killed before it finished)
    gives the checkpoint's model: its network with the weights of the last epoch
    checkpointed, its class labels, preprocessing and metadata. A checkpoint file given
    by its path gives its model too. Everything is validated as ``load`` and
    ``load_checkpoint`` validate it. ``load`` itself reads model files only.

    Parameters
    ----------
    path : str or os.PathLike
        A model file, a run directory, or a checkpoint file.

    Returns
    -------
    ModelSource
        The model, the file it was read from and, for a checkpoint, its epoch; its
        ``note`` says which checkpoint's weights are used.

    Raises
    ------
    LayerwiseError
        If there is neither a model file nor a checkpoint at ``path``, or the file is not
        valid.

    See Also
    --------
    load : Read a model file.
    layerwise.io.checkpoint.load_checkpoint : Read a checkpoint with its training state.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import layerwise as lw
    >>> from layerwise.io.checkpoint import Checkpointer
    >>> from layerwise.io.model_file import load_model_or_checkpoint
    >>> from layerwise.nn.training import seed_generators
    >>> net = lw.Network.from_spec("4-3", seed=0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     run = Path(folder)
    ...     rng = seed_generators(net, 0)
    ...     saver = Checkpointer(run / "checkpoint.safetensors", None, lw.Model(net), lw.Adam(), rng)
    ...     saver.on_train_begin(net, lw.History())
    ...     _ = saver.save()  # a run stopped before its first epoch ended
    ...     source = load_model_or_checkpoint(run)
    ...     _ = lw.save(net, run / "model.safetensors")
    ...     finished = load_model_or_checkpoint(run)  # a finished run: its model file
    >>> source.checkpoint_epoch, source.path.name, source.unfinished
    (0, 'checkpoint.safetensors', True)
    >>> source.model.network.sizes
    [4, 3]
    >>> finished.path.name, finished.note
    ('model.safetensors', None)
    """
    path = Path(path)
    checkpoint, unfinished = None, False
    if path.is_dir():
        if not (path / MODEL_FILENAME).is_file() and (path / CHECKPOINT_FILENAME).is_file():
            checkpoint, unfinished = path / CHECKPOINT_FILENAME, True
    elif path.is_file() and _file_format(path) == CHECKPOINT_FORMAT:
        checkpoint = path
    if checkpoint is None:
        path = resolve_model_path(path)
        return ModelSource(load(path), path)
    from .checkpoint import load_checkpoint  # checkpoint.py builds on this module

    state = load_checkpoint(checkpoint)
    return ModelSource(state.model, checkpoint, state.epoch, unfinished)


def _file_format(path):
    """The format a layerwise file names in its header, or None (unreadable, or another file)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(0)
            n = int.from_bytes(f.read(8), "little")
            if size < 8 or n > min(size - 8, MAX_HEADER):
                return None
            meta = _header(f.read(n)).get("__metadata__")
    except (OSError, _Invalid):
        return None
    return meta.get("format") if isinstance(meta, dict) else None


def load(path: str | os.PathLike[str]) -> Model:
    """Read a model file written by ``save`` and return a Model.

    The file is read with NumPy and json only, never pickle, and every part of it is
    checked against the architecture before anything is built. Nothing in the file is
    executed.

    Parameters
    ----------
    path : str or os.PathLike
        A model file, or a run directory holding one (``model.safetensors``).

    Returns
    -------
    Model
        The network with its class labels, preprocessing and metadata.

    Raises
    ------
    LayerwiseError
        For every problem (no such file, not a model file, truncated, edited, written by a
        newer format, NaN weights, shapes that disagree with the architecture): one
        LayerwiseError naming the file and what is wrong.

    See Also
    --------
    save : Write a Network or a Model to a model file.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> import layerwise as lw
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> X = np.random.default_rng(0).random((5, 4))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = lw.save(net, os.path.join(folder, "model.safetensors"), metadata={"n": 1})
    ...     model = lw.load(path)
    >>> model.metadata
    {'n': 1}
    >>> bool(np.array_equal(model.predict(X), net.predict(X)))
    True
    """
    model, _, _ = read_file(resolve_model_path(path), FORMAT)
    return model


def read_file(path, fmt, extra_tensors=None):
    """Read a file of format ``fmt`` (a model file, or a checkpoint) and validate it.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    fmt : str
        The format the file must have: ``FORMAT`` ("layerwise-model") or
        ``CHECKPOINT_FORMAT`` ("layerwise-checkpoint").
    extra_tensors : callable, optional
        ``extra_tensors(metadata, network)`` names the tensors the file holds besides the
        model's, as {name: shape} in the network's dtype, from the file's metadata (a dict
        of strings); it raises LayerwiseError for metadata it cannot accept. None: the
        file holds the model's tensors only.

    Returns
    -------
    model : Model
        The network with its class labels, preprocessing and metadata.
    extra : dict of str to ndarray
        The extra tensors.
    metadata : dict of str to str
        The file's metadata, as written.

    Raises
    ------
    LayerwiseError
        If the file cannot be read, or is not a valid file of format ``fmt``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.io.model_file import FORMAT, read_file
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = lw.save(lw.Network.from_spec("4-3", seed=0), Path(folder) / "model.safetensors")
    ...     model, extra, metadata = read_file(path, FORMAT)
    >>> model.network.sizes, extra, metadata["format"]
    ([4, 3], {}, 'layerwise-model')
    """
    path = Path(path)
    what = "checkpoint" if fmt != FORMAT else "model"
    try:
        with open(path, "rb") as f:
            return _parse(f, fmt, extra_tensors)
    except OSError as e:
        raise LayerwiseError(f"cannot read {path}: {e.strerror or e}") from None
    except _Invalid as e:
        raise LayerwiseError(f"{path} is not a valid layerwise {what}: {e}") from None


class _Invalid(Exception):
    """What is wrong with a model file, in words."""


def _parse(f, fmt, extra_tensors):
    f.seek(0, 2)
    size = f.tell()
    f.seek(0)
    if size < 8:
        raise _Invalid(f"the file has only {size} bytes (truncated, or not a layerwise file)")
    n = int.from_bytes(f.read(8), "little")
    if n > min(size - 8, MAX_HEADER):
        raise _Invalid(
            f"the header claims {n} bytes but the file has {size} (truncated, or not a layerwise file)"
        )
    header = _header(f.read(n))
    meta = _metadata(header, fmt)
    data_size = size - 8 - n
    net = _network(meta["architecture"], data_size)
    expected = _expected_tensors(header, net, meta)
    extra = {}
    if extra_tensors is not None:
        try:
            extra = extra_tensors(meta["raw"], net)
        except LayerwiseError as e:
            raise _Invalid(str(e)) from None
        code = DTYPE_CODES[net.dtype.name]
        expected.update({name: (tuple(shape), code) for name, shape in extra.items()})
    entries = _tensor_entries(header, expected, data_size)
    data = f.read(data_size)
    if len(data) != data_size:
        raise _Invalid("the file changed while it was read")
    arrays = {name: _array(data, entry, name) for name, entry in entries.items()}
    net.set_weights([arrays[name] for name, _ in net.named_parameters()])
    _restore_state(net, arrays)
    try:
        prep = _preprocessing(meta["preprocessing"], arrays)
        classes = _restore_classes(meta["classes"], net.loss.classifier)
        model = Model(net, classes=classes, preprocessing=prep, metadata=meta["metadata"])
    except LayerwiseError as e:
        raise _Invalid(str(e)) from None
    return model, {name: arrays[name] for name in extra}, meta["raw"]


def _header(raw):
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Invalid("its header is not JSON (not a safetensors file, or damaged)") from None
    if not isinstance(header, dict):
        raise _Invalid("its header is not a JSON object")
    return header


def _metadata(header, fmt):
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") not in (FORMAT, CHECKPOINT_FORMAT):
        raise _Invalid("the file has no layerwise metadata (a safetensors file from elsewhere?)")
    if meta["format"] != fmt:
        raise _Invalid(f"it is a {meta['format']} file, not a {fmt} file")
    version = meta.get("format_version")
    if version != str(FORMAT_VERSION):
        raise _Invalid(
            f"it has format version {version!r}; layerwise {__version__} reads version {FORMAT_VERSION}"
        )
    parsed = {}
    for key in ("architecture", "classes", "preprocessing", "metadata"):
        try:
            parsed[key] = json.loads(meta[key])
        except (KeyError, TypeError, ValueError, RecursionError):
            raise _Invalid(f"its {key} metadata is missing or not JSON") from None
    if not isinstance(parsed["metadata"], dict):
        raise _Invalid("its user metadata is not a JSON object")
    parsed["raw"] = meta
    return parsed


def _network(arch, data_size):
    """The network an architecture describes, its fields checked and the bytes of its
    tensors compared with the file's data before any layer is built."""
    if not isinstance(arch, dict) or not isinstance(arch.get("layers"), list):
        raise _Invalid("its architecture has no list of layers")
    loss = arch.get("loss")
    if not isinstance(loss, str) or loss not in LOSSES:
        raise _Invalid(f"its loss {loss!r} is unknown")
    try:
        dtype = as_dtype(arch.get("dtype"))
        specs = [_layer_spec(spec, i) for i, spec in enumerate(arch["layers"])]
        input_shape = arch.get("input_shape")  # absent from the files of layerwise 0.1
        if input_shape is not None:
            input_shape = _shape(input_shape, "input_shape")
        needed = sum(kind.values(args) for kind, args in specs) * dtype.itemsize
        if needed > data_size:
            raise _Invalid(f"its architecture needs {needed} bytes of weights but the file has {data_size}")
        layers = [kind.make(args, dtype) for kind, args in specs]
        return Network(layers, loss=LOSSES[loss](), input_shape=input_shape)
    except (LayerwiseError, TypeError, ValueError, KeyError) as e:
        raise _Invalid(f"its architecture is invalid: {e}") from None


def _layer_spec(spec, i):
    """(LayerType, checked constructor arguments) of layer ``i``'s JSON."""
    if not isinstance(spec, dict):
        raise LayerwiseError(f"layer {i} {spec!r} is not an object")
    name = spec.get("type")
    if not isinstance(name, str) or name not in LAYER_TYPES:
        raise LayerwiseError(f"unknown layer type {name!r}")
    kind = LAYER_TYPES[name]
    return kind, kind.parse(spec, f"layer {i} ({name})")


def _expected_tensors(header, net, meta):
    """{name: (shape, dtype code)} of the tensors the architecture and preprocessing need."""
    dtype_code = DTYPE_CODES[net.dtype.name]
    expected = {name: (p.value.shape, dtype_code) for name, p in net.named_parameters()}
    expected.update({name: (a.shape, dtype_code) for name, a in net.named_state()})
    prep = meta["preprocessing"]
    for field in ("mean", "std"):
        if isinstance(prep, dict) and f"preprocessing.{field}" in header:
            expected[f"preprocessing.{field}"] = ((net.n_features,), "F64")
    return expected


def _tensor_entries(header, expected, data_size):
    """The header's tensor entries, checked against the tensors expected."""
    names = set(header) - {"__metadata__"}
    missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
    if missing:
        raise _Invalid(f"tensor {missing[0]} is missing")
    if extra:
        raise _Invalid(f"tensor {extra[0]} is not part of the architecture")
    entries = {}
    for name, (shape, code) in expected.items():
        entry = header[name]
        if not isinstance(entry, dict):
            raise _Invalid(f"tensor {name} has no description")
        if entry.get("dtype") != code:
            raise _Invalid(f"tensor {name} has dtype {entry.get('dtype')!r}, expected {code}")
        if entry.get("shape") != list(shape):
            raise _Invalid(
                f"tensor {name} has shape {entry.get('shape')}, the architecture says {list(shape)}"
            )
        entries[name] = entry
    _check_offsets(entries, data_size)
    return entries


def _check_offsets(entries, data_size):
    """The tensors' byte ranges must tile the data exactly: contiguous, no gap, no overlap."""
    spans = []
    for name, entry in entries.items():
        offsets = entry.get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            raise _Invalid(f"tensor {name} has no valid data_offsets")
        begin, end = offsets
        nbytes = math.prod(entry["shape"]) * SAFETENSORS_DTYPES[entry["dtype"]].itemsize
        if end - begin != nbytes:
            raise _Invalid(f"tensor {name} spans {end - begin} bytes but its shape needs {nbytes}")
        spans.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise _Invalid(f"tensor {name} starts at byte {begin}, expected {position} (overlap or gap)")
        position = end
    if position != data_size:
        raise _Invalid(f"the tensors need {position} bytes of data but the file has {data_size} (truncated?)")


def _array(data, entry, name):
    begin, end = entry["data_offsets"]
    dtype = SAFETENSORS_DTYPES[entry["dtype"]]
    value = np.frombuffer(data, dtype, count=(end - begin) // dtype.itemsize, offset=begin)
    value = value.reshape(entry["shape"])
    if not np.isfinite(value).all():
        raise _Invalid(f"tensor {name} contains NaN or infinite values")
    return value.astype(value.dtype.newbyteorder("="))


def _preprocessing(prep, arrays):
    if prep is None:
        return None
    if not isinstance(prep, dict):
        raise _Invalid("its preprocessing metadata is not a JSON object")
    fields = {k: prep.get(k) for k in ("scale", "image_shape", "pixel_max", "polarity", "framing")}
    if fields["scale"] is None:
        fields["scale"] = 1.0
    for field in ("mean", "std"):
        fields[field] = arrays.get(f"preprocessing.{field}")
    return Preprocessing(**fields)


def _restore_state(net, arrays):
    """Writes the state tensors into the layers' own arrays, then checks each layer."""
    for name, array in net.named_state():
        np.copyto(array, arrays[name])
    for i, layer in enumerate(net.layers):
        name = TYPE_NAMES[type(layer)]
        check = LAYER_TYPES[name].check
        problem = None if check is None else check(layer)
        if problem:
            raise _Invalid(f"layer {i} ({name}): {problem}")


def _restore_classes(classes, classifier):
    if not classifier:
        if classes is not None:
            raise _Invalid("it is a regression model (mean_squared_error) but has class labels")
        return None
    if not isinstance(classes, dict) or not isinstance(classes.get("values"), list):
        raise _Invalid("its class labels are not a list")
    values, dtype = classes["values"], classes.get("dtype")
    if not all(isinstance(v, (str, int, float, bool)) for v in values):
        raise _Invalid("its class labels must be strings or numbers")
    if dtype == "object":
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    try:
        dtype = np.dtype(dtype)
        if dtype.kind not in "biufU":
            raise TypeError
        if dtype.kind == "U":
            dtype = np.dtype("U")  # as wide as the longest label, whatever width the file claims
        return np.array(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise _Invalid(f"its class labels have an invalid dtype {dtype!r}") from None
