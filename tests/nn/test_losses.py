import warnings

import numpy as np
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
