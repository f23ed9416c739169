"""What a training run leaves in its run directory: the model, report.json, report.md
(with the network's layers and their output shapes) and figures of the loss, the
accuracy, the confusion matrix and, for images, the first layer's weights (a
convolutional network: its first filters); or, when the loss diverged, the last finite
weights and a report saying so."""

import time

from ..io.atomic import write_atomic
from ..io.model_file import MODEL_FILENAME, save
from ..nn.metrics import confusion_matrix, precision_recall
from . import figures
from .run_dir import environment, write_json

FIGURES = {"loss": "loss.png", "accuracy": "accuracy.png", "confusion": "confusion.png"}
FIRST_LAYER = "first_layer.png"  # drawn when the first layer's weights can be shown as images


def describe(run):
    data = run.data
    test = f", {len(data.y_test)} test" if data.y_test is not None else ""
    return (
        f"{data.name}: {len(data.y_train)} training, {len(data.y_valid)} validation{test} examples; "
        + run.config.describe(data.n_features, data.n_classes, len(data.y_train))
    )


def write_run(run, started):
    """Scores the test set (or the validation set without one), writes the model, the
    figures, report.json and report.md; returns what to print: (result, details), the
    result line (with a line on early stopping before it when it stopped the run) and the
    per-class table with the confusion matrix."""
    data, net, history, folder = run.data, run.network, run.history, run.folder
    if data.X_test is not None:
        set_name, X, y = "test", data.X_test, data.y_test
    else:
        set_name, X, y = "validation", data.X_valid, data.y_valid
    predicted = net.predict(X)
    confusion = confusion_matrix(y, predicted, data.n_classes)
    precision, recall = precision_recall(confusion)
    accuracy = float((predicted == y).mean())
    # where the initial weights came from (--init-from), recorded beside the settings
    origin = {"init_from": run.model.metadata["init_from"]} if "init_from" in run.model.metadata else {}
    metadata = {
        "dataset": data.name,
        "data": str(run.config.data),
        "settings": run.config.to_dict(),
        **origin,
    }
    save(net, folder / MODEL_FILENAME, classes=data.classes, preprocessing=run.model.preprocessing,
         metadata=metadata)  # fmt: skip
    figures.training_curves(folder / FIGURES["loss"], history.train_loss, history.val_loss, ylabel="loss",
                            title="loss per epoch")  # fmt: skip
    figures.training_curves(folder / FIGURES["accuracy"], history.train_accuracy, history.val_accuracy,
                            ylabel="accuracy")  # fmt: skip
    figures.confusion_matrix(folder / FIGURES["confusion"], confusion, data.classes)
    drawn = dict(FIGURES)
    first_layer = figures.first_layer_call(folder / FIRST_LAYER, net, data.image_shape)
    if first_layer is not None:
        fn, args, keywords = first_layer
        fn(*args, **keywords)
        drawn["first_layer"] = FIRST_LAYER
    summary = net.summary(print_fn=None)
    report = {
        "command": "train",
        "dataset": {
            "name": data.name,
            "classes": data.classes,
            "train": len(data.y_train),
            "validation": len(data.y_valid),
            "test": None if data.y_test is None else len(data.y_test),
        },
        "settings": run.config.to_dict(),
        **origin,
        "network": net.sizes,
        "network_layers": network_layers(net),
        "network_summary": summary,
        "history": history.to_dict(),
        f"{set_name}_accuracy": accuracy,
        "evaluated_on": set_name,
        "confusion_matrix": confusion,
        "precision": precision,
        "recall": recall,
        "model": MODEL_FILENAME,
        "figures": drawn,
        "training_seconds": float(sum(history.seconds)),
        "seconds": time.perf_counter() - started,
        "environment": environment(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_json(folder / "report.json", report)
    stopped = ""
    if history.stopped_epoch is not None:
        stopped = f"early stopping after epoch {history.stopped_epoch + 1}; "
        stopped += f"the weights are those of epoch {history.best_epoch + 1}\n"
    title = stopped + f"{set_name} accuracy {accuracy:.4f} on {len(y)} {set_name} examples of {data.name}"
    details = metrics_table(confusion, data.classes)
    write_atomic(folder / "report.md", _markdown(run, title + "\n" + details, summary, drawn))
    return title, details


def network_layers(net):
    """The network's layers for report.json: index, type, the layer as written, the
    shape of its output for one example and its number of parameters."""
    return [
        {
            "index": i,
            "type": type(layer).__name__,
            "layer": repr(layer),
            "output_shape": list(shape),
            "parameters": sum(p.value.size for p in layer.parameters()),
        }
        for i, (layer, shape) in enumerate(zip(net.layers, net.shapes))
    ]


def _markdown(run, result, summary, drawn):
    settings = "\n".join(f"| `{k}` | `{v}` |" for k, v in run.config.to_dict().items())
    images = "\n\n".join(f"![{name}]({path})" for name, path in drawn.items())
    spec = (
        f"Layers: `{run.config.layers}` (the last Linear layer added for the classes)\n\n"
        if run.config.layers
        else ""
    )
    return (
        f"# layerwise train: {run.data.name}\n\n{describe(run)}\n\n```\n{result}\n```\n\n"
        f"## Network\n\n{spec}```\n{summary}\n```\n\n"
        f"## Settings\n\n| setting | value |\n| --- | --- |\n{settings}\n\n## Figures\n\n{images}\n"
    )


def write_diverged(run, error):
    """The last finite weights and a report of the divergence; returns the model's path."""
    model = run.model
    metadata = {**model.metadata, "diverged_at_epoch": error.epoch}
    path = save(model.network, run.folder / MODEL_FILENAME, classes=model.classes,
                preprocessing=model.preprocessing, metadata=metadata)  # fmt: skip
    report = {
        "command": "train",
        "status": "diverged",
        "error": str(error),
        "diverged_at_epoch": error.epoch,
        "settings": run.config.to_dict(),
        "history": error.history.to_dict() if error.history is not None else None,
        "model": MODEL_FILENAME,
        "environment": environment(),
    }
    write_json(run.folder / "report.json", report)
    return path


def metrics_table(confusion, classes):
    """Per-class precision and recall, then the confusion matrix (rows: true classes)."""
    classes = [str(c) for c in classes]
    precision, recall = precision_recall(confusion)
    width = max(5, *(len(c) for c in classes))
    lines = [f"{'class':<{width}}  precision  recall  support"]
    for name, p, r, support in zip(classes, precision, recall, confusion.sum(axis=1)):
        lines.append(f"{name:<{width}}  {p:9.4f}  {r:6.4f}  {support:7d}")
    cell = max(4, len(str(confusion.max())) + 1)
    lines.append("")
    lines.append("confusion matrix (rows: true class, columns: predicted class, in the order above)")
    for name, row in zip(classes, confusion):
        lines.append(f"{name:<{width}}  " + "".join(f"{count:>{cell}d}" for count in row))
    return "\n".join(lines)
