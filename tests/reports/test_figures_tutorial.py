"""The lambda curve (zoomed on the good lambdas, the bad ones marked with their value, a
note when the best lambda is at the edge of the grid) and the loss curves (the floor of a
softmax of sigmoid outputs)."""

import math

import numpy as np
import pytest
from figure_checks import render, texts_cut, tick_labels

from layerwise.reports import figures, tutorial

# validation accuracies of `layerwise reproduce --epochs 200` against logspace(-2,2,10)
LAMBDAS = np.logspace(-2, 2, 10).tolist()
ACCURACY = [0.936, 0.950, 0.948, 0.944, 0.942, 0.921, 0.849, 0.164, 0.071, 0.071]


@pytest.fixture
def drawn(monkeypatch):
    """The Figures the module saves, by file name."""
    saved = {}
    save = figures._save

    def keep(fig, path, tight=False):
        saved[path.name] = fig
        return save(fig, path, tight)

    monkeypatch.setattr(figures, "_save", keep)
    return saved


def sweep_figure(tmp_path, drawn, lambdas, accuracies):
    best = max(range(len(lambdas)), key=lambda i: (accuracies[i], -lambdas[i]))
    result = {"sweep": [{"l2": lam, "val_accuracy": a} for lam, a in zip(lambdas, accuracies)],
              "best_lambda": lambdas[best]}  # fmt: skip
    tutorial.draw_sweep_figure(tmp_path, result)
    assert (tmp_path / "validation_accuracy.png").stat().st_size > 0
    return drawn["validation_accuracy.png"]


def by_gid(fig, gid):
    return [t for ax in fig.axes for t in ax.texts if t.get_gid() == gid]


def test_the_lambda_curve_shows_the_differences_between_the_good_lambdas(tmp_path, drawn):
    fig = sweep_figure(tmp_path, drawn, LAMBDAS, ACCURACY)
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    good = [a for a in ACCURACY if a > 0.9]
    assert low <= min(good) and high >= max(good)  # every good lambda in view...
    assert high - low < 0.15  # ...on a scale where 0.936 and 0.950 lie well apart
    # the bad lambdas are marked at the bottom, their accuracy written
    below = [a for a in ACCURACY if a < low]
    assert below and sorted(float(t.get_text()) for t in by_gid(fig, "below-axis")) == sorted(below)
    assert texts_cut(fig) == []


def test_the_curve_zooms_even_when_half_the_lambdas_are_bad(tmp_path, drawn):
    accuracies = [0.95, 0.96, 0.97, 0.955, 0.965, 0.1, 0.1, 0.1, 0.1, 0.1]
    fig = sweep_figure(tmp_path, drawn, LAMBDAS, accuracies)
    low, high = fig.axes[0].get_ylim()
    assert 0.1 < low <= 0.95 and high - low < 0.1
    assert [t.get_text() for t in by_gid(fig, "below-axis")] == ["0.100"] * 5


def test_no_zoom_when_every_lambda_scores_alike(tmp_path, drawn):
    fig = sweep_figure(tmp_path, drawn, LAMBDAS[:5], [0.91, 0.93, 0.95, 0.94, 0.92])
    low, high = fig.axes[0].get_ylim()
    assert low < 0.91 and high > 0.95 and not by_gid(fig, "below-axis")


@pytest.mark.parametrize("best, edge", [(0, "smallest"), (4, None), (9, "largest")])
def test_a_note_says_to_widen_the_lambdas_iff_the_best_is_at_an_edge(tmp_path, drawn, best, edge):
    accuracies = [0.9] * 10
    accuracies[best] = 0.95
    fig = sweep_figure(tmp_path, drawn, LAMBDAS, accuracies)
    notes = [t.get_text() for t in by_gid(fig, "edge-note")]
    if edge is None:
        assert notes == []
    else:
        assert len(notes) == 1 and edge in notes[0] and "widen --lambdas" in notes[0]
        assert texts_cut(fig) == []


def test_a_best_lambda_of_zero_is_no_edge_to_widen(tmp_path, drawn):
    fig = sweep_figure(tmp_path, drawn, [0.0, 0.1, 1.0], [0.95, 0.94, 0.9])
    assert by_gid(fig, "edge-note") == []


def test_log_ticks_read_as_plain_numbers(tmp_path, drawn):
    fig = sweep_figure(tmp_path, drawn, LAMBDAS, ACCURACY)
    render(fig)
    labels = [t.get_text() for t in tick_labels(fig.axes[0].xaxis) if t.get_text()]
    assert labels == ["0.01", "0.1", "1", "10", "100"]
    few = figures.score_vs_setting_figure(
        [0.001, 0.01, 0.1, 1, 10], [0.9, 0.95, 0.96, 0.94, 0.5], xlabel="l2"
    )
    render(few)
    assert [t.get_text() for t in tick_labels(few.axes[0].xaxis) if t.get_text()] == [
        "0.001",
        "0.01",
        "0.1",
        "1",
        "10",
    ]


def test_the_loss_floor_of_sigmoid_outputs():
    assert tutorial.loss_floor("sigmoid", 10) == pytest.approx(math.log(math.e + 9) - 1)
    assert tutorial.loss_floor("sigmoid", 10) == pytest.approx(1.4612, abs=5e-5)
    # the lowest loss: the true class's sigmoid at 1 and the others at 0
    logits = np.array([1.0] + [0.0] * 9)
    assert tutorial.loss_floor("sigmoid", 10) == pytest.approx(-np.log(np.exp(1) / np.exp(logits).sum()))
    for other in (None, "none", "identity", "tanh", "relu"):
        assert tutorial.loss_floor(other, 10) is None and tutorial.loss_floor_keywords(other, 10) == {}


def test_the_loss_curves_show_the_floor_with_why():
    floor = tutorial.loss_floor_keywords("sigmoid", 10)
    assert "1.4612" in floor["floor_label"] and "sigmoid" in floor["floor_label"]
    train = 1.4612 + np.exp(-np.arange(300) / 50)
    fig = figures.training_curves_figure(train.tolist(), (train + 0.05).tolist(), ylabel="loss", title="t",
                                         **floor)  # fmt: skip
    ax = fig.axes[0]
    (line,) = [line for line in ax.get_lines() if line.get_gid() == "floor"]
    assert line.get_ydata()[0] == pytest.approx(1.4612, abs=5e-5)
    assert ax.get_ylim()[0] < 1.4612
    assert [t.get_gid() for t in ax.texts] == ["floor-note"] and texts_cut(fig) == []
    plain = figures.training_curves_figure(train.tolist(), ylabel="loss")
    assert not [line for line in plain.axes[0].get_lines() if line.get_gid() == "floor"]
