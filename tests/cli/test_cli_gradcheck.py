"""`layerwise gradcheck`: backpropagation against finite differences from the command line."""

import numpy as np

import layerwise as lw
from layerwise.cli import main


def test_gradcheck_passes_for_the_tutorials_network_and_a_relu_network(capsys):
    assert main(["gradcheck", "--max-checks", "40"]) == 0
    out = capsys.readouterr().out
    assert out.count(" ok") == 6 and "passes the tolerance" in out
    args = ["gradcheck", "--hidden", "16,8", "--activation", "relu", "--output-activation", "none",
            "--dropout", "0.2", "--max-checks", "40"]  # fmt: skip
    assert main(args) == 0


def test_gradcheck_fails_on_a_wrong_backward(capsys, monkeypatch):
    def forgets_one_minus_y(self, y, grad, gx):
        return np.multiply(grad, y, out=gx)

    monkeypatch.setattr(lw.Sigmoid, "_derivative", forgets_one_minus_y)
    assert main(["gradcheck", "--max-checks", "40"]) == 1
    out = capsys.readouterr().out
    assert "WRONG" in out and "fails the tolerance" in out


def test_bad_options_are_one_line_errors(capsys):
    assert main(["gradcheck", "--examples", "0"]) == 1
    assert main(["gradcheck", "--activation", "swish"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--examples must be a positive integer" in err[0] and "swish" in err[1]
