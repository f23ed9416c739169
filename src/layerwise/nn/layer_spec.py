"""Layer specs: a network written as one line of comma-separated layers.

    conv32k3p1,relu,maxpool2,conv64k3p1,bn,relu,maxpool2,flatten,128,relu,dropout0.3

is what ``TrainConfig(layers=...)`` and ``layerwise train --layers`` take. The layers:

- ``conv<filters>k<kernel>[s<stride>][p<padding>]``: a ``Conv2D`` (stride 1 and padding 0
  unless given), e.g. ``conv32k3p1``;
- ``maxpool<k>[s<stride>]``, ``avgpool<k>[s<stride>]``: ``MaxPool2D``, ``AvgPool2D``
  (the stride is the window unless given), e.g. ``maxpool2``;
- ``bn``: a ``BatchNorm`` over the channels of images, or the features of rows;
- ``relu``, ``leaky_relu``, ``tanh``, ``sigmoid``: activations;
- ``dropout<p>``: a ``Dropout`` of probability p, e.g. ``dropout0.3``;
- ``flatten``: images to rows;
- a number: a ``Linear`` layer of that many units, e.g. ``128``.

A kernel, stride or padding may also be a pair, ``k3x5``. The last Linear layer, one unit
per class, is added after the spec (followed by the output activation, if any). Sizes come
from the data: each layer's input channels or features are what the layer before emits
(``Layer.output_shape``). A spec whose layers before the first Linear or ``flatten``
include a convolution or a pooling layer works on images: the network starts with
``Reshape((1, H, W))`` (the data's image shape), and a ``Flatten`` is inserted before the
first Linear layer that follows image layers when the spec does not say ``flatten``.
"""

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import LayerwiseError, SettingError
from .conv import AvgPool2D, Conv2D, MaxPool2D
from .layers import (
    INITS,
    Activation,
    Dropout,
    Flatten,
    Layer,
    LeakyReLU,
    Linear,
    ReLU,
    Reshape,
    Sigmoid,
    Tanh,
    activation_layer,
)
from .normalization import BatchNorm
from .types import DTypeLike

if TYPE_CHECKING:  # for the annotation only: network imports config, which imports this module
    from .network import Network

SETTING = "layers"  # the TrainConfig setting the errors name
Pair = tuple[int, int]
ACTIVATION_NAMES = ("relu", "leaky_relu", "tanh", "sigmoid")
RELU_LIKE = ("relu", "leaky_relu")
SYNTAX = (
    "conv<filters>k<kernel>[s<stride>][p<padding>], maxpool<k>[s<stride>], avgpool<k>[s<stride>], bn, "
    "relu, leaky_relu, tanh, sigmoid, dropout<p>, flatten or a number of units"
)
_PAIR = r"(\d+(?:x\d+)?)"
_CONV = re.compile(rf"conv(\d+)k{_PAIR}(?:s{_PAIR})?(?:p{_PAIR})?")
_POOL = re.compile(rf"(max|avg)pool{_PAIR}(?:s{_PAIR})?")
_KINDS = {"conv": "a convolution", "maxpool": "a pooling layer", "avgpool": "a pooling layer"}
_EXAMPLES = {
    "conv": "conv<filters>k<kernel>[s<stride>][p<padding>], e.g. conv32k3p1",
    "maxpool": "maxpool<k>[s<stride>], e.g. maxpool2",
    "avgpool": "avgpool<k>[s<stride>], e.g. avgpool2",
}


@dataclass(frozen=True)
class LayerToken:
    """One layer of a spec, as read: its kind, its canonical text and its numbers.

    ``kind`` is "conv", "maxpool", "avgpool", "bn", "activation", "dropout", "flatten" or
    "linear". ``units`` is a convolution's filters or a Linear layer's units; ``kernel``,
    ``stride`` (None: the pooling window) and ``padding`` are pairs; ``p`` is a dropout
    probability; ``name`` an activation's name.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layer_spec import parse_layers
    >>> conv, pool = parse_layers("conv32k3p1,maxpool2")
    >>> conv.kind, conv.units, conv.kernel, conv.stride, conv.padding
    ('conv', 32, (3, 3), (1, 1), (1, 1))
    >>> pool.text, pool.kernel, pool.stride
    ('maxpool2', (2, 2), None)
    """

    kind: str
    text: str
    units: int = 0
    kernel: Pair = (1, 1)
    stride: Pair | None = None
    padding: Pair = (0, 0)
    p: float = 0.0
    name: str = ""


def parse_layers(text: str) -> list[LayerToken]:
    """The layers of a spec such as "conv32k3p1,relu,maxpool2,flatten,128,relu,dropout0.3".

    Case, spaces around the commas and "-" for "_" do not matter; ``batchnorm`` reads as
    ``bn``. The spec is read, not built: whether its layers fit the data is checked by
    ``build_layers``.

    Parameters
    ----------
    text : str
        Comma-separated layers (see the module's documentation for each kind).

    Returns
    -------
    list of LayerToken
        The layers, in order; each ``text`` canonical (``conv32k3s1p0`` reads as
        ``conv32k3``, ``maxpool2s2`` as ``maxpool2``, ``dropout0.30`` as ``dropout0.3``).

    Raises
    ------
    SettingError
        In one line naming the setting "layers" and the layer at fault: an empty spec or
        layer, an unknown or malformed layer, a number out of range.

    See Also
    --------
    canonical_layers : The canonical text of a spec.
    build_layers : The layers of a spec, sized for the data.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layer_spec import parse_layers
    >>> [t.text for t in parse_layers("Conv8K3S1P0, ReLU, MaxPool2, BatchNorm, 64, Leaky-ReLU, Dropout0.50")]
    ['conv8k3', 'relu', 'maxpool2', 'bn', '64', 'leaky_relu', 'dropout0.5']
    >>> parse_layers("conv8k3,rleu")
    Traceback (most recent call last):
    ...
    layerwise.errors.SettingError: layers has an unknown layer 'rleu' (layer 2); did you mean 'relu'?
    """
    if not isinstance(text, str):
        raise SettingError(SETTING, f"must be a spec of layers such as conv32k3p1,relu,128, not {text!r}")
    if not text.strip():
        raise SettingError(
            SETTING, "is empty: give layers such as conv32k3p1,relu,maxpool2,flatten,128,relu (or none)"
        )
    if ";" in text:
        raise SettingError(
            SETTING,
            f"{text.strip()!r} has a semicolon: one spec separates its layers by commas (semicolons "
            'separate the specs a search tries, as in --grid "layers=conv8k3,relu;64,relu")',
        )
    parts = text.split(",")
    return [_token(part.strip().lower(), i, len(parts)) for i, part in enumerate(parts, 1)]


def canonical_layers(text: str) -> str:
    """The canonical text of a spec: its layers' canonical texts joined by commas.

    Two specs of the same network have the same canonical text, which is what
    ``TrainConfig`` keeps and records.

    Parameters
    ----------
    text : str
        A spec, as ``parse_layers`` reads it.

    Returns
    -------
    str
        The canonical spec, lowercase, without spaces or defaults.

    Raises
    ------
    SettingError
        If the spec cannot be read.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layer_spec import canonical_layers
    >>> canonical_layers("Conv32k3s1p1, ReLU, maxpool2s2, Flatten, 128")
    'conv32k3p1,relu,maxpool2,flatten,128'
    """
    return ",".join(token.text for token in parse_layers(text))


def _token(text: str, index: int, count: int) -> LayerToken:
    where = f"(layer {index})"
    if not text:
        what = "a trailing comma" if index == count and count > 1 else "an extra comma"
        raise SettingError(SETTING, f"has an empty layer {where}: remove {what}")
    if text.isdigit():
        units = int(text)
        if units < 1:
            raise SettingError(SETTING, f"has a Linear layer of {units} units {where}; give at least 1")
        return LayerToken("linear", str(units), units=units)
    if text.replace("-", "_") in ACTIVATION_NAMES:
        name = text.replace("-", "_")
        return LayerToken("activation", name, name=name)
    if text in ("bn", "batchnorm"):
        return LayerToken("bn", "bn")
    if text == "flatten":
        return LayerToken("flatten", "flatten")
    if text.startswith("dropout"):
        return _dropout(text, where)
    for kind in ("conv", "maxpool", "avgpool"):
        if text.startswith(kind):
            return _conv(text, where) if kind == "conv" else _pool(text, where)
    names = ["bn", "flatten", "dropout", "conv", "maxpool", "avgpool", *ACTIVATION_NAMES]
    close = difflib.get_close_matches(text.rstrip("0123456789."), names, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"the layers are {SYNTAX}"
    raise SettingError(SETTING, f"has an unknown layer {text!r} {where}; {hint}")


def _dropout(text: str, where: str) -> LayerToken:
    try:
        p = float(text[len("dropout") :])
    except ValueError:
        raise SettingError(
            SETTING, f"has {text!r} {where}: write dropout<p> with the probability p, e.g. dropout0.3"
        ) from None
    if not (math.isfinite(p) and 0 <= p < 1):
        raise SettingError(SETTING, f"has {text!r} {where}, whose probability is not in [0, 1)")
    return LayerToken("dropout", f"dropout{p:g}", p=p)


def _pair(text: str | None, default: Pair) -> Pair:
    if text is None:
        return default
    h, _, w = text.partition("x")
    return int(h), int(w or h)


def _pair_text(pair: Pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _malformed(text: str, kind: str, where: str) -> SettingError:
    return SettingError(SETTING, f"has a malformed layer {text!r} {where}: write {_EXAMPLES[kind]}")


def _conv(text: str, where: str) -> LayerToken:
    m = _CONV.fullmatch(text)
    if m is None:
        raise _malformed(text, "conv", where)
    filters = int(m.group(1))
    kernel, stride, padding = _pair(m.group(2), (1, 1)), _pair(m.group(3), (1, 1)), _pair(m.group(4), (0, 0))
    if filters < 1 or min(kernel) < 1 or min(stride) < 1:
        raise SettingError(
            SETTING, f"has {text!r} {where}, whose filters, kernel and stride must be at least 1"
        )
    canonical = f"conv{filters}k{_pair_text(kernel)}"
    canonical += f"s{_pair_text(stride)}" if stride != (1, 1) else ""
    canonical += f"p{_pair_text(padding)}" if padding != (0, 0) else ""
    return LayerToken("conv", canonical, units=filters, kernel=kernel, stride=stride, padding=padding)


def _pool(text: str, where: str) -> LayerToken:
    m = _POOL.fullmatch(text)
    if m is None:
        raise _malformed(text, text[:7], where)
    kind = m.group(1) + "pool"
    kernel = _pair(m.group(2), (1, 1))
    stride = None if m.group(3) is None else _pair(m.group(3), (1, 1))
    if min(kernel) < 1 or (stride is not None and min(stride) < 1):
        raise SettingError(SETTING, f"has {text!r} {where}, whose window and stride must be at least 1")
    if stride == kernel:
        stride = None
    canonical = f"{kind}{_pair_text(kernel)}" + ("" if stride is None else f"s{_pair_text(stride)}")
    return LayerToken(kind, canonical, kernel=kernel, stride=stride)


def _tokens(spec: str | Sequence[LayerToken]) -> list[LayerToken]:
    return parse_layers(spec) if isinstance(spec, str) else list(spec)


def on_images(spec: str | Sequence[LayerToken]) -> bool:
    """Whether a spec works on images: a convolution or a pooling layer comes before its
    first Linear layer or ``flatten``.

    Parameters
    ----------
    spec : str or sequence of LayerToken
        The spec.

    Returns
    -------
    bool
        True when the network starts by reshaping rows into images.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layer_spec import on_images
    >>> on_images("bn,conv8k3,relu,flatten,32"), on_images("bn,128,relu"), on_images("128,conv8k3")
    (True, False, False)
    """
    for token in _tokens(spec):
        if token.kind in ("linear", "flatten"):
            return False
        if token.kind in ("conv", "maxpool", "avgpool"):
            return True
    return False


def default_init(spec: str | Sequence[LayerToken]) -> str:
    """The initialisation of a spec's convolutions and Linear layers when ``init`` is None.

    he_uniform when every activation of the spec is relu or leaky_relu (and there is at
    least one), glorot_uniform otherwise: the rule of ``TrainConfig.weight_init`` for the
    hidden activation, applied to the spec's activations.

    Parameters
    ----------
    spec : str or sequence of LayerToken
        The spec.

    Returns
    -------
    str
        "he_uniform" or "glorot_uniform".

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layer_spec import default_init
    >>> default_init("conv8k3,relu,64,leaky_relu"), default_init("conv8k3,relu,64,tanh"), default_init("64")
    ('he_uniform', 'glorot_uniform', 'glorot_uniform')
    """
    names = [token.name for token in _tokens(spec) if token.kind == "activation"]
    return "he_uniform" if names and all(name in RELU_LIKE for name in names) else "glorot_uniform"


def linear_units(spec: str | Sequence[LayerToken]) -> list[int]:
    """The units of a spec's Linear layers, in order (the last one, for the classes, aside).

    Parameters
    ----------
    spec : str or sequence of LayerToken
        The spec.

    Returns
    -------
    list of int
        One number per bare integer of the spec.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layer_spec import linear_units
    >>> linear_units("conv8k3,relu,maxpool2,128,relu,64,relu")
    [128, 64]
    """
    return [token.units for token in _tokens(spec) if token.kind == "linear"]


def build_layers(
    spec: str | Sequence[LayerToken],
    n_features: int,
    n_classes: int,
    *,
    image_shape: Sequence[int] | None = None,
    output_activation: str | None = None,
    init: str | None = None,
    dtype: DTypeLike = "float32",
    seed: int | None = 0,
) -> list[Layer]:
    """The layers of a spec, sized for inputs of ``n_features`` values and ``n_classes`` classes.

    The spec's layers are followed by a Linear layer of ``n_classes`` units and the
    output activation. A spec on images (``on_images``) starts with ``Reshape((1, H, W))``,
    H and W from ``image_shape``; a ``Flatten`` is inserted before the first Linear layer
    that follows image layers, unless the spec says ``flatten``. Each layer's input
    channels or features are what the layer before it emits (``Layer.output_shape``).

    The initial weights and the dropout masks come from ``np.random.SeedSequence(seed)``
    as in ``Network.from_spec``: the j-th convolution or Linear layer (from 0, the last
    Linear layer included) from its child 2j, the dropout after it from the child 2j + 1
    (a further dropout before the next weighted layer from that child's children; one
    on the input from the child of the last Linear layer's unused dropout). A spec of
    Linear layers and activations thus gives the weights ``Network.from_spec`` gives
    the same sizes.

    Parameters
    ----------
    spec : str or sequence of LayerToken
        The spec, e.g. "conv32k3p1,relu,maxpool2,flatten,128,relu,dropout0.3".
    n_features : int
        Values per example of the data (H * W for images).
    n_classes : int
        Classes: the units of the last Linear layer.
    image_shape : sequence of int or None, default None
        (H, W), or (C, H, W), of the data's images; needed by a spec on images.
    output_activation : str or None, default None
        The activation after the last Linear layer (None: raw logits).
    init : str or None, default None
        The convolutions' and Linear layers' initialisation; None: ``default_init(spec)``.
    dtype : {"float32", "float64"}, default "float32"
        The dtype of the parameters.
    seed : int or None, default 0
        Seed of the initial weights and the dropout masks (None: fresh entropy).

    Returns
    -------
    list of Layer
        The layers, first to last, ready for ``Network``.

    Raises
    ------
    SettingError
        In one line naming the layer at fault: a spec on images for data without an
        image shape, a convolution or pooling layer after the images became rows, a
        window larger than its input image; or a spec that cannot be read.
    LayerwiseError
        If ``image_shape`` does not hold ``n_features`` values, or ``init`` or an
        activation name is unknown.

    See Also
    --------
    build_network : The same layers as a Network.
    layers_text : The spec of a list of layers.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layer_spec import build_layers
    >>> layers = build_layers("conv4k3p1,relu,maxpool2,16,relu", 64, 10, image_shape=(8, 8))
    >>> [type(layer).__name__ for layer in layers]
    ['Reshape', 'Conv2D', 'ReLU', 'MaxPool2D', 'Flatten', 'Linear', 'ReLU', 'Linear']
    >>> layers[0], layers[5]
    (Reshape((1, 8, 8)), Linear(64, 16, dtype=float32))
    >>> try:
    ...     build_layers("conv4k3,maxpool2,maxpool2,maxpool2", 64, 10, image_shape=(8, 8))
    ... except lw.SettingError as e:
    ...     print(e.problem.split(";")[0])
    has maxpool2 (layer 4), whose 2x2 window is larger than its input image of 1x1 (shape (4, 1, 1))
    """
    tokens = _tokens(spec)
    init = init or default_init(tokens)
    if init not in INITS:
        raise LayerwiseError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    final = LayerToken("linear", str(n_classes), units=int(n_classes))
    n_weighted = sum(token.kind in ("conv", "linear") for token in tokens) + 1
    root = np.random.SeedSequence(seed)

    def generator(*key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=key))

    layers: list[Layer] = []
    shape: tuple[int, ...] = (int(n_features),)
    if on_images(tokens):
        first = next(t for t in tokens if t.kind in ("conv", "maxpool", "avgpool"))
        if image_shape is None:
            raise SettingError(
                SETTING,
                f"starts with image layers ({first.text}) but the data have no image shape (rows of "
                f"{n_features} values, as from a CSV file); use Linear layers such as 128,relu instead",
            )
        images = tuple(int(d) for d in image_shape)
        images = (1, *images) if len(images) == 2 else images
        if len(images) != 3 or math.prod(images) != n_features:
            raise LayerwiseError(
                f"image_shape {tuple(image_shape)} does not hold the {n_features} input values"
            )
        layers.append(Reshape(images))
        shape = images
    weighted, dropouts = -1, 0  # the last weighted layer's index, and the dropouts since
    rows_from = "the input"  # the layer that made the examples rows, for the errors
    for index, token in enumerate([*tokens, final], start=1):
        where = f"{token.text} (layer {index})" if index <= len(tokens) else "the last Linear layer"
        layer: Layer | None
        if token.kind == "linear" and len(shape) > 1:
            layers.append(Flatten())  # the images become rows before the first Linear layer
            shape = (math.prod(shape),)
        if token.kind in ("conv", "maxpool", "avgpool"):
            _check_image(token, shape, where, rows_from)
        if token.kind in ("conv", "linear"):
            weighted, dropouts = weighted + 1, 0
            rng = generator(2 * weighted)
            if token.kind == "conv":
                layer = Conv2D(shape[0], token.units, token.kernel, token.stride or 1, token.padding,
                               init=init, dtype=dtype, seed=rng)  # fmt: skip
            else:
                layer = Linear(shape[0], token.units, init=init, dtype=dtype, seed=rng)
        elif token.kind == "maxpool":
            layer = MaxPool2D(token.kernel, token.stride)
        elif token.kind == "avgpool":
            layer = AvgPool2D(token.kernel, token.stride)
        elif token.kind == "bn":
            layer = BatchNorm(shape[0], dtype=dtype)
        elif token.kind == "activation":
            layer = activation_layer(token.name)
        elif token.kind == "dropout":
            slot = 2 * weighted + 1 if weighted >= 0 else 2 * n_weighted - 1
            layer = Dropout(token.p, seed=generator(slot) if dropouts == 0 else generator(slot, dropouts))
            dropouts += 1
        else:
            layer = Flatten()
        assert layer is not None  # the spec's activations are named, never the identity
        try:
            shape = tuple(layer.output_shape(shape))
        except LayerwiseError as e:  # the checks above leave only unusual inputs
            raise SettingError(SETTING, f"has {where}, which cannot take its input: {e}") from None
        layers.append(layer)
        if token.kind in ("flatten", "linear") and rows_from == "the input":
            rows_from = f"layer {index} ({token.text})"
    last = activation_layer(output_activation or "identity")
    if last is not None:
        layers.append(last)
    return layers


def _check_image(token: LayerToken, shape: tuple[int, ...], where: str, rows_from: str) -> None:
    """One-line errors for a convolution or pooling layer that cannot take ``shape``."""
    if len(shape) != 3:
        raise SettingError(
            SETTING,
            f"has {where}, which needs images, but its input is rows of {shape[0]} values since "
            f"{rows_from}; put the convolution and pooling layers before flatten and the Linear layers",
        )
    (kh, kw), (ph, pw) = token.kernel, token.padding
    if shape[1] + 2 * ph < kh or shape[2] + 2 * pw < kw:
        image = f"{shape[1] + 2 * ph}x{shape[2] + 2 * pw}"
        raise SettingError(
            SETTING,
            f"has {where}, whose {kh}x{kw} window is larger than its input image of {image}"
            f"{' (padded)' if ph or pw else ''} (shape {shape}); use fewer pooling layers, smaller kernels "
            "or padding",
        )


def build_network(
    spec: str | Sequence[LayerToken],
    n_features: int,
    n_classes: int,
    *,
    image_shape: Sequence[int] | None = None,
    output_activation: str | None = None,
    init: str | None = None,
    dtype: DTypeLike = "float32",
    seed: int | None = 0,
) -> "Network":
    """The Network of a spec's layers (``build_layers``), with a SoftmaxCrossEntropy loss.

    Parameters
    ----------
    spec : str or sequence of LayerToken
        The spec, e.g. "conv32k3p1,relu,maxpool2,flatten,128,relu,dropout0.3".
    n_features : int
        Values per example of the data (H * W for images).
    n_classes : int
        Classes: the units of the last Linear layer.
    image_shape : sequence of int or None, default None
        (H, W), or (C, H, W), of the data's images; needed by a spec on images.
    output_activation : str or None, default None
        The activation after the last Linear layer (None: raw logits).
    init : str or None, default None
        The convolutions' and Linear layers' initialisation; None: ``default_init(spec)``.
    dtype : {"float32", "float64"}, default "float32"
        The dtype of the parameters.
    seed : int or None, default 0
        Seed of the initial weights and the dropout masks (None: fresh entropy).

    Returns
    -------
    Network
        The new network; it takes rows of ``n_features`` values (or, for a spec on
        images, the images themselves), whatever its first layer.

    Raises
    ------
    LayerwiseError
        As ``build_layers``.

    See Also
    --------
    TrainConfig.network : The network of a training's settings, which calls this one
        for ``layers``.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layer_spec import build_network
    >>> net = build_network("conv8k3p1,bn,relu,maxpool2,32,relu,dropout0.2", 784, 10, image_shape=(28, 28))
    >>> net.shapes[:5]
    [(1, 28, 28), (8, 28, 28), (8, 28, 28), (8, 28, 28), (8, 14, 14)]
    >>> net.sizes
    [784, 32, 10]
    >>> bool(np.array_equal(build_network("16,relu", 4, 3).layers[0].weight.value,
    ...                     lw.Network.from_spec("4-16-3").layers[0].weight.value))
    True
    """
    from .network import Network

    layers = build_layers(
        spec,
        n_features,
        n_classes,
        image_shape=image_shape,
        output_activation=output_activation,
        init=init,
        dtype=dtype,
        seed=seed,
    )
    return Network(layers, input_shape=(int(n_features),))


def multiply_adds(
    spec: str | Sequence[LayerToken],
    n_features: int,
    n_classes: int,
    image_shape: Sequence[int] | None = None,
) -> int:
    """Multiply-adds per example of a spec's convolutions and Linear layers: its rough cost.

    Parameters
    ----------
    spec : str or sequence of LayerToken
        The spec.
    n_features : int
        Values per example of the data.
    n_classes : int
        Classes.
    image_shape : sequence of int or None, default None
        (H, W) of the data's images, for a spec on images.

    Returns
    -------
    int
        For each convolution, its output values times in_channels kH kW; for each Linear
        layer, n_in n_out.

    Raises
    ------
    LayerwiseError
        As ``build_layers``.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layer_spec import multiply_adds
    >>> multiply_adds("conv4k3p1,relu,maxpool2", 64, 10, image_shape=(8, 8))  # 4*8*8*9 + 64*10
    2944
    """
    net = build_network(spec, n_features, n_classes, image_shape=image_shape)
    total = 0
    for layer, shape in zip(net.layers, net.shapes):
        if isinstance(layer, Conv2D):
            total += math.prod(shape) * layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, Linear):
            total += layer.n_in * layer.n_out
    return total


def layers_text(layers: Sequence[Layer]) -> str:
    """The spec of a list of layers: what ``build_layers`` reads back into them.

    A first Reshape (the images of the input) is left out; every Linear layer, the last
    included, is its number of units, and the output activation follows it. A layer of
    another kind is named by its class.

    Parameters
    ----------
    layers : sequence of Layer
        The layers, e.g. ``net.layers``.

    Returns
    -------
    str
        The layers as comma-separated spec tokens.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.layer_spec import build_network, layers_text
    >>> layers_text(build_network("conv4k3s2p1,relu,avgpool2,bn,64,tanh,dropout0.1", 64, 10,
    ...                           image_shape=(8, 8)).layers)
    'conv4k3s2p1,relu,avgpool2,bn,flatten,64,tanh,dropout0.1,10'
    >>> layers_text(lw.Network.from_spec("64-48-10", "sigmoid", "sigmoid").layers)
    '48,sigmoid,10,sigmoid'
    """
    tokens = []
    for i, layer in enumerate(layers):
        if isinstance(layer, Flatten):
            tokens.append("flatten")
        elif isinstance(layer, Reshape):
            if i:
                tokens.append(f"Reshape({layer.shape})")
        elif isinstance(layer, Conv2D):
            text = f"conv{layer.out_channels}k{_pair_text(layer.kernel_size)}"
            text += f"s{_pair_text(layer.stride)}" if layer.stride != (1, 1) else ""
            text += f"p{_pair_text(layer.padding)}" if layer.padding != (0, 0) else ""
            tokens.append(text)
        elif isinstance(layer, (MaxPool2D, AvgPool2D)):
            kind = "maxpool" if isinstance(layer, MaxPool2D) else "avgpool"
            stride = "" if layer.stride == layer.kernel_size else f"s{_pair_text(layer.stride)}"
            tokens.append(f"{kind}{_pair_text(layer.kernel_size)}{stride}")
        elif isinstance(layer, BatchNorm):
            tokens.append("bn")
        elif isinstance(layer, Linear):
            tokens.append(str(layer.n_out))
        elif isinstance(layer, Dropout):
            tokens.append(f"dropout{layer.p:g}")
        elif isinstance(layer, Activation) and type(layer) in _ACTIVATION_TOKENS:
            tokens.append(_ACTIVATION_TOKENS[type(layer)])
        else:
            tokens.append(type(layer).__name__)
    return ",".join(tokens)


_ACTIVATION_TOKENS: dict[type[Layer], str] = {
    ReLU: "relu",
    LeakyReLU: "leaky_relu",
    Tanh: "tanh",
    Sigmoid: "sigmoid",
}
