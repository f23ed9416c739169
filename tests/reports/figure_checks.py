"""What the figure tests look at in a matplotlib Figure once it is drawn: where its texts
lie, and how well a cell's text contrasts with the cell's colour."""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb


def render(fig):
    """Draws ``fig`` as the PNG would be (same size, same dpi) and returns the renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def tick_labels(axis):
    """The labels of the major ticks the axis draws: those inside its limits."""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * (high - low)
    drawn = [t for t in axis.get_major_ticks() if low - slack <= t.get_loc() <= high + slack]
    return [label for t in drawn for label in (t.label1, t.label2) if label.get_visible()]


def texts(fig):
    """Every visible, non-empty text of the figure: tick labels, axis labels, titles, texts
    on the Axes, legends, the figure's own texts."""
    found = list(fig.texts)
    for legend in fig.legends:
        found += legend.get_texts()
    for ax in fig.axes:
        if ax.axison:  # an Axes drawn without axes ("off") keeps its (undrawn) tick labels
            found += [*tick_labels(ax.xaxis), *tick_labels(ax.yaxis), ax.xaxis.label, ax.yaxis.label]
        found += [ax.title, *ax.texts]
        if ax.get_legend() is not None:
            found += ax.get_legend().get_texts()
    return [t for t in found if t.get_visible() and t.get_text()]


def texts_cut(fig):
    """The texts that do not lie wholly inside the figure (as drawn): [] when none is cut."""
    renderer = render(fig)
    box = fig.bbox
    cut = []
    for text in texts(fig):
        extent = text.get_window_extent(renderer)
        if (
            extent.x0 < box.x0 - 0.5
            or extent.y0 < box.y0 - 0.5
            or extent.x1 > box.x1 + 0.5
            or (extent.y1 > box.y1 + 0.5)
        ):
            cut.append(text.get_text())
    return cut


def contrast(a, b):
    """WCAG's contrast ratio of two colours: 1 (same luminance) to 21 (black on white)."""

    def luminance(colour):
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    low, high = sorted([luminance(a), luminance(b)])
    return (high + 0.05) / (low + 0.05)


def cell_contrasts(ax):
    """(text, contrast ratio with its cell's colour) for every text on the Axes' image (a
    NaN cell shows the white of the Axes)."""
    image = ax.get_images()[0]
    data = np.ma.filled(np.ma.asarray(image.get_array(), dtype=np.float64), np.nan)
    found = []
    for text in ax.texts:
        x, y = text.get_position()
        value = data[int(round(y)), int(round(x))]
        cell = "white" if np.isnan(value) else image.cmap(image.norm(value))
        found.append((text.get_text(), contrast(cell, text.get_color())))
    return found
