"""Every run directory holds its model: `layerwise reproduce` and `layerwise tune` save the
final (best) network as model.safetensors, which `evaluate`, `predict` and `export` take as
they take `layerwise train`'s; and --quiet leaves out the progress, never the result."""

import json
import math

import numpy as np
import pytest

import layerwise as lw
from layerwise.cli import main
from layerwise.data import load_digits

EPOCHS = 12


def lines(capsys):
    return capsys.readouterr().out.splitlines()


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One quiet `reproduce` and one quiet `tune`, with what each printed (a module-scoped
    fixture cannot take capsys, hence redirect_stdout)."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("runs")
    done = {}
    commands = {
        "reproduce": ["reproduce", "--epochs", str(EPOCHS), "--lambdas", "0.01,1", "--jobs", "1"],
        "tune": ["tune", "--data", "digits", "--grid", "l2=0.001,1", "--hidden", "16",
                 "--epochs", str(EPOCHS), "--batch-size", "64", "--jobs", "1"],
    }  # fmt: skip
    for name, argv in commands.items():
        out = root / name
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = main([*argv, "--quiet", "--out", str(out)])
        assert code == 0
        done[name] = (out, printed.getvalue().splitlines(), json.loads((out / "report.json").read_text()))
    return done


def test_reproduce_saves_its_final_model_with_the_digits_preprocessing(runs):
    out, _, report = runs["reproduce"]
    assert report["model"] == "model.safetensors" and (out / "model.safetensors").is_file()
    assert "`model.safetensors`" in (out / "report.md").read_text()
    model = lw.load(out)
    pre = model.preprocessing
    assert (pre.scale, pre.mean, pre.std, pre.image_shape, pre.pixel_max) == (1, None, None, (8, 8), 16)
    assert model.classes.tolist() == [str(i) for i in range(10)]
    assert model.network.sizes == [64, 48, 32, 10]
    assert model.metadata["data"] == "digits" and model.metadata["dataset"] == "digits"
    assert model.metadata["settings"] == {**report["config"], "l2": report["best_lambda"]}
    assert report["config"]["l2"] != report["best_lambda"]  # the chosen lambda, not the default


def test_tune_saves_its_best_model_with_the_searchs_preprocessing(runs):
    out, _, report = runs["tune"]
    assert report["model"] == "model.safetensors" and (out / "model.safetensors").is_file()
    assert "`model.safetensors`" in (out / "report.md").read_text()
    model = lw.load(out)
    assert model.preprocessing.scale == pytest.approx(1 / 16)  # --scaling unit, fitted by prepare_data
    assert model.preprocessing.image_shape == (8, 8) and model.preprocessing.pixel_max == 16
    assert model.classes.tolist() == [str(i) for i in range(10)]
    assert model.network.sizes == [64, 16, 10]
    assert model.metadata["data"] == "digits" and model.metadata["dataset"] == "digits"
    assert model.metadata["settings"] == report["best_settings"]
    assert model.metadata["settings"]["l2"] == report["best"]["settings"]["l2"]


@pytest.mark.parametrize("command", ["reproduce", "tune"])
def test_evaluate_on_the_run_directory_gives_the_reports_test_accuracy(runs, digits, command, capsys):
    out, _, report = runs[command]
    assert main(["evaluate", str(out)]) == 0
    printed = lines(capsys)
    assert printed[0] == f"accuracy {report['test_accuracy']:.4f} on the 594 test examples of digits"
    # to the last bit: the model, with its preprocessing, is the network the report scored
    assert (
        np.mean(lw.load(out).predict(digits.X_test) == digits.y_test.astype(str)) == report["test_accuracy"]
    )


@pytest.mark.parametrize("command", ["reproduce", "tune"])
def test_predict_and_export_take_the_run_directory(runs, digits, command, tmp_path, capsys):
    import onnxruntime as ort

    out = runs[command][0]
    model = lw.load(out)
    rows = digits.X_test[:5]
    csv = tmp_path / "rows.csv"
    csv.write_text("\n".join(",".join(f"{v:g}" for v in row) for row in rows) + "\n")
    assert main(["predict", str(out), str(csv), "--json"]) == 0
    predicted = [json.loads(line)["class"] for line in lines(capsys)]
    assert predicted == model.predict(rows).tolist()
    onnx = tmp_path / "model.onnx"
    assert main(["export", str(out), "--onnx", str(onnx)]) == 0
    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(None, {"input": digits.X_test})
    assert np.abs(probabilities - model.predict_proba(digits.X_test)).max() <= 1e-5


def test_reproduce_report_holds_the_gradient_norms_it_plots(runs):
    _, _, report = runs["reproduce"]
    norms = report["final_gradient_norms"]
    assert list(norms) == ["layer 1 (64x48)", "layer 2 (48x32)", "layer 3 (32x10)"]
    for values in norms.values():
        assert len(values) == EPOCHS == len(report["final_history"]["train_loss"])
        assert all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in values)
    assert report["figures"]["gradient_norms"] == "gradient_norms.png"


def test_quiet_reproduce_prints_its_result(runs):
    out, printed, report = runs["reproduce"]
    assert printed == [
        f"best lambda {report['best_lambda']:.6g}  test accuracy {report['test_accuracy']:.4f}",
        f"run directory: {out}",
    ]


def test_quiet_tune_prints_its_result(runs):
    out, printed, report = runs["tune"]
    best = report["best"]
    assert printed == [
        f"grid: {report['trials']} trials, {report['total_epochs']} epochs trained",
        f"best: l2 = {best['settings']['l2']}  validation accuracy {best['val_accuracy']:.4f}  "
        f"test accuracy {report['test_accuracy']:.4f}",
        f"run directory: {out}",
    ]


def test_tune_without_quiet_prints_the_table_before_its_result(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "tune",
        "--grid",
        "l2=0.001,1",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--jobs",
        "1",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = lines(capsys)
    assert printed[0].split() == ["rank", "trial", "l2", "val", "accuracy", "val", "loss", "seconds"]
    assert len(printed) == 1 + 2 + 3 and printed[-2].startswith("best: l2 = ")
    assert printed[-3] == "grid: 2 trials, 4 epochs trained"  # how the search spent its epochs
    assert printed[-1] == f"run directory: {out}"
