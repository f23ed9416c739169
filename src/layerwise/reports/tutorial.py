"""The run directory of `layerwise reproduce`: the final model, report.json, report.md and
six figures."""

import math
import time

import numpy as np

from ..io.atomic import write_atomic
from ..io.model_file import MODEL_FILENAME, save
from . import figures
from .run_dir import environment, write_json

FIGURES = {
    "validation_accuracy": ("validation_accuracy.png", "Validation accuracy against lambda"),
    "loss_curves": ("loss_curves.png", "Training and validation loss of the final model"),
    "confusion_matrix": ("confusion_matrix.png", "Confusion matrix on the test set"),
    "misclassified": ("misclassified.png", "Misclassified test digits (true -> predicted)"),
    "first_layer_weights": (
        "first_layer_weights.png",
        "The first layer's weight vectors as 8x8 images (a convolutional network: its first filters)",
    ),
    "gradient_norms": ("gradient_norms.png", "Gradient norm of each layer per epoch of the final model"),
}


def table(result):
    lines = [f"{'lambda':>10}  {'val accuracy':>12}  {'val loss':>9}"]
    for i, r in enumerate(result["sweep"]):
        mark = "  <- best" if i == result["best_index"] else ""
        lines.append(f"{r['l2']:>10.4g}  {r['val_accuracy']:>12.4f}  {r['val_loss']:>9.4f}{mark}")
    lines.append(result_line(result))
    return "\n".join(lines)


def result_line(result):
    """The chosen lambda and the test accuracy: the line --quiet still prints."""
    return f"best lambda {result['best_lambda']:.6g}  test accuracy {result['test_accuracy']:.4f}"


def draw_sweep_figure(folder, result):
    """Validation accuracy against lambda: needs only the sweep, not the final model."""
    lambdas = [r["l2"] for r in result["sweep"]]
    accuracies = [r["val_accuracy"] for r in result["sweep"]]
    name = FIGURES["validation_accuracy"][0]
    figures.score_vs_setting(
        folder / name, lambdas, accuracies, xlabel="lambda", log=min(lambdas) > 0, best=result["best_lambda"],
        edge_hint="widen --lambdas",
    )  # fmt: skip


def loss_floor(output_activation, n_classes):
    """The lowest cross-entropy a network can reach when the softmax's inputs are sigmoid
    outputs, all in (0, 1): with the true class's output at 1 and the others at 0, the
    softmax gives it e / (e + n - 1), so the loss is at least log(e + n - 1) - 1 (1.4612
    for 10 classes). None for other output activations."""
    if str(output_activation).lower() not in ("sigmoid", "logistic"):
        return None
    return math.log(math.e + n_classes - 1) - 1


def loss_floor_keywords(output_activation, n_classes):
    """training_curves' keywords for the line at loss_floor, if there is one."""
    floor = loss_floor(output_activation, n_classes)
    if floor is None:
        return {}
    label = (f"lowest possible loss, log(e + {n_classes - 1}) - 1 = {floor:.4f}:\n"
             "a softmax of sigmoid outputs in (0, 1) cannot reach 0")  # fmt: skip
    return {"floor": floor, "floor_label": label}


def figure_calls(folder, result):
    """The figures of the final model, as (function, arguments, keywords) to draw."""
    data, final = result["data"], result["final"]
    path = {key: folder / name for key, (name, _) in FIGURES.items()}
    wrong = np.flatnonzero(result["test_predicted"] != data["y_test"])
    history = final["history"]
    floor = loss_floor_keywords(result["config"].output_activation, len(result["confusion"]))
    # the first Linear layer's weight vectors as 8x8 images, or a convolution's filters
    first_layer = figures.first_layer_call(path["first_layer_weights"], final["net"], (8, 8))
    calls = [
        (figures.training_curves, (path["loss_curves"], history.train_loss, history.val_loss),
         {"ylabel": "loss", "title": f"final model, lambda = {result['best_lambda']:.4g}", **floor}),
        (figures.confusion_matrix, (path["confusion_matrix"], result["confusion"]), {}),
        (figures.image_grid, (path["misclassified"], data["X_test"][wrong[:48]].reshape(-1, 8, 8),
                              [f"{data['y_test'][i]} -> {result['test_predicted'][i]}" for i in wrong[:48]]),
         {"title": f"{len(wrong)} misclassified"}),
        first_layer,
        (figures.series_per_layer, (path["gradient_norms"], final["grad_norms"]),
         {"ylabel": "||dL/dW||", "title": "weight gradient norm per epoch"}),
    ]  # fmt: skip
    return [call for call in calls if call is not None]


def draw_figures(folder, result, jobs=1):
    """The figures of the final model (the sweep's figure is drawn by draw_sweep_figure)."""
    figures.draw_all(figure_calls(folder, result), jobs)


def write_report(folder, result, jobs, started, backend=None):
    """Writes every file of the run directory (the final model ``result["model"]`` as
    model.safetensors); returns the text table for the terminal."""
    save(result["model"], folder / MODEL_FILENAME)
    figures_started = time.perf_counter()
    draw_figures(folder, result, jobs)
    figures_seconds = time.perf_counter() - figures_started
    config, final = result["config"], result["final"]
    summary = table(result)
    report = {
        "experiment": "tutorial",
        "lambdas": [r["l2"] for r in result["sweep"]],
        "validation_accuracy": [r["val_accuracy"] for r in result["sweep"]],
        "validation_loss": [r["val_loss"] for r in result["sweep"]],
        "train_loss": [r["train_loss"] for r in result["sweep"]],
        "best_lambda": result["best_lambda"],
        "final_validation_accuracy": final["val_accuracy"],
        "final_seed": final["seed"],
        "final_same_as_sweep": final["same_as_sweep"],
        "test_accuracy": result["test_accuracy"],
        "confusion_matrix": result["confusion"].tolist(),
        "final_history": {"train_loss": final["history"].train_loss, "val_loss": final["history"].val_loss},
        # the norms the gradient_norms figure plots: {layer: [weight-gradient norm per epoch]}
        "final_gradient_norms": final["grad_norms"],
        "split": {k: len(v) for k, v in result["data"].items() if k.startswith("y_")},
        "config": config.to_dict(),
        "seed": config.seed,
        "jobs": jobs,
        "backend": backend or f"{jobs} local processes",
        "training_seconds": result["train_seconds"],
        "timings": {
            "data_and_sweep": result["sweep_seconds"],
            "final_model_curves": result["train_seconds"] - result["sweep_seconds"],
            "figures_after_training": figures_seconds,
        },
        "model": MODEL_FILENAME,
        "figures": {key: name for key, (name, _) in FIGURES.items()},
        "environment": environment(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    report["seconds"] = time.perf_counter() - started
    write_json(folder / "report.json", report)
    write_atomic(folder / "report.md", markdown(report, summary))
    return summary


def markdown(report, summary):
    c = report["config"]
    if c.get("layers"):
        network = f"Network 64 -> {c['layers']} -> 10"
    else:
        network = f"Network 64-{'-'.join(map(str, c['hidden']))}-10, {c['activation']} hidden units"
    lines = [
        "# The tutorial's experiment",
        "",
        f"{network}, output activation "
        f"{c['output_activation'] or 'none'}, softmax cross-entropy with L2; {c['optimizer']}, batch "
        f"{c['batch_size'] or 'full'}, learning rate {c['lr']}, momentum {c['momentum']}, "
        f"{c['epochs']} epochs, {c['dtype']}, seed {c['seed']}.",
        f"Split: {report['split']['y_train']} train / {report['split']['y_valid']} validation / "
        f"{report['split']['y_test']} test.",
        "",
        "| lambda | validation accuracy | validation loss |",
        "| ---: | ---: | ---: |",
    ]
    for lam, acc, loss in zip(report["lambdas"], report["validation_accuracy"], report["validation_loss"]):
        best = " **(best)**" if lam == report["best_lambda"] else ""
        lines.append(f"| {lam:.4g}{best} | {acc:.4f} | {loss:.4f} |")
    lines += [
        "",
        f"**Best lambda {report['best_lambda']:.6g}; test accuracy {report['test_accuracy']:.4f}** "
        f"(whole run {report['seconds']:.1f} s with {report['jobs']} jobs).",
        "",
        f"The final model (lambda {report['best_lambda']:.6g}) is saved as `{report['model']}`, with the "
        "digits' labels and preprocessing (none: raw pixel values 0..16); `layerwise evaluate`, "
        "`layerwise predict` and `layerwise export` take this run directory.",
        "",
    ]
    for name, caption in FIGURES.values():
        lines += [f"## {caption}", "", f"![{caption}]({name})", ""]
    return "\n".join(lines)
