"""The confusion matrix: class names and axis labels inside the figure, every count
readable on its cell."""

import numpy as np
import pytest
from figure_checks import cell_contrasts, render, texts_cut

from layerwise.reports import figures

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot"]  # fmt: skip


def counts(k, high, seed=0):
    rng = np.random.default_rng(seed)
    matrix = rng.integers(0, 30, (k, k)) * (rng.random((k, k)) < 0.5)
    np.fill_diagonal(matrix, rng.integers(high // 2, high, k))
    return matrix


@pytest.mark.parametrize(
    "labels, high",
    [(FASHION, 1000), (FASHION, 60000), (None, 70), ([f"class {i}" for i in range(3)], 5),
     (["a very long class name indeed", "b"], 100)],
)  # fmt: skip
def test_class_names_and_axis_labels_lie_inside_the_figure(labels, high):
    k = 10 if labels is None else len(labels)
    fig = figures.confusion_matrix_figure(counts(k, high), labels)
    assert texts_cut(fig) == []
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names == (labels or [str(i) for i in range(k)])
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")


def test_the_axis_labels_do_not_run_into_the_class_names():
    fig = figures.confusion_matrix_figure(counts(10, 1000), FASHION)
    renderer = render(fig)
    ax = fig.axes[0]
    lowest_name = min(t.get_window_extent(renderer).y0 for t in ax.get_xticklabels())
    assert ax.xaxis.label.get_window_extent(renderer).y1 <= lowest_name
    leftmost_name = min(t.get_window_extent(renderer).x0 for t in ax.get_yticklabels())
    assert ax.yaxis.label.get_window_extent(renderer).x1 <= leftmost_name


@pytest.mark.parametrize("high", [60, 1000, 60000])
def test_every_count_is_written_readably_inside_its_cell(high):
    matrix = counts(10, high)
    matrix[0, 1] = high // 2  # a cell in the middle of the colour scale
    fig = figures.confusion_matrix_figure(matrix, FASHION)
    ax = fig.axes[0]
    written = sorted(int(t.get_text()) for t in ax.texts)
    assert written == sorted(matrix[matrix > 0].tolist())
    # black or white, whichever contrasts more: WCAG's 4.5 for normal text on every cell
    assert min(ratio for _, ratio in cell_contrasts(ax)) >= 4.5
    renderer = render(fig)
    cell_width = ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0]
    assert max(t.get_window_extent(renderer).width for t in ax.texts) < 0.95 * cell_width


def test_the_saved_confusion_matrix_is_a_png(tmp_path):
    path = figures.confusion_matrix(tmp_path / "confusion.png", counts(10, 1000), FASHION)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
