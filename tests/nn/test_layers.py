import warnings

import numpy as np
import pytest

import layerwise as lw


def numeric_input_grad(layer, x, g, eps=1e-6):
    """d(sum(forward(x) * g))/dx by central differences."""
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + eps
        up = float(np.sum(layer.forward(x.copy()) * g))
        x[i] = keep - eps
        down = float(np.sum(layer.forward(x.copy()) * g))
        x[i] = keep
        out[i] = (up - down) / (2 * eps)
    return out


@pytest.mark.parametrize("layer", [lw.Sigmoid(), lw.Tanh(), lw.ReLU(), lw.LeakyReLU(0.1)], ids=repr)
def test_activation_backward_matches_finite_differences(layer):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2, (6, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink of ReLU
    g = rng.normal(size=(6, 5))
    layer.forward(x.copy())
    analytic = layer.backward(g).copy()
    numeric = numeric_input_grad(layer, x, g)
    assert np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric) < 1e-8


def test_linear_bias_gradient_does_not_depend_on_what_memory_held(monkeypatch):
    # A new buffer's memory holds whatever was there before; one that happens to start with
    # 1.0 once made the bias gradient's column sum go wrong.
    def dirty_empty(shape, dtype=float, **kwargs):
        out = np.full(shape, 7.0, dtype)
        out.reshape(-1)[:1] = 1.0
        return out

    layer = lw.Linear(4, 3, dtype="float64", seed=0)
    g = np.random.default_rng(0).normal(size=(5, 3))
    monkeypatch.setattr(np, "empty", dirty_empty)
    layer.forward(np.ones((5, 4)))
    layer.backward(g)
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0))


def test_linear_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    layer = lw.Linear(4, 3, dtype="float64", seed=0)
    x = rng.normal(size=(5, 4))
    g = rng.normal(size=(5, 3))
    layer.forward(x)
    gx = layer.backward(g).copy()
    assert np.allclose(gx, numeric_input_grad(layer, x, g), atol=1e-8)
    assert np.allclose(layer.weight.grad, x.T @ g)
    assert np.allclose(layer.bias.grad, g.sum(axis=0))


def test_linear_shapes_init_and_repr():
    layer = lw.Linear(64, 48, seed=0)
    assert layer.weight.value.shape == (64, 48) and layer.bias.value.shape == (48,)
    assert layer.weight.value.dtype == np.float32
    limit = np.sqrt(6 / (64 + 48))
    assert np.abs(layer.weight.value).max() <= limit
    assert np.abs(layer.weight.value).max() > 0.9 * limit
    assert not layer.bias.value.any()
    assert repr(layer) == "Linear(64, 48, dtype=float32)"
    assert layer.weight.decay and not layer.bias.decay
    he = lw.Linear(1000, 500, init="he_normal", seed=0)
    assert abs(he.weight.value.std() - np.sqrt(2 / 1000)) < 0.002
    assert np.array_equal(lw.Linear(3, 2, seed=5).weight.value, lw.Linear(3, 2, seed=5).weight.value)


@pytest.mark.parametrize(
    "bad", [dict(n_in=0, n_out=3), dict(n_in=3, n_out=2, init="zeros"), dict(n_in=3, n_out=2, dtype="int32")]
)
def test_linear_rejects_bad_settings(bad):
    with pytest.raises(lw.LayerwiseError):
        lw.Linear(**bad)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_is_stable_for_huge_inputs(dtype):
    z = np.array([[-1e4, -100.0, 0.0, 100.0, 1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = lw.Sigmoid().forward(z)
    assert y.dtype == np.dtype(dtype)
    assert y[0, 0] == 0 and y[0, 2] == 0.5 and y[0, 4] == 1
    assert np.all((y >= 0) & (y <= 1))


def test_sigmoid_matches_the_textbook_formula():
    z = np.linspace(-30, 30, 101)[None, :]
    assert np.allclose(lw.Sigmoid().forward(z), 1 / (1 + np.exp(-z)), rtol=1e-12, atol=1e-15)


def test_dropout_is_inverted_seeded_and_off_at_inference():
    x = np.ones((2000, 50), np.float32)
    layer = lw.Dropout(0.25, seed=3)
    y = layer.forward(x).copy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.01
    assert abs(y.mean() - 1) < 0.02  # inverted: the expectation is unchanged
    assert np.array_equal(lw.Dropout(0.25, seed=3).forward(x), y)
    g = np.full_like(x, 2.0)
    assert np.array_equal(layer.backward(g), 2 * y)
    layer.training = False
    assert layer.forward(x) is x


def test_buffers_are_reused_per_batch_size():
    layer = lw.Linear(3, 2, seed=0)
    a = layer.forward(np.ones((4, 3), np.float32))
    b = layer.forward(np.ones((5, 3), np.float32))
    assert a is layer.forward(np.ones((4, 3), np.float32)) and b.shape == (5, 2)
