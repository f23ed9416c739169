"""End-to-end tests of `layerwise tune --strategy halving|hyperband` and of Optuna studies
(--sampler, --pruner): the run directory, every backend, resumption after SIGKILL, and
one-line errors."""

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from layerwise.cli import main

pytestmark = pytest.mark.slow  # end-to-end searches in subprocesses and on Dask clusters

HOOKS = str(Path(__file__).resolve().parents[1] / "kill_hooks.py")
# 9 candidates of the digits, 1, 3 then 9 epochs: rungs of 9, 3 and 1 candidates.
HALVING = ["--grid", "l2=0,0.01,0.1", "--grid", "hidden=8;16;32", "--optimizer", "adam", "--lr", "0.01",
           "--dropout", "0.1", "--batch-size", "64", "--epochs", "9", "--strategy", "halving",
           "--quiet"]  # fmt: skip
STUDY = ["--random", "lr=loguniform(1e-3,1)", "--random", "l2=uniform(0,0.1)", "--trials", "6",
         "--optimizer", "sgd", "--batch-size", "64", "--epochs", "5", "--sampler", "tpe", "--pruner",
         "median", "--quiet"]  # fmt: skip


def tune(*args, check=True):
    done = subprocess.run(
        [sys.executable, "-m", "layerwise", "tune", *args], capture_output=True, text=True, timeout=600
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def lines(out):
    return [json.loads(line) for line in (Path(out) / "trials.jsonl").read_text().splitlines()]


def metrics(out):
    keys = ("trial", "rung", "settings", "seed", "epochs", "val_accuracy", "val_loss", "status")
    return sorted(tuple(json.dumps(r.get(k)) for k in keys) for r in lines(out))


@pytest.fixture(scope="module")
def halving_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune") / "halving"
    done = tune(*HALVING, "--jobs", "1", "--out", str(out))
    return out, done.stdout


def test_a_halving_search_writes_its_rungs_and_epochs(halving_run):
    out, stdout = halving_run
    report = json.loads((out / "report.json").read_text())
    assert report["strategy"] == {"name": "halving", "eta": 3, "min_epochs": 1, "max_epochs": 9}
    assert report["trials"] == 9 and report["rungs"] == 13 and report["total_epochs"] == 9 + 3 * 2 + 6
    assert (
        report["best"]["settings"]
        and report["ranking"][0]["rung"] == 2
        and report["ranking"][0]["epochs"] == 9
    )
    assert (
        "halving: 9 candidates, 13 rungs run, 21 epochs trained (81 to train every candidate to 9" in stdout
    )
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["rung"] for row in rows] == ["2", "1", "1", *["0"] * 6]
    assert [row["epochs"] for row in rows] == ["9", "3", "3", *["1"] * 6]
    assert "halving: 9 candidates, 13 rungs run" in (out / "report.md").read_text()
    assert not (out / "candidates").exists()
    assert json.loads((out / "search.json").read_text())["strategy"]["name"] == "halving"


def test_halving_and_hyperband_give_the_same_results_on_local_processes_and_dask(halving_run, tmp_path):
    out, _ = halving_run
    tune(*HALVING, "--jobs", "2", "--out", str(tmp_path / "jobs2"))
    tune(*HALVING, "--dask-local", "2", "--out", str(tmp_path / "dask"))
    assert metrics(tmp_path / "jobs2") == metrics(out) == metrics(tmp_path / "dask")
    hyperband = [arg if arg != "halving" else "hyperband" for arg in HALVING]
    tune(*hyperband, "--jobs", "2", "--out", str(tmp_path / "hb-jobs2"))
    tune(*hyperband, "--dask-local", "2", "--out", str(tmp_path / "hb-dask"))
    assert metrics(tmp_path / "hb-jobs2") == metrics(tmp_path / "hb-dask")
    assert {r.get("bracket") for r in lines(tmp_path / "hb-dask")} == {0, 1, 2}


@pytest.mark.parametrize("kill_after", [4, 10])  # in the first rung; in the second
def test_a_halving_search_killed_mid_rung_resumes_to_the_same_results(halving_run, tmp_path, kill_after):
    out, run = halving_run[0], tmp_path / "run"
    args = [*HALVING, "--jobs", "1", "--out", str(run)]
    killed = subprocess.run([sys.executable, HOOKS, "after-trials", str(kill_after), "tune", *args],
                            start_new_session=True)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    before = (run / "trials.jsonl").read_text()
    assert len(before.splitlines()) == kill_after and not (run / "report.json").exists()
    tune(*args, "--resume")
    assert (run / "trials.jsonl").read_text().startswith(before)  # the finished rungs are kept as they were
    keys = [(r["trial"], r["rung"]) for r in lines(run)]
    assert len(keys) == len(set(keys)) == 13  # every rung once: none trained again
    assert metrics(run) == metrics(out)
    assert (
        json.loads((run / "report.json").read_text())["best"]
        == json.loads((out / "report.json").read_text())["best"]
    )


def test_a_killed_optuna_study_resumes_to_its_trials_and_reopens_in_optuna(tmp_path):
    import optuna

    whole, run = tmp_path / "whole", tmp_path / "run"
    tune(*STUDY, "--jobs", "1", "--out", str(whole))
    args = [*STUDY, "--jobs", "1", "--out", str(run)]
    killed = subprocess.run(
        [sys.executable, HOOKS, "after-trials", "3", "tune", *args], start_new_session=True
    )
    assert killed.returncode == -signal.SIGKILL
    assert len(optuna.load_study(study_name=None, storage=f"sqlite:///{run / 'study.db'}").trials) == 3
    done = tune(*args, "--resume")
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{run / 'study.db'}")
    assert len(study.trials) == 6 and all(t.state.is_finished() for t in study.trials)
    assert metrics(run) == metrics(whole)
    assert "Optuna study (tpe sampler, median pruner): 6 trials" in done.stdout
    report = json.loads((run / "report.json").read_text())
    assert report["strategy"]["sampler"] == "tpe" and report["best"]["val_accuracy"] == study.best_value


def test_resume_refuses_another_strategy(tmp_path):
    out = tmp_path / "run"
    assert main(["tune", *HALVING, "--epochs", "3", "--jobs", "1", "--out", str(out)]) == 0
    assert (
        main(["tune", *HALVING, "--epochs", "3", "--eta", "2", "--jobs", "1", "--out", str(out), "--resume"])
        == 1
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grid", "l2=0,1", "--strategy", "bisect"], "unknown search strategy 'bisect'"),
        (["--grid", "l2=0,1", "--sampler", "cmaes"], "unknown sampler 'cmaes'"),
        (["--grid", "l2=0,1", "--eta", "2"], "--eta is for --strategy halving or hyperband"),
        (["--grid", "l2=0,1", "--strategy", "halving", "--min-epochs", "2"], "needs --min-epochs x --eta"),
        (["--random", "lr=uniform(0.1,1)", "--trials", "3", "--strategy", "hyperband"], "leave out --trials"),
        (
            ["--grid", "l2=0,1", "--strategy", "halving", "--cv", "3"],
            "--cv cannot come with --strategy halving",
        ),
    ],
)
def test_bad_strategy_options_are_one_line_errors(tmp_path, args, message):
    done = tune(*args, "--quiet", "--epochs", "4", "--out", str(tmp_path / "run"), check=False)
    assert done.returncode != 0
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "run").exists()


def test_without_optuna_a_study_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if it were not installed
    assert main(["tune", *STUDY, "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err == "layerwise tune: error: Optuna is not installed: pip install 'layerwise[optuna]'\n"
    assert not (tmp_path / "run").exists()


def test_a_tracked_search_logs_its_trials_and_the_best_model(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "run"
    tune(*HALVING, "--jobs", "2", "--out", str(out), "--tensorboard", str(tmp_path / "tb"), "--mlflow", uri)
    assert sorted(p.name for p in (tmp_path / "tb").iterdir()) == [f"trial-{i}" for i in range(9)]
    client = MlflowClient(tracking_uri=uri)
    found = client.search_runs([client.get_experiment_by_name("layerwise").experiment_id])
    [parent] = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.run_name == "run" and parent.info.status == "FINISHED"
    assert [a.path for a in client.list_artifacts(parent.info.run_id)] == ["model.safetensors"]
    children = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 9 and all(r.info.status == "FINISHED" for r in children)
    best = json.loads((out / "report.json").read_text())
    assert parent.data.metrics["test_accuracy"] == best["test_accuracy"]
