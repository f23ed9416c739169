"""Which loops copy pixels for convolution and pooling: NumPy's or compiled ones.

Convolution and pooling (``conv.py``) spend much of their time outside matrix products,
copying pixels into column matrices (im2col), adding column gradients back (col2im) and
finding the maxima of pooling windows; ReLU's backward passes over the same large images.
Each of these has two implementations that give the same numbers (tested to agree to 1e-6):

- "numpy": strided copies and elementwise calls per kernel offset, in ``conv.py`` (and
  ``layers.py``). NumPy is the only dependency the core needs, and this path always works.
- "numba": the same loops compiled by numba (the optional extra ``layerwise[numba]``),
  one pass over the pixels each, in ``_numba_kernels.py``. Measured on a convolutional
  network for Fashion-MNIST (docs/benchmarks.md), a training step is 1.4 times faster.

``get_kernels()`` says which is used; ``set_kernels(name)`` chooses ("auto", the default:
numba when it is installed, else NumPy); the environment variable ``LAYERWISE_KERNELS``
sets the choice at start (for command lines and worker processes). The compiled loops run
on one thread: the matrix products between them already use every core through BLAS, and
two thread pools spinning on the same cores were measured several times slower.

The loops take images as NHWC arrays (batch, height, width, channels): the layers keep
their outputs channels-last in memory (see ``conv.py``).
"""

import os
from typing import Any

from ..errors import LayerwiseError

KERNELS = ("auto", "numpy", "numba")
ENVIRONMENT_VARIABLE = "LAYERWISE_KERNELS"

_choice: str | None = None  # what set_kernels or the environment asked for
_compiled: Any = None  # the numba loops, once imported
_imported = False  # whether importing them was tried (once: a failed import is not cached)


def _check(name: object, where: str) -> str:
    if name not in KERNELS:
        raise LayerwiseError(f"{where} must be one of {', '.join(KERNELS)}, not {name!r}")
    return str(name)


def numba_loops() -> Any:
    """The compiled loops (``_numba_kernels``), or None when numba is not installed."""
    global _compiled, _imported
    if not _imported:
        _imported = True
        try:
            from . import _numba_kernels
        except ImportError:
            return None
        _compiled = _numba_kernels
    return _compiled


def set_kernels(name: str) -> str:
    """Choose the loops of convolution and pooling: "numpy", "numba" or "auto".

    Results agree to 1e-6 whichever is chosen; "numba" is faster (see ``get_kernels``).

    Parameters
    ----------
    name : {"auto", "numpy", "numba"}
        "auto": numba when it is installed (``pip install layerwise[numba]``), else NumPy.

    Returns
    -------
    str
        The kernels now used: "numpy" or "numba".

    Raises
    ------
    LayerwiseError
        If ``name`` is unknown, or is "numba" and numba is not installed.

    Examples
    --------
    >>> import layerwise as lw
    >>> lw.set_kernels("numpy")
    'numpy'
    >>> lw.get_kernels()
    'numpy'
    >>> lw.set_kernels("auto") in ("numpy", "numba")
    True
    """
    global _choice
    name = _check(name, "kernels")
    if name == "numba" and numba_loops() is None:
        raise LayerwiseError("kernels 'numba' need numba: pip install 'layerwise[numba]'")
    _choice = name
    return get_kernels()


def get_kernels() -> str:
    """Return the loops convolution and pooling use now: "numpy" or "numba".

    Without ``set_kernels``, the environment variable ``LAYERWISE_KERNELS`` ("auto",
    "numpy" or "numba") decides, and "auto" when it is not set: numba when installed.

    Returns
    -------
    str
        "numpy" or "numba".

    Raises
    ------
    LayerwiseError
        If ``LAYERWISE_KERNELS`` holds an unknown name, or "numba" without numba.

    Examples
    --------
    >>> import layerwise as lw
    >>> lw.get_kernels() in ("numpy", "numba")
    True
    """
    global _choice
    if _choice is None:
        _choice = _check(os.environ.get(ENVIRONMENT_VARIABLE, "auto"), ENVIRONMENT_VARIABLE)
        if _choice == "numba" and numba_loops() is None:
            raise LayerwiseError(f"{ENVIRONMENT_VARIABLE}=numba needs numba: pip install 'layerwise[numba]'")
    if _choice == "numpy":
        return "numpy"
    return "numba" if numba_loops() is not None else "numpy"


def flat(*arrays: Any) -> list[Any] | None:
    """1-D views of arrays of one shape laid out alike in one contiguous block each (C
    order, or channels-last images), so that a compiled loop can run over them in memory
    order; None when they are not (the caller then uses NumPy)."""
    first = arrays[0]
    if any(a.shape != first.shape or a.strides != first.strides for a in arrays):
        return None
    axes = sorted(range(first.ndim), key=lambda axis: -first.strides[axis])
    if not first.transpose(axes).flags.c_contiguous:
        return None
    return [a.transpose(axes).reshape(-1) for a in arrays]


def compiled() -> Any:
    """The compiled loops when they are chosen, else None (the layers then use NumPy's)."""
    return numba_loops() if get_kernels() == "numba" else None


__all__ = ["get_kernels", "set_kernels"]
