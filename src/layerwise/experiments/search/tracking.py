"""A search tracked in TensorBoard and MLflow, as its settings ``tensorboard`` and
``mlflow`` ask: each trial writes its epochs to ``<tensorboard>/trial-<id>`` with its
settings as HParams (the last epoch's scores beside them), and is a child run of the
search's parent MLflow run, with its settings as params and each epoch's metrics. The
trackers are layerwise.nn.callbacks' ``TensorBoard`` and ``MLflowLogger``, made in the
worker that runs the trial (which needs the folder and the tracking store: this machine,
or a shared file system or tracking server).

A candidate of successive halving is one TensorBoard folder and one MLflow run over all
its rungs: each rung goes on at the epoch after the last one and in the run of the rung
before (its id is in that rung's record). The parent run holds the search's settings and
strategy as params and, at the end, the best validation accuracy, the test accuracy and
the epochs trained as metrics (and the best model file, when the command gives it); a
resumed search goes on in the parent run its trials recorded.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .space import plain

EXPERIMENT = "layerwise"


@dataclass(frozen=True)
class TrialTracking:
    """What a worker needs to track a trial (picklable): called with the trial's id,
    its searched settings and the MLflow run it goes on in (None: a new one), it gives
    the trial's trackers."""

    tensorboard: str | None
    mlflow: str | None
    parent_run_id: str | None
    experiment: str = EXPERIMENT

    def __call__(self, trial, settings, run_id=None):
        from ...nn.callbacks import MLflowLogger, TensorBoard

        hparams = plain(settings)
        callbacks = []
        if self.tensorboard is not None:
            callbacks.append(TensorBoard(Path(self.tensorboard) / f"trial-{trial}", hparams=hparams))
        if self.mlflow is not None:
            logger = MLflowLogger(self.mlflow, experiment=self.experiment, run_name=f"trial-{trial}",
                                  params=hparams, parent_run_id=self.parent_run_id)  # fmt: skip
            logger.run_id = run_id
            callbacks.append(logger)
        return callbacks


def tracked(record, callbacks):
    """Notes in a trial's record the MLflow run its logger made (and the parent's)."""
    for callback in callbacks:
        if getattr(callback, "run_id", None) is not None:
            record["mlflow_run"] = callback.run_id
            if getattr(callback, "parent_run_id", None) is not None:
                record["mlflow_parent"] = callback.parent_run_id
    return record


class Tracking:
    """The tracking of one search: ``start`` opens the parent MLflow run (when
    ``mlflow``), ``trials`` gives each trial its trackers, ``end`` logs the result and
    closes the parent run.

    ``run_name``: the parent run's name; ``log_model``: a model file (or a function
    giving its path) logged to the parent run when it ends; ``keep_open``: ``search``
    leaves the run open, for its caller to end (after writing the model file).
    """

    def __init__(self, tensorboard=None, mlflow=None, *, run_name=None, log_model=None, keep_open=False,
                 experiment=EXPERIMENT):  # fmt: skip
        # absolute: workers whose working directory is another log to the same places
        self.tensorboard = None if tensorboard is None else os.path.abspath(tensorboard)
        self.mlflow, self.run_name, self.log_model = _absolute_sqlite(mlflow), run_name, log_model
        self.keep_open, self.experiment = keep_open, experiment
        self.parent = None  # the parent run's MLflowLogger, once started
        self.started = False
        if mlflow is not None:  # the library is there: checked now, before any work
            from ...nn.callbacks import MLflowLogger

            MLflowLogger(mlflow)
            if self.mlflow.startswith("sqlite:"):
                # Worker processes forked from this one reuse MLflow's store of the URI: without
                # a pool it holds no SQLite connection open, so none is carried into them
                # (SQLite forbids using a connection across fork); each call opens its own.
                os.environ.setdefault("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
        if tensorboard is not None:
            from ...nn.callbacks import TensorBoard

            TensorBoard(self.tensorboard)

    @classmethod
    def of(cls, config, **options):
        """The tracking that ``config``'s ``tensorboard`` and ``mlflow`` ask for, or None."""
        if config.tensorboard is None and config.mlflow is None:
            return None
        return cls(config.tensorboard, config.mlflow, **options)

    def start(self, config, strategy, space, parent_run_id=None):
        """Opens the parent MLflow run (that of ``parent_run_id`` when a resumed search
        recorded one), with the search's settings, strategy and space as params."""
        if self.mlflow is None or self.started:
            return
        from ...nn.callbacks import MLflowLogger

        settings = {k: v for k, v in config.to_dict().items() if k not in ("tensorboard", "mlflow")}
        params = {**settings, **{f"strategy.{k}": v for k, v in strategy.to_dict().items()},
                  "space": json.dumps(space.to_dict())}  # fmt: skip
        self.parent = MLflowLogger(self.mlflow, experiment=self.experiment, run_name=self.run_name,
                                   params=params, log_model=self.log_model)  # fmt: skip
        self.parent.run_id = parent_run_id
        self.parent.start()
        self.started = True

    @property
    def trials(self):
        """The trials' trackers (a picklable TrialTracking)."""
        parent = self.parent.run_id if self.parent is not None else None
        return TrialTracking(self.tensorboard, self.mlflow, parent, self.experiment)

    def log_result(self, result):
        """Logs the search's result to the parent run: the best validation accuracy, the
        test accuracy and the epochs trained."""
        if not self.started:
            return
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.mlflow)
        metrics = {"best_val_accuracy": result["best"]["val_accuracy"],
                   "test_accuracy": result["test_accuracy"], "total_epochs": result["total_epochs"],
                   "trials": len(result["trials"])}  # fmt: skip
        for name, value in metrics.items():
            client.log_metric(self.parent.run_id, name, float(value))

    def end(self, status="FINISHED"):
        """Closes the parent run (logging ``log_model`` when FINISHED)."""
        if self.started:
            self.started = False
            self.parent.end(status)


def _absolute_sqlite(uri):
    """A tracking URI with the path of a SQLite file made absolute; others as they are."""
    if uri is None or not uri.startswith("sqlite:///") or uri[len("sqlite:///") :].startswith((":", "/")):
        return uri
    return "sqlite:///" + os.path.abspath(uri[len("sqlite:///") :])


def parent_run(records):
    """The parent MLflow run the trials of a resumed search recorded, or None."""
    return next((r["mlflow_parent"] for r in records if r.get("mlflow_parent")), None)
