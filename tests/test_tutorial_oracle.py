"""The project's oracle of the tutorial (tests/tutorial_oracle.py) checked on its own."""

import numpy as np
import pytest
import tutorial_oracle as oracle


def test_the_split_is_721_482_594_digits_of_64_pixels(digits_split):
    X_train, X_valid, X_test, y_train, y_valid, y_test = digits_split
    assert [X.shape for X in (X_train, X_valid, X_test)] == [(721, 64), (482, 64), (594, 64)]
    assert [len(y) for y in (y_train, y_valid, y_test)] == [721, 482, 594]
    assert X_train.max() == 16 and X_train.min() == 0  # unscaled pixels, as in the tutorial
    assert set(np.unique(y_train)) == set(range(10))


def test_initial_weights_are_uniform_within_the_tutorials_bound_and_biases_zero_columns():
    weights = oracle.init_weights(rng=np.random.default_rng(0))
    assert [(W.shape, b.shape) for W, b in weights] == [
        ((64, 48), (48, 1)),
        ((48, 32), (32, 1)),
        ((32, 10), (10, 1)),
    ]
    for W, b in weights:
        bound = np.sqrt(6.0 / sum(W.shape))
        assert np.abs(W).max() <= bound and np.abs(W).max() > 0.9 * bound
        assert not b.any()


@pytest.mark.parametrize("lam", [0.0, 0.7])
def test_gradients_of_the_regularised_loss_agree_with_finite_differences(digits_split, lam):
    X_train, _, _, y_train, _, _ = digits_split
    X, y = X_train[:6] / 16.0, y_train[:6]  # scaled, so that no sigmoid saturates and hides an error
    rng = np.random.default_rng(1)
    net = oracle.Network([(W, b + rng.normal(0, 0.1, b.shape)) for W, b in oracle.init_weights(rng=rng)])
    states, P = net.forward(X)
    grads = net.backward(states, P, y, lam)
    N = X.shape[0]

    def loss():
        return net.loss(net.forward(X)[1], y, lam)

    h = 1e-5
    for layer, (gW, gb) in zip(net.layers, grads):
        for param, analytic in ((layer.linear.W, gW / N), (layer.linear.b, gb / N)):
            numeric = np.zeros_like(param)
            for index in np.ndindex(param.shape):
                saved = param[index]
                param[index] = saved + h
                up = loss()
                param[index] = saved - h
                down = loss()
                param[index] = saved
                numeric[index] = (up - down) / (2 * h)
            assert np.linalg.norm(numeric - analytic) <= 1e-6 * np.linalg.norm(analytic)


def test_the_l2_term_penalises_weights_and_not_biases():
    weights = oracle.init_weights(rng=np.random.default_rng(2))
    X = np.random.default_rng(3).uniform(0, 16, (5, 64))
    y = np.arange(5)
    net = oracle.Network(weights)
    states, P = net.forward(X)
    plain, penalised = net.backward(states, P, y, 0.0), net.backward(states, P, y, 2.5)
    for (W, _), (gW0, gb0), (gW1, gb1) in zip(weights, plain, penalised):
        assert np.allclose(gW1 - gW0, 2.5 * W, rtol=0, atol=1e-12)
        assert np.array_equal(gb1, gb0)
    penalty = sum((W**2).sum() for W, _ in weights)
    assert np.isclose(net.loss(P, y, 2.5) - net.loss(P, y, 0.0), 2.5 / (2 * 5) * penalty, rtol=1e-12)


@pytest.mark.slow
def test_a_short_run_learns_the_digits(digits_split):
    X_train, X_valid, _, y_train, y_valid, _ = digits_split
    weights, history = oracle.train(
        X_train, y_train, 0.6, X_valid, y_valid, epochs=200, rng=np.random.default_rng(0)
    )
    assert len(history["train"]) == len(history["validation"]) == 200
    # Softmax over sigmoid outputs in (0, 1): the cross-entropy cannot go below -log(e / (e + 9)) = 1.46.
    assert history["train"][0] > 2.2 and history["train"][-1] < 1.8
    assert history["validation"][0] > 2.2 and history["validation"][-1] < 1.9
    assert oracle.accuracy(weights, X_valid, y_valid) >= 0.85  # chance is 0.1
