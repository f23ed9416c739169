"""fit's divergence rule: a step whose loss is NaN, infinite, or not below 10^4 times the loss
at the start (the larger of the first step's loss and log K) stops the training with
TrainingDiverged, which names the epoch and leaves the last finite weights."""

import math

import numpy as np
import pytest

import layerwise as lw
from layerwise.cli import main
from layerwise.data import load_digits
from layerwise.io.model_file import load as load_model
from layerwise.nn.training import DIVERGENCE_FACTOR


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.X_train / 16, data.y_train


def test_a_loss_that_explodes_without_nan_is_a_divergence(digits):
    # What `layerwise train --optimizer sgd --lr 10` trains: the batch losses go 2.4, 72,
    # 6e3, 7e4, 3e8 ... and later 1e27, all finite; the training used to end with 9% accuracy.
    X, y = digits
    config = lw.TrainConfig(optimizer="sgd", lr=10)
    net = config.network(64, 10)
    initial = net.get_weights()
    with pytest.raises(lw.TrainingDiverged) as info:
        lw.fit(net, X, y, optimizer=config.make_optimizer(), epochs=5, batch_size=config.batch_size)
    message = str(info.value)
    assert message.startswith("training diverged at epoch 1: the loss reached ")
    assert "over 10000 times its start" in message and "learning rate (10)" in message
    assert "\n" not in message
    assert info.value.epoch == 1 and info.value.history.epochs == 0
    weights = net.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert all(np.array_equal(w, w0) for w, w0 in zip(weights, initial))  # the start of epoch 1


def test_the_command_line_stops_an_exploding_loss_in_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--data", "digits", "--optimizer", "sgd", "--lr", "10", "--epochs", "5"]
    assert main([*argv, "--quiet", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("layerwise train: error: training diverged at epoch 1: the loss reached ")
    assert err.count("\n") == 1 and f"saved in {out / 'model.safetensors'}" in err
    model = load_model(out)
    assert model.metadata["diverged_at_epoch"] == 1
    assert all(np.isfinite(w).all() for w in model.network.get_weights())


def scripted(net, losses):
    """Makes ``net``'s training steps report ``losses`` in turn (the steps still run)."""
    script = iter(losses)

    def step(X, y, l2):
        _, out = lw.Network._loss_and_gradients(net, X, y, l2)
        return next(script), out

    net._loss_and_gradients = step


@pytest.mark.parametrize(
    "first, below, above",
    [
        (2.0, 2.0e4 - 1, 2.0e4),  # the first step's loss, when it is above log K
        (0.01, math.log(3) * 1e4 - 1, math.log(3) * 1e4),  # log K (K = 3), when it is not
    ],
)
def test_the_limit_is_ten_thousand_times_the_loss_at_the_start(blobs, first, below, above):
    X, y = blobs
    net = lw.Network.from_spec("5-4-3", seed=0)
    scripted(net, [first, below, 1.0, below])
    history = lw.fit(net, X, y, optimizer=lw.SGD(lr=0.01), epochs=4, batch_size=None)
    assert history.epochs == 4  # a loss just below the limit goes on
    scripted(net, [first, 1.0, 1.0, above])
    with pytest.raises(lw.TrainingDiverged, match=r"at epoch 4: the loss reached .*start \((2|1\.1)\)"):
        lw.fit(net, X, y, optimizer=lw.SGD(lr=0.01), epochs=4, batch_size=None)
    assert DIVERGENCE_FACTOR == 1e4


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_loss_at_the_first_step_is_a_divergence(blobs, bad):
    X, y = blobs
    net = lw.Network.from_spec("5-4-3", seed=0)
    scripted(net, [bad])
    with pytest.raises(lw.TrainingDiverged, match=f"at epoch 1: the loss became {bad};"):
        lw.fit(net, X, y, epochs=3)


def test_a_large_loss_at_the_start_is_no_divergence(digits):
    # A huge L2 term makes the first loss about 3e5, far above 10^4 log K (2.3e4); the
    # training lowers it and must not be stopped.
    X, y = digits
    net = lw.Network.from_spec("64-256-128-10", seed=0)
    history = lw.fit(net, X, y, optimizer=lw.SGD(lr=1e-4), epochs=5, batch_size=None, l2=1e6)
    assert history.train_loss[0] > DIVERGENCE_FACTOR * math.log(10)
    assert history.epochs == 5 and history.train_loss[-1] < history.train_loss[0]


def test_a_bouncing_training_is_no_divergence(digits):
    # a learning rate high enough to make the loss jump (to about twice its start), not explode
    X, y = digits
    net = lw.Network.from_spec("64-32-10", seed=0)
    losses = []

    class Steps(lw.Callback):
        def on_batch_end(self, batch, size, loss):
            losses.append(loss)

    history = lw.fit(
        net, X, y, optimizer=lw.SGD(lr=1.0, momentum=0.9), epochs=20, batch_size=128, callbacks=[Steps()]
    )
    assert history.epochs == 20 and history.train_accuracy[-1] > 0.5
    assert max(losses) > 1.5 * losses[0]
