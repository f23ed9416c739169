"""Train a network on a dataset and write a run directory.

--data takes a name (digits, mnist, fashion-mnist: looked up in --data-dir, then
$LAYERWISE_DATA, then /usr/share/datasets/) or the path of a CSV file, an NPZ file or a
folder holding the four MNIST-format IDX files. A stratified, seeded share of the training
examples (--validation) is held out for validation, unless the dataset has its own
validation set (the digits do: the tutorial's split). The run directory gets the model
(model.safetensors, with its preprocessing and class names), report.json and figures of
the loss, the accuracy and the test set's confusion matrix, each written whole when the
training has succeeded.

Checkpoints: --checkpoint-every N writes checkpoint.safetensors in the run directory every
N epochs (weights, optimizer state, random generator states, epoch, history), and Ctrl-C
writes one of the last finished epoch; `layerwise train --resume RUN_DIR` continues from
it, with the settings it records, to the weights an uninterrupted run would reach. A loss
that becomes NaN or infinite stops the run, which keeps the last finite weights in its
model.safetensors and exits with status 1.

examples:
  layerwise train --data digits --hidden 48,32 --epochs 50
  layerwise train --data fashion-mnist --hidden 256,128 --activation relu --optimizer adam \\
      --lr 1e-3 --batch-size 128 --epochs 20 --dropout 0.2
  layerwise train --data my.csv --label-column label --scaling standard --early-stopping
  layerwise train --data fashion-mnist --epochs 30 --checkpoint-every 5 --out runs/long
  layerwise train --resume runs/long
"""

import argparse
import hashlib
import sys
import time
from pathlib import Path

from ..errors import LayerwiseError, TrainingDiverged
from ..reports import run_dir as reporting
from .options import hidden_sizes, positive_int

DEFAULT_LR = {"adam": 1e-3, "sgd": 0.01}


def add_arguments(p):
    data = p.add_argument_group("data")
    data.add_argument(
        "--data", default=None, help="digits, mnist, fashion-mnist, or a CSV/NPZ file or IDX folder"
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
    saving = p.add_argument_group("checkpoints")
    saving.add_argument(
        "--checkpoint-every",
        default=None,
        metavar="N",
        help="write checkpoint.safetensors every N epochs (Ctrl-C always writes one)",
    )
    saving.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its checkpoint, with the settings it records",
    )


# Options that may come with --resume; every other setting comes from the checkpoint.
RESUME_OPTIONS = {"resume", "quiet", "checkpoint_every", "data_dir"}
SETTING_KEYS = (
    "data", "hidden", "activation", "output_activation", "dropout", "init", "dtype", "optimizer", "lr",
    "momentum", "nesterov", "batch_size", "epochs", "l2", "schedule", "early_stopping", "patience",
    "validation", "scaling", "label_column", "seed",
)  # fmt: skip


def settings_from_args(args):
    """Every setting checked and normalised, before any data is read."""
    from ..nn.layers import activation_layer

    if args.data is None:
        raise LayerwiseError("give --data (a dataset name or path), or --resume RUN_DIR")

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
    from ..data import load
    from ..data.preprocessing import fit_preprocessing

    data = load(settings["data"], data_dir, label_column=settings["label_column"])
    data = data.with_validation(settings["validation"], seed=settings["seed"]).check_trainable()
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
    every = (
        None if args.checkpoint_every is None else positive_int(args.checkpoint_every, "--checkpoint-every")
    )
    if args.resume is not None:
        return _resume(args, every, started)
    settings = settings_from_args(args)
    out = Path(args.out or reporting.default_run_dir("train"))
    with reporting.live_run_directory(out, keep=_worth_keeping(out)) as folder:
        data, prep = prepare(settings, args.data_dir)
        net, optimizer = build(settings, data.n_features, data.n_classes)
        rng = _seed_generators(net, settings["seed"])
        metadata = {"dataset": data.name, "data": str(settings["data"]), "settings": settings,
                    "data_dir": args.data_dir, "checkpoint_every": every,
                    "training_data_sha256": _fingerprint(data)}  # fmt: skip
        model = _model(net, data, prep, metadata)
        early = _early_stopping(settings)
        return _train(folder, model, optimizer, rng, early, data, None, every, not args.quiet, started)


def _resume(args, every, started):
    """Continues the run in args.resume from its checkpoint."""
    from ..io.atomic import remove_temporaries
    from ..io.checkpoint import CHECKPOINT_FILENAME, load_checkpoint, restore
    from ..io.model_file import MODEL_FILENAME

    _check_resume_options(args)
    folder = Path(args.resume)
    path = folder / CHECKPOINT_FILENAME
    if not path.is_file():
        if (folder / MODEL_FILENAME).is_file():
            raise LayerwiseError(f"{folder} holds a finished run: there is nothing to resume")
        raise LayerwiseError(
            f"no checkpoint to resume from in {folder} (runs started with --checkpoint-every N, "
            "or stopped with Ctrl-C, leave one)"
        )
    remove_temporaries(folder, CHECKPOINT_FILENAME)
    state = load_checkpoint(path)
    metadata = state.model.metadata
    settings = _recorded_settings(metadata, path)
    every = every or metadata.get("checkpoint_every")
    data, prep = prepare(settings, args.data_dir or metadata.get("data_dir"))
    if _fingerprint(data) != metadata.get("training_data_sha256"):
        raise LayerwiseError(
            f"the training data of {settings['data']} are not those the checkpoint was trained on"
        )
    net, optimizer = build(settings, data.n_features, data.n_classes)
    if state.model.network.sizes != net.sizes or state.model.network.dtype != net.dtype:
        raise LayerwiseError(f"{path} holds a network that its recorded settings do not describe")
    early = _early_stopping(settings)
    rng = restore(state, optimizer, early)
    model = _model(state.model.network, data, prep, {**metadata, "checkpoint_every": every})
    return _train(folder, model, optimizer, rng, early, data, state, every, not args.quiet, started)


def _train(folder, model, optimizer, rng, early, data, state, every, show, started):
    """Trains (from ``state`` when resuming), then writes the run's files; Ctrl-C writes a
    checkpoint, and a diverging loss writes the last finite weights."""
    import layerwise as lw

    from ..io.checkpoint import CHECKPOINT_FILENAME, Checkpointer

    settings = model.metadata["settings"]
    if show:
        print(_describe(data, settings), flush=True)
    history = state.history if state is not None else lw.History()
    saver = Checkpointer(folder / CHECKPOINT_FILENAME, every, model, optimizer, rng, early)
    try:
        _fit(model.network, optimizer, rng, early, saver, data, settings, history, show)
        results = _write_run(folder, model.network, data, model.preprocessing, settings, history, started)
    except KeyboardInterrupt:
        return _interrupted(folder, saver)
    except TrainingDiverged as e:
        path = _write_diverged(folder, model, e)
        raise TrainingDiverged(f"{e}, saved in {path}", epoch=e.epoch, history=e.history) from None
    (folder / CHECKPOINT_FILENAME).unlink(missing_ok=True)
    if show:
        print(results["summary"])
    print(f"run directory: {folder}")
    return 0


def _fit(net, optimizer, rng, early, saver, data, settings, history, show):
    import layerwise as lw

    from .progress import EpochLines, EpochProgress

    callbacks = [early] if early is not None else []
    callbacks.append(saver)  # after early stopping, whose counters it saves
    epochs = settings["epochs"]
    if show:
        n = len(data.y_train)
        callbacks += [EpochProgress(n, epochs, enabled=sys.stderr.isatty()), EpochLines(epochs, n)]
    done = history.epochs
    if early is not None and early.stopped:  # it stopped training right after the checkpoint
        history.stopped_epoch, epochs = done - 1, done
    return lw.fit(
        net,
        data.X_train,
        data.y_train,
        optimizer=optimizer,
        epochs=epochs - done,
        batch_size=settings["batch_size"],
        l2=settings["l2"],
        validation_data=(data.X_valid, data.y_valid),
        seed=rng,
        callbacks=callbacks,
        start_epoch=done,
        history=history,
    )


def _interrupted(folder, saver):
    if saver.latest is None:  # interrupted before training began: nothing to keep
        raise KeyboardInterrupt
    state = saver.save()
    print(
        f"\nlayerwise train: interrupted; the checkpoint of epoch {state.epoch} is in {saver.path}\n"
        f"resume with: layerwise train --resume {folder}",
        file=sys.stderr,
    )
    return 130


def _write_diverged(folder, model, error):
    """The last finite weights and a report of the divergence; returns the model's path."""
    from ..io.model_file import MODEL_FILENAME, save

    metadata = {**model.metadata, "diverged_at_epoch": error.epoch}
    path = save(model.network, folder / MODEL_FILENAME, classes=model.classes,
                preprocessing=model.preprocessing, metadata=metadata)  # fmt: skip
    report = {
        "command": "train",
        "status": "diverged",
        "error": str(error),
        "diverged_at_epoch": error.epoch,
        "settings": model.metadata["settings"],
        "history": error.history.to_dict() if error.history is not None else None,
        "model": MODEL_FILENAME,
        "environment": reporting.environment(),
    }
    reporting.write_json(folder / "report.json", report)
    return path


def _worth_keeping(folder):
    """A failed run keeps its folder when it holds a checkpoint or the weights of a divergence."""
    from ..io.checkpoint import CHECKPOINT_FILENAME

    return lambda error: isinstance(error, TrainingDiverged) or (folder / CHECKPOINT_FILENAME).is_file()


def _seed_generators(net, seed):
    from ..nn.training import seed_generators

    return seed_generators(net, seed)


def _early_stopping(settings):
    import layerwise as lw

    if not settings["early_stopping"]:
        return None
    return lw.EarlyStopping(monitor="val_loss", patience=settings["patience"])


def _model(net, data, prep, metadata):
    from ..nn.model import Model

    return Model(net, classes=data.classes, preprocessing=prep, metadata=metadata)


def _fingerprint(data):
    """SHA-256 of the training examples and labels, as prepared for the network."""
    digest = hashlib.sha256()
    for array in (data.X_train, data.y_train):
        digest.update(array.dtype.str.encode() + str(array.shape).encode())
        digest.update(memoryview(array.reshape(-1)))
    return digest.hexdigest()


def _recorded_settings(metadata, path):
    settings = metadata.get("settings")
    if (
        not isinstance(settings, dict)
        or any(key not in settings for key in SETTING_KEYS)
        or not isinstance(settings["hidden"], list)
    ):
        raise LayerwiseError(f"{path} does not record the settings of a layerwise train run")
    counts = [settings["epochs"], settings["seed"], *settings["hidden"]]
    if settings["batch_size"] is not None:
        counts.append(settings["batch_size"])
    numbers = [settings[k] for k in ("lr", "l2", "dropout", "validation")]
    if not all(type(v) is int for v in counts) or not all(isinstance(v, (int, float)) for v in numbers):
        raise LayerwiseError(f"{path} records settings of the wrong types")
    return settings


def _check_resume_options(args):
    defaults = argparse.ArgumentParser()
    add_arguments(defaults)
    defaults = vars(defaults.parse_args([]))
    given = [
        k for k, v in vars(args).items() if k in defaults and k not in RESUME_OPTIONS and v != defaults[k]
    ]
    if given:
        option = "--" + given[0].replace("_", "-")
        raise LayerwiseError(
            f"--resume continues with the settings the checkpoint records; {option} cannot change them"
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
    from ..io.model_file import MODEL_FILENAME, save
    from ..nn.metrics import confusion_matrix, precision_recall
    from ..reports import figures
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
    figures.training_curves(folder / "loss.png", history.train_loss, history.val_loss, ylabel="loss",
                            title="loss per epoch")  # fmt: skip
    figures.training_curves(folder / "accuracy.png", history.train_accuracy, history.val_accuracy,
                            ylabel="accuracy")  # fmt: skip
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
