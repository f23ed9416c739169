"""End to end: `layerwise train` and `layerwise evaluate` on small data."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from idx_files import write_mnist_folder

from layerwise.cli import main
from layerwise.io.model_file import load as load_model

FAST = ["--hidden", "16", "--epochs", "3", "--batch-size", "16", "--quiet"]


def train(*argv):
    return main(["train", *map(str, argv)])


def leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name)


def test_train_on_digits_writes_a_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert train("--data", "digits", "--hidden", "32", "--epochs", "4", "--out", out) == 0
    printed = capsys.readouterr().out
    assert "epoch 4/4" in printed and "test accuracy" in printed and f"run directory: {out}" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "accuracy.png", "checkpoint.safetensors", "confusion.png", "first_layer.png", "loss.png",
        "model.safetensors", "report.json", "report.md",
    ]  # fmt: skip
    markdown = (out / "report.md").read_text()
    assert "![loss](loss.png)" in markdown and "![first_layer](first_layer.png)" in markdown
    assert "## Network" in markdown and re.search(r"Linear +\(32,\) +2,080", markdown)
    report = json.loads((out / "report.json").read_text())
    assert report["dataset"] == {"name": "digits", "classes": [str(i) for i in range(10)], "train": 721,
                                 "validation": 482, "test": 594}  # fmt: skip
    assert len(report["history"]["train_loss"]) == 4 and np.array(report["confusion_matrix"]).sum() == 594
    model = load_model(out)
    assert model.preprocessing.scale == pytest.approx(1 / 16) and model.metadata["data"] == "digits"


def test_train_then_evaluate_on_idx_files(tmp_path, capsys):
    folder = write_mnist_folder(tmp_path / "tiny", compress=True, n_train=60)
    out = tmp_path / "run"
    assert train("--data", folder, *FAST, "--scaling", "standard", "--out", out) == 0
    report = json.loads((out / "report.json").read_text())
    # --quiet: no per-epoch lines and no per-class table, but the result and the run directory
    assert capsys.readouterr().out.splitlines() == [
        f"test accuracy {report['test_accuracy']:.4f} on 12 test examples of tiny",
        f"run directory: {out}",
    ]
    assert main(["evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"accuracy {report['test_accuracy']:.4f} on the 12 test examples of tiny")
    assert "precision" in printed and "confusion matrix" in printed
    assert main(["evaluate", str(out / "model.safetensors"), "--data", str(folder)]) == 0


def test_train_on_csv_with_string_labels(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.array(["cat", "dog", "emu"])[np.arange(60) % 3]
    X = rng.normal(0, 1, (60, 4)) + 3 * (np.arange(60) % 3)[:, None]
    lines = ["f1,f2,f3,f4,animal"] + [",".join(map(str, row)) + f",{c}" for row, c in zip(X, y)]
    (tmp_path / "zoo.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    args = ("--data", tmp_path / "zoo.csv", "--label-column", "animal", *FAST, "--out", out)
    assert train(*args, "--early-stopping", "--patience", "0", "--optimizer", "sgd", "--nesterov") == 0
    assert load_model(out).classes.tolist() == ["cat", "dog", "emu"]
    assert main(["evaluate", str(out)]) == 0
    assert "on the 12 test examples of zoo.csv" in capsys.readouterr().out  # the run's test split


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "nowhere.csv"], "nowhere.csv does not exist"),
        (["--data", "digits", "--epochs", "0"], "--epochs must be a positive integer"),
        (["--data", "digits", "--activation", "swish"], "unknown activation 'swish'"),
        (["--data", "digits", "--dropout", "1"], "--dropout must be in"),
        (["--data", "digits", "--validation", "0"], "--validation must be between 0 and 1"),
    ],
    ids=["data", "epochs", "activation", "dropout", "validation"],
)
def test_failures_are_one_line_and_leave_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    settings = ["--hidden", "8", "--seed" if "--epochs" in argv else "--epochs", "3", "--quiet"]
    assert train(*argv, *settings, "--out", out) == 1
    err = capsys.readouterr().err
    assert err.startswith("layerwise train: error: ") and message in err and err.count("\n") == 1
    assert not out.exists() and leftovers(tmp_path) == []


def test_divergence_is_one_line_and_leaves_no_temporary_folder(tmp_path, capsys):
    argv = ["--data", "digits", "--optimizer", "sgd", "--lr", "1e30", "--scaling", "none", *FAST]
    assert train(*argv, "--out", tmp_path / "run") == 1
    err = capsys.readouterr().err
    assert err.startswith("layerwise train: error: training diverged at epoch 1") and err.count("\n") == 1
    assert leftovers(tmp_path) == []


def test_a_non_empty_output_directory_is_refused(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    assert train("--data", "digits", *FAST, "--out", tmp_path / "run") == 1
    assert "already exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["keep.txt"]


def test_evaluate_errors(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 1
    assert "no model file" in capsys.readouterr().err
    out = tmp_path / "run"
    assert train("--data", "digits", *FAST, "--out", out) == 0
    folder = write_mnist_folder(tmp_path / "tiny")
    assert main(["evaluate", str(out), "--data", str(folder)]) == 1
    assert "tiny has 16 features but the model expects 64" in capsys.readouterr().err


def test_the_command_in_a_subprocess_prints_no_traceback(tmp_path):
    out = tmp_path / "run"
    bad = tmp_path / "bad.csv"
    bad.write_text("label,x\n1,2\n0,nan\n")
    result = subprocess.run(
        [sys.executable, "-m", "layerwise", "train", "--data", str(bad), "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    message = f"{bad} has a NaN or infinite value in line 3, column 2 ('x'): 'nan' is not a finite number"
    assert result.stderr == f"layerwise train: error: {message}\n"
    assert not out.exists() and leftovers(tmp_path) == []
