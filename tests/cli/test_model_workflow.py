"""The whole path of a model: `layerwise train` saves it, `evaluate` loads it, `export` writes
ONNX that gives the same probabilities in onnxruntime, `predict` reads a drawn PNG."""

import json

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageDraw

import layerwise as lw
from layerwise.cli import main


def test_train_evaluate_export_predict(tmp_path, capsys, digits_split):
    run = tmp_path / "run"
    args = ["--data", "digits", "--hidden", "32", "--activation", "relu", "--optimizer", "adam"]
    args += ["--lr", "1e-2", "--batch-size", "64", "--epochs", "30", "--out", str(run), "--quiet"]
    assert main(["train", *args]) == 0
    model = lw.load(run)
    assert model.preprocessing.image_shape == (8, 8) and model.preprocessing.pixel_max == 16

    assert main(["evaluate", str(run), "--data", "digits"]) == 0
    assert "accuracy" in capsys.readouterr().out

    onnx_path = tmp_path / "model.onnx"
    assert main(["export", str(run), "--onnx", str(onnx_path)]) == 0
    X = digits_split[2].astype(np.float32)  # raw test pixels, 0..16
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(None, {"input": X})
    assert np.abs(probabilities - model.predict_proba(X)).max() <= 1e-5

    png = tmp_path / "seven.png"
    image = Image.new("L", (64, 64), 255)
    pen = ImageDraw.Draw(image)
    pen.line((14, 8, 50, 8), fill=0, width=7)
    pen.line((50, 8, 26, 58), fill=0, width=7)
    image.save(png)
    capsys.readouterr()
    assert main(["predict", str(run), str(png), "--invert", "--json"]) == 0
    assert str(json.loads(capsys.readouterr().out)["class"]) == "7"


def test_export_names_a_regression_models_output(tmp_path, capsys):
    rng = np.random.default_rng(0)
    net = lw.Network(
        [lw.Linear(3, 4, seed=0), lw.Tanh(), lw.Linear(4, 2, seed=1)], loss=lw.MeanSquaredError()
    )
    lw.fit(net, rng.normal(size=(32, 3)), rng.normal(size=(32, 2)), epochs=2, seed=0)
    path = lw.save(net, tmp_path / "regression.safetensors")
    assert main(["export", str(path), "--onnx", str(tmp_path / "r.onnx")]) == 0
    assert "output 'outputs' [batch, 2]" in capsys.readouterr().out
