"""Files written whole or not at all: a temporary name in the same folder, then a rename.

This is also the one place where a failed write becomes the project's one-line error: a
full disk, an I/O error, a read-only or vanished folder raise ``WriteError``, a
LayerwiseError naming the file and the cause ("cannot write runs/x/model.safetensors: No
space left on device"), never an OSError with a traceback. ``write_atomic`` raises it, and
``writing(path)`` turns an OSError raised while writing ``path`` into it, for writers that
cannot go through ``write_atomic`` (an append to a log); ``write_failure`` does it for an
OSError that escapes a block writing into a folder (the run directories, a search).
"""

import errno
import os
import re
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path

from ..errors import LayerwiseError

# Causes that only a write has: an OSError with one of these is a failed write even when it
# does not say which file it was writing (Pillow's, when a figure fills the disk).
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


class WriteError(LayerwiseError):
    """A file (or a folder, when which of its files is not known) that could not be written.

    The message is one line naming it and the cause, with what was kept after a semicolon:
    ``cannot write runs/x/loss.png: No space left on device``. ``path`` is the file or
    folder, ``reason`` the cause in the system's words, ``errno`` its number (or None) and
    ``note`` what the run kept and how to go on ("" for nothing).
    """

    def __init__(self, path, reason, errno=None, folder=False, note=""):
        self.path, self.reason, self.errno, self.folder, self.note = Path(path), reason, errno, folder, note
        target = f"to {path}" if folder else str(path)
        super().__init__(f"cannot write {target}: {reason}" + (f"; {note}" if note else ""))

    def __reduce__(self):  # the arguments are not the message: pickled from worker processes
        return type(self), (self.path, self.reason, self.errno, self.folder, self.note)

    def elsewhere(self, path):
        """The same error, naming ``path`` instead (the file's place once a run is renamed)."""
        return WriteError(path, self.reason, self.errno, self.folder, self.note)

    def noted(self, note):
        """The same error saying ``note`` too (once: a note already given is not repeated)."""
        if not note or note in self.note:
            return self
        both = "; ".join(n for n in (self.note, note) if n)
        return WriteError(self.path, self.reason, self.errno, self.folder, both)


def reason(error):
    """An OSError's cause in words: "No space left on device"."""
    return error.strerror or str(error) or type(error).__name__


@contextmanager
def writing(path):
    """Turns an OSError raised in the block, which writes ``path``, into a WriteError naming it."""
    try:
        yield
    except OSError as e:
        raise WriteError(path, reason(e), e.errno) from None


def write_failure(error, folder):
    """``error``, raised by a block that writes into ``folder``, as a WriteError: itself when
    it is one; for an OSError, one naming the file in ``folder`` it names, or ``folder``
    when it names no file but has the cause of a failed write (a full disk, a read-only
    file system, an I/O error: Pillow's, when a figure fills the disk). None for anything
    else, which is not a failed write into ``folder``."""
    if isinstance(error, WriteError):
        return error
    if not isinstance(error, OSError):
        return None
    if isinstance(error.filename, (str, bytes, os.PathLike)):
        name = Path(os.fsdecode(error.filename))
        if not inside(name, folder):
            return None  # another file: one that was read, say
        return WriteError(_named(name), reason(error), error.errno, folder=is_same(name, folder))
    if error.errno in WRITE_ERRNOS:
        return WriteError(folder, reason(error), error.errno, folder=True)
    return None


def inside(path, folder):
    """Whether ``path`` is ``folder`` or in it (in its tree), whether given relative or absolute."""
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def is_same(path, folder):
    return os.path.abspath(path) == os.path.abspath(folder)


_TEMPORARY = re.compile(r"\.(.+)\.[a-z0-9_]{8}")  # write_atomic's: .model.safetensors.x1y2z3w4


def _named(path):
    """A temporary of write_atomic named as the file it was to become."""
    match = _TEMPORARY.fullmatch(path.name)
    return path.parent / match[1] if match else path


def remove_temporaries(folder, name):
    """Removes what ``write_atomic`` leaves of ``name`` when a process is killed while writing."""
    for path in Path(folder).glob(f".{name}.*"):
        path.unlink(missing_ok=True)


def write_atomic(path, data):
    """Writes ``data`` to ``path`` whole or not at all: into a temporary file beside it,
    synced, then renamed over it. ``data`` is bytes, text, or a function that writes the
    content to the binary file object it is given (``lambda f: fig.savefig(f, format="png")``).

    When it fails (a full disk, an I/O error, a read-only or vanished folder), ``path`` is
    as it was, no temporary is left, and WriteError names ``path`` and the cause.
    """
    path = Path(path)
    with writing(path):
        tmp = _temporary(path, data)
        try:
            os.replace(tmp, path)
        except BaseException:
            _unlink(tmp)
            raise


def write_new(path, data):
    """Writes ``data`` (as ``write_atomic`` does) to ``path`` only if no file is there, at
    once: of two processes that try at the same moment, one writes it. Returns whether this
    one did; a failure to write raises WriteError."""
    path = Path(path)
    with writing(path):
        tmp = _temporary(path, data)
        try:
            os.link(tmp, path)  # atomic, and refused when path exists
            return True
        except FileExistsError:
            return False
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            # a file system without hard links: claim the name, then fill it by a rename
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            except FileExistsError:
                return False
            os.replace(tmp, path)
            return True
        finally:
            _unlink(tmp)


def _temporary(path, data):
    """A synced temporary file beside ``path`` holding ``data``; its path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w" if isinstance(data, str) else "wb") as f:
            os.chmod(tmp, 0o666 & ~umask())
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path):
    with suppress(OSError):
        os.unlink(path)


def umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
