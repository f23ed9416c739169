"""End-to-end tests of `layerwise tune`: backends, resumption after SIGKILL, dying workers."""

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from layerwise.cli import main

pytestmark = pytest.mark.slow  # end-to-end searches in subprocesses and on Dask clusters

BIN = Path(sys.executable).parent
# Kills at known points (a trial counter), never at a moment read off the clock.
HOOKS = str(Path(__file__).resolve().parents[1] / "kill_hooks.py")
# A 6-trial grid of the tutorial's network on the digits, small enough to run in seconds.
GRID = ["--grid", "l2=0.01,1,10", "--grid", "hidden=48,32;32", "--optimizer", "sgd", "--lr", "0.2",
        "--batch-size", "full", "--activation", "sigmoid", "--output-activation", "sigmoid",
        "--scaling", "none", "--quiet"]  # fmt: skip


def tune(*args, check=True):
    done = subprocess.run(
        [sys.executable, "-m", "layerwise", "tune", *args], capture_output=True, text=True, timeout=600
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def trials(out):
    records = [json.loads(line) for line in (Path(out) / "trials.jsonl").read_text().splitlines()]
    return sorted(records, key=lambda r: r["trial"])


def metrics(out):
    return [(r["trial"], r["settings"], r["seed"], r["val_accuracy"], r["val_loss"]) for r in trials(out)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune") / "jobs1"
    tune(*GRID, "--epochs", "150", "--jobs", "1", "--out", str(out))
    return out


def test_tune_writes_the_run_directory(reference_run):
    names = {p.name for p in reference_run.iterdir()}
    assert {"search.json", "trials.jsonl", "report.json", "report.md", "results.csv",
            "heatmap_l2_hidden.png", "model.safetensors"} <= names  # fmt: skip
    report = json.loads((reference_run / "report.json").read_text())
    assert report["trials"] == report["finished"] == 6 and report["failed"] == []
    accuracies = [r["val_accuracy"] for r in report["ranking"]]
    assert accuracies == sorted(accuracies, reverse=True)
    assert report["best"]["val_accuracy"] == accuracies[0] and 0 < report["test_accuracy"] <= 1
    assert len(trials(reference_run)) == 6
    assert (reference_run / "heatmap_l2_hidden.png").stat().st_size > 0


def test_same_results_with_two_local_jobs_and_a_local_dask_cluster(reference_run, tmp_path):
    tune(*GRID, "--epochs", "150", "--jobs", "2", "--out", str(tmp_path / "jobs2"))
    tune(*GRID, "--epochs", "150", "--dask-local", "2", "--out", str(tmp_path / "dask"))
    assert metrics(tmp_path / "jobs2") == metrics(reference_run)
    assert metrics(tmp_path / "dask") == metrics(reference_run)
    workers = {r["worker"] for r in trials(tmp_path / "dask")}
    assert len(workers) >= 1


@pytest.fixture
def dask_cluster(tmp_path):
    """A real scheduler and two workers (no nanny: a killed worker stays dead) on loopback."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "dask.log", "w")
    common = dict(stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    scheduler = subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        **common,
    )
    worker = [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
              "--no-dashboard"]  # fmt: skip
    # the first worker dies when it starts its first trial (kill_hooks.py as a preload)
    workers = [subprocess.Popen([*worker, "--preload", HOOKS], **common), subprocess.Popen(worker, **common)]
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    yield address, workers
    for process in [*workers, scheduler]:
        process.kill()
        process.wait()
    log.close()


def test_search_on_a_dask_scheduler_survives_a_killed_worker(reference_run, dask_cluster, tmp_path):
    address, workers = dask_cluster  # the first worker dies when it starts its first trial
    out = tmp_path / "run"
    done = tune(*GRID, "--epochs", "150", "--dask", address, "--out", str(out))
    assert workers[0].wait(timeout=60) == -signal.SIGKILL and workers[1].poll() is None, done.stderr
    assert metrics(out) == metrics(reference_run)  # every trial exactly once, same numbers


def test_killed_search_resumes_to_the_same_results(reference_run, tmp_path):
    out = tmp_path / "run"
    args = [*GRID, "--epochs", "150", "--jobs", "1", "--out", str(out)]
    # killed with its whole process group once two trials are written
    killed = subprocess.run(
        [sys.executable, HOOKS, "after-trials", "2", "tune", *args], start_new_session=True
    )
    assert killed.returncode == -signal.SIGKILL
    assert len(trials(out)) == 2 and not (out / "report.json").exists()
    tune(*args, "--resume")
    assert len(trials(out)) == 6  # every trial exactly once
    assert metrics(out) == metrics(reference_run)


def test_a_killed_local_worker_has_its_trials_run_again(reference_run, tmp_path):
    out = tmp_path / "run"
    marker = tmp_path / "killed"  # the first worker process to start a trial dies, once
    argv = [sys.executable, HOOKS, "first-trial", str(marker), "tune", *GRID, "--epochs", "150",
            "--jobs", "2", "--out", str(out)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert marker.exists()
    assert metrics(out) == metrics(reference_run)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grid", "colour=red"], "cannot search 'colour'"),
        (["--grid", "l2=1", "--cv", "1"], "--cv needs at least 2 folds"),
        (["--grid", "l2=1", "--resume"], "nothing to resume in"),
        (["--grid", "l2=1", "--jobs", "2", "--dask-local", "2"], "only one of"),
        (["--grid", "l2=1", "--dask", "tcp://127.0.0.1:1"], "cannot reach the Dask scheduler"),
        (["--random", "lr=uniform(1,0)", "--trials", "2"], "need finite a < b"),
        (["--space", "missing.toml"], "does not exist"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, args, message):
    done = tune(*args, "--quiet", "--epochs", "2", "--out", str(tmp_path / "run"), check=False)
    assert done.returncode != 0
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "run").exists()


def test_resume_refuses_a_different_search(tmp_path):
    out = tmp_path / "run"
    assert main(["tune", *GRID, "--epochs", "3", "--jobs", "1", "--out", str(out)]) == 0
    assert main(["tune", *GRID, "--epochs", "4", "--jobs", "1", "--out", str(out), "--resume"]) == 1
    assert main(["tune", *GRID, "--epochs", "3", "--jobs", "1", "--out", str(out)]) == 1  # not empty
