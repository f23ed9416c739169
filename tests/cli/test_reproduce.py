"""End-to-end tests of `layerwise reproduce` (the tutorial's experiment)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from layerwise.cli import main
from layerwise.reports.tutorial import FIGURES

FAST = ["--epochs", "30", "--lambdas", "0.01,1,10", "--quiet"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "quick"
    done = subprocess.run(
        [sys.executable, "-m", "layerwise", "reproduce", "--epochs", "30", "--jobs", "2", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    return out, done


def test_reproduce_writes_every_file_and_a_consistent_report(quick_run):
    out, done = quick_run
    assert done.returncode == 0, done.stderr
    names = {"report.json", "report.md"} | {name for name, _ in FIGURES.values()}
    assert names <= {p.name for p in out.iterdir()}
    assert all((out / name).stat().st_size > 0 for name in names)
    report = json.loads((out / "report.json").read_text())
    assert report["split"] == {"y_train": 721, "y_valid": 482, "y_test": 594}
    assert (
        len(report["lambdas"]) == len(report["validation_accuracy"]) == len(report["validation_loss"]) == 10
    )
    assert report["config"]["epochs"] == 30 and report["seed"] == 0
    assert report["environment"]["packages"]["numpy"]
    assert len(report["final_history"]["train_loss"]) == 30
    # the printed table holds the same numbers as report.json
    rows = [line.split() for line in done.stdout.splitlines()[1:11]]
    for row, lam, acc, loss in zip(
        rows, report["lambdas"], report["validation_accuracy"], report["validation_loss"]
    ):
        assert float(row[0]) == pytest.approx(lam, rel=1e-3)
        assert float(row[1]) == pytest.approx(acc, abs=1e-4)
        assert float(row[2]) == pytest.approx(loss, abs=1e-4)
    best = max(report["validation_accuracy"])
    assert report["best_lambda"] == min(
        lam for lam, acc in zip(report["lambdas"], report["validation_accuracy"]) if acc == best
    )
    assert f"test accuracy {report['test_accuracy']:.4f}" in done.stdout
    assert f"run directory: {out}" in done.stdout
    md = (out / "report.md").read_text()
    assert all(f"]({name})" in md for name, _ in FIGURES.values())


def test_results_do_not_depend_on_the_number_of_jobs(tmp_path):
    reports = []
    for jobs in ("1", "2"):
        assert main(["reproduce", *FAST, "--jobs", jobs, "--out", str(tmp_path / jobs)]) == 0
        reports.append(json.loads((tmp_path / jobs / "report.json").read_text()))
    keys = [
        "lambdas",
        "validation_accuracy",
        "validation_loss",
        "train_loss",
        "best_lambda",
        "test_accuracy",
        "confusion_matrix",
        "final_history",
    ]
    assert [reports[0][k] for k in keys] == [reports[1][k] for k in keys]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "-5"], "--epochs must be a positive integer"),
        (["--epochs", "ten"], "--epochs must be a positive integer"),
        (["--lambdas", "logspace(-2,2"], "cannot read lambda list"),
        (["--lambdas", "1,abc"], "cannot read lambda list"),
        (["--hidden", "48,-1"], "hidden sizes must be positive"),
        (["--activation", "swish"], "unknown activation 'swish'"),
        (["--momentum", "1.5"], "momentum must be in"),
        (["--jobs", "0"], "--jobs must be a positive integer"),
    ],
)
def test_bad_options_are_one_line_errors_and_leave_nothing(tmp_path, args, message):
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "layerwise", "reproduce", *args, "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_unwritable_out_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:  # root writes anywhere: put a file where the parent folder should be
        (tmp_path / "blocker").write_text("x")
        out = tmp_path / "blocker" / "run"
    else:
        (tmp_path / "blocker").mkdir(mode=0o500)
        out = tmp_path / "blocker" / "run"
    done = subprocess.run(
        [sys.executable, "-m", "layerwise", "reproduce", *FAST, "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "cannot" in done.stderr and "blocker" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["blocker"]
    assert not out.exists()


def test_existing_non_empty_out_is_refused(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["reproduce", *FAST, "--out", str(tmp_path)]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_failure_during_the_run_leaves_no_partial_directory(tmp_path, monkeypatch, capsys):
    import errno

    import layerwise.reports.tutorial as tutorial_report

    def broken(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tutorial_report, "draw_figures", broken)
    assert main(["reproduce", *FAST, "--jobs", "1", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err == f"layerwise reproduce: error: cannot write to {tmp_path / 'run'}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_digits_split_is_the_tutorials(reference):
    from layerwise.experiments.tutorial import split_digits

    ours = split_digits()
    theirs = reference.split_digits()
    names = ["X_train", "X_valid", "X_test", "y_train", "y_valid", "y_test"]
    assert all(np.array_equal(ours[n], t) for n, t in zip(names, theirs))
    assert [len(ours[n]) for n in names[3:]] == [721, 482, 594]


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_same_report(tmp_path):
    reports = []
    for name, backend in (("jobs", ["--jobs", "1"]), ("dask", ["--dask-local", "2"])):
        assert main(["reproduce", *FAST, *backend, "--out", str(tmp_path / name)]) == 0
        reports.append(json.loads((tmp_path / name / "report.json").read_text()))
    keys = ["validation_accuracy", "validation_loss", "best_lambda", "test_accuracy", "final_history"]
    assert [reports[0][k] for k in keys] == [reports[1][k] for k in keys]
    assert reports[1]["backend"] == "local Dask cluster of 2 workers"


def test_the_final_models_curves_equal_a_retraining_from_its_seed():
    # The final model is the best lambda's sweep training; its curves come from running
    # that training again in two halves at once. Both must equal one retraining.
    from threadpoolctl import threadpool_limits

    from layerwise import fit
    from layerwise.experiments import tutorial

    config = tutorial.TUTORIAL.replace(epochs=30)
    data = tutorial.split_digits()
    result = tutorial.run(config, (0.01, 1.0, 10.0), jobs=2, data=data)
    final = result["final"]
    assert final["same_as_sweep"] and final["l2"] == result["best_lambda"]
    net = config.network(64, 10, final["seed"])
    with threadpool_limits(1):  # as the tasks run: BLAS results can depend on the thread count
        history = fit(
            net, data["X_train"], data["y_train"], optimizer=config.make_optimizer(), epochs=30,
            batch_size=None, l2=final["l2"], validation_data=(data["X_valid"], data["y_valid"]),
        )  # fmt: skip
    for got, expected in zip(final["net"].get_weights(), net.get_weights()):
        np.testing.assert_array_equal(got, expected)
    assert final["history"].train_loss == history.train_loss
    assert final["history"].val_loss == history.val_loss
    assert all(len(norms) == 30 for norms in final["grad_norms"].values())
    assert result["test_accuracy"] == np.mean(net.predict(data["X_test"]) == data["y_test"])
