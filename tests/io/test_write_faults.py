"""A full disk, an I/O error or a read-only file system at any write of a run: one line
naming the file and the cause, a non-zero exit, no half-written run directory, and what a
resumed run needs (the last checkpoint, a search's trials) intact.

``Disk`` makes the N-th file written under a folder fail at its first write (half of the
data goes in, then OSError), and every write after it, as a disk that fills up does; the
commands run in this process (``layerwise.cli.main``) with N = 1, 2, ... until one gets
past its last write, so that every write a command makes is the failing one once.
"""

import builtins
import errno
import io
import json
import os
import pickle
import re
import tempfile
from contextlib import suppress
from pathlib import Path

import numpy as np
import pytest

from layerwise.cli import main
from layerwise.errors import LayerwiseError
from layerwise.experiments.search import search
from layerwise.experiments.search.space import Space
from layerwise.experiments.search.trials import append_trial, read_trials
from layerwise.io.atomic import WriteError, write_atomic, write_failure, write_new
from layerwise.io.checkpoint import CHECKPOINT_FILENAME, load_checkpoint
from layerwise.io.model_file import load as load_model
from layerwise.nn.config import TrainConfig
from layerwise.reports import run_dir

NO_SPACE = os.strerror(errno.ENOSPC)
TEMPORARY = re.compile(r"\.(.+)\.[a-z0-9_]{8}")  # write_atomic's temporary of a file


class Disk:
    """Writes under ``folder`` fail from the ``n``-th file written on (counted at each
    file's first write), with OSError(``code``); ``failed`` is the first file that failed."""

    def __init__(self, monkeypatch, folder, n, code=errno.ENOSPC):
        self.folder, self.n, self.code = os.path.abspath(folder), n, code
        self.files, self.failed = 0, None
        real_open, real_mkstemp, temporaries = io.open, tempfile.mkstemp, {}

        def mkstemp(*args, **kwargs):  # write_atomic's temporary: its descriptor's path
            fd, path = real_mkstemp(*args, **kwargs)
            temporaries[fd] = path
            return fd, path

        def opener(file, mode="r", *args, **kwargs):
            f = real_open(file, mode, *args, **kwargs)
            path = temporaries.pop(file, None) if isinstance(file, int) else os.fsdecode(file)
            if (
                any(c in mode for c in "wax+")
                and path
                and os.path.abspath(path).startswith(self.folder + os.sep)
            ):
                return _Faulty(f, Path(path), self)
            return f

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        monkeypatch.setattr(builtins, "open", opener)  # Pillow's figures, appends to trials.jsonl
        monkeypatch.setattr(io, "open", opener)  # os.fdopen: write_atomic

    def first_write(self, path):
        self.files += 1
        if self.files == self.n:
            self.failed = path

    @property
    def full(self):
        return self.failed is not None

    def error(self):
        return OSError(self.code, os.strerror(self.code))


class _Faulty:
    """A file object whose writes fail once the disk is full."""

    def __init__(self, f, path, disk):
        self._f, self._path, self._disk, self._started = f, path, disk, False

    def write(self, data):
        if not self._started:
            self._started = True
            self._disk.first_write(self._path)
        if self._disk.full:
            if self._path == self._disk.failed and len(data) > 1:  # half of it goes in
                self._f.write(data[: len(data) // 2])
                with suppress(OSError):
                    self._f.flush()
            raise self._disk.error()
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def __iter__(self):
        return iter(self._f)


def one_error_line(capsys, command):
    """The one line the command printed on stderr, checked: no traceback, no second line."""
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"layerwise {command}: error: cannot write "), err
    return err.strip()


def final(path):
    """The file a temporary of write_atomic was to become."""
    match = TEMPORARY.fullmatch(path.name)
    return path.parent / match[1] if match else path


def names_the_failed_file(line, disk, out, inside=None):
    """The error names the file that failed, as it is called in ``out`` (not a temporary,
    nor the temporary folder ``inside`` a run is written in before it is renamed), or
    ``out`` itself when the writer could not say which file (matplotlib's figures)."""
    path = final(disk.failed)
    if inside is not None:
        path = Path(out) / path.relative_to(inside)
    assert f"cannot write {path}: " in line or f"cannot write to {out}: " in line, (line, disk.failed)
    assert ".partial-" not in line


# --- the helpers ---------------------------------------------------------------------------


def test_write_atomic_keeps_the_old_file_and_names_the_new_one(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    write_atomic(path, "old\n")
    Disk(monkeypatch, tmp_path, 1)
    with pytest.raises(WriteError) as caught:
        write_atomic(path, "new and longer\n")
    assert str(caught.value) == f"cannot write {path}: {NO_SPACE}"
    assert caught.value.errno == errno.ENOSPC and caught.value.path == path
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    assert path.read_text() == "old\n"


def test_write_atomic_takes_a_writer_function(tmp_path):
    write_atomic(tmp_path / "f.bin", lambda f: f.write(b"abc"))
    assert (tmp_path / "f.bin").read_bytes() == b"abc"


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EROFS, errno.EDQUOT])
def test_every_cause_is_named(tmp_path, monkeypatch, code):
    Disk(monkeypatch, tmp_path, 1, code)
    with pytest.raises(WriteError, match=re.escape(f"{tmp_path / 'model.safetensors'}: {os.strerror(code)}")):
        write_atomic(tmp_path / "model.safetensors", b"x" * 100)


def test_a_vanished_folder_is_named(tmp_path):
    with pytest.raises(
        WriteError, match=f"cannot write {re.escape(str(tmp_path))}/gone/a.json: No such file"
    ):
        write_atomic(tmp_path / "gone" / "a.json", "{}")


def test_write_error_is_a_one_line_layerwise_error_that_pickles(tmp_path):
    error = WriteError(tmp_path / "a.png", NO_SPACE, errno.ENOSPC).noted("kept").noted("kept")
    assert isinstance(error, LayerwiseError) and not isinstance(error, OSError)
    assert str(error) == f"cannot write {tmp_path / 'a.png'}: {NO_SPACE}; kept"
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.errno == errno.ENOSPC


def test_write_failure_tells_writes_from_other_errors(tmp_path):
    full = write_failure(OSError(errno.ENOSPC, NO_SPACE), tmp_path)  # Pillow's: no file named
    assert str(full) == f"cannot write to {tmp_path}: {NO_SPACE}"
    temporary = OSError(
        errno.ENOENT, "No such file or directory", str(tmp_path / ".model.safetensors.ab12cd34")
    )
    assert write_failure(temporary, tmp_path).path == tmp_path / "model.safetensors"
    assert write_failure(OSError(errno.EAGAIN, "Resource temporarily unavailable"), tmp_path) is None
    assert write_failure(OSError(errno.ENOENT, "No such file", "/elsewhere/x"), tmp_path) is None
    assert write_failure(ValueError("x"), tmp_path) is None


def test_write_new_writes_once(tmp_path):
    assert write_new(tmp_path / "search.json", "{}\n")
    assert not write_new(tmp_path / "search.json", "[]\n")
    assert (tmp_path / "search.json").read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["search.json"]


def test_a_failed_append_leaves_the_trials_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "trials.jsonl"
    append_trial(path, {"trial": 0, "status": "ok"})
    before = path.read_bytes()
    disk = Disk(monkeypatch, tmp_path, 1)
    with pytest.raises(WriteError, match=f"cannot write {re.escape(str(path))}: {NO_SPACE}"):
        append_trial(path, {"trial": 1, "status": "ok", "padding": "x" * 100})
    assert disk.failed == path
    assert path.read_bytes() == before and [r["trial"] for r in read_trials(path)] == [0]


# --- claims: two runs given the same folder --------------------------------------------------


@pytest.mark.parametrize("first", ["run_directory", "live_run_directory"])
@pytest.mark.parametrize("second", ["run_directory", "live_run_directory"])
@pytest.mark.parametrize("exists", [False, True], ids=["absent", "empty"])
def test_the_first_run_claims_the_folder_the_second_is_refused(tmp_path, first, second, exists):
    out = tmp_path / "run"
    if exists:
        out.mkdir()
    with getattr(run_dir, first)(out) as folder:
        with pytest.raises(LayerwiseError, match=f"output directory {re.escape(str(out))} already exists and "
                           "is not empty: another run is writing to it"):  # fmt: skip
            with getattr(run_dir, second)(out):
                pytest.fail("the second run got the folder")
        (folder / "model.safetensors").write_text("the first run's")
    assert [p.name for p in out.iterdir()] == ["model.safetensors"]
    with pytest.raises(LayerwiseError, match="already exists and is not empty$"):
        with getattr(run_dir, second)(out):
            pass
    assert (out / "model.safetensors").read_text() == "the first run's"


def test_a_claim_is_released_when_the_run_fails(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError), run_dir.live_run_directory(out):
        raise RuntimeError("bad data")
    with pytest.raises(RuntimeError), run_dir.run_directory(out):
        raise RuntimeError("bad data")
    assert list(tmp_path.iterdir()) == []
    with run_dir.run_directory(out) as folder:
        (folder / "a").write_text("a")
    assert [p.name for p in out.iterdir()] == ["a"]


def test_create_run_directory_writes_its_first_file_once(tmp_path, monkeypatch):
    out = tmp_path / "search"
    run_dir.create_run_directory(out, "search.json", {"cv": None}, hint=" (use --resume to continue)")
    with pytest.raises(LayerwiseError, match=r"already exists and is not empty \(use --resume to continue\)"):
        run_dir.create_run_directory(out, "search.json", {"cv": 3}, hint=" (use --resume to continue)")
    with monkeypatch.context() as patch:  # as if both runs had found the folder empty
        patch.setattr(run_dir, "check_location", lambda out, hint="": None)
        with pytest.raises(LayerwiseError, match="is not empty: another run is writing to it$"):
            run_dir.create_run_directory(out, "search.json", {"cv": 3}, hint=" (use --resume to continue)")
    assert json.loads((out / "search.json").read_text()) == {"cv": None}
    Disk(monkeypatch, tmp_path, 1)
    with pytest.raises(WriteError, match=f"search.json: {NO_SPACE}"):
        run_dir.create_run_directory(tmp_path / "other", "search.json", {})
    assert not (tmp_path / "other").exists()


def test_keeping_leaves_what_a_resumed_search_needs(tmp_path):
    for name in ("search.json", "trials.jsonl", "score_vs_l2.png", "report.json"):
        (tmp_path / name).write_text(name)
    with (
        pytest.raises(WriteError) as caught,
        run_dir.keeping(tmp_path, {"search.json", "trials.jsonl"}, "resume"),
    ):
        raise OSError(errno.ENOSPC, NO_SPACE, str(tmp_path / "model.safetensors"))
    assert str(caught.value) == f"cannot write {tmp_path / 'model.safetensors'}: {NO_SPACE}; resume"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["search.json", "trials.jsonl"]


class Digits:
    def __init__(self):
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = (X / 16).astype(np.float32)
        self.X_train, self.y_train = X[:600], y[:600]
        self.X_valid, self.y_valid = X[600:900], y[600:900]
        self.X_test, self.y_test = X[900:1200], y[900:1200]
        self.n_classes = 10


def test_a_second_search_in_the_same_folder_is_refused(tmp_path):
    space, config = Space.parse(["l2=0.01"]), TrainConfig(hidden=(8,), epochs=2)
    first = search(Digits(), space, config, out=tmp_path)
    lines = (tmp_path / "trials.jsonl").read_text()
    with pytest.raises(LayerwiseError, match=r"already exists and is not empty \(use --resume to continue\)"):
        search(Digits(), space, config, out=tmp_path)
    assert (tmp_path / "trials.jsonl").read_text() == lines
    resumed = search(Digits(), space, config, out=tmp_path, resume=True)
    assert resumed["test_accuracy"] == first["test_accuracy"]


# --- the commands, failing at each of their writes -------------------------------------------

TRAIN = ["--data", "digits", "--hidden", "8", "--epochs", "2", "--batch-size", "128", "--quiet"]
REPRODUCE = ["--epochs", "2", "--lambdas", "0.01,1", "--jobs", "1", "--quiet"]
TUNE = ["--data", "digits", "--grid", "l2=0.01,1", "--hidden", "8", "--epochs", "2", "--jobs", "1", "--quiet"]


def each_failing_write(monkeypatch, folder, run, code=errno.ENOSPC, limit=30):
    """Runs ``run()`` with the n-th write under ``folder`` failing, for n = 1, 2, ... until a
    run gets past its last write; yields (n, disk, exit status) of each failed run."""
    for n in range(1, limit):
        with monkeypatch.context() as patch:
            disk = Disk(patch, folder, n, code)
            status = run()
        if disk.failed is None:
            assert status == 0
            return
        yield n, disk, status
    pytest.fail(f"still failing after {limit} writes")


def test_train_at_every_write(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    failures = 0
    for n, disk, status in each_failing_write(
        monkeypatch, tmp_path, lambda: main(["train", *TRAIN, "--out", str(out)])
    ):
        assert status == 1, n
        line = one_error_line(capsys, "train")
        assert line.endswith(NO_SPACE), line
        names_the_failed_file(line, disk, out)
        assert list(tmp_path.iterdir()) == [], n  # no run directory, no temporary
        failures += 1
    assert failures >= 6  # the model, three figures, report.json, report.md


@pytest.mark.slow
def test_train_with_checkpoints_keeps_the_last_one_intact(tmp_path, monkeypatch, capsys):
    argv = [*TRAIN, "--epochs", "3", "--checkpoint-every", "1"]
    assert main(["train", *argv, "--out", str(tmp_path / "whole")]) == 0
    whole = load_model(tmp_path / "whole").network.get_weights()
    capsys.readouterr()
    out = tmp_path / "run"
    kept = 0
    runs = each_failing_write(monkeypatch, out.parent, lambda: main(["train", *argv, "--out", str(out)]))
    for n, disk, status in runs:
        assert status == 1, n
        line = one_error_line(capsys, "train")
        names_the_failed_file(line, disk, out)
        if n == 1:  # the first checkpoint: nothing to keep
            assert not out.exists() and line.endswith(NO_SPACE)
            continue
        checkpoint = out / CHECKPOINT_FILENAME
        kept_note = (
            f"the last checkpoint is intact in {checkpoint}; resume with: layerwise train --resume {out}"
        )
        assert line.endswith(f"{NO_SPACE}; {kept_note}"), line
        assert [p.name for p in out.iterdir()] == [CHECKPOINT_FILENAME]
        assert load_checkpoint(checkpoint).epoch == min(n - 1, 3)
        assert main(["train", "--resume", str(out), "--quiet"]) == 0
        assert all(np.array_equal(a, b) for a, b in zip(load_model(out).network.get_weights(), whole))
        capsys.readouterr()
        _remove(out)
        kept += 1
    assert kept >= 8  # two more checkpoints, the model, three figures, report.json, report.md


@pytest.mark.parametrize("code", [errno.EIO, errno.EROFS])
def test_train_names_other_causes(tmp_path, monkeypatch, capsys, code):
    out = tmp_path / "run"
    Disk(monkeypatch, tmp_path, 1, code)
    assert main(["train", *TRAIN, "--out", str(out)]) == 1
    line = one_error_line(capsys, "train")
    assert line == f"layerwise train: error: cannot write {out / 'model.safetensors'}: {os.strerror(code)}"
    assert list(tmp_path.iterdir()) == []


def test_export_of_a_model_to_a_full_disk(tmp_path, monkeypatch, capsys):
    import layerwise as lw

    model = lw.save(lw.Network.from_spec("4-8-3", seed=0), tmp_path / "model.safetensors")
    out = tmp_path / "out"
    out.mkdir()
    Disk(monkeypatch, out, 1)
    assert main(["export", str(model), "--onnx", str(out / "model.onnx")]) == 1
    assert one_error_line(capsys, "export").endswith(f"cannot write {out / 'model.onnx'}: {NO_SPACE}")
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_reproduce_at_every_write(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    failures = 0
    runs = each_failing_write(
        monkeypatch, tmp_path, lambda: main(["reproduce", *REPRODUCE, "--out", str(out)])
    )
    for n, disk, status in runs:
        assert status == 1, n
        line = one_error_line(capsys, "reproduce")
        assert line.endswith(NO_SPACE), line
        partial = next(p for p in disk.failed.parents if ".partial-" in p.name)
        names_the_failed_file(line, disk, out, inside=partial)
        assert list(tmp_path.iterdir()) == [], n  # no run directory, no temporary folder
        failures += 1
    assert failures >= 9  # the sweep's figure, the model, five figures, report.json, report.md


def tune_results(out):
    report = json.loads((out / "report.json").read_text())
    trials = sorted((r["trial"], r["val_accuracy"], r["val_loss"]) for r in read_trials(out / "trials.jsonl"))
    return report["best"], report["test_accuracy"], [r["val_accuracy"] for r in report["ranking"]], trials


@pytest.mark.slow
def test_tune_at_every_write_keeps_its_trials_and_resumes(tmp_path, monkeypatch, capsys):
    assert main(["tune", *TUNE, "--out", str(tmp_path / "whole")]) == 0
    expected = tune_results(tmp_path / "whole")
    capsys.readouterr()
    out = tmp_path / "run"
    resumed = 0
    for n, disk, status in each_failing_write(
        monkeypatch, out.parent, lambda: main(["tune", *TUNE, "--out", str(out)])
    ):
        assert status == 1, n
        line = one_error_line(capsys, "tune")
        assert NO_SPACE in line
        names_the_failed_file(line, disk, out)
        if final(disk.failed).name == "search.json":
            assert not out.exists() or not any(out.iterdir())  # nothing to resume
            continue
        trials = out / "trials.jsonl"
        raw = trials.read_bytes()
        assert raw == b"" or raw.endswith(b"\n")  # whole lines only: a cut one was taken out
        assert all(json.loads(line)["status"] == "ok" for line in raw.splitlines())
        if disk.failed == trials or disk.failed.suffix == ".png":  # failures inside the search
            assert line.endswith(f"; the trials so far are in {trials}; resume with the same command and "
                                 f"--resume --out {out}")  # fmt: skip
        assert main(["tune", *TUNE, "--resume", "--out", str(out)]) == 0
        capsys.readouterr()
        assert tune_results(out) == expected
        _remove(out)
        resumed += 1
    assert resumed >= 7  # two trials, the figure, the model, report.json, results.csv, report.md


def _remove(folder):
    import shutil

    shutil.rmtree(folder)
