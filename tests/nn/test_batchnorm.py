import copy
import pickle

import numpy as np
import pytest

import layerwise as lw
from layerwise.nn.normalization import BatchNorm


def numeric_grad(f, a, eps=1e-6):
    """df/da by central differences, a changed in place and restored."""
    out = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        keep = a[i]
        a[i] = keep + eps
        up = f()
        a[i] = keep - eps
        down = f()
        a[i] = keep
        out[i] = (up - down) / (2 * eps)
    return out


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


def random_layer(shape, seed):
    """A float64 BatchNorm with gamma, beta and running statistics away from their defaults."""
    rng = np.random.default_rng(seed)
    layer = BatchNorm(shape[1], dtype="float64")
    layer.gamma.value[:] = rng.uniform(0.5, 2.0, shape[1]) * rng.choice([-1, 1], shape[1])
    layer.beta.value[:] = rng.normal(size=shape[1])
    layer.running_mean[:] = rng.normal(size=shape[1])
    layer.running_var[:] = rng.uniform(0.5, 2.0, shape[1])
    x = rng.normal(3.0, 2.0, shape)
    g = rng.normal(size=shape)
    return layer, x, g


# rows, images with odd and non-square sizes, a single image of several pixels
SHAPES = [(5, 3), (7, 1), (3, 2, 5, 3), (2, 3, 1, 7), (1, 2, 3, 3)]


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_gradients_match_finite_differences_in_float64(shape, training):
    layer, x, g = random_layer(shape, seed=sum(shape))
    layer.training = training

    def loss():
        # the running statistics move at each training pass; the output does not depend on them
        return float(np.sum(layer.forward(x) * g))

    loss()
    analytic = layer.backward(g).copy()
    gamma, beta = layer.gamma.grad.copy(), layer.beta.grad.copy()
    assert analytic.shape == x.shape
    assert relative_error(analytic, numeric_grad(loss, x)) < 1e-6
    assert relative_error(gamma, numeric_grad(loss, layer.gamma.value)) < 1e-6
    assert relative_error(beta, numeric_grad(loss, layer.beta.value)) < 1e-6


def test_training_gradient_of_a_sum_is_zero_and_input_grad_false_skips_it():
    layer, x, g = random_layer((6, 4, 3, 2), seed=0)
    layer.forward(x)
    # sum(y) = n * sum(beta): it does not depend on x
    assert np.abs(layer.backward(np.ones_like(x))).max() < 1e-12
    layer.forward(x)
    assert layer.backward(g, input_grad=False) is None
    layer.forward(x)
    expected_gamma = layer.gamma.grad.copy()
    layer.backward(g)
    np.testing.assert_allclose(layer.gamma.grad, expected_gamma)
    np.testing.assert_allclose(layer.beta.grad, g.sum(axis=(0, 2, 3)))


def reference(x, gamma, beta, running_mean, running_var, momentum, eps):
    """What PyTorch's BatchNorm computes in training mode, written out in float64."""
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    n = x.size // x.shape[1]
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(shape)
    y += beta.reshape(shape)
    running_mean = (1 - momentum) * running_mean + momentum * mean
    running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    return y, running_mean, running_var


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5, 7)], ids=str)
def test_running_statistics_follow_pytorchs_rule(shape):
    rng = np.random.default_rng(1)
    layer = BatchNorm(shape[1], momentum=0.3, eps=1e-3, dtype="float64")
    layer.gamma.value[:] = rng.uniform(0.5, 2, shape[1])
    layer.beta.value[:] = rng.normal(size=shape[1])
    running_mean, running_var = np.zeros(shape[1]), np.ones(shape[1])
    state = layer.state()
    for step in range(4):
        x = rng.normal(step, 1 + step, shape)
        y, running_mean, running_var = reference(
            x, layer.gamma.value, layer.beta.value, running_mean, running_var, 0.3, 1e-3
        )
        np.testing.assert_allclose(layer.forward(x), y, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.running_mean, running_mean, rtol=1e-12)
        np.testing.assert_allclose(layer.running_var, running_var, rtol=1e-12)
    assert state["running_mean"] is layer.running_mean and state["running_var"] is layer.running_var
    layer.training = False
    x = rng.normal(size=shape)
    axes = (1, -1) if len(shape) == 2 else (1, -1, 1, 1)
    expected = (x - running_mean.reshape(axes)) / np.sqrt(running_var.reshape(axes) + 1e-3)
    expected = expected * layer.gamma.value.reshape(axes) + layer.beta.value.reshape(axes)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean, running_mean, rtol=1e-12)  # not updated


@pytest.mark.parametrize("shape", [(16, 6), (8, 4, 5, 3)], ids=str)
def test_outputs_gradients_and_running_statistics_equal_pytorchs(shape):
    import torch  # in the test extra: the peer the layer is compared with

    rng = np.random.default_rng(2)
    layer = BatchNorm(shape[1], momentum=0.2)
    module = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(shape[1], momentum=0.2)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(rng.uniform(0.5, 2, shape[1]).astype(np.float32)))
        module.bias.copy_(torch.from_numpy(rng.normal(size=shape[1]).astype(np.float32)))
    layer.gamma.value[:] = module.weight.detach().numpy()
    layer.beta.value[:] = module.bias.detach().numpy()
    for step in range(3):
        x = rng.normal(2 * step, 1 + step, shape).astype(np.float32)
        g = rng.normal(size=shape).astype(np.float32)
        tx = torch.from_numpy(x.copy()).requires_grad_()
        module.zero_grad()
        out = module(tx)
        out.backward(torch.from_numpy(g))
        np.testing.assert_allclose(layer.forward(x), out.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.backward(g), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.gamma.grad, module.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(layer.beta.grad, module.bias.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(layer.running_mean, module.running_mean.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.running_var, module.running_var.numpy(), rtol=1e-5, atol=1e-6)
    layer.training = False
    module.eval()
    x = rng.normal(size=shape).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-4, atol=1e-5)


def test_state_is_the_live_running_statistics():
    layer = BatchNorm(3)
    state = layer.state()
    assert sorted(state) == ["running_mean", "running_var"]
    assert state["running_mean"].dtype == np.float32 and not state["running_mean"].any()
    assert np.array_equal(state["running_var"], np.ones(3))
    x = np.random.default_rng(0).normal(4.0, 1.0, (10, 3)).astype(np.float32)
    layer.forward(x)
    assert layer.state()["running_mean"] is state["running_mean"] and state["running_mean"].min() > 0.3
    # loading a model writes into them: inference then uses what was written
    state["running_mean"][:] = [1.0, 2.0, 3.0]
    state["running_var"][:] = 4.0
    layer.training = False
    out = layer.forward(np.array([[1.0, 2.0, 5.0]], np.float32))
    np.testing.assert_allclose(out, [[0.0, 0.0, 2.0 / np.sqrt(4.0 + 1e-5)]], rtol=1e-6)


def test_parameters_shapes_and_repr():
    layer = BatchNorm(64)
    assert repr(layer) == "BatchNorm(64, momentum=0.1, eps=1e-05, dtype=float32)"
    assert (layer.num_features, layer.momentum, layer.eps, layer.dtype) == (64, 0.1, 1e-5, np.float32)
    assert [(p.name, p.value.shape, p.decay) for p in layer.parameters()] == [
        ("gamma", (64,), False),
        ("beta", (64,), False),
    ]
    assert np.array_equal(layer.gamma.value, np.ones(64)) and not layer.beta.value.any()
    assert layer.input_shape() is None and layer.output_reusable
    assert repr(BatchNorm(3, momentum=0.01, eps=1e-3, dtype="float64")) == (
        "BatchNorm(3, momentum=0.01, eps=0.001, dtype=float64)"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        ((0,), "positive number of features"),
        ((2.5,), "positive number of features"),
        ((True,), "positive number of features"),
        ((4, 1.5), "momentum"),
        ((4, -0.1), "momentum"),
        ((4, 0.1, 0.0), "eps"),
        ((4, 0.1, float("nan")), "eps"),
    ],
)
def test_bad_settings_are_one_sentence_errors(args, message):
    with pytest.raises(lw.LayerwiseError, match=message):
        BatchNorm(*args)
    with pytest.raises(lw.LayerwiseError, match="dtype"):
        BatchNorm(4, dtype="float16")


def test_output_shape_takes_rows_and_images_of_its_features():
    layer = BatchNorm(64)
    assert layer.output_shape((64,)) == (64,)
    assert layer.output_shape((64, 7, 5)) == (64, 7, 5)
    for shape in [(32, 14, 14), (63,), (64, 14), (64, 2, 2, 2), ()]:
        with pytest.raises(lw.LayerwiseError) as caught:
            layer.output_shape(shape)
        message = str(caught.value)
        assert "rows of 64 values or images of 64 channels" in message and str(shape) in message
        assert "\n" not in message


def test_bad_inputs_are_errors_not_silent_conversions():
    layer = BatchNorm(3)
    with pytest.raises(lw.LayerwiseError, match="takes float32 inputs, not float64"):
        layer.forward(np.ones((4, 3)))
    with pytest.raises(lw.LayerwiseError, match="images of 3 channels"):
        layer.forward(np.ones((4, 2, 5, 5), np.float32))
    with pytest.raises(lw.LayerwiseError, match="images of 3 channels"):
        layer.forward(np.ones((4, 3, 5), np.float32))


def test_a_single_value_per_feature_is_refused_while_training_only():
    layer = BatchNorm(3)
    x = np.ones((1, 3), np.float32)
    with pytest.raises(lw.LayerwiseError, match="more than one value per feature while training"):
        layer.forward(x)
    with pytest.raises(lw.LayerwiseError, match=r"shape \(1, 3, 1, 1\)"):
        layer.forward(np.ones((1, 3, 1, 1), np.float32))
    assert not layer.running_mean.any()  # nothing was updated
    assert layer.forward(np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2)).shape == (1, 3, 2, 2)
    layer.training = False
    expected = (1 - layer.running_mean) / np.sqrt(layer.running_var + 1e-5)
    np.testing.assert_allclose(layer.forward(x), expected[None], rtol=1e-6)


def test_astype_copies_parameters_and_state():
    layer = BatchNorm(4)
    layer.forward(np.random.default_rng(0).normal(2, 3, (8, 4)).astype(np.float32))
    layer.gamma.value[:] = [1, 2, 3, 4]
    layer.training = False
    copy64 = layer.astype("float64")
    assert copy64.dtype == np.float64 and layer.dtype == np.float32 and not copy64.training
    assert copy64.running_mean.dtype == copy64.running_var.dtype == np.float64
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(copy64.state()[name], layer.state()[name])
        assert copy64.state()[name] is not layer.state()[name]
    np.testing.assert_allclose(copy64.gamma.value, layer.gamma.value)
    assert not copy64.gamma.grad.any() and copy64.gamma.grad.dtype == np.float64
    x = np.random.default_rng(1).normal(size=(5, 4))
    np.testing.assert_allclose(copy64.forward(x), layer.forward(x.astype(np.float32)), rtol=1e-5, atol=1e-5)
    copy64.running_mean[:] = 9.0
    assert layer.running_mean.max() < 9.0
    with pytest.raises(lw.LayerwiseError, match="float32 or float64"):
        layer.astype("int8")


def test_copies_and_pickles_leave_the_last_pass_and_buffers_behind():
    layer, x, g = random_layer((4, 3, 2, 2), seed=3)
    layer.forward(x)
    for other in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert "_last" not in vars(other) and "_buffers" not in vars(other)
        np.testing.assert_array_equal(other.running_var, layer.running_var)
        other.training = False
        layer.training = False
        np.testing.assert_array_equal(other.forward(x), layer.forward(x))
        layer.training = True


def test_results_do_not_depend_on_what_new_buffers_held(monkeypatch):
    # A new buffer's memory holds whatever was there before: every one must be written in full.
    layer, x, g = random_layer((3, 2, 4, 5), seed=4)
    clean = layer.astype("float64")
    expected = clean.forward(x).copy(), clean.backward(g).copy(), clean.gamma.grad.copy()

    def dirty_empty(shape, dtype=float, **kwargs):
        out = np.full(shape, 7.0, dtype)
        out.reshape(-1)[:1] = 1.0
        return out

    monkeypatch.setattr(np, "empty", dirty_empty)
    np.testing.assert_allclose(layer.forward(x), expected[0], rtol=1e-12)
    np.testing.assert_allclose(layer.backward(g), expected[1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.gamma.grad, expected[2], rtol=1e-12)


def test_float32_statistics_stay_accurate_far_from_zero():
    # the variance is that of the centred values, not E[x^2] - E[x]^2, and the mean is
    # corrected by that of the centred values (PyTorch's is off by up to 1e-4 here)
    x = np.random.default_rng(5).normal(1000.0, 0.5, (64, 8, 6, 6)).astype(np.float32)
    layer = BatchNorm(8)
    out = layer.forward(x)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3), dtype=np.float64), 1.0, rtol=1e-3)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3), dtype=np.float64), 0.0, atol=1e-6)


def test_buffers_are_reused_from_batch_to_batch():
    layer = BatchNorm(4)
    x = np.ones((6, 4, 3, 3), np.float32)
    x[0] = 2
    first = layer.forward(x)
    grad = layer.backward(x)
    assert np.shares_memory(layer.forward(x), first) and np.shares_memory(layer.backward(x), grad)


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (3, 5))
    y = rng.integers(0, 3, n)
    return centers[y] + rng.normal(5.0, 1.0, (n, 5)), y


def test_a_network_mixing_linear_batchnorm_and_relu_trains_and_passes_gradcheck():
    X, y = blobs()
    net = lw.Network(
        [lw.Linear(5, 16, seed=0), lw.BatchNorm(16), lw.ReLU(), lw.Linear(16, 3, seed=1)],
        loss=lw.SoftmaxCrossEntropy(),
    )
    assert net.shapes == [(16,), (16,), (16,), (3,)]
    assert [name for name, _ in net.named_state()] == ["1.running_mean", "1.running_var"]
    assert net.named_state()[0][1] is net.layers[1].running_mean
    history = lw.fit(net, X, y, epochs=8, batch_size=20, optimizer=lw.Adam(0.05), seed=0)
    assert history.train_loss[-1] < history.train_loss[0]
    # the running statistics moved towards those of the first Linear's outputs (about 5 far
    # from zero here, the inputs' mean being 5)
    assert np.abs(net.layers[1].running_mean).max() > 1 and not np.allclose(net.layers[1].running_var, 1)
    assert np.mean(net.predict(X) == y) > 0.9
    # inference uses the running statistics: one example alone gets the same prediction
    assert np.array_equal([net.predict(X[i : i + 1])[0] for i in range(5)], net.predict(X[:5]))
    errors = lw.gradcheck(net, X[:12], y[:12], l2=0.1)
    assert set(errors) == {"0.weight", "0.bias", "1.gamma", "1.beta", "3.weight", "3.bias"}
    assert max(errors.values()) < 1e-6


def test_batchnorm_on_images_and_on_regression_networks_passes_gradcheck():
    rng = np.random.default_rng(1)
    images = lw.Network(
        [
            lw.Reshape((2, 3, 5)),
            lw.BatchNorm(2, dtype="float64"),
            lw.Tanh(),
            lw.Flatten(),
            lw.Linear(30, 3, dtype="float64", seed=0),
        ]
    )
    assert images.input_shape == (30,) and images.shapes[1] == (2, 3, 5)
    X = rng.normal(2.0, 3.0, (7, 30))
    assert max(lw.gradcheck(images, X, np.arange(7) % 3).values()) < 1e-6
    regression = lw.Network(
        [lw.Linear(4, 6, seed=0), lw.BatchNorm(6), lw.ReLU(), lw.Linear(6, 2, seed=1)],
        loss=lw.MeanSquaredError(),
    )
    X = rng.normal(size=(9, 4))
    Y = np.stack([X[:, 0] - X[:, 1], X[:, 2] * 2.0], axis=1)
    assert max(lw.gradcheck(regression, X, Y).values()) < 1e-6


def test_a_network_that_puts_batchnorm_where_it_cannot_go_is_refused():
    with pytest.raises(lw.LayerwiseError, match="layer 1: BatchNorm"):
        lw.Network([lw.Linear(5, 16), lw.BatchNorm(8), lw.Linear(16, 3)])
    with pytest.raises(lw.LayerwiseError, match="images of 4 channels"):
        lw.Network([lw.Reshape((2, 3, 5)), lw.BatchNorm(4), lw.Flatten(), lw.Linear(30, 3)])


def test_a_convolutional_network_with_batchnorm_passes_gradcheck():
    # stride 2, padding, a non-square kernel on non-square images, then max-pooling
    net = lw.Network(
        [
            lw.Reshape((1, 7, 6)),
            lw.Conv2D(1, 3, kernel_size=(3, 2), stride=2, padding=1, seed=0),
            lw.BatchNorm(3),
            lw.ReLU(),
            lw.MaxPool2D(2),
            lw.Flatten(),
            lw.Linear(12, 3, seed=1),
        ]
    )
    assert net.shapes[1:5] == [(3, 4, 4), (3, 4, 4), (3, 4, 4), (3, 2, 2)]
    X = np.random.default_rng(2).normal(size=(5, 42))
    errors = lw.gradcheck(net, X, np.arange(5) % 3)
    assert "2.gamma" in errors and max(errors.values()) < 1e-6
