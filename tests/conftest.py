import signal

import numpy as np
import pytest
import tutorial_oracle


def pytest_configure(config):
    """Ctrl-C (SIGINT) handled as Python does by default, here and so in every subprocess the
    tests start: when the test runner's parent ignores SIGINT (a non-interactive background
    shell), its children would inherit the ignored signal and never be interrupted. A handler
    is reset to the default disposition in a program a subprocess executes; an ignored
    signal is not."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


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
