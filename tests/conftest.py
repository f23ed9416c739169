import sys
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def reference():
    """The tutorial's algorithm (../shared/reference/tutorial.py), to cross-check against."""
    path = SHARED / "reference"
    assert (path / "tutorial.py").exists(), f"the reference tutorial is missing from {path}"
    sys.path.insert(0, str(path))
    import tutorial

    return tutorial


@pytest.fixture(scope="session")
def digits_split(reference):
    return reference.split_digits()


@pytest.fixture
def blobs():
    """A small, easy 3-class problem."""
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, (3, 5))
    y = rng.integers(0, 3, 90)
    X = centers[y] + rng.normal(0, 1, (90, 5))
    return X, y
