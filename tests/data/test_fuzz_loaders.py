"""Fuzzed loaders: every file loader on mutated valid files (truncated, bytes flipped,
absurd sizes written over its header, damage inside a valid gzip or zip container).

For every input the loader either loads or raises LayerwiseError; never another exception,
and never an allocation a header asks for beyond what the file can hold (tracemalloc sees
every NumPy allocation). The coverage-guided counterpart is tests/fuzz/fuzz_loaders.py.
"""

import functools
import os
import struct
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from fuzz import targets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerwise.errors import LayerwiseError

# Per kind of file and way of damage: under ten seconds in all. LAYERWISE_FUZZ_EXAMPLES=2000
# searches longer (and draws new examples each run instead of the fixed ones).
EXAMPLES = int(os.environ.get("LAYERWISE_FUZZ_EXAMPLES", 60))
ALLOWANCE = 16 * 2**20  # bytes any load may use besides what the file justifies
DEFLATE_RATIO = 1032


@functools.cache
def seed_files():
    with tempfile.TemporaryDirectory() as folder:
        return targets.seeds(Path(folder))


@st.composite
def mutations(draw, data):
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["truncate", "flip", "size", "insert", "delete"]))
        if kind == "truncate":
            del data[where:]
        elif kind == "flip" and data:
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif kind == "size":
            value = draw(st.sampled_from(targets.ABSURD))
            fmt = draw(st.sampled_from([">I", "<I", "<Q", ">Q"]))
            packed = struct.pack(fmt, value % (1 << (8 * struct.calcsize(fmt))))
            data[where : where + len(packed)] = packed
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[where : where + draw(st.integers(1, 16))]
    return bytes(data)


def load_within_bounds(kind, path):
    """Loads; returns the peak of traced memory and the file's size."""
    size = path.stat().st_size
    tracemalloc.start()
    try:
        targets.load(kind, path)
    except LayerwiseError as e:
        assert str(e) and "\n" not in str(e)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, size


KINDS = ["idx", "idx.gz", "csv", "csv.gz", "npz", "npy", "model", "checkpoint", "toml", "jsonl"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("inside", [False, True], ids=["file", "inside-container"])
@settings(max_examples=EXAMPLES, deadline=None, derandomize="LAYERWISE_FUZZ_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(data=st.data())
def test_a_damaged_file_loads_or_raises_layerwise_error(tmp_path, kind, inside, data):
    seeds = seed_files()
    if inside and kind not in ("idx.gz", "csv.gz", "npz"):
        return  # no container to keep valid
    seed = targets.inner(kind, seeds[kind]) if inside else seeds[kind]
    damaged = data.draw(mutations(seed))
    path = tmp_path / f"fuzz{targets.suffix(kind)}"
    path.write_bytes(targets.wrap(kind, damaged) if inside else damaged)
    peak, size = load_within_bounds(kind, path)
    assert peak <= ALLOWANCE + 8 * DEFLATE_RATIO * size


@pytest.mark.parametrize("kind", KINDS)
def test_the_valid_seed_files_load(tmp_path, kind):
    path = tmp_path / f"seed{targets.suffix(kind)}"
    path.write_bytes(seed_files()[kind])
    if kind in ("idx", "idx.gz"):
        targets.read_idx(path)  # load_idx(path, path) refuses images as labels
    else:
        targets.load(kind, path)


@pytest.mark.parametrize("count", [10**12, 2**32 - 1])
def test_absurd_image_counts_fail_before_allocating(tmp_path, count):
    seeds = seed_files()
    images = bytearray(targets.inner("idx.gz", seeds["idx.gz"]))
    images[4:8] = struct.pack(">I", min(count, 2**32 - 1))
    for kind, content in (("idx", bytes(images)), ("idx.gz", targets.wrap("idx.gz", bytes(images)))):
        path = tmp_path / f"big{targets.suffix(kind)}"
        path.write_bytes(content)
        tracemalloc.start()
        with pytest.raises(LayerwiseError, match="truncated|corrupt"):
            targets.read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < ALLOWANCE


FINDINGS = sorted((Path(__file__).resolve().parents[1] / "fuzz" / "findings").iterdir())


@pytest.mark.parametrize("finding", FINDINGS, ids=[p.name for p in FINDINGS])
def test_what_the_coverage_guided_fuzzer_found_stays_fixed(tmp_path, finding):
    kind, content = targets.decode(finding.read_bytes())
    path = tmp_path / f"finding{targets.suffix(kind)}"
    path.write_bytes(content)
    with pytest.raises(LayerwiseError):
        targets.load(kind, path)
