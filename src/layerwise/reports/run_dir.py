"""Run directories (written whole or not at all), JSON reports and report metadata."""

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import LayerwiseError
from ..io.atomic import umask, write_atomic


def check_location(out, hint=""):
    """``out`` can be a new run directory: absent or an empty folder, under folders."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LayerwiseError(f"output directory {out} already exists and is not empty{hint}")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise LayerwiseError(f"cannot write to {out}: {parent} is a file, not a folder")


def default_run_dir(kind, root="runs"):
    return Path(root) / f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}"


@contextmanager
def run_directory(out):
    """Yields a temporary folder beside ``out``; renames it to ``out`` when the block ends
    without an error, and removes it otherwise, so no half-written run directory is left.

    ``out`` must not exist, or be an empty folder. Problems with the location (not
    writable, a file in the way) are reported before any work starts.
    """
    out = Path(out)
    check_location(out)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
        os.chmod(tmp, 0o777 & ~umask())
    except OSError as e:
        raise LayerwiseError(f"cannot write to {parent}: {e.strerror or e}") from None
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise LayerwiseError(f"cannot create {out}: {e.strerror or e}") from None


@contextmanager
def live_run_directory(out, keep=lambda error: False):
    """Creates ``out`` (absent, or an empty folder) for a run that writes into it while it
    works, such as a training that leaves checkpoints; yields its Path. Each file must go
    in whole (``write_atomic``), so the folder never holds a half-written one.

    When the block raises, the folder is removed with what the run wrote into it, unless
    ``keep(error)`` says it holds something worth keeping (a checkpoint to resume from).
    Problems with the location are reported before any work starts.
    """
    out = Path(out)
    check_location(out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LayerwiseError(f"cannot create {out}: {e.strerror or e}") from None
    try:
        yield out
    except BaseException as error:
        if not keep(error):
            _empty(out, remove=created)
        raise


def _empty(folder, remove):
    if remove:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for path in folder.iterdir():
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def write_json(path, obj):
    write_atomic(path, json.dumps(obj, indent=2, default=_jsonable) + "\n")


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _version(package):
    from importlib import metadata  # imported when a report is written: it is slow to import

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment():
    """Versions of Python, the platform and the packages a run depends on."""
    versions = {name: _version(name) for name in ("layerwise", "numpy", "scikit-learn", "matplotlib", "scipy",
                                                     "threadpoolctl")}  # fmt: skip
    versions = {name: v for name, v in versions.items() if v is not None}
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": versions}
