"""lw.gradcheck: what its number means. A right gradient gives well under 1e-6, also where
the gradient is near zero or exactly zero; a wrong one gives a large error."""

import builtins
import re
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw

README = Path(__file__).resolve().parents[2] / "README.md"
README_CALL = "lw.gradcheck(net, X[:10], y[:10], l2=0.1)"


def readme_example():
    """The README's layer API example, exactly as it stands there."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    found = [block for block in blocks if README_CALL in block]
    assert len(found) == 1, f"the README has no Python example calling {README_CALL}"
    return found[0]


def tutorial_network(seed=0):
    sizes = [(64, 48), (48, 32), (32, 10)]
    layers = []
    for i, (n_in, n_out) in enumerate(sizes):
        layers += [lw.Linear(n_in, n_out, seed=seed + i), lw.Sigmoid()]
    return lw.Network(layers, loss=lw.SoftmaxCrossEntropy())


@pytest.fixture(scope="module")
def data():
    X = np.random.default_rng(0).random((10, 64)) * 16
    return X, np.arange(10) % 10


@pytest.mark.parametrize("run", range(3))
def test_the_readme_example_gives_every_error_below_1e_6(monkeypatch, run):
    printed = []
    monkeypatch.setattr(builtins, "print", lambda *args, **kwargs: printed.append(args))
    exec(compile(readme_example(), "README.md", "exec"), {})  # its network is unseeded: runs differ
    errors = printed[-1][0]
    assert sorted(errors) == ["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"]
    assert max(errors.values()) < 1e-6, errors


def test_a_float32_network_is_checked_in_float64(data):
    X, y = data
    net = tutorial_network()
    assert net.dtype == np.float32
    errors = lw.gradcheck(net, X, y, l2=0.1)
    assert errors == lw.gradcheck(net.astype("float64"), X, y, l2=0.1)
    assert max(errors.values()) < 1e-6, errors


def test_a_near_zero_gradient_is_measured_against_what_finite_differences_resolve(data):
    # Inputs of 1e-7 make the first layer's weight gradient about 1e-8 per entry, 100 times
    # the finite differences' rounding error: the plain ratio ||a - n|| / (||a|| + ||n||)
    # measures that rounding (about 1e-2), not the gradient.
    X, y = data
    net = tutorial_network()
    errors = lw.gradcheck(net, X * 1e-7, y, l2=0.0)
    assert max(errors.values()) < 2e-7, errors


def test_a_gradient_that_is_exactly_zero_reports_zero(data):
    X, y = data
    errors = lw.gradcheck(tutorial_network(), np.zeros_like(X), y, l2=0.0)
    assert errors["0.weight"] == 0.0  # zero inputs: no weight of the first layer matters
    assert max(errors.values()) < 1e-6, errors


class DoublingSigmoid(lw.Sigmoid):
    """A sigmoid whose backward is off by a factor 2."""

    def _derivative(self, y, grad, gx):
        gx = super()._derivative(y, grad, gx)
        gx *= 2
        return gx


@pytest.mark.parametrize("trained", [False, True], ids=["fresh", "trained"])
def test_a_backward_off_by_a_factor_2_gives_a_large_error(data, trained):
    X, y = data
    net = lw.Network(
        [lw.Linear(64, 48, seed=0), lw.Sigmoid(), lw.Linear(48, 32, seed=1), DoublingSigmoid(),
         lw.Linear(32, 10, seed=2), lw.Sigmoid()],
        loss=lw.SoftmaxCrossEntropy(),
    )  # fmt: skip
    if trained:  # small gradients, as in the README's example
        lw.fit(net, X, y, optimizer=lw.SGD(lr=0.2, momentum=0.9), epochs=100, batch_size=None, l2=0.6, seed=0)
    errors = lw.gradcheck(net, X, y, l2=0.1)
    before = [errors[name] for name in ("0.weight", "0.bias", "2.weight", "2.bias")]
    if trained:
        # Saturated sigmoids: gradients of 1e-9..1e-6 per entry, near what finite differences
        # resolve (0.bias's is below it); the check still fails, by a margin of 10 or more.
        assert max(before) > 1e-5, errors
    else:
        assert min(before) > 1e-3, errors
    assert errors["4.weight"] < 1e-6 and errors["4.bias"] < 1e-6, errors


def test_a_sign_error_in_one_entry_gives_a_large_error(data, monkeypatch):
    X, y = data
    backward = lw.Linear.backward

    def one_sign_wrong(self, grad, input_grad=True):
        out = backward(self, grad, input_grad)
        if self.n_out == 10:
            self.bias.grad[3] *= -1
        return out

    monkeypatch.setattr(lw.Linear, "backward", one_sign_wrong)
    errors = lw.gradcheck(tutorial_network(), X, y, l2=0.1)
    assert errors["4.bias"] > 1e-3, errors
    assert max(e for name, e in errors.items() if name != "4.bias") < 1e-6, errors


def test_max_checks_and_the_command_keep_working(capsys):
    from layerwise.cli import main

    rng = np.random.default_rng(1)
    X, y = rng.random((15, 64)) * 16, rng.integers(0, 10, 15)
    errors = lw.gradcheck(tutorial_network(), X, y, l2=0.1, max_checks=50)
    assert max(errors.values()) < 1e-6, errors
    assert main(["gradcheck", "--max-checks", "30"]) == 0
    assert "passes the tolerance" in capsys.readouterr().out
