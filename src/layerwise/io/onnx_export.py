"""ONNX export: the whole inference path of a model as an ONNX graph.

Raw rows in ("input", shape [batch, n_features]); out, the class probabilities
("probabilities", shape [batch, n_classes]), or a regression's outputs ("outputs", shape
[batch, n_outputs]). In between: the preprocessing (Mul, Sub, Div) on the rows, a Reshape
to images (NCHW) when the network takes images, then each layer (``EXPORTS``: Gemm for
Linear, Conv, MaxPool, AveragePool, BatchNormalization with the running statistics,
Reshape, Flatten, Sigmoid, Tanh, Relu, LeakyRelu; Dropout is the identity at inference),
then Softmax for a classifier. The class labels are in the model's metadata ("classes",
JSON).
"""

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._version import __version__
from ..errors import LayerwiseError
from ..nn.conv import AvgPool2D, Conv2D, MaxPool2D
from ..nn.layers import Dropout, Flatten, LeakyReLU, Linear, ReLU, Reshape, Sigmoid, Tanh
from ..nn.model import Model
from ..nn.network import Network
from ..nn.normalization import BatchNorm
from .atomic import write_atomic

if TYPE_CHECKING:  # for the annotations only: onnx is optional, imported by to_onnx
    import onnx

    from ..sklearn import LayerwiseClassifier, LayerwiseRegressor

OPSET = 17
IR_VERSION = 8  # the IR of opset 17; readable by every onnxruntime since 1.13


def to_onnx(
    model: "Network | Model | LayerwiseClassifier | LayerwiseRegressor",
    path: str | os.PathLike[str] | None = None,
) -> "onnx.ModelProto":
    """Return the ONNX ModelProto of a Network, a Model or a fitted estimator.

    The graph is the whole inference path, in the network's dtype: raw rows in
    ("input", shape [batch, n_features]), even for a network of images; out, the class
    probabilities ("probabilities", shape [batch, n_classes]) or, for a regression
    (MeanSquaredError), the outputs ("outputs", shape [batch, n_outputs]). In between:
    the preprocessing (Mul, Sub, Div), a Reshape of the rows to images (NCHW) when the
    network's ``input_shape`` is one, then each layer (Gemm for Linear, Conv,
    MaxPool, AveragePool, BatchNormalization with the running statistics, Reshape,
    Flatten, Sigmoid, Tanh, Relu, LeakyRelu; Dropout is the identity at inference), then
    Softmax for a classifier. The class labels are in the model's metadata ("classes",
    JSON). The graph uses opset 17 and is checked with ``onnx.checker`` before it is
    returned. Needs the ``onnx`` package (``pip install layerwise[onnx]``).

    Parameters
    ----------
    model : Network, Model, LayerwiseClassifier or LayerwiseRegressor
        What to export; a fitted estimator is exported as its ``to_model()``.
    path : str or os.PathLike, optional
        With ``path``, also writes the ModelProto there atomically (whole or not at all).

    Returns
    -------
    onnx.ModelProto
        The model, ready to run with an ONNX runtime or to serialise.

    Raises
    ------
    LayerwiseError
        If the ``onnx`` package is not installed, ``model`` is not one of the types
        above, the network has a layer that cannot be exported, or ``path`` cannot be
        written.
    sklearn.exceptions.NotFittedError
        If ``model`` is an estimator that is not fitted.

    See Also
    --------
    save : Write a model as a layerwise model file.

    Notes
    -----
    onnxruntime's CPU provider has no float64 Conv or AveragePool: export a float64
    convolutional network as ``net.astype("float32")`` to run it there.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> model = lw.Model(net, classes=["a", "b", "c"], preprocessing={"scale": 1 / 16})
    >>> proto = lw.to_onnx(model)
    >>> [node.op_type for node in proto.graph.node]
    ['Mul', 'Gemm', 'Relu', 'Gemm', 'Softmax']
    >>> {prop.key: prop.value for prop in proto.metadata_props}
    {'classes': '["a", "b", "c"]'}

    The probabilities are the model's:

    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession(proto.SerializeToString())
    >>> X = 16 * np.random.default_rng(0).random((5, 4), dtype=np.float32)
    >>> probabilities = session.run(None, {"input": X})[0]
    >>> bool(np.allclose(probabilities, model.predict_proba(X), atol=1e-6))
    True

    A convolutional network takes rows too, reshaped into images inside the graph:

    >>> cnn = lw.Network([
    ...     lw.Reshape((1, 6, 6)), lw.Conv2D(1, 4, kernel_size=3, padding=1, seed=0), lw.BatchNorm(4),
    ...     lw.ReLU(), lw.MaxPool2D(2), lw.Flatten(), lw.Linear(36, 3, seed=0),
    ... ])
    >>> proto = lw.to_onnx(cnn)
    >>> [node.op_type for node in proto.graph.node]  # doctest: +NORMALIZE_WHITESPACE
    ['Reshape', 'Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'Flatten', 'Gemm',
     'Softmax']
    >>> session = onnxruntime.InferenceSession(proto.SerializeToString())
    >>> X = np.random.default_rng(0).random((5, 36), dtype=np.float32)
    >>> bool(np.allclose(session.run(None, {"input": X})[0], cnn.predict_proba(X), atol=1e-6))
    True

    Written to a file:

    >>> import os
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = lw.to_onnx(net, os.path.join(folder, "model.onnx"))
    ...     os.listdir(folder)
    ['model.onnx']
    """
    try:
        import onnx
    except ImportError:
        raise LayerwiseError("ONNX export needs the onnx package: pip install 'layerwise[onnx]'") from None
    if hasattr(model, "to_model"):
        model = model.to_model()
    model = Model.coerce(model)
    proto = _build(onnx, model)
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        try:
            write_atomic(Path(path), proto.SerializeToString())
        except OSError as e:
            raise LayerwiseError(f"cannot write {path}: {e.strerror or e}") from None
    return proto


def _build(onnx, model):
    helper = onnx.helper
    net = model.network
    elem = helper.np_dtype_to_tensor_dtype(net.dtype)
    graph = _Graph(onnx, net.dtype)
    x = graph.preprocess("input", model.preprocessing)
    if len(net.input_shape) > 1:  # rows of raw values in, images for the first layer
        x = graph.reshape(x, net.input_shape, "images")
    for i, layer in enumerate(net.layers):
        export = EXPORTS.get(type(layer))
        if export is None:
            raise LayerwiseError(f"cannot export a {type(layer).__name__} layer to ONNX")
        x = export(graph, x, layer, i, f"{i}.{type(layer).__name__.lower()}")
    if net.loss.classifier:
        output = graph.node("Softmax", [x], "probabilities", axis=1)
    else:
        output = graph.node("Identity", [x], "outputs")
    inputs = [helper.make_tensor_value_info("input", elem, ["batch", net.n_features])]
    outputs = [helper.make_tensor_value_info(output, elem, ["batch", net.n_outputs])]
    onnx_graph = helper.make_graph(graph.nodes, "layerwise", inputs, outputs, graph.initializers)
    proto = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="layerwise",
        producer_version=__version__,
    )
    if model.classes is not None:
        helper.set_model_props(proto, {"classes": json.dumps(model.classes.tolist())})
    return proto


class _Graph:
    """Nodes and constants of the graph being built."""

    def __init__(self, onnx, dtype):
        self.onnx, self.dtype = onnx, dtype
        self.nodes, self.initializers = [], []

    def constant(self, name, value, dtype=None):
        value = np.ascontiguousarray(value, dtype=self.dtype if dtype is None else dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(value, name))
        return name

    def node(self, op, inputs, output, **attributes):
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def reshape(self, x, shape, out):
        """Each example of ``x`` to ``shape``; the batch dimension is kept (the 0)."""
        target = self.constant(f"{out}.shape", [0, *shape], np.int64)
        return self.node("Reshape", [x, target], out)

    def preprocess(self, x, prep):
        if prep is None:
            return x
        if prep.scale != 1:
            x = self.node("Mul", [x, self.constant("preprocessing.scale", prep.scale)], "scaled")
        if prep.mean is not None:
            x = self.node("Sub", [x, self.constant("preprocessing.mean", prep.mean)], "centred")
        if prep.std is not None:
            x = self.node("Div", [x, self.constant("preprocessing.std", prep.std)], "standardised")
        return x


# --- one export per layer type: export(graph, x, layer, i, out) -> the output's name ------
# (i: the layer's index, which names its constants as named_parameters() does; out: the
# name of its output)


def _linear(graph, x, layer, i, out):
    w = graph.constant(f"{i}.weight", layer.weight.value)
    return graph.node("Gemm", [x, w, graph.constant(f"{i}.bias", layer.bias.value)], out)


def _conv(graph, x, layer, i, out):
    w = graph.constant(f"{i}.weight", layer.weight.value)
    b = graph.constant(f"{i}.bias", layer.bias.value)
    (ph, pw) = layer.padding
    attributes = {
        "kernel_shape": list(layer.kernel_size),
        "strides": list(layer.stride),
        "pads": [ph, pw, ph, pw],
    }
    return graph.node("Conv", [x, w, b], out, **attributes)


def _pool(op):
    def export(graph, x, layer, i, out):
        return graph.node(op, [x], out, kernel_shape=list(layer.kernel_size), strides=list(layer.stride))

    return export


def _batch_norm(graph, x, layer, i, out):
    names = [
        graph.constant(f"{i}.{name}", value)
        for name, value in (
            ("gamma", layer.gamma.value),
            ("beta", layer.beta.value),
            ("running_mean", layer.running_mean),
            ("running_var", layer.running_var),
        )
    ]
    return graph.node("BatchNormalization", [x, *names], out, epsilon=layer.eps)


def _elementwise(op, **attributes):
    def export(graph, x, layer, i, out):
        values = {name: get(layer) for name, get in attributes.items()}
        return graph.node(op, [x], out, **values)

    return export


EXPORTS = {
    Linear: _linear,
    Conv2D: _conv,
    MaxPool2D: _pool("MaxPool"),
    AvgPool2D: _pool("AveragePool"),
    BatchNorm: _batch_norm,
    Reshape: lambda graph, x, layer, i, out: graph.reshape(x, layer.shape, out),
    Flatten: lambda graph, x, layer, i, out: graph.node("Flatten", [x], out, axis=1),
    Sigmoid: _elementwise("Sigmoid"),
    Tanh: _elementwise("Tanh"),
    ReLU: _elementwise("Relu"),
    LeakyReLU: _elementwise("LeakyRelu", alpha=lambda layer: layer.negative_slope),
    Dropout: lambda graph, x, layer, i, out: x,  # the identity at inference
}
"""How each layer type (exactly that class) becomes ONNX nodes."""
