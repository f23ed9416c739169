"""The two kernels of convolution and pooling: choosing them, and the same numbers from both."""

import os
import subprocess
import sys

import numpy as np
import pytest

import layerwise as lw
from layerwise.errors import LayerwiseError
from layerwise.nn import kernels
from layerwise.nn.conv import Conv2D, MaxPool2D


@pytest.fixture(autouse=True)
def restore_choice(monkeypatch):
    monkeypatch.setattr(kernels, "_choice", kernels._choice)


def test_set_and_get_kernels():
    assert lw.set_kernels("numpy") == "numpy" and lw.get_kernels() == "numpy"
    assert lw.set_kernels("numba") == "numba" and lw.get_kernels() == "numba"
    assert lw.set_kernels("auto") == "numba"  # numba is in the test extra
    assert kernels.compiled() is kernels.numba_loops()


def test_unknown_kernels_are_one_sentence_errors():
    with pytest.raises(LayerwiseError, match=r"^kernels must be one of auto, numpy, numba, not 'fortran'$"):
        lw.set_kernels("fortran")


def test_numba_without_numba_is_an_error_and_auto_falls_back_to_numpy(monkeypatch):
    monkeypatch.setattr(kernels, "numba_loops", lambda: None)
    with pytest.raises(LayerwiseError, match=r"pip install 'layerwise\[numba\]'"):
        lw.set_kernels("numba")
    assert lw.set_kernels("auto") == "numpy" and kernels.compiled() is None


@pytest.mark.parametrize(("value", "expected"), [("numpy", "numpy"), ("numba", "numba"), ("auto", "numba")])
def test_the_environment_variable_chooses_at_start(value, expected):
    code = "import layerwise as lw; print(lw.get_kernels())"
    env = {**os.environ, "LAYERWISE_KERNELS": value}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


def test_a_bad_environment_variable_is_a_one_line_error_on_first_use(monkeypatch):
    monkeypatch.setattr(kernels, "_choice", None)
    monkeypatch.setenv("LAYERWISE_KERNELS", "fast")
    with pytest.raises(
        LayerwiseError, match=r"^LAYERWISE_KERNELS must be one of auto, numpy, numba, not 'fast'$"
    ):
        lw.get_kernels()


# --- the same numbers from both -------------------------------------------------------


def run(kind, layer_args, x, g, compiled_from=1):
    """forward, input gradient and parameter gradients of a fresh layer with ``kind`` kernels."""
    lw.set_kernels(kind)
    layer = Conv2D(*layer_args[0], **layer_args[1])
    layer._compiled_from_channels = compiled_from
    out = layer.forward(x).copy()
    gx = layer.backward(g).copy()
    return out, gx, layer.weight.grad.copy(), layer.bias.grad.copy()


CASES = [
    # (N, C, H, W), out channels, kernel, stride, padding
    ((2, 1, 7, 5), 3, 3, 1, 1),
    ((3, 3, 9, 8), 4, (3, 2), (2, 1), (1, 0)),
    ((2, 8, 6, 6), 5, 1, 1, 0),
    ((4, 33, 5, 7), 2, (2, 3), 2, (2, 1)),
    ((1, 16, 11, 4), 7, 4, (3, 2), 2),
    ((17, 9, 5, 5), 3, 5, 1, 2),  # kernel as large as the padded image
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv_kernels_agree(case, dtype):
    shape, out_channels, kernel, stride, padding = case
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(dtype)
    args = (
        (shape[1], out_channels, kernel),
        {"stride": stride, "padding": padding, "dtype": dtype, "seed": 1},
    )
    out_shape = (shape[0], *Conv2D(*args[0], **args[1]).output_shape(shape[1:]))
    g = rng.normal(size=out_shape).astype(dtype)
    ours, theirs = run("numpy", args, x, g), run("numba", args, x, g)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("shape", "kernel", "stride"),
    [
        ((3, 5, 8, 8), 2, None),
        ((2, 4, 9, 7), 3, 2),
        ((2, 3, 7, 9), (2, 3), 1),
        ((2, 6, 10, 10), 2, 3),
        ((1, 2, 5, 6), (3, 1), (1, 2)),
    ],
    ids=str,
)
def test_maxpool_kernels_agree_exactly_with_ties_first(shape, kernel, stride):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, size=shape).astype(np.float32)  # many ties
    results = []
    for kind in ("numpy", "numba"):
        lw.set_kernels(kind)
        pool = MaxPool2D(kernel, stride=stride)
        out = pool.forward(x).copy()
        g = np.arange(out.size, dtype=np.float32).reshape(out.shape)
        results.append((out, pool.backward(g).copy()))
        pool.training = False
        np.testing.assert_array_equal(pool.forward(x), out)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_maxpool_kernels_both_propagate_nan():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 1] = np.nan
    for kind in ("numpy", "numba"):
        lw.set_kernels(kind)
        out = MaxPool2D(2).forward(x)
        assert np.isnan(out[0, 0, 0, 0]) and np.count_nonzero(np.isnan(out)) == 1


def cnn(seed):
    return lw.Network(
        [
            lw.Reshape((1, 12, 12)),
            lw.Conv2D(1, 8, 3, padding=1, seed=seed),
            lw.BatchNorm(8),
            lw.ReLU(),
            lw.MaxPool2D(2),
            lw.Conv2D(8, 12, 3, padding=1, seed=seed + 1),
            lw.ReLU(),
            lw.MaxPool2D(2),
            lw.Flatten(),
            lw.Linear(12 * 3 * 3, 4, seed=seed + 2),
        ]
    )


def test_a_cnn_trains_to_the_same_weights_with_both_kernels():
    # float64 and SGD: Adam would turn the rounding noise of the first convolution's bias
    # gradient (zero in exact arithmetic, since BatchNorm follows) into whole steps
    rng = np.random.default_rng(2)
    X, y = rng.random((96, 144)), rng.integers(0, 4, 96)
    weights = {}
    for kind in ("numpy", "numba"):
        lw.set_kernels(kind)
        net = cnn(3).astype("float64")
        history = lw.fit(net, X, y, optimizer=lw.SGD(lr=0.05, momentum=0.9), epochs=3, batch_size=32, seed=0)
        weights[kind] = [p.value.copy() for p in net.parameters()], history.train_loss
    for a, b in zip(weights["numpy"][0], weights["numba"][0]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(weights["numpy"][1], weights["numba"][1], rtol=1e-9)
    assert weights["numpy"][1][-1] < weights["numpy"][1][0]  # it learned something


@pytest.mark.parametrize("layout", ["rows", "nchw", "channels-last", "mixed", "strided"])
def test_relu_backward_kernels_agree(layout):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(6, 5, 4, 3)).astype(np.float32)
    g = rng.normal(size=x.shape).astype(np.float32)
    if layout == "rows":
        x, g = x.reshape(6, -1), g.reshape(6, -1)
    elif layout == "channels-last":
        x, g = (a.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2) for a in (x, g))
    elif layout == "mixed":
        g = g.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)
    elif layout == "strided":
        x, g = x[:, ::2], g[:, ::2]
    results = []
    for kind in ("numpy", "numba"):
        lw.set_kernels(kind)
        relu = lw.ReLU()
        relu.forward(x)
        results.append(relu.backward(g).copy())
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[1], np.where(x > 0, g, 0))


def test_flat_views_only_for_arrays_laid_out_alike_in_one_block():
    a = np.zeros((2, 3, 4, 5), np.float32)
    last = a.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)
    views = kernels.flat(last, last.copy(order="K"))
    assert views is not None and all(v.ndim == 1 and np.shares_memory(v, last) for v in views[:1])
    assert kernels.flat(a, last) is None  # different memory orders
    assert kernels.flat(a[:, ::2], a[:, ::2]) is None  # alike, but not one block
    assert kernels.flat(a.transpose(3, 1, 0, 2), a.transpose(3, 1, 0, 2)) is not None  # any order


def test_networks_of_rows_never_load_numba():
    code = (
        "import sys, numpy as np, layerwise as lw\n"
        "net = lw.Network([lw.Linear(4, 8, seed=0), lw.ReLU(), lw.Linear(8, 2, seed=1)])\n"
        "X = np.random.default_rng(0).random((40, 4)); y = np.arange(40) % 2\n"
        "lw.fit(net, X, y, epochs=2, batch_size=8, seed=0)\n"
        "print('numba' in sys.modules)\n"
        "lw.MaxPool2D(2).forward(X[:8].reshape(2, 1, 4, 4))\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_without_a_writable_cache_folder_the_loops_still_compile():
    # numba raises "cannot cache function ...: no locator available" when no folder for
    # its cache is writable (a read-only install, no home directory)
    code = (
        "from numba.core import caching\n"
        "caching.CacheImpl._locator_classes = []\n"
        "import numpy as np, layerwise as lw\n"
        "lw.set_kernels('numba')\n"
        "out = lw.MaxPool2D(2).forward(np.arange(32.0).reshape(1, 2, 4, 4))\n"
        "print(out[0, 1].tolist())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[[21.0, 23.0], [29.0, 31.0]]"


def test_a_missing_numba_is_looked_for_once(monkeypatch):
    # without numba, "auto" asks at every convolution: the failed import must not be retried
    monkeypatch.setattr(kernels, "_imported", False)
    monkeypatch.setattr(kernels, "_compiled", None)
    monkeypatch.delitem(sys.modules, "layerwise.nn._numba_kernels", raising=False)
    monkeypatch.delattr(lw.nn, "_numba_kernels", raising=False)
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    lw.set_kernels("auto")
    assert lw.get_kernels() == "numpy" and kernels.compiled() is None
    monkeypatch.delitem(sys.modules, "numba")  # numba importable again: not looked for
    assert kernels.numba_loops() is None and "layerwise.nn._numba_kernels" not in sys.modules
    x = np.ones((2, 8, 5, 5), np.float32)
    assert Conv2D(8, 3, 3, padding=1).forward(x).shape == (2, 3, 5, 5)
