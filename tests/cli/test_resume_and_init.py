"""Runs that did not finish used as models, runs extended with `--resume RUN --epochs N`
(interrupted or finished: bit-identical to one longer run), and `--init-from MODEL`."""

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise.cli import main
from layerwise.data import load_digits
from layerwise.experiments.training import extended_config
from layerwise.io.checkpoint import CHECKPOINT_FILENAME, load_checkpoint
from layerwise.io.model_file import MODEL_FILENAME, load_model_or_checkpoint

# Dropout, Adam and early stopping: every kind of state a checkpoint must carry.
SETTINGS = ["--data", "digits", "--hidden", "16", "--dropout", "0.2", "--batch-size", "64", "--lr", "0.01",
            "--early-stopping", "--patience", "50", "--quiet"]  # fmt: skip
STEPS_PER_EPOCH = 12  # 721 training digits in batches of 64
KILLER = [sys.executable, str(Path(__file__).resolve().parents[1] / "kill_hooks.py"), "after-steps"]


def train(*argv):
    return main(["train", *map(str, argv)])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs of SETTINGS: `whole` trained 8 epochs at once, `finished` 5 epochs, `killed`
    planned for 5 epochs but killed (SIGKILL) in its 4th, holding only the checkpoint of
    epoch 3, and `cosine`, 3 epochs with the cosine schedule."""
    root = tmp_path_factory.mktemp("runs")
    assert train(*SETTINGS, "--epochs", 8, "--out", root / "whole") == 0
    assert train(*SETTINGS, "--epochs", 5, "--out", root / "finished") == 0
    assert train(*SETTINGS, "--epochs", 3, "--schedule", "cosine", "--out", root / "cosine") == 0
    argv = [
        *KILLER,
        str(3 * STEPS_PER_EPOCH + 5),
        "train",
        *SETTINGS,
        "--epochs",
        "5",
        "--checkpoint-every",
        "1",
    ]
    done = subprocess.run([*argv, "--out", str(root / "killed")], capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL
    assert [p.name for p in (root / "killed").iterdir()] == [CHECKPOINT_FILENAME]
    return root


def copy(runs, name, tmp_path):
    return Path(shutil.copytree(runs / name, tmp_path / name))


def report(run):
    return json.loads((run / "report.json").read_text())


def history(run):
    """The run's history but the seconds each epoch took."""
    return {k: v for k, v in report(run)["history"].items() if k != "seconds"}


def assert_same_run(a, b, epochs=8):
    """Bit for bit: the weights, the history, the settings, the final training state."""
    model_a, model_b = lw.load(a), lw.load(b)
    assert all(
        np.array_equal(u, v) for u, v in zip(model_a.network.get_weights(), model_b.network.get_weights())
    )
    assert model_a.metadata == model_b.metadata
    assert history(a) == history(b) and len(history(a)["train_loss"]) == epochs
    assert (
        report(a)["settings"] == report(b)["settings"]
        and report(a)["test_accuracy"] == report(b)["test_accuracy"]
    )
    state_a, state_b = load_checkpoint(a / CHECKPOINT_FILENAME), load_checkpoint(b / CHECKPOINT_FILENAME)
    assert state_a.epoch == state_b.epoch == epochs
    assert all(np.array_equal(u, v) for u, v in zip(state_a.weights, state_b.weights))
    for s, t in zip(state_a.optimizer["state"], state_b.optimizer["state"]):
        assert s.keys() == t.keys() and all(np.array_equal(s[k], t[k]) for k in s)
    assert (state_a.shuffle, state_a.dropout) == (state_b.shuffle, state_b.dropout)


# --- a run that did not finish: evaluate, predict and export use its checkpoint ---------


def test_evaluate_predict_and_export_use_the_checkpoint_of_a_run_that_did_not_finish(runs, tmp_path, capsys):
    import onnxruntime as ort

    killed = runs / "killed"
    checkpoint = load_checkpoint(killed / CHECKPOINT_FILENAME)
    model = checkpoint.model
    note = f"using the weights of the checkpoint of epoch 3 in {killed / CHECKPOINT_FILENAME}: "
    note += "the run did not finish"
    digits = load_digits()
    X, y = digits.X_test, digits.y_test

    assert main(["evaluate", str(killed)]) == 0
    out, err = capsys.readouterr()
    assert err == f"layerwise evaluate: {note}\n"
    accuracy = float(np.mean(model.network.predict(model.transform(X.copy())) == y))
    assert out.startswith(f"accuracy {accuracy:.4f} on the 594 test examples of digits")

    rows = tmp_path / "rows.csv"
    rows.write_text("\n".join(",".join(str(v) for v in row) for row in X[:20]) + "\n")
    assert main(["predict", str(killed), str(rows), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == f"layerwise predict: {note}\n"
    assert [json.loads(line)["class"] for line in out.splitlines()] == model.predict(X[:20]).tolist()

    onnx = tmp_path / "model.onnx"
    assert main(["export", str(killed), "--onnx", str(onnx)]) == 0
    assert capsys.readouterr().err == f"layerwise export: {note}\n"
    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["probabilities"], {"input": X[:50]})
    assert np.abs(probabilities - model.predict_proba(X[:50])).max() <= 1e-5
    assert [p.name for p in killed.iterdir()] == [CHECKPOINT_FILENAME]  # nothing written into the run


def test_lw_load_stays_strict_and_a_finished_run_uses_its_model_file(runs, capsys):
    killed, finished = runs / "killed", runs / "finished"
    with pytest.raises(
        lw.LayerwiseError, match=r"no model file at .*: the run did not finish; its weights are in"
    ):
        lw.load(killed)
    with pytest.raises(lw.LayerwiseError, match="not a layerwise-model file"):
        lw.load(killed / CHECKPOINT_FILENAME)
    source = load_model_or_checkpoint(finished)
    assert source.path == finished / MODEL_FILENAME and source.note is None
    assert main(["evaluate", str(finished)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith(f"accuracy {report(finished)['test_accuracy']:.4f}")
    # a finished run's checkpoint, given by its path, is used for what it is: its last epoch
    assert main(["evaluate", str(finished / CHECKPOINT_FILENAME)]) == 0
    note = f"using the weights of the checkpoint of epoch 5 in {finished / CHECKPOINT_FILENAME}"
    assert capsys.readouterr().err == f"layerwise evaluate: {note}\n"


# --- --resume RUN --epochs N ------------------------------------------------------------


def test_an_interrupted_run_extended_ends_bit_identical_to_one_longer_run(runs, tmp_path):
    killed = copy(runs, "killed", tmp_path)
    assert train("--resume", killed, "--epochs", 8, "--quiet") == 0
    assert_same_run(killed, runs / "whole")


def test_a_finished_run_extended_ends_bit_identical_to_one_longer_run(runs, tmp_path):
    finished = copy(runs, "finished", tmp_path)
    assert load_checkpoint(finished / CHECKPOINT_FILENAME).epoch == 5  # a finished run keeps its state
    assert train("--resume", finished, "--epochs", 8, "--quiet") == 0
    assert_same_run(finished, runs / "whole")


def test_an_extension_stopped_part_way_resumes_to_its_new_total(runs, tmp_path):
    finished = copy(runs, "finished", tmp_path)
    extend = ["train", "--resume", str(finished), "--epochs", "8", "--quiet"]
    # killed in epoch 6, before any checkpoint: the run is as it was, 5 epochs
    assert (
        subprocess.run([*KILLER, "3", *extend], capture_output=True, timeout=300).returncode
        == -signal.SIGKILL
    )
    assert load_checkpoint(finished / CHECKPOINT_FILENAME).epoch == 5
    assert len(history(finished)["train_loss"]) == 5 and lw.load(finished).metadata["settings"]["epochs"] == 5
    # killed in epoch 7, after the checkpoint of epoch 6
    argv = [*KILLER, str(STEPS_PER_EPOCH + 3), *extend, "--checkpoint-every", "1"]
    assert subprocess.run(argv, capture_output=True, timeout=300).returncode == -signal.SIGKILL
    assert load_checkpoint(finished / CHECKPOINT_FILENAME).epoch == 6
    assert train("--resume", finished, "--quiet") == 0  # the checkpoint records the 8 epochs
    assert_same_run(finished, runs / "whole")


def test_runs_with_early_stopping_extend_as_one_longer_run(tmp_path):
    # the network of a finished run has the weights of its best epoch; its training goes on
    # from those of its last
    argv = ["--data", "digits", "--hidden", "16", "--batch-size", "64", "--lr", "0.03", "--early-stopping",
            "--patience", "1", "--quiet"]  # fmt: skip
    whole, short = tmp_path / "whole", tmp_path / "short"
    assert train(*argv, "--epochs", 30, "--out", whole) == 0
    stopped = report(whole)["history"]["stopped_epoch"]
    assert stopped is not None and 6 < stopped < 29
    assert train(*argv, "--epochs", 6, "--out", short) == 0
    assert train("--resume", short, "--epochs", 30, "--quiet") == 0
    assert_same_run(short, whole, epochs=stopped + 1)
    # a run that early stopping ended stays as it is, whatever its new length
    before = lw.load(whole).network.get_weights()
    assert train("--resume", whole, "--epochs", 40, "--quiet") == 0
    assert all(np.array_equal(u, v) for u, v in zip(lw.load(whole).network.get_weights(), before))
    assert report(whole)["history"]["stopped_epoch"] == stopped
    assert report(whole)["settings"]["epochs"] == 40


@pytest.mark.parametrize(
    "run, argv, message",
    [
        ("finished", [], "holds a finished run of 5 epochs: there is nothing to resume; --epochs N"),
        ("finished", ["--epochs", "4"], "--epochs 4 is fewer than the 5 epochs"),
        ("killed", ["--epochs", "2"], "--epochs 2 is fewer than the 3 epochs"),
        ("finished", ["--epochs", "0"], "--epochs must be a positive integer"),
        ("finished", ["--epochs", "8", "--init-from", "{runs}/whole"], "--init-from cannot change them"),
        ("cosine", ["--epochs", "6"], "--epochs 6 cannot extend {run} exactly: its cosine schedule "
                                      "depends on the total epochs (over 6, epoch 2 would have had the"),
    ],
    ids=["finished", "fewer", "fewer-than-done", "zero", "init-from", "cosine"],
)  # fmt: skip
def test_resume_with_epochs_refuses_what_one_run_could_not_have_done(runs, capsys, run, argv, message):
    folder = runs / run
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert train("--resume", folder, *(a.format(runs=runs) for a in argv)) == 1
    err = capsys.readouterr().err
    assert err.startswith("layerwise train: error: ") and err.count("\n") == 1
    assert message.format(run=folder) in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def lrs(config, epochs):
    optimizer = config.make_optimizer()
    return [(optimizer.set_epoch(e), optimizer.lr)[1] for e in range(epochs)]


@pytest.mark.parametrize(
    "schedule, total, done, longer, allowed",
    [
        ("constant", 10, 10, 30, True),
        ("cosine", 10, 1, 20, True),  # epoch 1 has the initial rate over any total
        ("cosine", 10, 2, 20, False),
        ("cosine", 10, 4, 10, True),  # the same total: resuming as recorded
        ("step", 9, 2, 12, True),  # steps of 3 and of 4 epochs: the first two epochs agree
        ("step", 9, 4, 12, False),  # epoch 4: 0.1 times the rate over 9 epochs, not over 12
    ],
)
def test_the_schedule_must_give_the_epochs_done_the_rates_they_had(schedule, total, done, longer, allowed):
    config = lw.TrainConfig(optimizer="sgd", lr=0.1, schedule=schedule, epochs=total)
    done_history = lw.History(lr=lrs(config, done), train_loss=[1.0] * done)
    if allowed:
        assert extended_config(config, longer, done_history, "run").epochs == longer
    else:
        with pytest.raises(lw.LayerwiseError, match=f"its {schedule} schedule depends on the total epochs"):
            extended_config(config, longer, done_history, "run")


# --- --init-from MODEL -------------------------------------------------------------------


def test_init_from_a_trained_model_starts_from_its_weights(runs, tmp_path, capsys):
    source = runs / "whole"
    tuned, fresh = tmp_path / "tuned", tmp_path / "fresh"
    tiny = [*SETTINGS, "--epochs", 1, "--lr", "1e-9"]
    assert train(*tiny, "--init-from", source, "--out", tuned) == 0
    assert train(*tiny, "--out", fresh) == 0
    assert capsys.readouterr().err == ""
    accuracy = report(source)["test_accuracy"]
    assert accuracy > 0.85 and report(fresh)["test_accuracy"] < 0.3
    assert abs(report(tuned)["test_accuracy"] - accuracy) <= 0.01
    for a, b in zip(lw.load(tuned).network.get_weights(), lw.load(source).network.get_weights()):
        assert np.allclose(a, b, rtol=0, atol=1e-6)
    origin = str(source / MODEL_FILENAME)
    assert lw.load(tuned).metadata["init_from"] == origin
    assert report(tuned)["init_from"] == origin
    assert list(report(tuned))[list(report(tuned)).index("settings") + 1] == "init_from"
    state = load_checkpoint(tuned / CHECKPOINT_FILENAME)
    assert state.model.metadata["init_from"] == origin
    assert state.optimizer["steps"] == STEPS_PER_EPOCH  # a fresh optimizer: one epoch of steps
    # a run started from a model keeps saying so when it is extended
    assert train("--resume", tuned, "--epochs", 2, "--quiet") == 0
    assert report(tuned)["init_from"] == lw.load(tuned).metadata["init_from"] == origin


def test_init_from_the_checkpoint_of_a_run_that_did_not_finish(runs, tmp_path, capsys):
    out = tmp_path / "tuned"
    assert train(*SETTINGS, "--epochs", 1, "--lr", "1e-9", "--init-from", runs / "killed", "--out", out) == 0
    killed = runs / "killed" / CHECKPOINT_FILENAME
    assert capsys.readouterr().err == (
        f"layerwise train: --init-from: using the weights of the checkpoint of epoch 3 in {killed}: "
        "the run did not finish\n"
    )
    assert lw.load(out).metadata["init_from"] == str(killed)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--hidden", "8"], "{source} holds a 64-16-10 (Linear, ReLU, Linear) network but the settings "
                            "describe a 64-8-10 (Linear, ReLU, Linear) one: --init-from needs the same "
                            "architecture"),
        (["--activation", "tanh"], "but the settings describe a 64-16-10 (Linear, Tanh, Linear) one"),
        (["--init-from", "{tmp}/nowhere"], "no model file at {tmp}/nowhere"),
    ],
    ids=["hidden", "activation", "missing"],
)  # fmt: skip
def test_init_from_another_architecture_is_one_line_and_leaves_nothing(runs, tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    source = runs / "whole"
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert train(*SETTINGS, "--epochs", 1, "--init-from", source, *argv, "--out", out) == 1
    err = capsys.readouterr().err
    assert err.startswith("layerwise train: error: ") and err.count("\n") == 1
    assert message.format(source=source / MODEL_FILENAME, tmp=tmp_path) in err
    assert list(tmp_path.iterdir()) == []
