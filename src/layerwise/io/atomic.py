"""Files written whole or not at all: a temporary name in the same folder, then a rename."""

import os
import tempfile
from pathlib import Path


def remove_temporaries(folder, name):
    """Removes what ``write_atomic`` leaves of ``name`` when a process is killed while writing."""
    for path in Path(folder).glob(f".{name}.*"):
        path.unlink(missing_ok=True)


def write_atomic(path, data):
    """Writes bytes or text to ``path`` via a temporary file and a rename."""
    path = Path(path)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~umask())
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
