"""`layerwise evaluate RUN_DIR` scores the run's own test split, from any working directory;
`evaluate MODEL --data file.csv` scores every row of the file."""

import json
import os

import numpy as np

from layerwise.cli import main
from layerwise.io.model_file import load as load_model

FAST = ["--hidden", "8", "--epochs", "2", "--batch-size", "16"]


def write_csv(folder, n=60):
    rng = np.random.default_rng(0)
    labels = np.array(["a", "b", "c"])[np.arange(n) % 3]
    X = rng.normal(0, 1, (n, 3)) + 3 * (np.arange(n) % 3)[:, None]
    lines = ["id,f1,f2,f3,kind"] + [f"row{i}," + ",".join(map(str, r)) + f",{c}" for i, (r, c) in
                                     enumerate(zip(X, labels))]  # fmt: skip
    (folder / "zoo.csv").write_text("\n".join(lines) + "\n")


def test_evaluate_a_run_scores_its_test_split_from_anywhere(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    write_csv(data)
    monkeypatch.chdir(data)
    out = tmp_path / "run"
    argv = ["train", "--data", "zoo.csv", "--label-column", "kind", "--drop-columns", "id", *FAST]
    assert main([*argv, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["evaluated_on"] == "test" and report["dataset"]["test"] == 12
    assert report["settings"]["data"] == str(data / "zoo.csv") and os.path.isabs(report["settings"]["data"])
    assert report["settings"]["drop_columns"] == ["id"]
    model = load_model(out)
    assert model.metadata["data"] == str(data / "zoo.csv") and model.n_features == 3
    capsys.readouterr()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"accuracy {report['test_accuracy']:.4f} on the 12 test examples of zoo.csv")
    assert main(["evaluate", str(out / "model.safetensors"), "--data", str(data / "zoo.csv")]) == 0
    assert "on all 60 examples of zoo.csv" in capsys.readouterr().out  # dropped columns applied too


def test_evaluate_a_run_of_a_dataset_with_a_test_set_is_unchanged(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", *FAST, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    assert capsys.readouterr().out.startswith(
        f"accuracy {report['test_accuracy']:.4f} on the 594 test examples"
    )


def test_predict_on_a_csv_in_the_training_layout_skips_the_label_and_dropped_columns(tmp_path, capsys):
    write_csv(tmp_path)
    out = tmp_path / "run"
    argv = ["train", "--data", str(tmp_path / "zoo.csv"), "--label-column", "kind", "--drop-columns", "id"]
    assert main([*argv, *FAST, "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "zoo.csv"), "--json"]) == 0
    predicted = [json.loads(line)["class"] for line in capsys.readouterr().out.splitlines()]
    rows = [line.split(",") for line in (tmp_path / "zoo.csv").read_text().splitlines()[1:]]
    X = np.array([[float(v) for v in row[1:4]] for row in rows])
    assert predicted == load_model(out).predict(X).tolist() and len(predicted) == 60
