"""The IDX file format of MNIST, Fashion-MNIST, KMNIST and EMNIST, raw or gzip-compressed.

An IDX file is a header, then the data in row-major order, big-endian:
two zero bytes, a type code, the number of dimensions d, then d 4-byte sizes.
Sizes are checked against the file's length before any array is allocated.
"""

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import LayerwiseError

# type code -> big-endian dtype of the values
TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_CLASSES = 1000
# Deflate, gzip's compression, expands each byte to at most 1032 bytes: a gzip file of n
# bytes cannot hold more than 1032 n bytes of data, whatever its header says.
MAX_DEFLATE_RATIO = 1032


def load_idx(images_path, labels_path):
    """Images and labels from a pair of IDX files: X as float32 of shape (N, pixels), with
    the files' values (0..255 for MNIST), and y as integer labels of shape (N,)."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim < 2:
        raise LayerwiseError(f"{images_path} holds a {images.ndim}-D array, not images (N, rows, ...)")
    if images.size == 0:
        raise LayerwiseError(f"{images_path} holds no images (its header gives {_describe(images.shape)})")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise LayerwiseError(f"{labels_path} holds a {labels.ndim}-D {labels.dtype.name} array, not labels")
    if len(images) != len(labels):
        raise LayerwiseError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    y = labels.astype(np.intp)
    if len(y) and (y.min() < 0 or y.max() >= MAX_CLASSES):
        bad = y[(y < 0) | (y >= MAX_CLASSES)][0]
        raise LayerwiseError(f"{labels_path} has label {bad}, outside 0..{MAX_CLASSES - 1}")
    X = np.empty((len(images), images[0].size if len(images) else 0), np.float32)
    X[...] = images.reshape(len(images), -1)
    return X, y


def image_shape(images_path):
    """The shape of one image, from an IDX file's header: (rows, columns) for MNIST."""
    with _open(images_path) as f:
        _, shape, _ = _read_header(f, Path(images_path))
    return shape[1:]


def read_idx_type(path):
    """The NumPy type of an IDX file's values, from its header."""
    with _open(path) as f:
        dtype, _, _ = _read_header(f, Path(path))
    return dtype.newbyteorder("=")


def read_idx(path):
    """The array an IDX file holds, in native byte order."""
    path = Path(path)
    if not path.is_file():
        raise LayerwiseError(f"{path} does not exist or is not a file")
    try:
        with _open(path) as f:
            dtype, shape, header_size = _read_header(f, path)
            needed = header_size + math.prod(shape) * dtype.itemsize
            _check_length(path, needed, shape)
            data = np.empty(shape, dtype)
            _read_into(f, data, path, needed)
            if f.read(1):
                raise LayerwiseError(f"{path} has more data than its header describes ({_describe(shape)})")
    except (OSError, EOFError, zlib.error) as e:
        raise LayerwiseError(f"{path} cannot be read: {e}") from None
    return data.astype(dtype.newbyteorder("="), copy=False)


def _open(path):
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _read_header(f, path):
    head = f.read(4)
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in TYPES:
        raise LayerwiseError(f"{path} is not an IDX file (bad magic number {head.hex() or 'none'})")
    ndim = head[3]
    if ndim == 0:
        raise LayerwiseError(f"{path} declares 0 dimensions")
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise LayerwiseError(f"{path} is truncated: its header ends after {4 + len(sizes)} bytes")
    shape = struct.unpack(f">{ndim}I", sizes)
    if 0 in shape:  # an empty array, whose other sizes NumPy might not even accept
        raise LayerwiseError(f"{path} holds no data: its header gives the sizes {'x'.join(map(str, shape))}")
    return TYPES[head[2]], shape, 4 + 4 * ndim


def _check_length(path, needed, shape):
    """Compares the length the header implies with the file's (uncompressed) length."""
    size = path.stat().st_size
    header = _describe(shape)
    if _is_gzip(path):
        if needed > size * MAX_DEFLATE_RATIO:
            raise LayerwiseError(
                f"{path} is corrupt: its header ({header}) needs {needed} bytes, more than a gzip file "
                f"of {size} bytes can hold"
            )
        recorded = _gzip_size(path)
        if recorded != needed % 2**32:  # gzip records the length modulo 2^32
            raise LayerwiseError(
                f"{path} is truncated or corrupt: this gzip file of {size} bytes records {recorded} bytes "
                f"of data, but its header ({header}) needs {needed}"
            )
    elif size < needed:
        raise LayerwiseError(
            f"{path} is truncated: it has {size} bytes but its header ({header}) needs {needed}"
        )
    elif size > needed:
        raise LayerwiseError(f"{path} has {size - needed} bytes more than its header ({header}) describes")


def _is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _gzip_size(path):
    """The uncompressed length (modulo 2^32) that a gzip file records in its last 4 bytes."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() < 18:  # shorter than a gzip header and trailer
            return -1
        f.seek(-4, 2)
        return struct.unpack("<I", f.read(4))[0]


def _read_into(f, data, path, needed):
    view = memoryview(data.reshape(-1).view(np.uint8))
    done = 0
    while done < len(view):
        try:
            n = f.readinto(view[done:])
        except EOFError:  # a gzip stream that ends early
            n = 0
        if not n:
            got = needed - (len(view) - done)
            raise LayerwiseError(f"{path} is truncated: it holds {got} bytes but its header needs {needed}")
        done += n


def _describe(shape):
    return f"{shape[0]} items of {'x'.join(map(str, shape[1:]))}" if len(shape) > 1 else f"{shape[0]} items"
