"""Evaluate a trained model on a dataset: accuracy, per-class precision and recall, and
the confusion matrix.

The model is a model file or a run directory of `layerwise train`; it applies its own
preprocessing. A run that did not finish (stopped by Ctrl-C or killed) has no model file
yet: its checkpoint's weights are used, as a line on stderr says.

Without --data, the run's own test split is scored: the dataset it was trained on (its
recorded absolute path, so from any working directory), read with its recorded settings
(label column, dropped columns, seed) and split again exactly as training split it: the
dataset's test set, or the stratified 20% test split train held out of a CSV or NPZ file
without one (a run made before train held one out: its validation split, as its report
scored). With --data (a name or a path as for `layerwise train`), that dataset's test set
is scored, or every example of a dataset without one (all rows of a CSV file); the
recorded label column and dropped columns apply unless --label-column or --drop-columns
are given.

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
        "--data",
        default=None,
        help="dataset name or path, scored whole (its test set, or every example); default: the "
        "run's own test split of the data it was trained on",
    )
    p.add_argument("--data-dir", default=None, help="where named datasets live (before $LAYERWISE_DATA)")
    p.add_argument("--label-column", default=None, help="CSV label column: index or header name")
    p.add_argument(
        "--drop-columns", default=None, help="CSV columns to leave out: indices or header names (none: none)"
    )


def run(args):
    from ..data import load
    from ..experiments.training import prepare_data, recorded_config, split_of
    from ..io.model_file import load_model_or_checkpoint
    from ..nn.config import parse_setting
    from ..nn.metrics import confusion_matrix
    from ..reports.train import metrics_table

    source = load_model_or_checkpoint(args.model)
    if source.note:
        print(f"layerwise evaluate: {source.note}", file=sys.stderr)
    model = source.model
    metadata = model.metadata
    settings = metadata.get("settings", {}) if isinstance(metadata.get("settings"), dict) else {}
    columns = {
        "label_column": settings.get("label_column", 0),
        "drop_columns": settings.get("drop_columns", ()),
    }
    for name in columns:
        given = getattr(args, name)
        if given is not None:
            columns[name] = parse_setting(name, given)
    if args.data is None and settings:
        config = recorded_config(metadata, source.path).replace(**columns)
        data, _ = prepare_data(config, args.data_dir or metadata.get("data_dir"), preprocess=False,
                               **split_of(metadata))  # fmt: skip
        if data.X_test is not None:
            X, y, what = data.X_test, data.y_test, f"the {len(data.y_test)} test examples of {data.name}"
        else:
            X, y, what = (
                data.X_valid,
                data.y_valid,
                f"the {len(data.y_valid)} validation examples of {data.name}",
            )
    else:
        data_name = args.data or metadata.get("data")
        if not data_name:
            raise LayerwiseError("the model does not record its dataset; give --data")
        label_column = parse_setting("label_column", columns["label_column"])
        data = load(
            data_name, args.data_dir, label_column=label_column, drop_columns=tuple(columns["drop_columns"])
        )
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
