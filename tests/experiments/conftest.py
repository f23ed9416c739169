import pytest

from layerwise.data import load_digits


@pytest.fixture(scope="session")
def digits():
    """The tutorial's split of the digits as a search wants it (scaled to [0, 1]); a
    Dataset, which worker processes and Dask workers unpickle from layerwise itself."""
    data = load_digits()
    for X in (data.X_train, data.X_valid, data.X_test):
        X /= 16
    return data
