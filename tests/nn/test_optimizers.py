import numpy as np
import pytest

import layerwise as lw


def param(value):
    p = lw.Parameter("w", np.array(value, dtype=np.float64), decay=True)
    return p


def test_sgd_momentum_is_the_tutorials_rule():
    p = param([1.0, -2.0])
    opt = lw.SGD(lr=0.2, momentum=0.9)
    v = np.zeros(2)
    w = p.value.copy()
    for g in ([0.5, 1.0], [0.25, -1.0], [1.0, 0.0]):
        p.grad[:] = g
        opt.step([p])
        v = 0.9 * v - 0.2 * np.array(g)
        w = w + v
        assert np.allclose(p.value, w)


def test_plain_and_nesterov_sgd():
    p = param([1.0])
    p.grad[:] = 2.0
    lw.SGD(lr=0.1).step([p])
    assert np.allclose(p.value, 0.8)
    p, v, w = param([1.0]), 0.0, 1.0
    opt = lw.SGD(lr=0.1, momentum=0.5, nesterov=True)
    for g in (2.0, -1.0, 0.5):
        p.grad[:] = g
        opt.step([p])
        v = 0.5 * v - 0.1 * g
        w = w + 0.5 * v - 0.1 * g
        assert np.allclose(p.value, w)


def test_adam_matches_its_definition():
    p = param([0.5, -1.5])
    opt = lw.Adam(lr=0.01, betas=(0.9, 0.99), eps=1e-8)
    m = v = np.zeros(2)
    w = p.value.copy()
    for t, g in enumerate(([1.0, -2.0], [0.5, 0.1], [-0.3, 3.0]), start=1):
        g = np.array(g)
        p.grad[:] = g
        opt.step([p])
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        w = w - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-8)
        assert np.allclose(p.value, w, rtol=1e-12)


def test_schedules():
    assert lw.ConstantLR()(100) == 1
    step = lw.StepLR(step_size=10, gamma=0.5)
    assert [step(e) for e in (0, 9, 10, 25)] == [1, 1, 0.5, 0.25]
    cos = lw.CosineAnnealingLR(T_max=10, eta_min=0.1)
    assert cos(0) == 1 and np.isclose(cos(10), 0.1) and np.isclose(cos(5), 0.55)
    opt = lw.SGD(lr=0.2, schedule=step)
    opt.set_epoch(20)
    assert np.isclose(opt.lr, 0.05)
    assert isinstance(lw.make_schedule("cosine", 30), lw.CosineAnnealingLR)


@pytest.mark.parametrize(
    "make",
    [lambda: lw.Adam(lr=0.1), lambda: lw.SGD(lr=0.1, momentum=0.9), lambda: lw.SGD(lr=0.1)],
    ids=["adam", "momentum", "plain"],
)
def test_state_dict_round_trip_continues_identically(make):
    def run(interrupt):
        p = param([1.0, 2.0])
        opt = make()
        for i in range(6):
            if interrupt and i == 3:
                state = opt.state_dict()
                opt = make()
                opt.load_state_dict(state)
            p.grad[:] = [np.sin(i), np.cos(i)]
            opt.step([p])
        return p.value

    assert np.array_equal(run(True), run(False))


@pytest.mark.parametrize(
    "make",
    [
        lambda: lw.SGD(lr=-1),
        lambda: lw.SGD(lr=0.1, momentum=1.5),
        lambda: lw.SGD(lr=0.1, nesterov=True),
        lambda: lw.Adam(lr=0),
        lambda: lw.StepLR(0),
        lambda: lw.make_schedule("linear", 10),
    ],
)
def test_bad_settings_are_clear_errors(make):
    with pytest.raises(lw.LayerwiseError):
        make()


OPTIMIZERS = [
    lambda: lw.SGD(0.1, momentum=0.9),
    lambda: lw.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: lw.Adam(0.01),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_a_networks_flat_parameters_update_as_separate_arrays_do(make):
    # A Network keeps its parameters as views of one flat array (layers.pack) and the
    # optimizer then updates the flat array in one go; the result must not change.
    net = lw.Network.from_spec("5-4-3", activation="tanh", dtype="float64", seed=0)
    loose = [lw.Parameter(p.name, p.value.copy(), p.decay) for p in net.parameters()]
    assert lw.nn.layers.flat_block(net.parameters()) is not None and lw.nn.layers.flat_block(loose) is None
    packed_opt, loose_opt = make(), make()
    rng = np.random.default_rng(0)
    for step in range(5):
        for p, q in zip(net.parameters(), loose):
            p.grad[...] = q.grad[...] = rng.normal(size=p.value.shape)
        packed_opt.step(net.parameters())
        loose_opt.step(loose)
        if step == 2:  # a restored state goes back into the flat arrays
            packed_opt.load_state_dict(packed_opt.state_dict())
    for p, q in zip(net.parameters(), loose):
        np.testing.assert_array_equal(p.value, q.value)
    for a, b in zip(packed_opt.state_dict()["state"], loose_opt.state_dict()["state"]):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_a_copied_network_gets_its_own_flat_arrays():
    import copy
    import pickle

    net = lw.Network.from_spec("5-4-3", seed=0)
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        values = clone._packed()[0]
        assert all(p.value.base is values for p in clone.parameters())
        assert not np.shares_memory(values, net._packed()[0])
        np.testing.assert_array_equal(values, net._packed()[0])


def test_a_rebound_parameter_is_packed_again_before_training():
    net = lw.Network.from_spec("4-3-2", activation="tanh", dtype="float64", seed=0)
    first = net.layers[0].weight
    first.value = np.full((4, 3), 0.5)  # rebound, no longer a view of the flat array
    X = np.random.default_rng(0).normal(size=(8, 4))
    lw.fit(net, X, np.arange(8) % 2, optimizer=lw.SGD(0.1), epochs=1)
    values = net._packed()[0]
    assert first.value.base is values and first.grad.base is net._packed()[1]
    assert not np.allclose(first.value, 0.5)  # trained from the rebound values
    assert np.allclose(first.value, 0.5, atol=0.2)
