"""NumPy's NPY and NPZ files, read without trusting their headers and never unpickling.

``np.load`` allocates the array an NPY header describes before reading its data, so a
header that claims 10^12 values asks for terabytes. Here the size an array's header
implies is compared with the bytes the file, or the NPZ archive's member, holds before
anything is allocated, and the members of an archive must be stored or deflated with a
size they can hold. Arrays of Python objects are refused.
"""

import math
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import LayerwiseError

MAX_HEADER = 2**16  # NPY headers are a few hundred bytes
MAX_DEFLATE_RATIO = 1032  # deflate expands a byte to at most 1032 bytes
# What zipfile, gzip and zlib raise on damaged input (UnicodeDecodeError: a member's name).
_FILE_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, RuntimeError, NotImplementedError,
                UnicodeDecodeError)  # fmt: skip


def read_npy(path):
    """The array of an NPY file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _read_array(f, path.stat().st_size, path)
    except _FILE_ERRORS as e:
        raise LayerwiseError(f"{path} cannot be read: {e}") from None


def read_npz(path):
    """The arrays of an NPZ archive, by name ("X" for the member X.npy)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if info.filename.endswith(".npy")]
            for info in members:
                _check_member(info, path)
            arrays = {}
            for info in members:
                with archive.open(info) as f:
                    arrays[info.filename[:-4]] = _read_array(f, info.file_size, f"{path}:{info.filename}")
            return arrays
    except _FILE_ERRORS as e:
        raise LayerwiseError(f"{path} is not a readable NPZ file: {e}") from None


def _check_member(info, path):
    name = f"{path}:{info.filename}"
    if info.flag_bits & 0x1:
        raise LayerwiseError(f"{name} is encrypted")
    if info.compress_type == zipfile.ZIP_STORED:
        limit = info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        limit = info.compress_size * MAX_DEFLATE_RATIO
    else:
        raise LayerwiseError(f"{name} uses a compression other than deflate, which is not read")
    if info.file_size > limit:
        raise LayerwiseError(
            f"{name} claims {info.file_size} bytes, more than its {info.compress_size} "
            "compressed bytes can hold"
        )


def _read_array(f, size, name):
    """The array in the NPY stream ``f`` of ``size`` bytes, checked before it is allocated."""
    shape, fortran_order, dtype = _header(f, name)
    if dtype.hasobject:
        raise LayerwiseError(f"{name} holds Python objects, which cannot be loaded safely")
    if dtype.itemsize == 0 or any(n < 0 for n in shape):
        raise LayerwiseError(f"{name} describes an array of shape {shape} and type {dtype}, which is invalid")
    needed = math.prod(shape) * dtype.itemsize
    held = size - f.tell()
    if needed != held:
        raise LayerwiseError(
            f"{name} is damaged: its header describes {needed} bytes of data ({dtype} {shape}) "
            f"but it holds {held}"
        )
    data = f.read(needed)
    if len(data) != needed:
        raise LayerwiseError(f"{name} is truncated: it holds {len(data)} bytes of data, not {needed}")
    array = np.frombuffer(data, dtype=dtype, count=math.prod(shape))
    return array.reshape(shape, order="F" if fortran_order else "C")


def _header(f, name):
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            return fmt.read_array_header_1_0(f, max_header_size=MAX_HEADER)
        if version in ((2, 0), (3, 0)):
            return fmt.read_array_header_2_0(f, max_header_size=MAX_HEADER)
    except (ValueError, TypeError, SyntaxError, RecursionError, OverflowError, tokenize.TokenError) as e:
        raise LayerwiseError(f"{name} is not an NPY array: {e}") from None
    raise LayerwiseError(f"{name} has an NPY format version {version} that is not read")
