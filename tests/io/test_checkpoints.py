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
