"""Train a network on a dataset and write a run directory.

--data (default digits) takes a name (digits, mnist, fashion-mnist: looked up in --data-dir, then
$LAYERWISE_DATA, then /usr/share/datasets/) or the path of a CSV file, an NPZ file or a
folder holding the four MNIST-format IDX files. A stratified, seeded share of the training
examples (--validation) is held out for validation, unless the dataset has its own
validation set (the digits do: the tutorial's split). The run directory gets the model
(model.safetensors, with its preprocessing and class names), report.json and figures of
the loss, the accuracy and the test set's confusion matrix, each written whole when the
training has succeeded. --quiet leaves out the progress (the bar, the per-epoch lines)
and the per-class table, not the result: the accuracy line and the run directory.

Checkpoints: --checkpoint-every N writes checkpoint.safetensors in the run directory every
N epochs (weights, optimizer state, random generator states, epoch, history), and Ctrl-C
writes one of the last finished epoch; `layerwise train --resume RUN_DIR` continues from
it, with the settings it records, to the weights an uninterrupted run would reach. A
finished run keeps the checkpoint of its last epoch: `--resume RUN_DIR --epochs N`
extends a run, finished or not, to N epochs in total, exactly as one run of N epochs
would have gone (refused where the learning-rate schedule, step or cosine, would have
given the epochs done other rates over N epochs). A loss that becomes NaN or infinite
stops the run, which keeps the last finite weights in its model.safetensors and exits
with status 1.

--init-from MODEL (a model file, a run directory or a checkpoint) starts the training
from that model's weights instead of random ones (fine-tuning): the settings must
describe the same network (sizes and activations; --dropout and --dtype may differ), the
optimizer starts afresh, and the run records init_from in its model and report.json.

Tracking: --tensorboard DIR writes TensorBoard event files of each epoch (losses,
accuracies, learning rate, each layer's gradient norm, and the settings as HParams) into
DIR/<run directory's name>; --mlflow [URI] logs the run to MLflow (default
sqlite:///mlflow.db in the working directory): a run named after the run directory, with
the settings as params, each epoch's metrics and the model file as an artifact. A resumed
run goes on in the same TensorBoard folder and the same MLflow run.

--layers builds the network from one line of layers instead of --hidden, --activation and
--dropout, e.g. a convolutional network: conv<filters>k<kernel>[s<stride>][p<padding>],
maxpool<k>[s<stride>], avgpool<k>[s<stride>], bn (batch normalisation of the channels or
features before it), relu, leaky_relu, tanh, sigmoid, dropout<p>, flatten, and a number
of units for a Linear layer. The last Linear layer, one unit per class, is added (with
--output-activation); a spec whose first layers are convolutions or pooling takes the
data's images (their height and width; not a CSV file's rows) and flattens them before
its first Linear layer.

examples:
  layerwise train --data digits --hidden 48,32 --epochs 50
  layerwise train --data digits --layers conv16k3p1,relu,maxpool2,flatten,64,relu --epochs 30
  layerwise train --data fashion-mnist --epochs 10 --batch-size 128 \\
      --layers conv32k3p1,relu,maxpool2,conv64k3p1,bn,relu,maxpool2,128,relu,dropout0.3
  layerwise train --data fashion-mnist --hidden 256,128 --activation relu --optimizer adam \\
      --lr 1e-3 --batch-size 128 --epochs 20 --dropout 0.2
  layerwise train --data my.csv --label-column label --scaling standard --early-stopping
  layerwise train --data fashion-mnist --epochs 30 --checkpoint-every 5 --out runs/long
  layerwise train --resume runs/long
  layerwise train --resume runs/long --epochs 60
  layerwise train --data digits --hidden 48,32 --init-from runs/long --lr 1e-4 --epochs 5
  layerwise train --data digits --epochs 20 --tensorboard runs/tensorboard --mlflow
"""

import argparse
import os
import sys
import time
from pathlib import Path

from ..errors import LayerwiseError, SettingError, TrainingDiverged
from ..nn.callbacks import MLflowLogger, TensorBoard
from ..nn.config import DEFAULTS, positive_int
from ..reports import run_dir
from .options import add_config_arguments, config_from_args, option_error

# Options that may come with --resume; every other setting comes from the checkpoint.
RESUME_OPTIONS = {"resume", "epochs", "quiet", "checkpoint_every", "data_dir"}


def add_arguments(p):
    add_config_arguments(p, DEFAULTS)
    p.add_argument("--data-dir", default=None, help="where named datasets live (before $LAYERWISE_DATA)")
    p.add_argument("--out", default=None, help="run directory to create (default runs/<timestamp>-train)")
    p.add_argument(
        "--init-from",
        default=None,
        metavar="MODEL",
        help="start from the weights of this model file or run directory (fine-tuning); "
        "the settings must describe its network",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar, per-epoch lines or per-class table (the result lines stay)",
    )
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
        help="continue the run in RUN_DIR from its checkpoint, with the settings it records; "
        "with --epochs N, to N epochs in total (also a finished run)",
    )


def run(args):
    from ..experiments.training import TrainingRun
    from ..io.model_file import load_model_or_checkpoint

    started = time.perf_counter()
    every = (
        None if args.checkpoint_every is None else positive_int(args.checkpoint_every, "--checkpoint-every")
    )
    if args.resume is not None:
        _check_resume_options(args)
        epochs = None if args.epochs is None else positive_int(args.epochs, "--epochs")
        training = TrainingRun.resume(args.resume, args.data_dir, every, epochs)
        return _train(training, not args.quiet, started)
    config = config_from_args(args, DEFAULTS)
    config = config.replace(**absolute_trackers(config))  # a resumed run logs to the same places
    source = None
    if args.init_from is not None:
        source = load_model_or_checkpoint(args.init_from)
        if source.note:
            print(f"layerwise train: --init-from: {source.note}", file=sys.stderr)
    out = Path(args.out or run_dir.default_run_dir("train"))
    with run_dir.live_run_directory(out, keep=_worth_keeping(out)) as folder:
        try:
            training = TrainingRun.start(config, folder, args.data_dir, every, init_from=source)
        except SettingError as e:  # settings that do not fit the data (--layers on rows...)
            raise option_error(e) from None
        return _train(training, not args.quiet, started)


def _train(training, show, started):
    """Trains, then writes the run's files; Ctrl-C writes a checkpoint, and a diverging
    loss writes the last finite weights. The trackers (--tensorboard, --mlflow) log each
    epoch; MLflow's run ends once the model file is written, with it as an artifact."""
    from ..reports.train import describe, write_diverged, write_run

    trackers = _trackers(training)  # before the training: a tracker's missing library stops it here
    mlflow = next((t for t in trackers if isinstance(t, MLflowLogger)), None)
    if show:
        print(describe(training), flush=True)
    try:
        if mlflow is not None:
            training.model.metadata["mlflow_run_id"] = mlflow.start()  # kept by checkpoints, for --resume
        training.fit((_progress(training) if show else []) + trackers)
        result, details = write_run(training, started)
    except BaseException as e:
        if mlflow is not None and mlflow.run_id is not None:
            _end_quietly(mlflow, "KILLED" if isinstance(e, KeyboardInterrupt) else "FAILED")
        if isinstance(e, KeyboardInterrupt):
            return _interrupted(training)
        if isinstance(e, TrainingDiverged):
            path = write_diverged(training, e)
            raise TrainingDiverged(f"{e}, saved in {path}", epoch=e.epoch, history=e.history) from None
        raise
    training.finished()
    print(result)  # --quiet too: it leaves out the progress, not the result
    if show:
        print(details)
    print(f"run directory: {training.folder}")
    return _tracked(trackers)


def _trackers(training):
    """The TensorBoard and MLflow callbacks of the run's settings: TensorBoard's folder and
    MLflow's run are named after the run directory; a resumed run goes on in the MLflow run
    its checkpoint records."""
    from ..io.model_file import MODEL_FILENAME

    folder = Path(training.folder)
    callbacks = training.config.callbacks(
        tracking=True, run_name=folder.name, log_model=folder / MODEL_FILENAME
    )
    trackers = [c for c in callbacks if isinstance(c, (TensorBoard, MLflowLogger))]
    for tracker in trackers:
        if isinstance(tracker, MLflowLogger):
            tracker.run_id = training.model.metadata.get("mlflow_run_id")
    return trackers


def _tracked(trackers):
    """Ends MLflow's run with the model file and prints where the run was logged, one line
    per tracker; returns the exit status: 1 when MLflow could not take the model file (the
    run directory is complete all the same)."""
    status = 0
    for tracker in trackers:
        if isinstance(tracker, TensorBoard):
            print(f"TensorBoard: {tracker.logdir} (tensorboard --logdir {tracker.logdir.parent})")
            continue
        try:
            tracker.end()
        except LayerwiseError as e:
            print(f"layerwise train: {e}", file=sys.stderr)
            status = 1
        uri = tracker.tracking_uri
        print(f"MLflow: run {tracker.run_id} of experiment {tracker.experiment} at {uri} "
              f"(mlflow ui --backend-store-uri {uri})")  # fmt: skip
    return status


def _end_quietly(mlflow, status):
    """Ends MLflow's run of a training that failed or was interrupted; the failure is the
    error to report, not MLflow's."""
    try:
        mlflow.end(status)
    except LayerwiseError:
        pass


def absolute_trackers(config):
    """The tracking settings with an absolute folder and SQLite file, so that a resumed run
    logs to the same places from any working directory."""
    changes = {}
    if config.tensorboard is not None:
        changes["tensorboard"] = os.path.abspath(config.tensorboard)
    if config.mlflow is not None and config.mlflow.startswith("sqlite:///"):
        database = config.mlflow[len("sqlite:///") :]
        if database and not database.startswith(":"):  # not sqlite:///:memory:
            changes["mlflow"] = "sqlite:///" + os.path.abspath(database)
    return changes


def _progress(training):
    from .progress import EpochLines, EpochProgress

    n, epochs = len(training.data.y_train), training.config.epochs
    return [EpochProgress(n, epochs, enabled=sys.stderr.isatty()), EpochLines(epochs, n)]


def _interrupted(training):
    saver = training.saver
    if saver.latest is None:  # interrupted before training began: nothing to keep
        raise KeyboardInterrupt
    state = saver.save()
    print(
        f"\nlayerwise train: interrupted; the checkpoint of epoch {state.epoch} is in {saver.path}\n"
        f"resume with: layerwise train --resume {training.folder}",
        file=sys.stderr,
    )
    return 130


def _worth_keeping(folder):
    """A failed run keeps its folder when it holds a checkpoint or the weights of a divergence."""
    from ..io.checkpoint import CHECKPOINT_FILENAME

    return lambda error: isinstance(error, TrainingDiverged) or (folder / CHECKPOINT_FILENAME).is_file()


def _check_resume_options(args):
    from ..errors import LayerwiseError

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
