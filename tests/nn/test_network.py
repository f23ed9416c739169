import numpy as np
import pytest

import layerwise as lw


def tutorial_network(dtype="float32", seed=0):
    return lw.Network(
        [
            lw.Linear(64, 48, dtype=dtype, seed=seed),
            lw.Sigmoid(),
            lw.Linear(48, 32, dtype=dtype, seed=seed + 1),
            lw.Sigmoid(),
            lw.Linear(32, 10, dtype=dtype, seed=seed + 2),
            lw.Sigmoid(),
        ],
        loss=lw.SoftmaxCrossEntropy(),
    )


def test_public_api_as_documented():
    net = tutorial_network()
    assert [type(layer).__name__ for layer in net.layers] == ["Linear", "Sigmoid"] * 3
    params = net.parameters()
    assert [p.name for p in params] == ["weight", "bias"] * 3
    assert all(p.grad.shape == p.value.shape for p in params)
    assert net.layers[0].weight.value.shape == (64, 48) and net.layers[0].bias.value.shape == (48,)
    X = np.random.default_rng(0).random((7, 64))
    y = np.arange(7)
    loss = net.loss_and_gradients(X, y, l2=0.5)
    assert loss > 0 and all(np.abs(p.grad).sum() > 0 for p in params)
    proba = net.predict_proba(X)
    assert proba.shape == (7, 10) and np.allclose(proba.sum(axis=1), 1, atol=1e-6)
    assert np.array_equal(net.predict(X), proba.argmax(axis=1))


def test_from_spec_builds_the_expected_layers():
    net = lw.Network.from_spec("64-256-128-10", activation="relu", seed=0)
    assert [repr(layer) for layer in net.layers] == [
        "Linear(64, 256, dtype=float32)",
        "ReLU()",
        "Linear(256, 128, dtype=float32)",
        "ReLU()",
        "Linear(128, 10, dtype=float32)",
    ]
    tut = lw.Network.from_spec(
        "64-48-32-10", activation="sigmoid", output_activation="sigmoid", dtype="float64", seed=0
    )
    assert [type(layer).__name__ for layer in tut.layers] == ["Linear", "Sigmoid"] * 3
    assert tut.dtype == np.float64 and tut.sizes == [64, 48, 32, 10]
    drop = lw.Network.from_spec([5, 8, 3], activation="tanh", dropout=0.2, seed=1)
    assert [type(layer).__name__ for layer in drop.layers] == ["Linear", "Tanh", "Dropout", "Linear"]
    a = lw.Network.from_spec("5-8-3", seed=4).get_weights()
    b = lw.Network.from_spec("5-8-3", seed=4).get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("spec", ["64", "64-0-10", "a-b", "64--10"])
def test_bad_specs_are_clear_errors(spec):
    with pytest.raises(lw.LayerwiseError, match="spec"):
        lw.Network.from_spec(spec)


def test_unknown_activation_and_unchained_layers():
    with pytest.raises(lw.LayerwiseError, match="unknown activation 'swish'"):
        lw.Network.from_spec("4-3-2", activation="swish")
    with pytest.raises(
        lw.LayerwiseError, match="layer 1: Linear.2, 2, dtype=float32. takes rows of 2 values, not rows of 3"
    ):
        lw.Network([lw.Linear(4, 3), lw.Linear(2, 2)])


@pytest.mark.parametrize(
    "X, message",
    [
        (np.zeros((3, 5)), "5 features but the network expects 4"),
        (np.zeros(4), "must be 2-D"),
        (np.array([[1, 2, np.nan, 4.0]]), "NaN"),
        (np.array([[1, 2, 3, 4.0], [1, -np.inf, 3, 4]]), "NaN or infinite"),
        (np.array([[1e30, 2, np.inf, 4.0]]), "NaN or infinite"),
        (np.array([["a", "b", "c", "d"]]), "numeric"),
    ],
)
def test_bad_inputs_are_clear_errors(X, message):
    net = lw.Network.from_spec("4-3-2", seed=0)
    with pytest.raises(lw.LayerwiseError, match=message):
        net.predict(X)


def test_huge_finite_inputs_are_accepted():
    # their squares overflow float32, which the fast finiteness check must not take for an infinity
    X = np.full((2, 4), 1e30, np.float32)
    assert lw.Network.from_spec("4-3-2", seed=0).check_X(X) is X


@pytest.mark.parametrize(
    "y, message",
    [
        ([0, 2], "label 2 is out of range"),
        ([0, -1], "label -1"),
        ([0.5, 1], "integers"),
        (["a", "b"], "integers"),
        ([0], "2 examples but y has 1"),
    ],
)
def test_bad_labels_are_clear_errors(y, message):
    net = lw.Network.from_spec("4-3-2", seed=0)
    with pytest.raises(lw.LayerwiseError, match=message):
        net.loss_and_gradients(np.zeros((2, 4)), np.array(y), l2=0.0)


ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu"]


@pytest.mark.parametrize("hidden", [[7], [7, 6], [7, 6, 5], [7, 6, 5, 4]], ids=lambda h: f"{len(h)}hidden")
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("l2, dropout", [(0.0, 0.0), (0.3, 0.0), (0.0, 0.3), (0.3, 0.3)])
def test_gradients_match_finite_differences(hidden, activation, l2, dropout):
    rng = np.random.default_rng(len(hidden))
    X = rng.normal(size=(12, 5))
    y = rng.integers(0, 3, 12)
    net = lw.Network.from_spec([5, *hidden, 3], activation=activation, dropout=dropout, seed=3)
    for layer in net.linears:  # non-zero biases keep pre-activations off ReLU's kink at 0
        layer.bias.value[:] = rng.uniform(0.05, 0.3, layer.n_out)
    errors = lw.gradcheck(net, X, y, l2=l2)
    assert set(errors) == {name for name, _ in net.named_parameters()}
    assert max(errors.values()) < 1e-6, errors


def test_gradcheck_of_the_tutorial_network_and_detection_of_a_wrong_gradient():
    rng = np.random.default_rng(0)
    X, y = rng.random((15, 64)) * 16, rng.integers(0, 10, 15)
    net = tutorial_network(seed=1)
    assert max(lw.gradcheck(net, X, y, l2=0.1, max_checks=200).values()) < 1e-6

    class BrokenSigmoid(lw.Sigmoid):
        def _derivative(self, y, grad, gx):
            return np.multiply(grad, y, out=gx)  # forgets the (1 - y) factor

    broken = lw.Network([lw.Linear(64, 8, seed=0), BrokenSigmoid(), lw.Linear(8, 10, seed=1)])
    assert lw.gradcheck(broken, X, y, max_checks=100)["0.weight"] > 1e-2


def test_astype_and_weights_round_trip():
    net = lw.Network.from_spec("4-3-2", seed=0)
    net64 = net.astype("float64")
    assert net64.dtype == np.float64 and net.dtype == np.float32
    assert all(np.allclose(a, b) for a, b in zip(net.get_weights(), net64.get_weights()))
    net64.layers[0].weight.value[:] = 0
    assert net.layers[0].weight.value.any()  # a copy, not a view
    with pytest.raises(lw.LayerwiseError, match="shape"):
        net.set_weights([np.zeros((2, 2))] * 4)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_predict_finds_every_non_finite_input(activation, bad):
    """predict checks finiteness on the first layer's output: any NaN or infinity in X,
    wherever it is and even where a weight is 0, must still be reported."""
    net = lw.Network.from_spec("20-6-3", activation=activation, output_activation="sigmoid", seed=0)
    net.layers[0].weight.value[7] = 0.0  # a feature whose weights are all 0: inf * 0 = NaN
    rng = np.random.default_rng(1)
    for row, column in [(0, 0), (4, 7), (9, 19)]:
        X = rng.normal(size=(10, 20))
        X[row, column] = bad
        for method in (net.predict, net.predict_proba):
            with pytest.raises(lw.LayerwiseError, match="NaN or infinite"):
                method(X)
    huge = np.full((2, 20), 1e38)  # finite input whose first-layer output overflows
    assert net.predict(huge).shape == (2,)


def test_unaligned_input_is_copied_into_an_aligned_array():
    # Arrays unpickled from a byte stream (data sent to a Dask worker) can start at an odd
    # address; NumPy computes with such arrays without BLAS and several times slower.
    buf = bytearray(4 * 6 * 5 + 1)
    X = np.frombuffer(buf, dtype=np.float32, offset=1, count=30).reshape(6, 5)
    assert not X.flags.aligned
    net = lw.Network.from_spec("5-3-2", seed=0)
    checked = net.check_X(X)
    assert checked.flags.aligned and checked.flags.c_contiguous and checked.dtype == np.float32
    aligned = np.zeros((6, 5), np.float32)
    assert net.check_X(aligned) is aligned  # no copy when none is needed


def test_summary_is_a_table_of_the_layers_with_the_total_number_of_parameters():
    printed = []
    net = tutorial_network()
    text = net.summary(print_fn=printed.append)
    assert printed == [text]
    assert text.splitlines() == [
        "Network: 64 inputs, 10 classes, float32, loss SoftmaxCrossEntropy",
        "#  Layer    Output shape  Parameters",
        "0  Linear   (48,)              3,120",
        "1  Sigmoid  (48,)                  0",
        "2  Linear   (32,)              1,568",
        "3  Sigmoid  (32,)                  0",
        "4  Linear   (10,)                330",
        "5  Sigmoid  (10,)                  0",
        "Total parameters: 5,018 (trainable: 5,018), 19.6 KiB",
    ]
    assert sum(p.value.size for p in net.parameters()) == 5018


def test_summary_prints_by_default_and_counts_every_layer(capsys):
    net = lw.Network.from_spec("784-256-10", activation="leaky_relu", dropout=0.2, dtype="float64", seed=0)
    text = net.summary()
    assert capsys.readouterr().out == text + "\n"
    rows = text.splitlines()[2:-1]
    assert [row.split()[1:3] for row in rows] == [
        ["Linear", "(256,)"], ["LeakyReLU", "(256,)"], ["Dropout", "(256,)"], ["Linear", "(10,)"],
    ]  # fmt: skip
    assert text.endswith("Total parameters: 203,530 (trainable: 203,530), 1.6 MiB")
    assert net.summary(print_fn=None) == text and capsys.readouterr().out == ""


def test_repr_lists_the_layers_with_their_indices_and_shapes():
    assert repr(tutorial_network()) == (
        "Network(\n"
        "  (0): Linear(64, 48, dtype=float32)\n"
        "  (1): Sigmoid()\n"
        "  (2): Linear(48, 32, dtype=float32)\n"
        "  (3): Sigmoid()\n"
        "  (4): Linear(32, 10, dtype=float32)\n"
        "  (5): Sigmoid()\n"
        "  (loss): SoftmaxCrossEntropy()\n"
        ")"
    )
    net = lw.Network.from_spec("4-8-3", activation="leaky_relu", dropout=0.5, dtype="float64", seed=0)
    assert "  (1): LeakyReLU(negative_slope=0.01)\n  (2): Dropout(p=0.5)\n" in repr(net)
