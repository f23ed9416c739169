"""Figures for run directories, drawn with matplotlib's Agg backend to PNG files."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 100


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def score_vs_setting(path, values, scores, *, xlabel, ylabel="validation accuracy", log=True, best=None):
    """A score against one numeric setting (the lambda sweep), with the best one marked."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
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


def loss_curves(path, train_loss, val_loss=None, title="loss per epoch"):
    fig, ax = plt.subplots(figsize=(5, 3.5))
    epochs = np.arange(1, len(train_loss) + 1)
    ax.plot(epochs, train_loss, label="training")
    if val_loss:
        ax.plot(epochs, val_loss, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def accuracy_curves(path, train_accuracy, val_accuracy=None):
    fig, ax = plt.subplots(figsize=(5, 3.5))
    epochs = np.arange(1, len(train_accuracy) + 1)
    ax.plot(epochs, train_accuracy, label="training")
    if val_accuracy:
        ax.plot(epochs, val_accuracy, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def confusion_matrix(path, counts, labels=None):
    counts = np.asarray(counts)
    k = len(counts)
    labels = [str(i) for i in range(k)] if labels is None else [str(label) for label in labels]
    fig, ax = plt.subplots(figsize=(0.45 * k + 2, 0.45 * k + 1.5))
    ax.imshow(counts, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                color = "white" if counts[i, j] > counts.max() / 2 else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(k), labels, rotation=90 if max(map(len, labels)) > 2 else 0)
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return _save(fig, path)


def image_grid(path, images, titles, *, columns=8, title=None, cmap="gray_r", symmetric=False):
    """Small images (each 2-D) in a grid with a caption each. ``symmetric`` centres each
    image's colour scale on zero (for weights, with a diverging colour map)."""
    n = max(1, len(images))
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.25 + (0.4 if title else 0)))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, image, caption in zip(np.ravel(axes), images, titles):
        limit = float(np.abs(image).max()) or 1.0
        limits = dict(vmin=-limit, vmax=limit) if symmetric else {}
        ax.imshow(image, cmap=cmap, interpolation="nearest", **limits)
        ax.set_title(caption, fontsize=8)
    if not len(images):
        np.ravel(axes)[0].text(0.5, 0.5, "none", ha="center", va="center")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def series_per_layer(path, series, *, ylabel, log=True, title=None):
    """One line per named series (e.g. the gradient norm of each layer per epoch)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
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
