"""Figures for run directories, drawn to PNG files.

The figures are matplotlib Figure objects saved directly, without pyplot: nothing changes
matplotlib's backend, so a notebook that imports this module keeps its inline plots.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import matplotlib
import numpy as np
from matplotlib.figure import Figure

DPI = 100


def _draw(calls):
    for fn, args, kwargs in calls:
        fn(*args, **kwargs)


def draw_all(calls, jobs=1):
    """Draws (function, arguments, keywords) calls, sharing them with a forked process
    when ``jobs`` > 1: matplotlib is already imported, so the fork starts at once."""
    if jobs < 2 or len(calls) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return _draw(calls)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        other = pool.submit(_draw, calls[1::2])
        _draw(calls[::2])
        other.result()


def _axes(width, height, *, left=0.8, bottom=0.6, right=0.2, top=0.2):
    """A figure of width x height inches with one Axes and fixed margins (inches) for
    the tick and axis labels: cheaper than tight_layout, which draws the figure twice."""
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    fig.subplots_adjust(
        left=left / width, bottom=bottom / height, right=1 - right / width, top=1 - top / height
    )
    return fig, ax


def _save(fig, path, tight=False):
    if tight:  # for labels whose size is not known in advance
        fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path


def score_vs_setting(path, values, scores, *, xlabel, ylabel="validation accuracy", log=True, best=None):
    """A score against one numeric setting (the lambda sweep), with the best one marked."""
    fig, ax = _axes(5, 3.5)
    ax.plot(values, scores, "o-")
    if best is not None:
        ax.axvline(best, color="tab:red", linestyle="--", label=f"best {xlabel} = {best:.4g}")
        ax.legend()
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def training_curves(path, train, validation=None, *, ylabel, title=None):
    """A metric per epoch for the training set and, if given, the validation set."""
    fig, ax = _axes(5, 3.5, top=0.4 if title else 0.2)
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, label="training")
    if validation:
        ax.plot(epochs, validation, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def confusion_matrix(path, counts, labels=None):
    counts = np.asarray(counts)
    k = len(counts)
    labels = [str(i) for i in range(k)] if labels is None else [str(label) for label in labels]
    long_labels = max(map(len, labels)) > 2
    fig, ax = _axes(0.45 * k + 1.2, 0.45 * k + 1.2, left=0.7 if long_labels else 0.6,
                    bottom=0.9 if long_labels else 0.6)  # fmt: skip
    ax.imshow(counts, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                color = "white" if counts[i, j] > counts.max() / 2 else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(k), labels, rotation=90 if long_labels else 0)
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return _save(fig, path)


def image_grid(path, images, titles, *, columns=8, title=None, cmap="gray_r", symmetric=False):
    """Small images (each 2-D) in a grid with a caption each. ``symmetric`` scales each
    image to [-1, 1] by its largest absolute value (for weights, with a diverging colour map).

    The tiles are drawn as one mosaic image, which is many times faster than a subplot each.
    """
    images = np.asarray(images, dtype=np.float64)
    n = len(images)
    h, w = images.shape[1:] if n else (8, 8)
    rows = max(1, (n + columns - 1) // columns)
    gap_w, gap_h = max(1, w // 4), h // 2 + 2  # room between tiles, and above each for its caption
    mosaic = np.full((rows * (h + gap_h), columns * (w + gap_w)), np.nan)
    for i, image in enumerate(images):
        if symmetric:
            image = image / (np.abs(image).max() or 1.0)
        r, c = divmod(i, columns)
        top, left = r * (h + gap_h) + gap_h, c * (w + gap_w)
        mosaic[top : top + h, left : left + w] = image
    fig, ax = _axes(columns * 1.0, rows * 1.2 + (0.4 if title else 0.1), left=0.05, bottom=0.05, right=0.05,
                    top=0.35 if title else 0.05)  # fmt: skip
    limits = dict(vmin=-1, vmax=1) if symmetric else {}
    colours = matplotlib.colormaps[cmap].with_extremes(bad="white")
    ax.imshow(mosaic, cmap=colours, interpolation="nearest", **limits)
    for i, caption in enumerate(titles[:n]):
        r, c = divmod(i, columns)
        ax.text(
            c * (w + gap_w) + w / 2 - 0.5,
            r * (h + gap_h) + gap_h - 1,
            caption,
            ha="center",
            va="bottom",
            fontsize=8,
        )
    if not n:
        ax.text(mosaic.shape[1] / 2, mosaic.shape[0] / 2, "none", ha="center", va="center")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def series_per_layer(path, series, *, ylabel, log=True, title=None):
    """One line per named series (e.g. the gradient norm of each layer per epoch)."""
    fig, ax = _axes(5.5, 3.5, top=0.4 if title else 0.2)
    for name, values in series.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def heatmap(path, values, row_labels, column_labels, *, xlabel, ylabel, title=None):
    """A score for every pair of two settings; NaN cells (failed trials) stay blank."""
    values = np.asarray(values, dtype=np.float64)
    fig = Figure(figsize=(max(4, 0.8 * len(column_labels) + 2), max(3, 0.5 * len(row_labels) + 1.5)))
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.3f}", ha="center", va="center", fontsize=8, color="white")
    ax.set_xticks(range(len(column_labels)), [str(c) for c in column_labels], rotation=45, ha="right")
    ax.set_yticks(range(len(row_labels)), [str(r) for r in row_labels])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax)
    return _save(fig, path, tight=True)
