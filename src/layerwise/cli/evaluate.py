"""Evaluate a trained model on a dataset: accuracy, per-class precision and recall, and
the confusion matrix.

The model is a model file or a run directory of `layerwise train`; it applies its own
preprocessing. A run that did not finish (stopped by Ctrl-C or killed) has no model file
yet: its checkpoint's weights are used, as a line on stderr says. --data (by default the
dataset the model was trained on) is a name or a path as for `layerwise train`; the test
set is used, or every example of a dataset that has no test set (a CSV or NPZ file with a
single set).

examples:
  layerwise evaluate runs/20260101-120000-train
  layerwise evaluate model.safetensors --data fashion-mnist --data-dir ~/data
  layerwise evaluate model.safetensors --data held-out.csv --label-column label
"""

import sys

import numpy as np

from ..errors import LayerwiseError


def add_arguments(p):
    p.add_argument(
        "model",
        metavar="RUN_OR_MODEL",
        help="a model file, or a run directory (its checkpoint if the run did not finish)",
    )
    p.add_argument(
        "--data", default=None, help="dataset name or path (default: the one the model was trained on)"
    )
    p.add_argument("--data-dir", default=None, help="where named datasets live (before $LAYERWISE_DATA)")
    p.add_argument("--label-column", default=None, help="CSV label column: index or header name")


def run(args):
    from ..data import load
    from ..io.model_file import load_model_or_checkpoint
    from ..nn.config import parse_setting
    from ..nn.metrics import confusion_matrix
    from ..reports.train import metrics_table

    source = load_model_or_checkpoint(args.model)
    if source.note:
        print(f"layerwise evaluate: {source.note}", file=sys.stderr)
    model = source.model
    data_name = args.data or model.metadata.get("data")
    if not data_name:
        raise LayerwiseError("the model does not record its dataset; give --data")
    label_column = args.label_column or model.metadata.get("settings", {}).get("label_column", 0)
    label_column = parse_setting("label_column", label_column)
    data = load(data_name, args.data_dir, label_column=label_column)
    X, y, what = data.evaluation_set()
    if X.shape[1] != model.n_features:
        raise LayerwiseError(
            f"{data.name} has {X.shape[1]} features but the model expects {model.n_features}"
        )
    if y.max() >= model.n_classes:
        raise LayerwiseError(f"{data.name} has label {y.max()} but the model has {model.n_classes} classes")
    predicted = model.network.predict(model.transform(X))
    confusion = confusion_matrix(y, predicted, model.n_classes)
    print(f"accuracy {float(np.mean(predicted == y)):.4f} on {what}")
    print(metrics_table(confusion, model.classes.tolist()))
    return 0
