"""Figures for run directories, drawn to PNG files.

The figures are matplotlib Figure objects saved directly, without pyplot: nothing changes
matplotlib's backend, so a notebook that imports this module keeps its inline plots. Each
figure has a function that returns its Figure (``confusion_matrix_figure``, for a notebook
or a test) and one that saves it to a path and returns the path (``confusion_matrix``).
"""

import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

from ..io.atomic import write_atomic
from ..nn.conv import Conv2D
from ..nn.layers import Linear

DPI = 100
BEST_COLOUR = "tab:red"


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
    the tick and axis labels: cheaper than tight_layout, which measures every label."""
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    fig.subplots_adjust(
        left=left / width, bottom=bottom / height, right=1 - right / width, top=1 - top / height
    )
    return fig, ax


def _save(fig, path, tight=False):
    if tight:  # for labels whose size is not known in advance
        fig.tight_layout()
    # whole or not at all, and a failed write is one line naming the file
    write_atomic(path, lambda f: fig.savefig(f, format=Path(path).suffix[1:] or "png", dpi=DPI))
    return path


def number(x):
    """A number as it reads best on an axis: 0.01, 0.0278, 1, 100, 1000 (no 1e+03)."""
    return np.format_float_positional(float(x), precision=3, fractional=False, trim="-")


def _text_inches(texts, fontsize):
    """The largest width and height (inches) of ``texts`` in the default font at ``fontsize``,
    measured as the PNG will draw them, without drawing a figure."""
    renderer, font = RendererAgg(1, 1, 72), FontProperties(size=fontsize)
    sizes = [renderer.get_text_width_height_descent(t, font, ismath=False) for t in texts] or [(0, 0, 0)]
    return max(w for w, _, _ in sizes) / 72, max(h for _, h, _ in sizes) / 72


def text_colour(rgba):
    """Black or white, whichever contrasts more with a background of colour ``rgba`` (by
    its relative luminance, as WCAG defines it): a contrast ratio of at least 4.58 on any
    background."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3]]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "black" if luminance > 0.1791 else "white"


def zoom_floor(scores, *, spread=3.0, jump=3.0, share=0.2):
    """The low end of a y axis that shows the differences between the good scores, when a
    few bad ones would otherwise take it all (None when every score would fit anyway): the
    higher of the best score less ``spread`` times its distance to the median (at least 5 %
    of the whole range), and, when a drop in the sorted scores sets the best ones apart
    (at least ``share`` of the whole range, and ``jump`` times the distance from the best
    to the score above the drop), a little below that score."""
    scores = np.sort(np.asarray(scores, dtype=np.float64).ravel())[::-1]
    scores = scores[np.isfinite(scores)]
    if len(scores) < 3:
        return None
    top, bottom = scores[0], scores[-1]
    whole = top - bottom
    floor = top - max(spread * (top - np.median(scores)), 0.05 * whole)
    for i in range(1, len(scores) - 1):  # the drops below two scores or more
        drop, above = scores[i] - scores[i + 1], top - scores[i]
        if drop >= share * whole and drop >= jump * above:
            floor = max(floor, scores[i] - max(0.25 * above, 0.01 * whole))
            break
    return float(floor) if floor > bottom else None


def _log_axis(axis, values):
    """Log-scale ticks that read as plain numbers: at the values themselves when there are
    a few, else at the powers of ten, and no labels on the minor ticks."""
    values = np.unique(np.asarray(values, dtype=np.float64))
    values = values[values > 0]
    if not len(values):
        return
    decades = np.arange(np.ceil(np.log10(values[0]) - 1e-9), np.floor(np.log10(values[-1]) + 1e-9) + 1)
    if len(values) <= 6:
        axis.set_major_locator(FixedLocator(values))
    elif len(decades) >= 2:
        axis.set_major_locator(LogLocator(base=10))
    else:
        axis.set_major_locator(FixedLocator(values[:: int(np.ceil(len(values) / 5))]))
    axis.set_major_formatter(FuncFormatter(lambda x, _: number(x)))
    axis.set_minor_formatter(NullFormatter())


def _edge_note(values, best, name, hint):
    """A note when the best value is the smallest or the largest tried (a smallest 0 is not
    an edge: nothing below it to try)."""
    values = np.unique(np.asarray(values, dtype=np.float64))
    if hint is None or best is None or len(values) < 2:
        return None
    if np.isclose(best, values[0]) and best != 0:
        return f"best {name} = {number(best)} is the smallest tried: {hint}"
    if np.isclose(best, values[-1]):
        return f"best {name} = {number(best)} is the largest tried: {hint}"
    return None


def _write_values_below(ax, xs, scores):
    """Each score written over its mark at the bottom of the Axes, a line higher when it
    would run into the one before (the x scale and limits are those drawn)."""
    ax.get_xlim()  # brings the limits up to date
    pixels = ax.transData.transform(np.column_stack([xs, np.ones(len(xs))]))[:, 0]
    ends = []  # per line, where its last text ends (pixels); a text is about 36 pixels wide
    for x, score, pixel in sorted(zip(xs, scores, pixels), key=lambda t: t[2]):
        line = next((i for i, end in enumerate(ends) if pixel - 18 > end), len(ends))
        if line == len(ends):
            ends.append(0.0)
        ends[line] = pixel + 18
        ax.text(x, 0.07 + 0.06 * line, f"{score:.3f}", transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=8, color="0.3", gid="below-axis")  # fmt: skip


def score_vs_setting_figure(
    values, scores, *, xlabel, ylabel="validation accuracy", log=True, best=None, errors=None,
    error_label=None, join=True, points_label=None, trials=None, edge_hint=None, zoom=True,
):  # fmt: skip
    """A score against one numeric setting (the lambda sweep, or a search's trials), with
    the best value marked.

    ``errors`` are error bars (the spread over cross-validation folds), ``join`` joins the
    points by a line (not when other settings varied between them), ``trials`` (values,
    scores) are every trial, drawn faintly behind the points (the best trial per value).
    With ``zoom`` the y axis leaves out the scores far below the good ones (see zoom_floor):
    each such point is marked at the bottom with its value written. ``edge_hint`` is what to
    do when the best value is at the edge of those tried: a note at the top says it.
    """
    values, scores = np.asarray(values, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    order = np.argsort(values)
    values, scores = values[order], scores[order]
    spread = None if errors is None else np.nan_to_num(np.asarray(errors, dtype=np.float64)[order])
    note = _edge_note(values, best, xlabel, edge_hint)
    floor = zoom_floor(scores) if zoom else None
    if floor is not None and spread is not None:
        # a point whose error bar reaches the good scores is one of them, its whole bar shown
        good = scores + spread >= floor
        floor = min(floor, float(np.min(scores[good] - spread[good])))
        floor -= 0.04 * (np.max(scores + spread) - floor)
        floor = None if floor <= np.nanmin(scores) else floor
    fig, ax = _axes(5.5, 4, left=0.85, top=0.45 if note else 0.2)
    style = "o-" if join else "o"
    label = ", ".join(filter(None, [points_label, error_label])) or None
    if spread is not None:
        ax.errorbar(values, scores, yerr=spread, fmt=style, capsize=3, zorder=3, label=label)
    else:
        ax.plot(values, scores, style, zorder=3, label=label)
    if best is not None:
        ax.axvline(best, color=BEST_COLOUR, linestyle="--", label=f"best {xlabel} = {number(best)}")
    if floor is not None:
        high = np.nanmax(scores + (0 if spread is None else spread))
        ax.set_ylim(floor, high + 0.08 * (high - floor))
        below = scores < floor
        if below.any():  # marked at the bottom of the axes: x in data, y in axes coordinates
            ax.plot(values[below], np.full(below.sum(), 0.03), "v", color="tab:gray", clip_on=False,
                    transform=ax.get_xaxis_transform(), label="below the axis (value written)")  # fmt: skip
    if trials is not None:
        trial_values, trial_scores = (np.asarray(t, dtype=np.float64) for t in trials)
        hidden = int(np.sum(trial_scores < floor)) if floor is not None else 0
        label = "every trial" + (f" ({hidden} below the axis)" if hidden else "")
        ax.plot(trial_values, trial_scores, "o", color="0.75", markersize=4, zorder=1, label=label)
    if log:
        ax.set_xscale("log")
        _log_axis(ax.xaxis, values)
    if floor is not None:
        _write_values_below(ax, values[scores < floor], scores[scores < floor])
    if note:
        ax.text(0.5, 1.03, note, transform=ax.transAxes, ha="center", va="bottom", fontsize=9,
                color=BEST_COLOUR, gid="edge-note")  # fmt: skip
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if handles:  # under the Axes, where it covers no point: the figure grows to hold it
        columns = 2 if max(map(len, labels)) <= 34 else 1
        rows = -(-len(handles) // columns)
        legend_inches = 0.17 * rows + 0.1
        width, height = fig.get_size_inches()
        fig.set_size_inches(width, height + legend_inches)
        bottom, top = 0.6 + legend_inches, 0.45 if note else 0.2
        fig.subplots_adjust(bottom=bottom / (height + legend_inches), top=1 - top / (height + legend_inches))
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.01), ncols=columns, fontsize=8,
                   frameon=False)  # fmt: skip
    return fig


def score_vs_setting(path, values, scores, **keywords):
    """score_vs_setting_figure saved to ``path``."""
    return _save(score_vs_setting_figure(values, scores, **keywords), path)


def training_curves_figure(train, validation=None, *, ylabel, title=None, floor=None, floor_label=None):
    """A metric per epoch for the training set and, if given, the validation set; ``floor``
    draws a horizontal line (the lowest value the metric can reach) labelled ``floor_label``."""
    fig, ax = _axes(5, 3.5, top=0.4 if title else 0.2)
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, label="training")
    if validation:
        ax.plot(epochs, validation, label="validation")
    if floor is not None:
        # the line, and its label under it, where no curve goes
        ax.axhline(floor, color="0.35", linestyle=":", gid="floor")
        low, high = ax.get_ylim()
        ax.set_ylim(floor - 0.2 * (max(high, floor) - floor), high)
        if floor_label:
            ax.annotate(floor_label, (0.98, floor), xycoords=ax.get_yaxis_transform(), xytext=(0, -3),
                        textcoords="offset points", ha="right", va="top", fontsize=8, color="0.25",
                        gid="floor-note")  # fmt: skip
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def training_curves(path, train, validation=None, **keywords):
    """training_curves_figure saved to ``path``."""
    return _save(training_curves_figure(train, validation, **keywords), path)


def confusion_matrix_figure(counts, labels=None):
    """Counts per (true, predicted) class, each written on its cell in black or white,
    whichever reads on the cell's colour; the figure is sized to its class names."""
    counts = np.asarray(counts)
    k = len(counts)
    labels = [str(i) for i in range(k)] if labels is None else [str(label) for label in labels]
    cell = max(0.45, 0.08 * len(str(counts.max(initial=0))) + 0.15)  # room for the longest count
    rotate = max(map(len, labels), default=1) > 2
    # margins (inches) from the class names' measured size: tick, names, gap, axis label, edge
    label_width, label_height = _text_inches(labels, matplotlib.rcParams["ytick.labelsize"])
    names_below = 0.7072 * (label_width + label_height) if rotate else label_height
    left, bottom, right, top = 0.1 + label_width + 0.45, 0.1 + names_below + 0.45, 0.15, 0.15
    fig, ax = _axes(cell * k + left + right, cell * k + bottom + top, left=left, bottom=bottom, right=right,
                    top=top)  # fmt: skip
    norm = Normalize(0, max(int(counts.max(initial=0)), 1))
    image = ax.imshow(counts, cmap="Blues", norm=norm)
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                colour = text_colour(image.cmap(norm(counts[i, j])))
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8, color=colour)
    if rotate:
        ax.set_xticks(range(k), labels, rotation=45, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(range(k), labels)
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return fig


def confusion_matrix(path, counts, labels=None):
    """confusion_matrix_figure saved to ``path``."""
    return _save(confusion_matrix_figure(counts, labels), path)


def image_grid_figure(images, titles, *, columns=8, title=None, cmap="gray_r", symmetric=False,
                      colorbar_label=None):  # fmt: skip
    """Small images (each 2-D) in a grid with a caption each, on one colour scale. With
    ``symmetric`` (weights, with a diverging colour map) the scale is centred on 0, from
    minus to plus the largest absolute value of all the images, with a colour bar
    (``colorbar_label``).

    The tiles are drawn as one mosaic image, which is many times faster than a subplot each.
    """
    images = np.asarray(images, dtype=np.float64)
    n = len(images)
    h, w = images.shape[1:] if n else (8, 8)
    rows = max(1, (n + columns - 1) // columns)
    gap_w, gap_h = max(1, w // 4), h // 2 + 2  # room between tiles, and above each for its caption
    mosaic = np.full((rows * (h + gap_h), columns * (w + gap_w)), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = r * (h + gap_h) + gap_h, c * (w + gap_w)
        mosaic[top : top + h, left : left + w] = image
    # the Axes is the mosaic's exact shape (1 inch per column), with the colour bar to its right
    margin, bar = 0.05, (1.0 if symmetric else 0.0)
    top_margin = (0.25 + 0.2 * (title.count("\n") + 1)) if title else margin
    width, height = columns * 1.0, columns * 1.0 * mosaic.shape[0] / mosaic.shape[1]
    fig, ax = _axes(width + 2 * margin + bar, height + margin + top_margin, left=margin, bottom=margin,
                    right=margin + bar, top=top_margin)  # fmt: skip
    limits = {}
    if symmetric:
        largest = float(np.abs(images).max()) if n else 1.0
        limits = dict(vmin=-(largest or 1.0), vmax=largest or 1.0)
    colours = matplotlib.colormaps[cmap].with_extremes(bad="white")
    shown = ax.imshow(mosaic, cmap=colours, interpolation="nearest", **limits)
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
        ax.set_title(title, fontsize=10)
    if symmetric:
        figure_width, figure_height = fig.get_size_inches()
        box = [(margin + width + 0.15) / figure_width, (margin + 0.1 * height) / figure_height,
               0.15 / figure_width, 0.8 * height / figure_height]  # fmt: skip
        fig.colorbar(shown, cax=fig.add_axes(box), label=colorbar_label)
    return fig


def image_grid(path, images, titles, **keywords):
    """image_grid_figure saved to ``path``."""
    return _save(image_grid_figure(images, titles, **keywords), path)


FIRST_LAYER_TILES = 64  # the first layer's units or filters shown, at most


def first_layer_tiles(net, image_shape=None, limit=FIRST_LAYER_TILES):
    """What the figure of a network's first layer shows: ``(images, captions, title)``,
    or None when its first weighted layer has nothing to show as images.

    For a convolutional network (its first layer with weights is a Conv2D), the filters
    of that convolution: one kH x kW image per output channel, of input channel 0 when
    there is one input channel (grayscale images), else the mean over the input channels
    (the title says so). For a network of Linear layers on images of ``image_shape``
    (height, width), the first Linear layer's weight vectors, one image of that shape per
    unit. At most ``limit`` tiles, the first ones; the title says how many there are."""
    first = next((layer for layer in net.layers if isinstance(layer, (Conv2D, Linear))), None)
    colours = "red: positive weight{}; blue: negative"
    if isinstance(first, Conv2D):
        weight = first.weight.value
        filters = weight[:, 0] if first.in_channels == 1 else weight.mean(axis=1)
        n, (kh, kw) = len(filters), first.kernel_size
        which = f"The first {limit} of the {n}" if n > limit else f"The {n}"
        channels = "" if first.in_channels == 1 else f", averaged over its {first.in_channels} input channels"
        title = f"{which} {kh}x{kw} filters of the first convolution{channels}, one colour scale for all"
        title += "\n" + colours.format(" (a high value under it raises the filter's output)")
        return filters[:limit], [str(i + 1) for i in range(min(n, limit))], title
    if isinstance(first, Linear) and image_shape is not None and math.prod(image_shape) == first.n_in:
        weights = first.weight.value.T  # one row per unit
        n = len(weights)
        which = f"the first {limit} of the {n}" if n > limit else f"each of the {n}"
        title = (
            f"Weights from the {first.n_in} pixels into {which} first-layer units, one colour scale for all"
        )
        title += "\n" + colours.format(" from that pixel (a high value there raises the unit's input)")
        images = weights[:limit].reshape(-1, *image_shape)
        return images, [str(i + 1) for i in range(min(n, limit))], title
    return None


def first_layer_call(path, net, image_shape=None):
    """The (function, arguments, keywords) that draw the first layer's figure to ``path``
    (see ``first_layer_tiles``), or None when there is nothing to draw: arrays only, so
    that ``draw_all`` can hand it to another process cheaply."""
    tiles = first_layer_tiles(net, image_shape)
    if tiles is None:
        return None
    images, captions, title = tiles
    keywords = {"cmap": "RdBu_r", "symmetric": True, "title": title, "colorbar_label": "weight"}
    return image_grid, (path, np.array(images), captions), keywords


def first_layer_figure(net, image_shape=None):
    """The figure of a network's first layer (see ``first_layer_tiles``), or None."""
    tiles = first_layer_tiles(net, image_shape)
    if tiles is None:
        return None
    images, captions, title = tiles
    return image_grid_figure(images, captions, cmap="RdBu_r", symmetric=True, title=title,
                             colorbar_label="weight")  # fmt: skip


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


def heatmap_figure(values, row_labels, column_labels, *, xlabel, ylabel, title=None, best=None,
                   score_label="validation accuracy"):  # fmt: skip
    """A score for every pair of two settings, written on its cell; the ``best`` cell (row,
    column; by default the highest score) outlined. The colours go by rank, evenly from the
    worst score to the best (equal scores alike), so that a few bad cells do not take the
    whole scale from the good ones; the colour bar says so and labels a few ranks with
    their scores. NaN cells (failed trials) say "failed"."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    distinct = np.unique(finite)  # sorted
    scale = max(len(distinct) - 1, 1)
    ranks = np.full(values.shape, np.nan)  # 0 for the worst score, 1 for the best (or a lone one)
    ranks[np.isfinite(values)] = np.searchsorted(distinct, finite) / scale if len(distinct) > 1 else 1.0
    shown = np.unique(np.linspace(0, len(distinct) - 1, min(5, len(distinct))).round().astype(int))
    ticks = [(i / scale if len(distinct) > 1 else 1.0, f"{distinct[i]:.3f}") for i in shown]
    norm = Normalize(0.0, 1.0)
    rows, columns = [str(r) for r in row_labels], [str(c) for c in column_labels]
    title = title + ("\n(best outlined)" if len(finite) or best is not None else "") if title else None
    label = score_label + "\n(colour by rank, worst to best)"
    # margins (inches) from the labels' measured sizes, the colour bar to the right
    size = matplotlib.rcParams["xtick.labelsize"]
    row_width = _text_inches(rows, size)[0]
    column_width, column_height = _text_inches(columns, size)
    ticks_width = _text_inches([text for _, text in ticks], size)[0]
    title_width = _text_inches(title.split("\n"), 10)[0] if title else 0.0
    width, height = 0.8 * len(columns), max(1.6, 0.5 * len(rows))
    left, bottom = 0.1 + row_width + 0.45, 0.1 + 0.7072 * (column_width + column_height) + 0.45
    top = 0.15 + 0.19 * (title.count("\n") + 1) if title else 0.15
    right = 0.3 + 0.1 + ticks_width + 0.1 + 0.17 * (label.count("\n") + 1) + 0.1
    left += max(0.0, title_width / 2 + 0.1 - (left + width / 2))
    right += max(0.0, title_width / 2 + 0.1 - (right + width / 2))
    fig, ax = _axes(left + width + right, bottom + height + top, left=left, bottom=bottom, right=right,
                    top=top)  # fmt: skip
    figure_width, figure_height = fig.get_size_inches()
    image = ax.imshow(ranks, cmap="viridis", norm=norm, aspect="auto")
    if best is None and len(finite):
        best = np.unravel_index(np.nanargmax(values), values.shape)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]):
                colour = text_colour(image.cmap(norm(ranks[i, j])))
                weight = "bold" if best is not None and (i, j) == tuple(best) else "normal"
                ax.text(j, i, f"{values[i, j]:.3f}", ha="center", va="center", fontsize=8, color=colour,
                        fontweight=weight)  # fmt: skip
            else:
                ax.text(j, i, "failed", ha="center", va="center", fontsize=7, color="0.35")
    if best is not None:
        i, j = best
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=BEST_COLOUR, linewidth=3,
                               gid="best-cell", label="best"))  # fmt: skip
    ax.set_xticks(range(len(column_labels)), [str(c) for c in column_labels], rotation=45, ha="right",
                  rotation_mode="anchor")  # fmt: skip
    ax.set_yticks(range(len(row_labels)), [str(r) for r in row_labels])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    box = [(left + width + 0.15) / figure_width, bottom / figure_height, 0.15 / figure_width,
           height / figure_height]  # fmt: skip
    bar = fig.colorbar(image, cax=fig.add_axes(box))
    bar.set_ticks([at for at, _ in ticks], labels=[text for _, text in ticks])
    bar.set_label(label, fontsize=9)
    return fig


def heatmap(path, values, row_labels, column_labels, **keywords):
    """heatmap_figure saved to ``path``."""
    return _save(heatmap_figure(values, row_labels, column_labels, **keywords), path)
