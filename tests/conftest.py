import numpy as np
import pytest
import tutorial_oracle


@pytest.fixture(scope="session")
def reference():
    """The tutorial's algorithm as the project's oracle writes it (tests/tutorial_oracle.py)."""
    return tutorial_oracle


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
