import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import layerwise as lw
from layerwise.nn.losses import l2_penalty

logits = st.integers(1, 12).flatmap(
    lambda n: st.integers(2, 8).flatmap(
        lambda k: st.tuples(
            arrays(np.float64, (n, k), elements=st.floats(-50, 50)),
            arrays(np.int64, (n,), elements=st.integers(0, k - 1)),
        )
    )
)


@settings(max_examples=200, deadline=None)
@given(logits)
def test_softmax_cross_entropy_identities(case):
    z, y = case
    loss = lw.SoftmaxCrossEntropy()
    value = loss.forward(z, y)
    p = loss.probabilities
    assert np.allclose(p.sum(axis=1), 1)
    assert np.all(p >= 0)
    # the loss is the mean negative log-probability of the true class
    logp = z - z.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    assert np.isclose(value, -logp[np.arange(len(y)), y].mean(), rtol=1e-10, atol=1e-12)
    assert value >= 0
    grad = loss.backward()
    assert grad.shape == z.shape
    assert np.allclose(grad.sum(axis=1), 0, atol=1e-12)  # each row of P - onehot sums to 0
    onehot = np.eye(z.shape[1])[y]
    assert np.allclose(grad, (p - onehot) / len(y))
    # invariant to adding a constant to every logit of a row
    shifted = lw.SoftmaxCrossEntropy().forward(z + 7.5, y)
    assert np.isclose(shifted, value, rtol=1e-9, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(2, 6), st.sampled_from([np.float32, np.float64]))
def test_forward_and_backward_keep_shape_and_dtype(n, k, dtype):
    z = np.random.default_rng(n * k).normal(size=(n, k)).astype(dtype)
    y = np.arange(n) % k
    loss = lw.SoftmaxCrossEntropy()
    loss.forward(z, y)
    assert loss.backward().dtype == dtype and loss.probabilities.dtype == dtype


def test_extreme_logits_give_no_warning_and_no_log_zero():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = lw.SoftmaxCrossEntropy()
        right = loss.forward(z, np.array([0, 1]))
        wrong = loss.forward(z, np.array([1, 0]))
    assert right == 0.0
    assert np.isclose(wrong, 2e4)


def test_l2_penalty_counts_weights_not_biases():
    layer = lw.Linear(3, 2, dtype="float64", seed=0)
    layer.bias.value[:] = 100.0
    expected = 0.5 * 0.3 / 4 * np.sum(layer.weight.value**2)
    assert np.isclose(l2_penalty(layer.parameters(), 0.3, 4), expected)


# --- mean squared error (regression) ----------------------------------------------------


def test_mean_squared_error_and_its_gradient_match_finite_differences():
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    loss = lw.MeanSquaredError()
    assert loss.forward(z, y) == pytest.approx(np.mean((z - y) ** 2))
    grad = loss.backward().copy()
    eps = 1e-6
    for i, j in [(0, 0), (2, 1), (4, 2)]:
        dz = np.zeros_like(z)
        dz[i, j] = eps
        numeric = (loss.forward(z + dz, y) - loss.forward(z - dz, y)) / (2 * eps)
        assert grad[i, j] == pytest.approx(numeric, rel=1e-6)


@pytest.mark.parametrize(
    "y, message",
    [
        ([[1.0, 2.0], [3.0, 4.0]], "2 targets per example but the network has 1 outputs"),
        ([1.0, np.nan], "NaN or infinite"),
        (["a", "b"], "must be numbers"),
        ([1.0, 2.0, 3.0], "X has 2 examples but y has 3 targets"),
        (np.zeros((2, 1, 1)), "shape"),
    ],
)
def test_regression_targets_are_checked(y, message):
    net = lw.Network([lw.Linear(2, 1)], loss=lw.MeanSquaredError())
    with pytest.raises(lw.LayerwiseError, match=message):
        net.check_y(y, 2)


def test_a_regression_network_trains_predicts_and_records_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    net = lw.Network(
        [lw.Linear(3, 16, seed=0), lw.Tanh(), lw.Linear(16, 1, seed=1)], loss=lw.MeanSquaredError()
    )
    errors = lw.gradcheck(net, X[:8], y[:8], l2=0.1)
    assert max(errors.values()) < 1e-6
    history = lw.fit(net, X, y, epochs=60, batch_size=32, optimizer=lw.Adam(lr=0.01), validation_data=(X, y))
    assert history.train_accuracy == [] and history.val_accuracy == []
    assert history.val_loss[-1] < 0.05 * np.var(y)
    pred = net.predict(X)
    assert pred.shape == (256, 1)
    assert np.mean((pred[:, 0] - y) ** 2) == pytest.approx(history.val_loss[-1], rel=1e-4)
    with pytest.raises(lw.LayerwiseError, match="predict_proba is for classification"):
        net.predict_proba(X)
    loss, accuracy = net.evaluate(X, y)
    assert np.isnan(accuracy) and loss == pytest.approx(history.val_loss[-1], rel=1e-4)


def test_early_stopping_on_accuracy_is_refused_for_a_regression():
    net = lw.Network([lw.Linear(2, 1, seed=0)], loss=lw.MeanSquaredError())
    X, y = np.zeros((4, 2)), np.zeros(4)
    with pytest.raises(lw.LayerwiseError, match="a regression has no accuracy"):
        lw.fit(net, X, y, epochs=2, callbacks=[lw.EarlyStopping(monitor="train_accuracy")])
