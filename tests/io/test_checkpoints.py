"""Checkpoints and resumption: killed and interrupted trainings, divergence, and the
checkpoint file's validation."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise.cli import main
from layerwise.io.checkpoint import CHECKPOINT_FILENAME, Checkpointer, load_checkpoint, restore
from layerwise.io.model_file import load as load_model
from layerwise.nn.model import Model
from layerwise.nn.training import seed_generators

# Dropout, Adam and early stopping: every kind of state a checkpoint must carry.
RUN = ["--data", "digits", "--hidden", "16", "--dropout", "0.2", "--batch-size", "64", "--epochs", "8",
       "--early-stopping", "--patience", "50", "--quiet"]  # fmt: skip
STEPS_PER_EPOCH = 12  # 721 training digits in batches of 64

# The command line, killed with SIGKILL after a number of optimizer steps: a crash at a
# known point, part-way through an epoch.
KILLER = [sys.executable, str(Path(__file__).resolve().parents[1] / "kill_hooks.py"), "after-steps"]


def weights(run_dir):
    return load_model(run_dir).network.get_weights()


def test_a_killed_run_resumed_ends_bit_identical_to_an_uninterrupted_one(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert main(["train", *RUN, "--out", str(whole)]) == 0
    kill_at = 5 * STEPS_PER_EPOCH + 5  # in epoch 6; the last checkpoint is that of epoch 3
    argv = [*KILLER, str(kill_at), "train", *RUN, "--checkpoint-every", "3"]
    result = subprocess.run([*argv, "--out", str(killed)], capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL
    assert sorted(p.name for p in killed.iterdir()) == [CHECKPOINT_FILENAME]
    assert load_checkpoint(killed / CHECKPOINT_FILENAME).epoch == 3
    assert main(["train", "--resume", str(killed), "--quiet"]) == 0
    assert load_checkpoint(killed / CHECKPOINT_FILENAME).epoch == 8  # kept, to extend the run
    for a, b in zip(weights(whole), weights(killed)):
        assert np.array_equal(a, b)
    history = json.loads((killed / "report.json").read_text())["history"]
    assert len(history["train_loss"]) == 8
    assert history["train_loss"] == json.loads((whole / "report.json").read_text())["history"]["train_loss"]


def test_subprocesses_of_the_tests_can_be_interrupted():
    # conftest.py resets SIGINT, so that Ctrl-C reaches commands the tests start even when
    # the test runner was started with SIGINT ignored
    code = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout == "True\n"


def test_ctrl_c_writes_a_checkpoint_says_how_to_resume_and_exits_130(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "layerwise", "train", "--data", "digits", "--hidden", "8",
            "--epochs", "1000000", "--out", str(out)]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("epoch") and line.split()[1].startswith("3/"):
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130
    assert "Traceback" not in err
    epoch = load_checkpoint(out / CHECKPOINT_FILENAME).epoch
    assert epoch >= 3
    assert f"the checkpoint of epoch {epoch} is in {out / CHECKPOINT_FILENAME}" in err
    assert f"resume with: layerwise train --resume {out}" in err
    assert sorted(p.name for p in out.iterdir()) == [CHECKPOINT_FILENAME]


def test_a_diverging_run_keeps_its_last_finite_weights(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--data", "digits", "--hidden", "8", "--optimizer", "sgd", "--lr", "1e30", "--scaling", "none"]
    assert main(["train", *argv, "--quiet", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "training diverged at epoch 1" in err and "learning rate" in err
    assert f"saved in {out / 'model.safetensors'}" in err
    model = load_model(out)
    assert model.metadata["diverged_at_epoch"] == 1
    assert all(np.isfinite(w).all() for w in model.network.get_weights())
    assert json.loads((out / "report.json").read_text())["status"] == "diverged"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--resume", "{tmp}"], "no checkpoint to resume from"),
        (["--resume", "{tmp}/finished"], "holds a finished run"),
        (["--resume", "{tmp}/finished", "--lr", "0.5"], "--lr cannot change them"),
        (["--data", "digits", "--checkpoint-every", "0"], "--checkpoint-every must be a positive integer"),
        (["--epochs", "0"], "--epochs must be a positive integer"),
    ],
    ids=["no-checkpoint", "finished", "new-settings", "every-zero", "zero-epochs"],
)
def test_resume_errors(tmp_path, capsys, argv, message):
    (tmp_path / "finished").mkdir()
    (tmp_path / "finished" / "model.safetensors").write_bytes(b"")
    assert main(["train", *(a.format(tmp=tmp_path) for a in argv)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_resume_refuses_other_training_data(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), np.arange(60) % 2
    np.savez(tmp_path / "data.npz", X=X, y=y)
    out = tmp_path / "run"
    argv = ["train", "--data", str(tmp_path / "data.npz"), "--hidden", "4", "--epochs", "3", "--quiet"]
    # full batches: killed in the second step, after the checkpoint of epoch 1
    killed = [*KILLER, "2", *argv, "--batch-size", "full", "--checkpoint-every", "1", "--out", str(out)]
    assert subprocess.run(killed, timeout=300).returncode == -signal.SIGKILL
    np.savez(tmp_path / "data.npz", X=X + 1, y=y)
    assert main(["train", "--resume", str(out)]) == 1
    assert "are not those the checkpoint was trained on" in capsys.readouterr().err


def test_checkpoint_round_trip_in_python(tmp_path, blobs):
    X, y = blobs

    def network():
        return lw.Network.from_spec("5-8-3", activation="tanh", dropout=0.3, seed=1), lw.SGD(
            0.1, momentum=0.9
        )

    net, opt = network()
    lw.fit(net, X, y, optimizer=opt, epochs=6, batch_size=16, seed=seed_generators(net, 3))
    path = tmp_path / "c.safetensors"
    half, opt2 = network()
    rng = seed_generators(half, 3)
    lw.fit(half, X, y, optimizer=opt2, epochs=4, batch_size=16, seed=rng,
           callbacks=[Checkpointer(path, 2, Model(half), opt2, rng)])  # fmt: skip
    state = load_checkpoint(path)
    assert state.epoch == 4 and state.history.epochs == 4
    resumed, opt3 = state.model.network, lw.SGD(0.1, momentum=0.9)
    rng = restore(state, opt3)
    lw.fit(
        resumed, X, y, optimizer=opt3, epochs=2, batch_size=16, seed=rng, start_epoch=4, history=state.history
    )
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), resumed.get_weights()))
    with pytest.raises(lw.LayerwiseError, match="another optimizer"):
        restore(load_checkpoint(path), lw.Adam())
    with pytest.raises(lw.LayerwiseError, match="not a layerwise-model file"):
        lw.load(path)


def test_the_robustness_guide_example_runs(tmp_path, monkeypatch, capsys):
    import re
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    guide = Path(__file__).resolve().parents[2] / "docs" / "robustness.md"
    (block,) = re.findall(r"```python\n(.*?)```", guide.read_text(), flags=re.S)
    exec(compile(block, "docs/robustness.md", "exec"), {})
    assert capsys.readouterr().out == "6\n"


# --- a convolutional network with batch normalisation and dropout -----------------------


class StopAt(lw.Callback):
    """Interrupts the training part-way through an epoch, as Ctrl-C (or a crash) would."""

    def __init__(self, steps):
        self.steps, self.done = steps, 0

    def on_batch_end(self, batch, size, loss):
        self.done += 1
        if self.done == self.steps:
            raise KeyboardInterrupt


def cnn_and_optimizer():
    layers = [
        lw.Reshape((1, 6, 5)), lw.Conv2D(1, 4, kernel_size=3, padding=1, seed=0), lw.BatchNorm(4), lw.ReLU(),
        lw.MaxPool2D(2), lw.Flatten(), lw.Dropout(0.3),
        lw.Linear(24, 8, seed=1), lw.BatchNorm(8), lw.ReLU(), lw.Dropout(0.2), lw.Linear(8, 3, seed=2),
    ]  # fmt: skip
    return lw.Network(layers), lw.Adam(0.01)


CNN_EPOCHS, CNN_STEPS = 6, 5  # 37 images in batches of 8: five steps per epoch, the last of 5


def train_cnn(net, opt, rng, epochs, callbacks=(), **kwargs):
    X = np.random.default_rng(1).normal(size=(37, 30))
    y = np.arange(37) % 3
    return lw.fit(net, X, y, optimizer=opt, epochs=epochs, batch_size=8, seed=rng, callbacks=callbacks,
                  validation_data=(X[:9], y[:9]), **kwargs)  # fmt: skip


@pytest.mark.parametrize("how", ["killed", "ctrl-c"])
def test_a_cnn_with_batch_norm_and_dropout_resumes_bit_identical(tmp_path, how):
    whole, opt = cnn_and_optimizer()
    expected = train_cnn(whole, opt, seed_generators(whole, 5), CNN_EPOCHS)
    path = tmp_path / CHECKPOINT_FILENAME
    net, opt = cnn_and_optimizer()
    rng = seed_generators(net, 5)
    # killed: in epoch 5, with the checkpoint of epoch 4 on disk (every 2 epochs);
    # ctrl-c: in epoch 4, the state of epoch 3 kept in memory and written then
    every, stop = (2, 4 * CNN_STEPS + 3) if how == "killed" else (None, 3 * CNN_STEPS + 2)
    saver = Checkpointer(path, every, Model(net), opt, rng)
    with pytest.raises(KeyboardInterrupt):
        train_cnn(net, opt, rng, CNN_EPOCHS, callbacks=[saver, StopAt(stop)])
    if how == "ctrl-c":
        assert not path.exists()
        saver.save()
    state = load_checkpoint(path)
    assert state.epoch == (4 if how == "killed" else 3)
    resumed, opt2 = state.model.network, lw.Adam(0.01)
    assert [name for name, _ in resumed.named_state()] == [
        "2.running_mean", "2.running_var", "8.running_mean", "8.running_var"
    ]  # fmt: skip
    rng = restore(state, opt2)
    history = train_cnn(resumed, opt2, rng, CNN_EPOCHS - state.epoch, start_epoch=state.epoch,
                        history=state.history)  # fmt: skip
    for a, b in zip(whole.get_weights(), resumed.get_weights(), strict=True):
        assert np.array_equal(a, b)
    for (name, a), (_, b) in zip(whole.named_state(), resumed.named_state(), strict=True):
        assert np.array_equal(a, b), name
    assert history.train_loss == expected.train_loss and history.val_loss == expected.val_loss


def test_a_checkpoint_keeps_the_running_statistics_of_its_epoch(tmp_path):
    net, opt = cnn_and_optimizer()
    rng = seed_generators(net, 0)
    saver = Checkpointer(tmp_path / "c", None, Model(net), opt, rng)
    train_cnn(net, opt, rng, 2, callbacks=[saver])
    kept = [a.copy() for _, a in net.named_state()]
    train_cnn(net, opt, rng, 1)  # the network goes on; the state kept does not
    saver.save()
    state = load_checkpoint(tmp_path / "c")
    assert state.epoch == 2
    for a, b in zip(kept, state.state, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(kept[0], net.named_state()[0][1])


def test_a_killed_cnn_run_resumed_ends_bit_identical_to_an_uninterrupted_one(tmp_path):
    run = ["--data", "digits", "--layers", "conv4k3p1,bn,relu,maxpool2,flatten,16,bn,relu,dropout0.2",
           "--batch-size", "64", "--epochs", "6", "--quiet"]  # fmt: skip
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert main(["train", *run, "--out", str(whole)]) == 0
    kill_at = 4 * STEPS_PER_EPOCH + 5  # in epoch 5; the last checkpoint is that of epoch 4
    argv = [*KILLER, str(kill_at), "train", *run, "--checkpoint-every", "2", "--out", str(killed)]
    assert subprocess.run(argv, capture_output=True, timeout=300).returncode == -signal.SIGKILL
    assert load_checkpoint(killed / CHECKPOINT_FILENAME).epoch == 4
    assert main(["train", "--resume", str(killed), "--quiet"]) == 0
    a, b = load_model(whole).network, load_model(killed).network
    assert [name for name, _ in a.named_state()] == ["2.running_mean", "2.running_var", "7.running_mean",
                                                     "7.running_var"]  # fmt: skip
    for x, y in zip(a.get_weights() + [s for _, s in a.named_state()],
                    b.get_weights() + [s for _, s in b.named_state()], strict=True):  # fmt: skip
        assert np.array_equal(x, y)


def test_a_checkpoint_keeps_the_running_statistics_of_the_best_epoch(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4))
    y = (X[:, 0] > 0).astype(int)
    net = lw.Network([lw.Linear(4, 8, seed=0), lw.BatchNorm(8), lw.ReLU(), lw.Linear(8, 2, seed=1)])
    opt, stop, path = lw.Adam(0.05), lw.EarlyStopping(patience=50), tmp_path / "c.safetensors"
    gen = seed_generators(net, 0)
    lw.fit(net, X, y, optimizer=opt, epochs=6, batch_size=16, seed=gen, validation_data=(X, 1 - y),
           callbacks=[stop, Checkpointer(path, 1, Model(net), opt, gen, early_stopping=stop)])  # fmt: skip
    kept = load_checkpoint(path).early_stopping
    expected = stop.state_dict()
    assert kept["best_epoch"] == expected["best_epoch"]
    assert len(kept["best_state"]) == 2
    assert all(np.array_equal(a, b) for a, b in zip(kept["best_state"], expected["best_state"]))
