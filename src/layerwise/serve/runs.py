"""The run directories the app shows: every run under the folders it serves, what each
holds (its report, its figures, its curves) and the one way a file of a run is read.

A run directory is a folder holding what a run of ``layerwise train``, ``reproduce`` or
``tune`` leaves: report.json, model.safetensors, checkpoint.safetensors (a run that can be
resumed), trials.jsonl or search.json. The folders given are searched ``MAX_DEPTH``
levels deep, without following symbolic links and skipping hidden names (a run being
written is a hidden ``.NAME.partial-*`` folder); a folder given that is itself a run
directory is served as one run.

A run is named by an id: the name of the folder given, then the path of the run inside
it (``runs/20261130-120000-train``). Files are read by run id and file name only
(``RunIndex.file``): a name with a folder in it, a hidden name, an absolute path, a
symbolic link that leads out of the run directory, or a type of file that runs do not
hold is not found, exactly as a file that does not exist.
"""

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import LayerwiseError
from ..io.checkpoint import load_checkpoint
from ..io.model_file import CHECKPOINT_FILENAME, MODEL_FILENAME
from .refusals import NotFound

RUN_FILES = ("report.json", MODEL_FILENAME, CHECKPOINT_FILENAME, "trials.jsonl", "search.json")
MAX_DEPTH = 3  # folder levels searched for runs under a folder given
MAX_RUNS = 2000  # runs listed at most (the newest first)
RESCAN_SECONDS = 1.0  # a scan of the folders is reused this long
# The files of a run that can be read, and their media types.
FILE_TYPES = {
    ".png": "image/png",
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
CURVES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")


@dataclass(frozen=True)
class Run:
    """A run directory: its id and its folder (resolved: no symbolic link in it)."""

    id: str
    folder: Path

    def has(self, name):
        """Whether the run holds the file ``name``."""
        return (self.folder / name).is_file()


class RunIndex:
    """The runs under ``folders`` (folders of runs, or run directories themselves),
    found again at most every ``RESCAN_SECONDS``; folders that do not exist (yet) hold
    no runs."""

    def __init__(self, folders):
        self.roots = []
        labels = set()
        for folder in folders:
            folder = Path(folder).expanduser().resolve()
            if any(folder == root for _, root in self.roots):
                continue
            label = folder.name or "root"
            n = 2
            while label in labels:
                label, n = f"{folder.name}-{n}", n + 1
            labels.add(label)
            self.roots.append((label, folder))
        self._lock = threading.Lock()
        self._runs = {}
        self._scanned = -float("inf")
        self._cache = {}  # (path, kind) -> (stat key, value): reports and checkpoints read

    def runs(self, fresh=False):
        """The runs by id, newest first; ``fresh``: scan the folders now."""
        with self._lock:
            if fresh or time.monotonic() - self._scanned > RESCAN_SECONDS:
                self._runs = self._scan()
                self._scanned = time.monotonic()
            return self._runs

    def get(self, run_id):
        """The run of id ``run_id``; NotFound when there is none."""
        run = self.runs().get(run_id) if isinstance(run_id, str) else None
        if run is None and isinstance(run_id, str):
            run = self.runs(fresh=True).get(run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r} in the folders served")
        return run

    def id_of(self, folder):
        """The id of the run directory ``folder`` (under a folder served), or None."""
        folder = Path(folder).resolve()
        for label, root in self.roots:
            if folder == root:
                return label
            if folder.is_relative_to(root):
                return f"{label}/{folder.relative_to(root).as_posix()}"
        return None

    def _scan(self):
        found = []
        for label, root in self.roots:
            if not root.is_dir():
                continue
            if _is_run(root):
                found.append(Run(label, root))
                continue
            _walk(root, label, 1, found)
        found.sort(key=lambda run: _mtime(run.folder), reverse=True)
        return {run.id: run for run in found[:MAX_RUNS]}

    # --- what a run holds -----------------------------------------------------------

    def file(self, run_id, name):
        """The path and media type of the file ``name`` of run ``run_id``; NotFound for
        anything but a file of a readable type directly inside the run directory."""
        run = self.get(run_id)
        missing = NotFound(f"no file {name!r} in run {run_id!r}")
        if not isinstance(name, str) or not name or name.startswith(".") or any(c in name for c in "/\\\0:"):
            raise missing
        kind = FILE_TYPES.get(os.path.splitext(name)[1].lower())
        if kind is None:
            raise missing
        real = Path(os.path.realpath(run.folder / name))
        if real.parent != run.folder or not real.is_file():
            raise missing  # a link out of the run (or to a file in a subfolder of it), or no file
        return real, kind

    def summary(self, run):
        """What the list of runs shows of ``run``: its command, dataset, network, epochs,
        accuracy, status, its figures and whether it can be resumed."""
        report = self.report_json(run)
        if report is not None:
            status = "diverged" if report.get("status") == "diverged" else "finished"
        elif run.has(MODEL_FILENAME):
            status = "model"  # a model file without a report
        elif run.has(CHECKPOINT_FILENAME):
            status = "interrupted"
        else:
            status = "search" if run.has("trials.jsonl") or run.has("search.json") else "unknown"
        info = {
            "id": run.id,
            "name": run.folder.name,
            "path": str(run.folder),
            "status": status,
            "resumable": run.has(CHECKPOINT_FILENAME),
            "model": run.has(MODEL_FILENAME) or run.has(CHECKPOINT_FILENAME),
            "modified": time.strftime("%Y-%m-%d %H:%M", time.localtime(_mtime(run.folder))),
            "figures": sorted(p.name for p in run.folder.glob("*.png") if not p.name.startswith(".")),
            "report": run.has("report.md"),
        }
        details = report if report is not None else self._checkpoint_details(run)
        info.update(_details(details or {}))
        curves = self.curves(run)
        info["epochs"] = len(curves.get("train_loss") or curves.get("val_loss") or [])
        return info

    def curves(self, run):
        """The run's curves per epoch: any of train_loss, val_loss, train_accuracy and
        val_accuracy that it recorded (``history`` of a training, ``final_history`` of the
        tutorial's experiment, the history of a checkpoint)."""
        report = self.report_json(run)
        history = None
        if report is not None:
            history = report.get("history") or report.get("final_history")
        if history is None:
            details = self._checkpoint_details(run)
            history = details.get("history") if details else None
        if not isinstance(history, dict):
            return {}
        return {name: _numbers(history.get(name)) for name in CURVES if _numbers(history.get(name))}

    def report_json(self, run):
        """The run's report.json as a dict (None without one, or when it cannot be read)."""
        return self._cached(run.folder / "report.json", "report", _read_json)

    def _checkpoint_details(self, run):
        """What a run without a report (stopped, or still training) records in its checkpoint."""
        if not run.has(CHECKPOINT_FILENAME):
            return None
        return self._cached(run.folder / CHECKPOINT_FILENAME, "checkpoint", _checkpoint_details)

    def _cached(self, path, kind, read):
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get((path, kind))
        if cached is not None and cached[0] == key:
            return cached[1]
        value = read(path)
        self._cache[(path, kind)] = (key, value)
        return value


def _is_run(folder):
    return any((folder / name).is_file() for name in RUN_FILES)


def _walk(folder, label, depth, found, prefix=""):
    """Appends to ``found`` the runs under ``folder`` (``depth`` levels in), not following
    symbolic links and skipping hidden names."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") or len(found) >= 10 * MAX_RUNS:
            continue
        try:
            if entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        path = Path(entry.path)
        rel = f"{prefix}{entry.name}"
        if _is_run(path):
            found.append(Run(f"{label}/{rel}", path))
        elif depth < MAX_DEPTH:
            _walk(path, label, depth + 1, found, prefix=f"{rel}/")


def _mtime(folder):
    try:
        return max(
            [folder.stat().st_mtime]
            + [(folder / name).stat().st_mtime for name in RUN_FILES if (folder / name).is_file()]
        )
    except OSError:
        return 0.0


def _read_json(path):
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _checkpoint_details(path):
    try:
        state = load_checkpoint(path)
    except LayerwiseError:
        return None
    metadata = state.model.metadata
    return {
        "command": "train",
        "dataset": metadata.get("dataset"),
        "settings": metadata.get("settings"),
        "network": state.model.network.sizes,
        "history": state.history.to_dict(),
    }


def _details(report):
    """The fields of a report (of ``train``, ``reproduce`` or ``tune``, or a checkpoint's
    details) that the list of runs shows."""
    command = report.get("command")
    if not isinstance(command, str):
        command = "reproduce" if "lambdas" in report else "tune" if "space" in report else None
    settings = next(
        (report[k] for k in ("settings", "config", "best_settings") if isinstance(report.get(k), dict)), {}
    )
    dataset = report.get("dataset")
    if isinstance(dataset, dict):
        dataset = dataset.get("name")
    if not isinstance(dataset, str):
        dataset = report.get("data") if isinstance(report.get("data"), str) else settings.get("data")
    network = report.get("network")
    if settings.get("layers"):
        network = settings["layers"]
    elif isinstance(network, list):
        network = "-".join(str(n) for n in network)
    elif isinstance(settings.get("hidden"), (list, str)):
        hidden = settings["hidden"]
        network = "hidden " + (",".join(map(str, hidden)) if isinstance(hidden, list) else hidden)
    accuracy = report.get("test_accuracy", report.get("validation_accuracy"))
    return {
        "command": command,
        "dataset": dataset if isinstance(dataset, str) else None,
        "network": network if isinstance(network, str) else None,
        "accuracy": accuracy
        if isinstance(accuracy, (int, float)) and not isinstance(accuracy, bool)
        else None,
        "evaluated_on": report.get("evaluated_on", "test" if "test_accuracy" in report else None),
    }


def _numbers(values):
    """A list of finite numbers (None for the others), or None when ``values`` is no list."""
    if not isinstance(values, list):
        return None
    return [v if isinstance(v, (int, float)) and v == v and abs(v) != float("inf") else None for v in values]
