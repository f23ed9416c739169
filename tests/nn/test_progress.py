"""fit(verbose=...): nothing, a progress bar per epoch, or the bar and a line per epoch; the
progress callbacks live in layerwise.nn.progress and load tqdm only when a bar is shown."""

import json
import subprocess
import sys

import numpy as np
import pytest

import layerwise as lw
from layerwise.nn.progress import EpochLines, EpochProgress


def fit(blobs, **kwargs):
    X, y = blobs
    net = lw.Network.from_spec("5-8-3", seed=0)
    settings = dict(epochs=3, batch_size=16, validation_data=(X[:20], y[:20]))
    return lw.fit(net, X, y, **{**settings, **kwargs})


def test_verbose_0_the_default_shows_nothing(blobs, capsys):
    fit(blobs)
    fit(blobs, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_verbose_1_shows_a_bar_per_epoch_on_standard_error(blobs, capsys):
    fit(blobs, verbose=1)
    out, err = capsys.readouterr()
    assert out == ""
    for epoch in (1, 2, 3):
        assert f"epoch {epoch}/3" in err
    assert "ex/s" in err and "loss=" in err


def test_verbose_2_adds_one_line_per_epoch(blobs, capsys):
    history = fit(blobs, verbose=2)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 3 and "epoch 3/3" in err
    for epoch, line in enumerate(lines):
        assert line.startswith(f"epoch {epoch + 1}/3  loss {history.train_loss[epoch]:.4f}  accuracy ")
        assert f"val_loss {history.val_loss[epoch]:.4f}  val_accuracy " in line
        assert line.endswith(" ex/s") and " s  " in line


def test_verbose_numbers_the_epochs_from_start_epoch(blobs, capsys):
    fit(blobs, epochs=2, start_epoch=3, verbose=2)
    out, err = capsys.readouterr()
    assert [line.split("  ")[0] for line in out.splitlines()] == ["epoch 4/5", "epoch 5/5"]
    assert "epoch 4/5" in err and "epoch 5/5" in err


@pytest.mark.parametrize("verbose", [3, -1, "2", 0.5])
def test_a_bad_verbose_is_a_clear_error(blobs, verbose):
    with pytest.raises(lw.LayerwiseError, match="verbose must be 0, 1 or 2"):
        fit(blobs, verbose=verbose)


def test_a_bar_without_tqdm_is_a_clear_error(blobs, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import tqdm.auto raises ImportError
    with pytest.raises(lw.LayerwiseError, match="needs tqdm.*pip install tqdm"):
        fit(blobs, verbose=1)
    fit(blobs, verbose=0)


def test_the_bar_is_closed_when_the_training_diverges(blobs):
    from tqdm.auto import tqdm

    X, y = blobs
    net = lw.Network.from_spec("5-8-3", seed=0)
    losses = iter([1.0, 1.0, float("nan")])  # the third of the epoch's six steps diverges

    def step(X, y, l2):
        return next(losses), lw.Network._loss_and_gradients(net, X, y, l2)[1]

    net._loss_and_gradients = step
    with pytest.raises(lw.TrainingDiverged, match="at epoch 1") as info:
        lw.fit(net, X, y, epochs=3, batch_size=16, verbose=1)
    # the bar opened at the first step is closed, though the error (and so fit's frame,
    # and the bar) is still there
    assert info.value.epoch == 1 and len(tqdm._instances) == 0


def test_tqdm_is_imported_for_a_bar_only():
    code = (
        "import json, sys; import numpy as np; import layerwise as lw; "
        "net = lw.Network.from_spec('4-8-3', seed=0); X = np.random.default_rng(0).random((30, 4)); "
        "lw.fit(net, X, np.arange(30) % 3, epochs=2); quiet = 'tqdm' in sys.modules; "
        "lw.fit(net, X, np.arange(30) % 3, epochs=1, verbose=1); "
        "print(json.dumps([quiet, 'tqdm' in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [False, True]


def test_the_command_line_uses_the_callbacks_of_the_core():
    from layerwise.cli import progress

    assert progress.EpochProgress is EpochProgress and progress.EpochLines is EpochLines
    assert lw.nn.EpochProgress is EpochProgress and lw.nn.EpochLines is EpochLines


def test_epoch_lines_write_where_they_are_told(blobs):
    X, y = blobs
    lines = []
    lw.fit(
        lw.Network.from_spec("5-8-3", seed=0), X, y, epochs=2, callbacks=[EpochLines(2, len(X), lines.append)]
    )
    assert [line[:9] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all("val_loss" not in line for line in lines)


def test_a_disabled_bar_loads_nothing_and_shows_nothing(blobs, capsys):
    bar = EpochProgress(90, 3, enabled=False)
    history = fit(blobs, callbacks=[bar])
    assert history.epochs == 3 and bar.bar is None and capsys.readouterr() == ("", "")
    assert np.isfinite(history.train_loss).all()
