"""Parsers for command-line values: number lists, layer sizes, positive counts."""

import re

import numpy as np

from ..errors import LayerwiseError

MAX_VALUES = 10_000  # values in one list: more is a typo, not a search
_RANGE = re.compile(r"^\s*(logspace|linspace|geomspace)\(\s*([^,()]+),\s*([^,()]+),\s*([^,()]+)\)\s*$")


def number_list(text, name="value"):
    """ "logspace(-2,2,10)", "linspace(0,1,5)", "geomspace(1e-3,1,4)" or "0.1,1,10" -> floats."""
    m = _RANGE.match(text)
    try:
        if m:
            kind, a, b, n = m.groups()
            count = int(n)
            if not 1 <= count <= MAX_VALUES:
                raise ValueError
            values = getattr(np, kind)(float(a), float(b), count).tolist()
        else:
            values = [float(v) for v in text.split(",")]
    except ValueError:
        raise LayerwiseError(
            f"cannot read {name} list {text!r}: give numbers separated by commas or logspace(a,b,n)"
        ) from None
    if not values or not all(np.isfinite(values)) or len(values) > MAX_VALUES:
        raise LayerwiseError(f"{name} list {text!r} must hold 1 to {MAX_VALUES} finite numbers")
    return values


def hidden_sizes(text):
    """ "48,32" or "48x32" -> (48, 32); "" or "none" -> () (no hidden layer)."""
    text = text.strip().lower()
    if text in ("", "none", "0"):
        return ()
    try:
        sizes = tuple(int(v) for v in re.split(r"[,x]", text))
    except ValueError:
        raise LayerwiseError(f"cannot read hidden sizes {text!r}: give sizes like 48,32") from None
    if min(sizes) < 1:
        raise LayerwiseError(f"hidden sizes must be positive, not {text!r}")
    return sizes


def positive_int(text, name):
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise LayerwiseError(f"{name} must be a positive integer, not {text!r}") from None
    if value < 1:
        raise LayerwiseError(f"{name} must be a positive integer, not {value}")
    return value


def add_backend_arguments(parser):
    """--jobs, --dask and --dask-local, as `tune` and `reproduce` take them."""
    where = parser.add_argument_group("where trainings run")
    where.add_argument("--jobs", type=int, default=None, help="local processes (default: all cores)")
    where.add_argument(
        "--dask", default=None, metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786"
    )
    where.add_argument(
        "--dask-local", type=int, default=None, metavar="N", help="a local Dask cluster of N workers"
    )
