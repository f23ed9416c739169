"""The figures of `layerwise tune`: the heatmap of two searched settings (the best cell
marked, a colour scale that separates the good cells, readable text on every cell) and
the score against one setting (cross-validation spread as error bars, points joined only
when nothing else varied)."""

import itertools

import numpy as np
import pytest
from figure_checks import cell_contrasts, texts_cut
from matplotlib.container import ErrorbarContainer

from layerwise.experiments.search import rank
from layerwise.experiments.search.space import Space
from layerwise.reports import figures, search

L2 = [0.001, 0.01, 0.1, 1.0, 10.0]
# accuracies of a search over l2 x hidden: the good ones within 0.01, two bad lambdas far below
GOOD_AND_BAD = np.array([[0.962, 0.968], [0.966, 0.972], [0.960, 0.970], [0.31, 0.42], [0.10, 0.10]])


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


def best_cells(fig):
    return [p for p in fig.axes[0].patches if p.get_gid() == "best-cell"]


def colour_positions(fig, values):
    """Where each score of ``values`` sits on the heatmap's colour scale (0 to 1)."""
    (image,) = fig.axes[0].get_images()
    return image.norm(np.ma.filled(np.ma.asarray(image.get_array(), dtype=np.float64), np.nan))


def test_the_heatmap_marks_the_best_cell_and_its_colours_separate_the_good_ones():
    fig = figures.heatmap_figure(GOOD_AND_BAD, L2, [16, 64], xlabel="hidden", ylabel="l2", title="accuracy")
    ax = fig.axes[0]
    (cell,) = best_cells(fig)
    assert cell.get_xy() == (0.5, 0.5)  # row 1, column 1: 0.972
    bold = [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"]
    assert bold == ["0.972"]
    # the two bad lambdas do not take the scale: the good cells, 0.012 apart, span half of it
    position = colour_positions(fig, GOOD_AND_BAD)
    good = position[:3]
    assert good.max() - good.min() >= 0.5
    assert len(np.unique(good)) == 6  # and no two of them look alike
    assert (position[3:] < good.min()).all()
    colorbar = ax.get_images()[0].colorbar
    assert "rank" in colorbar.ax.get_ylabel()
    # the colour bar's ticks name the scores at their ranks, from the worst to the best
    labels = [t.get_text() for t in colorbar.ax.get_yticklabels()]
    assert labels[0] == "0.100" and labels[-1] == "0.972"
    assert min(ratio for _, ratio in cell_contrasts(ax)) >= 4.5
    assert texts_cut(fig) == []


def test_equal_scores_share_a_colour_and_the_order_is_kept():
    values = np.array([[0.5, 0.9], [0.9, 0.7]])
    position = colour_positions(figures.heatmap_figure(values, "ab", "cd", xlabel="x", ylabel="y"), values)
    assert position[0, 1] == position[1, 0] == 1.0 and position[0, 0] == 0.0 and 0 < position[1, 1] < 1


def test_failed_cells_say_so_and_every_text_reads_on_its_cell():
    values = GOOD_AND_BAD.copy()
    values[2, 0] = np.nan
    fig = figures.heatmap_figure(values, L2, [16, 64], xlabel="hidden", ylabel="l2")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts].count("failed") == 1
    assert min(ratio for _, ratio in cell_contrasts(ax)) >= 4.5
    every_failed = figures.heatmap_figure(np.full((2, 2), np.nan), "ab", "cd", xlabel="x", ylabel="y")
    assert [t.get_text() for t in every_failed.axes[0].texts] == ["failed"] * 4
    assert best_cells(every_failed) == []


def test_long_setting_values_and_titles_lie_inside_the_heatmap():
    values = np.random.default_rng(2).uniform(0.8, 0.9, (3, 7))
    values[0, 0] = np.nan
    columns = [16, 32, 64, "128x64x32", 256, "512x512x512x512", 1024]
    fig = figures.heatmap_figure(values, ["relu", "tanh", "leaky_relu"], columns, xlabel="hidden",
                                 ylabel="activation", title="a long title over a narrow grid of cells, " * 2,
                                 score_label="cross-validation mean accuracy")  # fmt: skip
    assert texts_cut(fig) == []
    narrow = figures.heatmap_figure(GOOD_AND_BAD[:, :1], L2, ["only"], xlabel="x", ylabel="l2",
                                    title="3-fold cross-validation mean accuracy")  # fmt: skip
    assert texts_cut(narrow) == []


def result(names, accuracies, cv=None):
    """A finished search (what search.draw_figures reads) over the grid ``names`` (setting
    -> values), with the accuracy ``accuracies(settings)`` of each trial."""
    records = []
    for i, values in enumerate(itertools.product(*names.values())):
        settings = dict(zip(names, values))
        record = {"trial": i, "settings": settings, "status": "ok", "val_loss": 1.0}
        accuracy = accuracies(settings)
        if cv:
            record["fold_accuracy"] = [accuracy - 0.01, accuracy, accuracy + 0.01][:cv]
            record["val_accuracy"] = float(np.mean(record["fold_accuracy"]))
        else:
            record["val_accuracy"] = accuracy
        records.append(record)
    ranking = rank(records)
    return {"space": Space(dict(names), {}), "ranking": ranking, "best": ranking[0], "cv": cv}


def l2_score(settings):
    return {0.001: 0.95, 0.01: 0.96, 0.1: 0.97, 1.0: 0.6, 10.0: 0.1}[settings["l2"]]


def test_the_search_heatmap_outlines_the_best_trial_and_names_cross_validation(tmp_path, drawn):
    # hidden 64 is better; the best trial is l2 = 0.1 with it
    score = lambda s: l2_score(s) + 0.01 * (s["hidden"] == [64])
    searched = result({"l2": L2, "hidden": [[16], [64]]}, score, cv=3)
    (path,) = search.draw_figures(tmp_path, searched)
    assert path.name == "heatmap_l2_hidden.png" and path.stat().st_size > 0
    fig = drawn[path.name]
    (cell,) = best_cells(fig)
    assert cell.get_xy() == (0.5, 1.5)
    assert "cross-validation mean" in fig.axes[0].get_title()
    assert "cross-validation mean" in fig.axes[0].images[0].colorbar.ax.get_ylabel()


def points(ax):
    """The line of the points (markers "o", in front of every trial's faint ones)."""
    return max((line for line in ax.get_lines() if line.get_marker() == "o"), key=lambda x: x.get_zorder())


def test_one_searched_setting_with_cv_joins_its_points_with_the_folds_spread(tmp_path, drawn):
    (path,) = search.draw_figures(tmp_path, result({"l2": L2}, l2_score, cv=3))
    ax = drawn[path.name].axes[0]
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segments = bars.lines[2][0].get_segments()
    np.testing.assert_allclose([s[1, 1] - s[0, 1] for s in segments], 2 * np.std([-0.01, 0, 0.01]))
    assert points(ax).get_linestyle() == "-"
    assert ax.get_ylabel() == "cross-validation mean accuracy"
    legend = [t.get_text() for legend in drawn[path.name].legends for t in legend.get_texts()]
    assert any("3 folds" in text for text in legend)
    assert texts_cut(drawn[path.name]) == []


def test_without_cv_there_are_no_error_bars(tmp_path, drawn):
    (path,) = search.draw_figures(tmp_path, result({"l2": L2}, l2_score))
    ax = drawn[path.name].axes[0]
    assert not ax.containers and ax.get_ylabel() == "validation accuracy"


def test_points_are_not_joined_when_other_settings_varied(tmp_path, drawn):
    names = {"l2": L2, "hidden": [[16], [64]], "lr": [0.05, 0.5]}
    score = lambda s: l2_score(s) - 0.3 * (s["lr"] == 0.5) - 0.01 * (s["hidden"] == [16])
    paths = search.draw_figures(tmp_path, result(names, score, cv=3))
    assert [p.name for p in paths] == ["score_vs_l2.png", "score_vs_lr.png"]
    for path in paths:
        fig = drawn[path.name]
        ax = fig.axes[0]
        assert points(ax).get_linestyle() == "None"
        assert [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        legend = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
        assert any(text.startswith("best trial per value") for text in legend)
        assert any(text.startswith("every trial") for text in legend)
        assert texts_cut(fig) == []
    # the faint points: every trial, 20 of them
    trial_points = [
        line for line in drawn["score_vs_l2.png"].axes[0].get_lines() if line.get_color() == "0.75"
    ]
    assert len(trial_points[0].get_xdata()) == 20


def test_the_score_plot_leaves_no_good_error_bar_below_its_axis():
    scores = [0.964, 0.966, 0.966, 0.942, 0.706]
    errors = [0.01, 0.005, 0.01, 0.015, 0.02]
    fig = figures.score_vs_setting_figure(L2, scores, xlabel="l2", errors=errors)
    low, _ = fig.axes[0].get_ylim()
    assert 0.706 < low <= 0.942 - 0.015
