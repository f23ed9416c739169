"""Run directories (written whole or not at all), JSON reports and report metadata.

A run claims its directory when it starts: the folder is created (or taken, when it is an
empty one) and locked while the run works, so that a second run given the same folder,
even one started at the same moment, is refused as if the folder were not empty, instead
of writing its files over the first one's. A failure to write any file of a run (a full
disk, an I/O error, a read-only or vanished folder) ends as one line naming the file and
the cause (a WriteError, io/atomic.py), and leaves no half-written run directory: the run
directory is removed, or keeps only what a resumed run needs, and the error says how to
resume.
"""

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
from ..io.atomic import inside, reason, umask, write_atomic, write_failure, write_new
from ..io.checkpoint import CHECKPOINT_FILENAME

try:
    import fcntl
except ImportError:  # Windows: a run claims its folder by creating it, without a lock
    fcntl = None

_GONE = object()  # the folder went away (or was replaced) while it was being claimed


def check_location(out, hint=""):
    """``out`` can be a new run directory: absent or an empty folder, under folders."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise _refusal(out, hint)
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise LayerwiseError(f"cannot write to {out}: {parent} is a file, not a folder")


def _refusal(out, hint="", busy=False):
    because = ": another run is writing to it" if busy else hint
    return LayerwiseError(f"output directory {out} already exists and is not empty{because}")


def default_run_dir(kind, root="runs"):
    return Path(root) / f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}"


@contextmanager
def _claimed(out, hint=""):
    """Holds ``out`` (absent, or an empty folder) for this run while the block runs: creates
    it with its parents, or takes the empty folder, and locks it; yields whether it was
    created. A run that finds it locked, or no longer empty once it holds the lock, is
    refused with check_location's message."""
    for _ in range(3):
        check_location(out, hint)
        existed = out.exists()
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LayerwiseError(f"cannot write to {out.parent}: {reason(e)}") from None
        try:
            out.mkdir()
            created = True
        except FileExistsError:
            created = False
        except OSError as e:
            raise LayerwiseError(f"cannot create {out}: {reason(e)}") from None
        lock = _lock(out, hint)
        if lock is not _GONE:
            break
    else:
        raise _refusal(out, busy=True)
    if lock is None and not created and not existed:
        raise _refusal(out, busy=True)  # without locks: another run created it since it was checked
    try:
        yield created
    finally:
        if lock is not None:
            os.close(lock)


def _lock(out, hint):
    """A descriptor of the folder ``out``, locked and checked empty; None where folders
    cannot be locked; _GONE when ``out`` was removed or replaced since it was looked at."""
    if fcntl is None:
        return None
    try:
        fd = os.open(out, os.O_RDONLY)
    except FileNotFoundError:
        return _GONE
    except OSError as e:
        raise LayerwiseError(f"cannot create {out}: {reason(e)}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise _refusal(out, busy=True) from None
    except OSError:  # a file system without locks (some network ones): creation claims it
        os.close(fd)
        return None
    try:
        same = os.path.samestat(os.fstat(fd), os.stat(out))
        empty = same and not any(out.iterdir())
    except OSError:
        same = empty = False
    if not same:
        os.close(fd)
        return _GONE
    if not empty:  # a run that held it has finished and left its files
        os.close(fd)
        raise _refusal(out, hint)
    return fd


def _unclaim(out, created):
    """Removes the empty folder a failed run claimed, if it created it."""
    if created:
        try:
            out.rmdir()
        except OSError:
            pass


@contextmanager
def run_directory(out):
    """Yields a temporary folder beside ``out``; renames it to ``out`` when the block ends
    without an error, and removes it otherwise, so no half-written run directory is left.

    ``out`` must not exist, or be an empty folder; it is claimed (created and locked) before
    the block starts, so that a second run given the same folder is refused at once.
    Problems with the location (not writable, a file in the way) are reported before any
    work starts; a failure to write a file in the block is a WriteError naming the file as
    it would have been in ``out``.
    """
    out = Path(out)
    with _claimed(out) as created:
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
            os.chmod(tmp, 0o777 & ~umask())
        except OSError as e:
            _unclaim(out, created)
            raise LayerwiseError(f"cannot write to {out.parent}: {reason(e)}") from None
        try:
            yield tmp
        except BaseException as error:
            shutil.rmtree(tmp, ignore_errors=True)
            _unclaim(out, created)
            failure = write_failure(error, tmp)
            if failure is not None and inside(failure.path, tmp):
                failure = failure.elsewhere(out / os.path.relpath(failure.path, tmp))
            if failure is None or failure is error:
                raise
            raise failure from None
        try:
            _rename_over(tmp, out)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            _unclaim(out, created)
            raise LayerwiseError(f"cannot create {out}: {reason(e)}") from None


def _rename_over(tmp, out):
    """Renames the folder ``tmp`` to ``out``, an empty folder, at once (POSIX)."""
    try:
        os.replace(tmp, out)
    except OSError:
        if os.name != "nt":
            raise
        out.rmdir()  # Windows renames no folder over another
        os.replace(tmp, out)


@contextmanager
def live_run_directory(out, keep=lambda error: False, resume="layerwise train --resume {out}"):
    """Creates ``out`` (absent, or an empty folder) for a run that writes into it while it
    works, such as a training that leaves checkpoints; yields its Path. Each file must go
    in whole (``write_atomic``), so the folder never holds a half-written one. The folder
    is claimed (created and locked) first, so that a second run given it is refused.

    When the block raises, the folder is removed with what the run wrote into it, unless
    ``keep(error)`` says it holds something worth keeping (a checkpoint to resume from).
    When the error is a failure to write a file, it becomes a WriteError naming the file;
    if the folder is kept for its checkpoint, everything else in it is removed, and the
    error says that the checkpoint is intact and how to resume (``resume``, where
    ``{out}`` is the folder). Problems with the location are reported before any work
    starts.
    """
    out = Path(out)
    with _claimed(out) as created:
        try:
            yield out
        except BaseException as error:
            failure = write_failure(error, out)
            if not keep(error):
                _empty(out, remove=created)
            elif failure is not None:
                failure = failure.noted(_keep_only_checkpoint(out, resume.format(out=out)))
            if failure is None or failure is error:
                raise
            raise failure from None


def _keep_only_checkpoint(folder, resume):
    """Removes all but the checkpoint from ``folder``; what to say about it ("" without one)."""
    checkpoint = folder / CHECKPOINT_FILENAME
    if not checkpoint.is_file():
        return ""
    _remove_all_but(folder, {CHECKPOINT_FILENAME})
    return f"the last checkpoint is intact in {checkpoint}; resume with: {resume}"


def create_run_directory(out, name, obj, hint=""):
    """Creates the run directory ``out`` (absent, or an empty folder) with its first file,
    ``name`` holding ``obj`` as JSON, for a run that stays in its folder and can be resumed
    from it (a search, whose search.json says what it searches). The file is written whole,
    and only if no other run has written it first: of two runs given the same folder at
    once, the second is refused as if the folder were not empty. A failure to write leaves
    no folder behind (one that existed, empty, stays). Returns ``out`` as a Path."""
    out = Path(out)
    check_location(out, hint)
    try:
        out.mkdir(parents=True)
        created = True
    except FileExistsError:
        created = False
    except OSError as e:
        raise LayerwiseError(f"cannot create {out}: {reason(e)}") from None
    try:
        written = write_new(out / name, json.dumps(obj, indent=2, default=_jsonable) + "\n")
    except LayerwiseError:
        _unclaim(out, created)
        raise
    if not written:  # the folder was empty a moment ago
        raise _refusal(out, busy=True)
    return out


@contextmanager
def keeping(folder, names, note=""):
    """For a run whose folder can be resumed (a search): when the block fails to write a
    file into ``folder``, removes from it every file but ``names`` (what a resumed run
    needs: the search's settings and its trials so far) and raises the WriteError naming the
    file, with ``note`` (where the trials are and how to resume)."""
    folder = Path(folder)
    try:
        yield
    except BaseException as error:
        failure = write_failure(error, folder)
        if failure is None:
            raise
        _remove_all_but(folder, set(names))
        failure = failure.noted(note)
        if failure is error:
            raise
        raise failure from None


def _remove_all_but(folder, names):
    try:
        paths = list(folder.iterdir())
    except OSError:
        return
    for path in paths:
        if path.name not in names:
            _remove(path)


def _empty(folder, remove):
    if remove:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        _remove_all_but(folder, set())


def _remove(path):
    try:
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)
    except OSError:
        pass


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
