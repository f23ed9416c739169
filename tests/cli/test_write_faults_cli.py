"""The command line when its output folder is taken, vanishes or cannot be written: two
runs started with the same --out (the first claims the folder, the second is refused with
one line), a folder removed while a run writes into it, a folder under a file and a
read-only one. tests/io/test_write_faults.py fails each write of each command in turn."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from layerwise.cli import main

TRAIN = ["--data", "digits", "--hidden", "8", "--epochs", "2", "--batch-size", "128", "--quiet"]
REPRODUCE = ["--epochs", "2", "--lambdas", "0.01,1", "--jobs", "1", "--quiet"]
TUNE = ["--data", "digits", "--grid", "l2=0.01,1", "--hidden", "8", "--epochs", "2", "--jobs", "1", "--quiet"]
ARGS = {"train": TRAIN, "reproduce": REPRODUCE, "tune": TUNE}

# `layerwise` with one function held: it touches the file argv[1] when it is called, then
# waits for the file argv[2] before it goes on; the command line follows.
HELD = """
import sys, time
from pathlib import Path
import layerwise.experiments.tutorial as tutorial
from layerwise.experiments.training import TrainingRun
from layerwise.reports import run_dir
from layerwise.cli import main

called, release = Path(sys.argv[1]), Path(sys.argv[2])

def held(fn):
    def wrapper(*args, **kwargs):
        called.touch()
        while not release.exists():
            time.sleep(0.02)
        return fn(*args, **kwargs)
    return wrapper

held_function = {"train": "start", "reproduce": "run", "tune": "write_json"}[sys.argv[3]]
if held_function == "start":  # after train has claimed its folder
    TrainingRun.start = staticmethod(held(TrainingRun.start))
elif held_function == "run":  # after reproduce has claimed its folder
    tutorial.run = held(tutorial.run)
else:  # tune: after its folder was checked, before search.json is written
    run_dir.write_json = held(run_dir.write_json)
sys.exit(main(sys.argv[3:]))
"""


def layerwise(*argv):
    return subprocess.run(
        [sys.executable, "-m", "layerwise", *argv], capture_output=True, text=True, timeout=300
    )


def wait_for(path, process):
    deadline = time.monotonic() + 120
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first run never got to its held function"
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["train", "reproduce"])
def test_the_first_of_two_runs_with_the_same_out_claims_it(tmp_path, command):
    out, called, release = tmp_path / "run", tmp_path / "called", tmp_path / "release"
    first = subprocess.Popen(
        [sys.executable, "-c", HELD, str(called), str(release), command, *ARGS[command], "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(called, first)  # the first run holds the folder and has not written into it
        second = layerwise(command, *ARGS[command], "--out", str(out))
    finally:
        release.touch()
        stdout, stderr = first.communicate(timeout=300)
    assert second.returncode == 1
    assert second.stderr == (
        f"layerwise {command}: error: output directory {out} already exists and is not empty: "
        "another run is writing to it\n"
    )
    assert first.returncode == 0, stderr
    assert f"run directory: {out}" in stdout
    assert (out / "model.safetensors").is_file() and (out / "report.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["called", "release", "run"]


@pytest.mark.slow
def test_of_two_searches_in_the_same_folder_one_is_refused(tmp_path):
    # tune checks its folder, then writes search.json: the first run is held in between,
    # so that the second finds the folder empty too; the first to create trials.jsonl wins
    out, called, release = tmp_path / "run", tmp_path / "called", tmp_path / "release"
    first = subprocess.Popen(
        [sys.executable, "-c", HELD, str(called), str(release), "tune", *TUNE, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(called, first)
        second = layerwise("tune", *TUNE, "--out", str(out))
    finally:
        release.touch()
        _, stderr = first.communicate(timeout=300)
    assert sorted([first.returncode, second.returncode]) == [0, 1]
    refused = stderr if first.returncode else second.stderr
    assert refused.endswith(
        f"output directory {out} already exists and is not empty (use --resume to continue)\n"
    )
    assert refused.count("\n") == 1
    assert len((out / "trials.jsonl").read_text().splitlines()) == 2  # one search's trials, once


def test_a_train_folder_removed_while_the_run_writes(tmp_path, monkeypatch, capsys):
    import layerwise.reports.train as train_report

    write_run = train_report.write_run

    def vanishing(run, *args, **kwargs):
        shutil.rmtree(run.folder)
        return write_run(run, *args, **kwargs)

    monkeypatch.setattr(train_report, "write_run", vanishing)
    out = tmp_path / "run"
    assert main(["train", *TRAIN, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"layerwise train: error: cannot write {out / 'model.safetensors'}: No such file or directory\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_reproduce_folder_removed_while_the_run_writes(tmp_path, monkeypatch, capsys):
    import layerwise.reports.tutorial as tutorial_report

    write_report = tutorial_report.write_report

    def vanishing(folder, *args, **kwargs):
        shutil.rmtree(folder)
        return write_report(folder, *args, **kwargs)

    monkeypatch.setattr(tutorial_report, "write_report", vanishing)
    out = tmp_path / "run"
    assert main(["reproduce", *REPRODUCE, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    model = out / "model.safetensors"
    assert err == f"layerwise reproduce: error: cannot write {model}: No such file or directory\n"
    assert list(tmp_path.iterdir()) == []  # neither the run directory nor its temporary folder


@pytest.mark.parametrize("command", ["train", "tune"])
def test_an_out_under_a_file_is_one_line(tmp_path, capsys, command):
    (tmp_path / "blocker").write_text("x")
    out = tmp_path / "blocker" / "run"
    assert main([command, *ARGS[command], "--out", str(out)]) == 1
    err = capsys.readouterr().err
    blocker = tmp_path / "blocker"
    assert err == f"layerwise {command}: error: cannot write to {out}: {blocker} is a file, not a folder\n"
    assert [p.name for p in tmp_path.iterdir()] == ["blocker"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("command", ["train", "reproduce", "tune"])
def test_a_read_only_folder_is_one_line(tmp_path, capsys, command):
    parent = tmp_path / "read-only"
    parent.mkdir(mode=0o555)
    try:
        assert main([command, *ARGS[command], "--out", str(parent / "run")]) == 1
    finally:
        parent.chmod(0o755)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Permission denied" in err and str(parent) in err
    assert list(parent.iterdir()) == []


def test_an_oserror_that_escapes_is_one_line(tmp_path, monkeypatch, capsys):
    import layerwise.experiments.training as training

    def broken(*args, **kwargs):
        raise OSError(5, "Input/output error", str(tmp_path / "somewhere"))

    monkeypatch.setattr(training, "prepare_data", broken)
    assert main(["train", *TRAIN, "--out", str(tmp_path / "run")]) == 1
    assert (
        capsys.readouterr().err == f"layerwise train: error: {tmp_path / 'somewhere'}: Input/output error\n"
    )
