"""The trials file: ``trials.jsonl`` in a search's run directory, one complete, synced JSON
line per finished trial, so that a stopped search resumes where it stopped; and the
ranking of trials."""

import errno
import json
import os
from contextlib import suppress
from pathlib import Path

from ...errors import LayerwiseError
from ...io.atomic import writing
from ...nn.config import is_number

TRIALS_FILENAME = "trials.jsonl"


def read_trials(path):
    """The complete lines of a trials.jsonl; a last line cut short by a crash is dropped
    (and cut from the file, so appending continues cleanly). A damaged line is an error."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise LayerwiseError(f"cannot read {path}: {e.strerror or e}") from None
    records, good = [], 0
    for line in raw.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        records.append(_trial_record(line, path, len(records) + 1))
        good += len(line)
    if good < len(raw):
        with writing(path), open(path, "r+b") as f:
            f.truncate(good)
    return records


def finished_trials(path):
    """trial number -> record, for the trials of ``path`` that finished with scores."""
    return {
        r["trial"]: r
        for r in read_trials(path)
        if r["status"] == "ok" and all(is_number(r.get(k)) for k in ("val_loss", "val_accuracy"))
    }


def _trial_record(line, path, number):
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        record = None
    if not (
        isinstance(record, dict)
        and type(record.get("trial")) is int
        and record["trial"] >= 0
        and isinstance(record.get("status"), str)
    ):
        raise LayerwiseError(f"{path} has a damaged line {number}: cannot resume from it")
    return record


def new_trials(path):
    """Creates the empty trials file of a new search, at once: False when there is one
    already (another search started in the same folder first). A failure to write is a
    WriteError."""
    with writing(path):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            return False
    return True


def append_trial(path, record):
    """Appends one record as one line, synced before returning. When the line cannot be
    written whole (a full disk, an I/O error), what was written of it is cut off again, so
    the file holds the earlier trials, intact, and WriteError names the file."""
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    with writing(path), open(path, "ab", buffering=0) as f:
        end = f.seek(0, os.SEEK_END)
        try:
            done = 0
            while done < len(line):
                written = f.write(line[done:])
                if not written:
                    raise OSError(errno.EIO, os.strerror(errno.EIO))
                done += written
            os.fsync(f.fileno())
        except BaseException:
            with suppress(OSError):
                f.truncate(end)
            raise


def resume_note(folder):
    """What a search stopped by a failure says: where its trials are and how to go on."""
    folder = Path(folder)
    return (
        f"the trials so far are in {folder / TRIALS_FILENAME}; "
        f"resume with the same command and --resume --out {folder}"
    )


def finished_rungs(path):
    """(candidate, rung) -> record, for the rungs of ``path`` that finished with scores."""
    return {
        (r["trial"], r["rung"]): r
        for r in read_trials(path)
        if r["status"] == "ok"
        and type(r.get("rung")) is int
        and all(is_number(r.get(k)) for k in ("val_loss", "val_accuracy"))
    }


def rank(records):
    """Finished trials, best first: the largest budget of epochs (successive halving: the
    furthest rung), then validation accuracy, then lower loss, then trial order."""
    ok = [r for r in records if r.get("status") == "ok"]
    return sorted(ok, key=lambda r: (-r.get("budget", 0), -r["val_accuracy"], r["val_loss"], r["trial"]))


def total_epochs(records):
    """The epochs a search trained: each trial's epochs, counted once per trial (the
    rungs of a candidate go on from one another), stopped and pruned trials too."""
    most = {}
    for r in records:
        if is_number(r.get("epochs")):
            most[r["trial"]] = max(most.get(r["trial"], 0), r["epochs"])
    return sum(most.values())
