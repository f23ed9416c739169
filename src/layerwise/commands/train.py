"""Train a network on a dataset and write a run directory.

--data takes a name (digits, mnist, fashion-mnist: looked up in --data-dir, then
$LAYERWISE_DATA, then /usr/share/datasets/) or the path of a CSV file, an NPZ file or a
folder holding the four MNIST-format IDX files. A stratified, seeded share of the training
examples (--validation) is held out for validation, unless the dataset has its own
validation set (the digits do: the tutorial's split). The run directory gets the model
(model.safetensors, with its preprocessing and class names), report.json and figures of
the loss, the accuracy and the test set's confusion matrix; it appears only when the
training succeeded.

examples:
  layerwise train --data digits --hidden 48,32 --epochs 50
  layerwise train --data fashion-mnist --hidden 256,128 --activation relu --optimizer adam \\
      --lr 1e-3 --batch-size 128 --epochs 20 --dropout 0.2
  layerwise train --data my.csv --label-column label --scaling standard --early-stopping
"""

import sys
import time

from .. import report as reporting
from ..errors import LayerwiseError
from ..options import hidden_sizes, positive_int

DEFAULT_LR = {"adam": 1e-3, "sgd": 0.01}


def add_arguments(p):
    data = p.add_argument_group("data")
    data.add_argument(
        "--data", required=True, help="digits, mnist, fashion-mnist, or a CSV/NPZ file or IDX folder"
    )
    data.add_argument("--data-dir", default=None, help="where named datasets live (before $LAYERWISE_DATA)")
    data.add_argument(
        "--label-column", default="0", help="CSV label column: index or header name (default 0)"
    )
    data.add_argument(
        "--validation", type=float, default=0.1, help="share held out for validation (default 0.1)"
    )
    data.add_argument(
        "--scaling",
        default="unit",
        choices=["unit", "standard", "none"],
        help="unit: divide by the pixel maximum into [0, 1]; standard: then subtract the training "
        "mean and divide by the training std, per feature (default unit)",
    )
    net = p.add_argument_group("network")
    net.add_argument("--hidden", default="256,128", help="hidden layer sizes (default 256,128)")
    net.add_argument(
        "--activation", default="relu", help="hidden activation: relu, leaky_relu, tanh, sigmoid"
    )
    net.add_argument(
        "--output-activation", default="none", help="activation before the softmax (default none: raw logits)"
    )
    net.add_argument("--dropout", type=float, default=0.0, help="dropout after each hidden layer (default 0)")
    net.add_argument(
        "--init", default=None, help="glorot_uniform, he_uniform or he_normal (default: by activation)"
    )
    net.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="default float32")
    opt = p.add_argument_group("training")
    opt.add_argument("--optimizer", default="adam", choices=["adam", "sgd"], help="default adam")
    opt.add_argument(
        "--lr", type=float, default=None, help="learning rate (default 1e-3 for adam, 0.01 for sgd)"
    )
    opt.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    opt.add_argument("--nesterov", action="store_true", help="Nesterov momentum for SGD")
    opt.add_argument("--batch-size", default="128", help="examples per step, or 'full' (default 128)")
    opt.add_argument("--epochs", default="20", help="epochs (default 20)")
    opt.add_argument(
        "--l2", type=float, default=0.0, help="the tutorial's lambda: loss + lambda/(2N) sum W^2"
    )
    opt.add_argument(
        "--schedule", default="constant", choices=["constant", "step", "cosine"], help="learning rate"
    )
    opt.add_argument(
        "--early-stopping", action="store_true", help="stop when validation loss stops improving"
    )
    opt.add_argument("--patience", type=int, default=5, help="epochs without improvement (default 5)")
    opt.add_argument("--seed", type=int, default=0, help="seed of the split, weights, shuffles, dropout")
    p.add_argument("--out", default=None, help="run directory to create (default runs/<timestamp>-train)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-epoch lines")


def settings_from_args(args):
    """Every setting checked and normalised, before any data is read."""
    from ..layers import activation_layer

    activation_layer(args.activation)
    output = (
        None if args.output_activation.lower() in ("none", "identity", "linear") else args.output_activation
    )
    activation_layer(output or "identity")
    if not 0 < args.validation < 1:
        raise LayerwiseError(f"--validation must be between 0 and 1, not {args.validation}")
    if not 0 <= args.dropout < 1:
        raise LayerwiseError(f"--dropout must be in [0, 1), not {args.dropout}")
    if args.l2 < 0:
        raise LayerwiseError(f"--l2 must be 0 or more, not {args.l2}")
    if args.patience < 0:
        raise LayerwiseError(f"--patience must be 0 or more, not {args.patience}")
    batch = None if args.batch_size.lower() == "full" else positive_int(args.batch_size, "--batch-size")
    relu_like = args.activation.lower().replace("-", "_") in ("relu", "leaky_relu")
    label_column = int(args.label_column) if args.label_column.lstrip("-").isdigit() else args.label_column
    return {
        "data": args.data,
        "hidden": list(hidden_sizes(args.hidden)),
        "activation": args.activation,
        "output_activation": output,
        "dropout": args.dropout,
        "init": args.init or ("he_uniform" if relu_like else "glorot_uniform"),
        "dtype": args.dtype,
        "optimizer": args.optimizer,
        "lr": args.lr if args.lr is not None else DEFAULT_LR[args.optimizer],
        "momentum": args.momentum if args.optimizer == "sgd" else None,
        "nesterov": args.nesterov if args.optimizer == "sgd" else None,
        "batch_size": batch,
        "epochs": positive_int(args.epochs, "--epochs"),
        "l2": args.l2,
        "schedule": args.schedule,
        "early_stopping": args.early_stopping,
        "patience": args.patience if args.early_stopping else None,
        "validation": args.validation,
        "scaling": args.scaling,
        "label_column": label_column,
        "seed": args.seed,
    }


def build(settings, n_features, n_classes):
    """The network and the optimizer the settings describe."""
    import layerwise as lw

    net = lw.Network.from_spec(
        [n_features, *settings["hidden"], n_classes],
        activation=settings["activation"],
        output_activation=settings["output_activation"],
        dropout=settings["dropout"],
        init=settings["init"],
        dtype=settings["dtype"],
        seed=settings["seed"],
    )
    schedule = lw.make_schedule(settings["schedule"], settings["epochs"])
    if settings["optimizer"] == "adam":
        optimizer = lw.Adam(lr=settings["lr"], schedule=schedule)
    else:
        optimizer = lw.SGD(
            lr=settings["lr"], momentum=settings["momentum"], nesterov=settings["nesterov"], schedule=schedule
        )
    return net, optimizer


def prepare(settings, data_dir):
    """The dataset with its validation split, preprocessed in place, and the Preprocessing."""
    from ..datasets import load
    from ..preprocessing import fit_preprocessing

    data = load(settings["data"], data_dir, label_column=settings["label_column"])
    data = data.with_validation(settings["validation"], seed=settings["seed"])
    prep = fit_preprocessing(
        data.X_train, settings["scaling"], pixel_max=data.pixel_max, image_shape=data.image_shape
    )
    for part in ("train", "valid", "test"):
        X = getattr(data, f"X_{part}")
        if X is not None:
            prep.transform(X)  # in place: the data is held once
    return data, prep


def run(args):
    started = time.perf_counter()
    settings = settings_from_args(args)
    out = args.out or reporting.default_run_dir("train")
    show = not args.quiet
    with reporting.run_directory(out) as tmp:
        data, prep = prepare(settings, args.data_dir)
        if show:
            print(_describe(data, settings), flush=True)
        net, optimizer = build(settings, data.n_features, data.n_classes)
        history = _fit(net, optimizer, data, settings, show)
        results = _write_run(tmp, net, data, prep, settings, history, started)
    if show:
        print(results["summary"])
    print(f"run directory: {out}")
    return 0


def _fit(net, optimizer, data, settings, show):
    import layerwise as lw

    from ..progress import EpochLines, EpochProgress

    callbacks = []
    if settings["early_stopping"]:
        callbacks.append(lw.EarlyStopping(monitor="val_loss", patience=settings["patience"]))
    if show:
        epochs = settings["epochs"]
        n = len(data.y_train)
        callbacks += [EpochProgress(n, epochs, enabled=sys.stderr.isatty()), EpochLines(epochs, n)]
    return lw.fit(
        net,
        data.X_train,
        data.y_train,
        optimizer=optimizer,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        l2=settings["l2"],
        validation_data=(data.X_valid, data.y_valid),
        seed=settings["seed"],
        callbacks=callbacks,
    )


def _describe(data, settings):
    sizes = "-".join(map(str, [data.n_features, *settings["hidden"], data.n_classes]))
    test = f", {len(data.y_test)} test" if data.y_test is not None else ""
    return (
        f"{data.name}: {len(data.y_train)} training, {len(data.y_valid)} validation{test} examples; "
        f"network {sizes} {settings['activation']}, {settings['optimizer']} lr {settings['lr']:g}, "
        f"batch {settings['batch_size'] or 'full'}, {settings['epochs']} epochs"
    )


def _write_run(folder, net, data, prep, settings, history, started):
    from .. import figures
    from ..metrics import confusion_matrix, precision_recall
    from ..persistence import MODEL_FILENAME, save
    from .evaluate import metrics_table

    if data.X_test is not None:
        set_name, X, y = "test", data.X_test, data.y_test
    else:
        set_name, X, y = "validation", data.X_valid, data.y_valid
    predicted = net.predict(X)
    confusion = confusion_matrix(y, predicted, data.n_classes)
    precision, recall = precision_recall(confusion)
    accuracy = float((predicted == y).mean())
    metadata = {"dataset": data.name, "data": str(settings["data"]), "settings": settings}
    save(net, folder / MODEL_FILENAME, classes=data.classes, preprocessing=prep, metadata=metadata)
    figures.loss_curves(folder / "loss.png", history.train_loss, history.val_loss)
    figures.accuracy_curves(folder / "accuracy.png", history.train_accuracy, history.val_accuracy)
    figures.confusion_matrix(folder / "confusion.png", confusion, data.classes)
    report = {
        "command": "train",
        "dataset": {
            "name": data.name,
            "classes": data.classes,
            "train": len(data.y_train),
            "validation": len(data.y_valid),
            "test": None if data.y_test is None else len(data.y_test),
        },
        "settings": settings,
        "network": net.sizes,
        "history": history.to_dict(),
        f"{set_name}_accuracy": accuracy,
        "evaluated_on": set_name,
        "confusion_matrix": confusion,
        "precision": precision,
        "recall": recall,
        "model": MODEL_FILENAME,
        "figures": {"loss": "loss.png", "accuracy": "accuracy.png", "confusion": "confusion.png"},
        "training_seconds": float(sum(history.seconds)),
        "seconds": time.perf_counter() - started,
        "environment": reporting.environment(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    reporting.write_json(folder / "report.json", report)
    stopped = ""
    if history.stopped_epoch is not None:
        stopped = f"early stopping after epoch {history.stopped_epoch + 1}; "
        stopped += f"the weights are those of epoch {history.best_epoch + 1}\n"
    title = stopped + f"{set_name} accuracy {accuracy:.4f} on {len(y)} {set_name} examples of {data.name}"
    return {"summary": title + "\n" + metrics_table(confusion, data.classes), "accuracy": accuracy}
