"""Networks follow one example's shape through their layers: Reshape, Flatten, images in."""

import numpy as np
import pytest

import layerwise as lw


def image_net(**kwargs):
    return lw.Network(
        [lw.Reshape((2, 3, 4)), lw.Flatten(), lw.Linear(24, 5, seed=0), lw.ReLU(), lw.Linear(5, 3, seed=1)],
        **kwargs,
    )


def test_shapes_are_followed_layer_by_layer():
    net = image_net()
    assert net.input_shape == (24,)
    assert net.shapes == [(2, 3, 4), (24,), (5,), (5,), (3,)]
    assert (net.n_features, net.n_outputs, net.n_classes) == (24, 3, 3)
    assert net.sizes == [24, 5, 3]


def test_rows_and_images_are_both_taken():
    net = image_net()
    X = np.random.default_rng(0).random((4, 24))
    images = X.reshape(4, 2, 3, 4)
    assert np.array_equal(net.predict_proba(X), net.predict_proba(images))
    assert net.check_X(images).shape == (4, 24)


@pytest.mark.parametrize("shape", [(4, 3, 2, 4), (4, 24, 1), (4, 6, 4)])
def test_images_of_another_shape_are_refused(shape):
    with pytest.raises(lw.LayerwiseError, match=r"X must be of shape \(N, 24\) or \(N, 2, 3, 4\)"):
        image_net().check_X(np.zeros(shape))


def test_input_shape_given_makes_images_the_input():
    net = lw.Network([lw.Flatten(), lw.Linear(12, 2, seed=0)], input_shape=(3, 2, 2))
    assert net.input_shape == (3, 2, 2) and net.n_features == 12
    assert net.check_X(np.zeros((5, 12))).shape == (5, 3, 2, 2)
    assert net.predict(np.zeros((5, 3, 2, 2))).shape == (5,)


def test_an_input_shape_no_layer_fixes_is_asked_for():
    with pytest.raises(lw.LayerwiseError, match="pass input_shape"):
        lw.Network([lw.ReLU(), lw.Flatten(), lw.Linear(12, 2)])


@pytest.mark.parametrize(
    "layers, message",
    [
        ([lw.Linear(4, 8), lw.Linear(6, 3)], "layer 1: Linear.6, 3, dtype=float32. takes rows of 6 values"),
        ([lw.Reshape((2, 2)), lw.Linear(4, 3)], "layer 1: .* put a Flatten.. before it"),
        ([lw.Linear(4, 6), lw.Reshape((4, 2))], "layer 1: Reshape.* needs 8 values per example"),
        ([lw.Linear(4, 6), lw.Reshape((3, 2))], "the last layer's output has shape .3, 2."),
        ([lw.ReLU(), lw.Flatten()], "at least one layer with parameters"),
        ([lw.Linear(4, 3), lw.Linear(3, 2, dtype="float64")], "same dtype"),
    ],
)
def test_layers_that_do_not_fit_are_reported_when_built(layers, message):
    with pytest.raises(lw.LayerwiseError, match=message):
        lw.Network(layers)


@pytest.mark.parametrize("shape", [(), (0, 2), (2, -1), (2.5,), (True,)])
def test_reshape_needs_positive_integer_sizes(shape):
    with pytest.raises(lw.LayerwiseError, match="positive integers"):
        lw.Reshape(shape)


def test_reshape_and_flatten_move_no_value_and_copy_nothing():
    x = np.arange(24.0).reshape(2, 12)
    out = lw.Reshape((3, 2, 2)).forward(x)
    assert np.shares_memory(out, x) and out[1, 2, 1, 0] == x[1, 10]
    flat = lw.Flatten()
    back = flat.forward(out)
    assert np.array_equal(back, x) and np.shares_memory(back, x)
    assert flat.backward(np.ones_like(back)).shape == out.shape


def test_gradients_through_reshape_and_flatten_match_finite_differences():
    rng = np.random.default_rng(0)
    net = image_net()
    errors = lw.gradcheck(net, rng.random((6, 24)), rng.integers(0, 3, 6), l2=0.1)
    assert max(errors.values()) < 1e-6


def test_summary_shows_each_output_shape_and_the_input_shape():
    net = lw.Network([lw.Flatten(), lw.Linear(12, 2, seed=0)], input_shape=(3, 2, 2))
    text = net.summary(print_fn=None)
    assert text.splitlines()[0].startswith("Network: inputs of shape (3, 2, 2), 2 classes")
    assert "Flatten  (12,)" in text


def test_astype_keeps_the_input_shape():
    net = lw.Network([lw.Flatten(), lw.Linear(12, 2, seed=0)], input_shape=(3, 2, 2))
    assert net.astype("float64").input_shape == (3, 2, 2)


def test_inference_in_slices_gives_the_same_outputs(monkeypatch):
    from layerwise.nn import network

    net = lw.Network(
        [
            lw.Reshape((1, 6, 6)),
            lw.Conv2D(1, 4, 3, padding=1, seed=0),
            lw.ReLU(),
            lw.Flatten(),
            lw.Linear(144, 3, seed=1),
        ]
    )
    X = np.random.default_rng(0).random((50, 36))
    whole = net.predict_proba(X)
    monkeypatch.setattr(network, "INFERENCE_VALUES", 144 * 7)  # slices of 7 examples
    sliced = net.predict_proba(X)
    assert np.allclose(sliced, whole, rtol=1e-5, atol=1e-7)  # products of other sizes round apart
    assert np.array_equal(net.predict(X), sliced.argmax(axis=1))


def test_evaluation_goes_in_slices_too(monkeypatch):
    # the validation scores of every epoch: one pass over 6,000 Fashion-MNIST images took a
    # 3 GB peak before
    from layerwise.nn import network

    net = lw.Network(
        [lw.Reshape((1, 6, 6)), lw.Conv2D(1, 4, 3, padding=1, seed=0), lw.Flatten(), lw.Linear(144, 3)]
    )
    X, y = np.random.default_rng(1).random((50, 36)).astype(np.float32), np.arange(50) % 3
    whole = net.evaluate(X, y)
    monkeypatch.setattr(network, "INFERENCE_VALUES", 144 * 7)  # slices of 7 examples
    sizes = []
    forward = net.forward
    monkeypatch.setattr(net, "forward", lambda batch: sizes.append(len(batch)) or forward(batch))
    sliced = net.evaluate(X, y)
    history = lw.fit(net, X, y, epochs=1, batch_size=50, validation_data=(X, y))
    assert sizes[:8] == [7] * 7 + [1] and max(sizes) == 50  # evaluate, then fit's own batch
    assert np.allclose(sliced, whole, rtol=1e-5)
    assert len(history.val_loss) == 1 and sizes[-8:] == [7] * 7 + [1]  # fit's validation


def test_backward_stops_at_the_first_layer_with_parameters():
    calls = []

    class Spy(lw.Reshape):
        def backward(self, grad, input_grad=True):
            calls.append(input_grad)
            return super().backward(grad, input_grad)

    net = lw.Network([Spy((1, 4, 4)), lw.Flatten(), lw.Linear(16, 3, seed=0)])
    net.loss_and_gradients(np.ones((2, 16)), [0, 1])
    assert calls == []  # nothing below the Linear needs a gradient
