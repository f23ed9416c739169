"""ONNX export: the whole inference path of a model as an ONNX graph.

Raw rows in ("input", shape [batch, n_features]), class probabilities out
("probabilities", shape [batch, n_classes]): the preprocessing (Mul, Sub, Div), then each
layer (Gemm for Linear, Sigmoid, Tanh, Relu, LeakyRelu; Dropout is the identity at
inference), then Softmax. The class labels are in the model's metadata ("classes", JSON).
"""

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._version import __version__
from ..errors import LayerwiseError
from ..nn.layers import Dropout, LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from ..nn.model import Model
from ..nn.network import Network
from .atomic import write_atomic

if TYPE_CHECKING:  # for the annotations only: onnx is optional, imported by to_onnx
    import onnx

    from ..sklearn import LayerwiseClassifier

OPSET = 17
IR_VERSION = 8  # the IR of opset 17; readable by every onnxruntime since 1.13
ELEMENTWISE = {Sigmoid: "Sigmoid", Tanh: "Tanh", ReLU: "Relu"}


def to_onnx(
    model: "Network | Model | LayerwiseClassifier", path: str | os.PathLike[str] | None = None
) -> "onnx.ModelProto":
    """Return the ONNX ModelProto of a Network, Model or fitted LayerwiseClassifier.

    The graph is the whole inference path, in the network's dtype: raw rows in
    ("input", shape [batch, n_features]), class probabilities out ("probabilities", shape
    [batch, n_classes]); the preprocessing (Mul, Sub, Div), then each layer (Gemm for
    Linear, Sigmoid, Tanh, Relu, LeakyRelu; Dropout is the identity at inference), then
    Softmax. The class labels are in the model's metadata ("classes", JSON). The graph
    uses opset 17 and is checked with ``onnx.checker`` before it is returned. Needs the
    ``onnx`` package (``pip install layerwise[onnx]``).

    Parameters
    ----------
    model : Network, Model or LayerwiseClassifier
        What to export; a fitted LayerwiseClassifier is exported as its ``to_model()``.
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
        If ``model`` is a LayerwiseClassifier that is not fitted.

    See Also
    --------
    save : Write a model as a layerwise model file.

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
    dtype = net.dtype
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    graph = _Graph(onnx, dtype)
    x = graph.preprocess("input", model.preprocessing)
    for i, layer in enumerate(net.layers):
        x = graph.layer(x, layer, i)
    graph.node("Softmax", [x], "probabilities", axis=1)
    inputs = [helper.make_tensor_value_info("input", elem, ["batch", net.n_features])]
    outputs = [helper.make_tensor_value_info("probabilities", elem, ["batch", net.n_classes])]
    onnx_graph = helper.make_graph(graph.nodes, "layerwise", inputs, outputs, graph.initializers)
    proto = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="layerwise",
        producer_version=__version__,
    )
    helper.set_model_props(proto, {"classes": json.dumps(model.classes.tolist())})
    return proto


class _Graph:
    """Nodes and constants of the graph being built."""

    def __init__(self, onnx, dtype):
        self.onnx, self.dtype = onnx, dtype
        self.nodes, self.initializers = [], []

    def constant(self, name, value):
        value = np.ascontiguousarray(value, dtype=self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(value, name))
        return name

    def node(self, op, inputs, output, **attributes):
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

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

    def layer(self, x, layer, i):
        out = f"{i}.{type(layer).__name__.lower()}"
        if isinstance(layer, Linear):
            w = self.constant(f"{i}.weight", layer.weight.value)
            b = self.constant(f"{i}.bias", layer.bias.value)
            return self.node("Gemm", [x, w, b], out)
        if isinstance(layer, LeakyReLU):
            return self.node("LeakyRelu", [x], out, alpha=layer.negative_slope)
        if isinstance(layer, Dropout):
            return x
        op = ELEMENTWISE.get(type(layer))
        if op is None:
            raise LayerwiseError(f"cannot export a {type(layer).__name__} layer to ONNX")
        return self.node(op, [x], out)
