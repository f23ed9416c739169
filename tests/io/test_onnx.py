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
