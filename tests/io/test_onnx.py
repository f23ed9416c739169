import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import layerwise as lw
from layerwise.cli import main
from layerwise.sklearn import LayerwiseClassifier


def run_onnx(proto_or_path, X):
    source = proto_or_path if isinstance(proto_or_path, str) else proto_or_path.SerializeToString()
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    return session.run(["probabilities"], {"input": X})[0]


def raw_rows(n=64, d=6, seed=0):
    return (np.random.default_rng(seed).normal(size=(n, d)) * 8 + 3).astype(np.float32)


PREP = {"scale": 0.25, "mean": np.linspace(-1, 1, 6), "std": np.linspace(0.5, 2, 6)}


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
@pytest.mark.parametrize("output_activation", [None, "sigmoid", "tanh"])
def test_onnxruntime_matches_predict_proba_for_every_activation(activation, output_activation):
    net = lw.Network.from_spec(
        "6-16-12-5", activation=activation, output_activation=output_activation, dropout=0.2, seed=3
    )
    model = lw.Model(net, classes=list("abcde"), preprocessing=PREP)
    X = raw_rows()
    got = run_onnx(lw.to_onnx(model), X)
    assert got.dtype == np.float32
    assert np.abs(got - model.predict_proba(X)).max() <= 1e-5


def test_float64_models_export_in_float64():
    net = lw.Network.from_spec(
        "6-9-4", activation="leaky_relu", init="glorot_uniform", dtype="float64", seed=0, negative_slope=0.3
    )
    model = lw.Model(net, preprocessing=PREP)
    X = raw_rows().astype(np.float64)
    np.testing.assert_allclose(run_onnx(lw.to_onnx(model), X), model.predict_proba(X), atol=1e-12)


def test_the_tutorial_network_trained_on_the_digits(digits_split, tmp_path):
    X_train, _, X_test, y_train, _, _ = digits_split
    net = lw.Network.from_spec("64-48-32-10", activation="sigmoid", output_activation="sigmoid", seed=0)
    prep = lw.Preprocessing(scale=1 / 16, image_shape=(8, 8), pixel_max=16)
    lw.fit(
        net,
        prep.transform(X_train.astype(np.float32)),
        y_train,
        optimizer=lw.SGD(0.2, momentum=0.9),
        epochs=100,
    )
    path = tmp_path / "tutorial.onnx"
    lw.to_onnx(lw.Model(net, preprocessing=prep), path)
    onnx.checker.check_model(str(path), full_check=True)
    X = X_test.astype(np.float32)
    expected = lw.Model(net, preprocessing=prep).predict_proba(X)
    got = run_onnx(str(path), X)
    assert np.abs(got - expected).max() <= 1e-5
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()


def test_the_file_carries_labels_and_the_checker_accepts_it(tmp_path):
    net = lw.Network.from_spec("6-4-3", seed=0)
    path = tmp_path / "m.onnx"
    proto = lw.to_onnx(lw.Model(net, classes=["no", "maybe", "yes"]), path)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded == proto
    props = {p.key: p.value for p in loaded.metadata_props}
    assert json.loads(props["classes"]) == ["no", "maybe", "yes"]
    assert [n.op_type for n in loaded.graph.node] == ["Gemm", "Relu", "Gemm", "Softmax"]


def test_a_fitted_classifier_exports(blobs):
    X, y = blobs
    clf = LayerwiseClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y)
    got = run_onnx(lw.to_onnx(clf), X.astype(np.float32))
    assert np.abs(got - clf.predict_proba(X)).max() <= 1e-5


def test_layerwise_export_command(tmp_path, capsys):
    net = lw.Network.from_spec("6-7-3", activation="tanh", seed=0)
    lw.save(net, tmp_path / "model.safetensors", preprocessing=PREP)
    out = tmp_path / "model.onnx"
    assert main(["export", str(tmp_path), "--onnx", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    X = raw_rows()
    assert np.abs(run_onnx(str(out), X) - lw.load(tmp_path).predict_proba(X)).max() <= 1e-5


def test_export_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    assert main(["export", str(bad), "--onnx", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.safetensors" in err
    assert not (tmp_path / "x.onnx").exists()


# --- convolutional networks, batch normalisation, regression ------------------------------


def image_net(dtype="float32", first_reshape=True):
    """Images of 9x7 (non-square): stride 2, padding, max and average pooling, batch
    normalisation of images and of rows, Dropout, Flatten."""
    layers = [
        lw.Conv2D(2, 5, kernel_size=(3, 2), stride=2, padding=(1, 2), dtype=dtype, seed=0),  # (5, 5, 6)
        lw.BatchNorm(5, dtype=dtype),
        lw.ReLU(),
        lw.MaxPool2D((2, 3), stride=(1, 2)),  # (5, 4, 2)
        lw.Conv2D(5, 4, kernel_size=3, padding=1, dtype=dtype, seed=1),
        lw.LeakyReLU(0.05),
        lw.AvgPool2D(2, stride=1),  # (4, 3, 1)
        lw.Flatten(),
        lw.Dropout(0.3, seed=0),
        lw.Linear(12, 8, dtype=dtype, seed=2),
        lw.BatchNorm(8, momentum=0.3, eps=1e-3, dtype=dtype),
        lw.Tanh(),
        lw.Linear(8, 4, dtype=dtype, seed=3),
    ]
    if first_reshape:
        return lw.Network([lw.Reshape((2, 9, 7)), *layers])
    return lw.Network(layers, input_shape=(2, 9, 7))


def train_a_little(net, X, y):
    lw.fit(net, X, y, optimizer=lw.Adam(0.01), epochs=2, batch_size=16, seed=0)
    return net


def test_a_cnn_with_batch_norm_matches_predict_proba():
    X = raw_rows(80, 126)
    net = train_a_little(image_net(), X / 8, np.arange(80) % 4)
    assert not np.allclose(net.layers[2].running_var, 1)  # trained running statistics
    prep = {"scale": 0.125, "mean": np.linspace(-1, 1, 126), "std": np.linspace(0.5, 2, 126)}
    model = lw.Model(net, classes=["w", "x", "y", "z"], preprocessing=prep)
    proto = lw.to_onnx(model)
    assert [n.op_type for n in proto.graph.node] == [
        "Mul", "Sub", "Div", "Reshape", "Conv", "BatchNormalization", "Relu", "MaxPool", "Conv", "LeakyRelu",
        "AveragePool", "Flatten", "Gemm", "BatchNormalization", "Tanh", "Gemm", "Softmax",
    ]  # fmt: skip
    got = run_onnx(proto, X)
    assert got.dtype == np.float32 and got.shape == (80, 4)
    assert np.abs(got - model.predict_proba(X)).max() <= 1e-5
    conv = next(n for n in proto.graph.node if n.op_type == "Conv")
    attributes = {a.name: list(a.ints) for a in conv.attribute}
    assert attributes == {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 2, 1, 2]}
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in session.get_inputs()] == [("input", ["batch", 126])]


def test_a_network_that_takes_images_gets_rows_reshaped_inside_the_graph():
    X = raw_rows(40, 126)
    net = train_a_little(image_net(first_reshape=False), X, np.arange(40) % 4)
    model = lw.Model(net, preprocessing={"scale": 0.5})
    proto = lw.to_onnx(model)
    assert [n.op_type for n in proto.graph.node][:3] == ["Mul", "Reshape", "Conv"]
    assert np.abs(run_onnx(proto, X) - model.predict_proba(X)).max() <= 1e-5
    assert np.abs(run_onnx(lw.to_onnx(net), X) - net.predict_proba(X)).max() <= 1e-5


def test_a_regression_model_exports_its_outputs():
    rng = np.random.default_rng(0)
    X = raw_rows(60)
    y = np.stack([X[:, 0] - X[:, 1], X[:, 2] * 0.5], axis=1) + rng.normal(size=(60, 2))
    layers = [
        lw.Linear(6, 16, seed=0),
        lw.BatchNorm(16),
        lw.ReLU(),
        lw.Dropout(0.2, seed=0),
        lw.Linear(16, 2, seed=1),
    ]
    net = lw.Network(layers, loss=lw.MeanSquaredError())
    lw.fit(net, X / 8, y, optimizer=lw.Adam(0.01), epochs=3, batch_size=16, seed=0)
    model = lw.Model(net, preprocessing=PREP)
    proto = lw.to_onnx(model)
    assert "Softmax" not in [n.op_type for n in proto.graph.node]
    assert {p.key for p in proto.metadata_props} == set()  # no class labels
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [(o.name, o.shape) for o in session.get_outputs()] == [("outputs", ["batch", 2])]
    got = session.run(["outputs"], {"input": X})[0]
    expected = model.predict(X)
    assert got.dtype == np.float32 and expected.shape == (60, 2)
    assert np.abs(got - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())


def test_a_regression_cnn_from_a_model_file(tmp_path):
    layers = [lw.Reshape((1, 4, 6)), lw.Conv2D(1, 3, 3, padding=1, seed=0), lw.BatchNorm(3), lw.ReLU(),
              lw.AvgPool2D(2), lw.Flatten(), lw.Linear(18, 1, seed=1)]  # fmt: skip
    net = lw.Network(layers, loss=lw.MeanSquaredError())
    X = raw_rows(48, 24)
    lw.fit(net, X, X.sum(axis=1), optimizer=lw.Adam(0.01), epochs=2, batch_size=16, seed=0)
    model = lw.load(lw.save(net, tmp_path / "reg.safetensors", preprocessing={"scale": 0.25}))
    session = ort.InferenceSession(lw.to_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"])
    got, expected = session.run(["outputs"], {"input": X})[0], model.predict(X)
    assert np.abs(got - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())


def test_float64_networks_of_images_export_in_float64():
    # onnxruntime's CPU provider has MaxPool and BatchNormalization in float64, not Conv
    layers = [
        lw.Linear(6, 32, dtype="float64", seed=0), lw.Reshape((2, 4, 4)), lw.BatchNorm(2, dtype="float64"),
        lw.MaxPool2D(2, stride=1), lw.Flatten(), lw.Linear(18, 3, dtype="float64", seed=1),
    ]  # fmt: skip
    net = lw.Network(layers)
    X = raw_rows().astype(np.float64)
    train_a_little(net, X, np.arange(64) % 3)
    np.testing.assert_allclose(run_onnx(lw.to_onnx(net), X), net.predict_proba(X), atol=1e-12)
    proto = lw.to_onnx(image_net("float64"))  # valid ONNX in float64, Conv included
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert all(
        i.data_type == onnx.TensorProto.DOUBLE for i in proto.graph.initializer if ".shape" not in i.name
    )


def test_a_layer_that_cannot_be_exported():
    class Twice(lw.ReLU):
        pass

    with pytest.raises(lw.LayerwiseError, match="cannot export a Twice layer to ONNX"):
        lw.to_onnx(lw.Network([lw.Linear(2, 3), Twice()]))
