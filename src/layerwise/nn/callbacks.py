"""Callbacks: hooks into fit() (progress, checkpoints, early stopping, gradient norms), and the
trackers that log a training to TensorBoard and MLflow (their libraries imported only by them)."""

import contextlib
import importlib
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import LayerwiseError
from .conv import Conv2D
from .layers import Linear
from .types import Array

if TYPE_CHECKING:  # for the annotations only: training and network import this module
    from .network import Network
    from .training import History


class Callback:
    """Hooks into fit(). Return True from ``on_epoch_end`` to stop training.

    Subclass it and override the hooks you need; the others do nothing. fit calls each
    callback's ``on_train_begin`` once, ``on_batch_end`` after every optimizer step,
    ``on_epoch_end`` after every epoch and ``on_train_end`` once at the end. It calls
    ``on_batch_end`` only on callbacks that override it, so that the others cost the
    steps nothing.

    See Also
    --------
    EarlyStopping : Stops when a metric has stopped improving.
    fit : Calls the hooks.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> class StopAfter(lw.Callback):
    ...     def on_epoch_end(self, epoch, logs):
    ...         print(epoch, sorted(logs))
    ...         return epoch == 1
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> history = lw.fit(net, X, np.arange(30) % 3, epochs=10, callbacks=[StopAfter()])
    0 ['train_accuracy', 'train_loss']
    1 ['train_accuracy', 'train_loss']
    >>> history.epochs, history.stopped_epoch
    (2, 1)
    """

    def on_train_begin(self, net: "Network", history: "History") -> None:
        """Called by fit once, before the first epoch.

        Parameters
        ----------
        net : Network
            The network about to be trained.
        history : History
            The History fit appends the epochs to (the one passed to fit, or a new one).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> class Announce(lw.Callback):
        ...     def on_train_begin(self, net, history):
        ...         print("training", net.sizes, "after", history.epochs, "epochs")
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> X = np.random.default_rng(0).random((30, 4))
        >>> _ = lw.fit(net, X, np.arange(30) % 3, epochs=1, callbacks=[Announce()])
        training [4, 8, 3] after 0 epochs
        """

    def on_batch_end(self, batch: int, size: int, loss: float) -> None:
        """Called after each optimizer step, with the batch's index, size and loss.

        Parameters
        ----------
        batch : int
            The batch's index within the epoch, from 0.
        size : int
            The number of examples in the batch.
        loss : float
            The batch's loss (with the L2 term), computed before the step.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> class Sizes(lw.Callback):
        ...     def on_batch_end(self, batch, size, loss):
        ...         print(batch, size)
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> X = np.random.default_rng(0).random((30, 4))
        >>> _ = lw.fit(net, X, np.arange(30) % 3, epochs=1, batch_size=16, callbacks=[Sizes()])
        0 16
        1 14
        """

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        """Called after each epoch, with its metrics (train_loss, train_accuracy, val_...).

        Parameters
        ----------
        epoch : int
            The epoch's number, from 0 (from fit's ``start_epoch`` on).
        logs : dict of str to float
            "train_loss" and "train_accuracy", and with validation data "val_loss" and
            "val_accuracy".

        Returns
        -------
        bool or None
            True stops the training after this epoch (every callback still sees the
            epoch, and ``History.stopped_epoch`` records it); False or None goes on.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> class ThreeEpochs(lw.Callback):
        ...     def on_epoch_end(self, epoch, logs):
        ...         return epoch >= 2
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> X = np.random.default_rng(0).random((30, 4))
        >>> history = lw.fit(net, X, np.arange(30) % 3, epochs=10, callbacks=[ThreeEpochs()])
        >>> history.epochs, history.stopped_epoch
        (3, 2)
        """

    def on_train_end(self, net: "Network", history: "History") -> None:
        """Called by fit once, after the last epoch (also when a callback stopped the training).

        The network is already in inference mode. Not called when fit raises (on a
        diverging loss, say).

        Parameters
        ----------
        net : Network
            The trained network.
        history : History
            The History of the training, which fit returns next.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> class Report(lw.Callback):
        ...     def on_train_end(self, net, history):
        ...         print(history.epochs, "epochs")
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> X = np.random.default_rng(0).random((30, 4))
        >>> _ = lw.fit(net, X, np.arange(30) % 3, epochs=3, callbacks=[Report()])
        3 epochs
        """


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``monitor`` is "val_loss" or "val_accuracy", or the train_ ones; losses are to
    decrease, accuracies to increase. With ``restore_best_weights`` the network ends with
    the weights of its best epoch. At the end of the training ``History.best_epoch`` is
    the best epoch.

    Parameters
    ----------
    monitor : str, default "val_loss"
        "val_loss", "val_accuracy", "train_loss" or "train_accuracy".
    patience : int, default 10
        Epochs without improvement that are tolerated; 0 or more. The epoch after them,
        if it does not improve either, stops the training.
    min_delta : float, default 0.0
        The change that counts as an improvement must be larger than this (its absolute
        value is used).
    restore_best_weights : bool, default True
        Keep a copy of the weights at each improvement and put the best back at the end.

    Raises
    ------
    LayerwiseError
        If ``monitor`` is none of the four, or ``patience`` is negative.

    See Also
    --------
    TrainConfig.callbacks : Early stopping on the validation loss, from the settings.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((60, 4)), np.arange(60) % 3
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> stop = lw.EarlyStopping(monitor="val_loss", patience=2)
    >>> history = lw.fit(
    ...     net, X[:45], y[:45], optimizer=lw.Adam(lr=0.05), epochs=200,
    ...     validation_data=(X[45:], y[45:]), callbacks=[stop],
    ... )
    >>> history.epochs < 200, stop.stopped
    (True, True)
    >>> history.stopped_epoch - history.best_epoch  # patience + 1 epochs without improvement
    3
    """

    net: "Network"
    history: "History"
    best: float
    best_epoch: int | None
    wait: int
    best_weights: list[Array] | None
    best_state: list[Array] | None  # the untrained state (running statistics) of the best epoch
    _restored: dict[str, Any] | None

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ) -> None:
        if monitor not in ("val_loss", "val_accuracy", "train_loss", "train_accuracy"):
            raise LayerwiseError(f"EarlyStopping cannot monitor {monitor!r}; use val_loss or val_accuracy")
        if int(patience) < 0:
            raise LayerwiseError("patience must be >= 0")
        self.monitor, self.patience = monitor, int(patience)
        self.min_delta, self.restore_best_weights = abs(float(min_delta)), restore_best_weights
        self.sign = 1.0 if monitor.endswith("loss") else -1.0  # minimise sign * value

    def on_train_begin(self, net: "Network", history: "History") -> None:
        """Reset the counters, or apply the state given to ``load_state_dict``.

        Parameters
        ----------
        net : Network
            The network about to be trained, whose weights are copied at each improvement.
        history : History
            The History of the training.
        """
        self.net, self.history = net, history
        self.best, self.best_epoch, self.wait, self.best_weights = math.inf, None, 0, None
        self.best_state = None
        restored = getattr(self, "_restored", None)
        if restored is not None:
            self._apply(restored)
            self._restored = None

    @property
    def stopped(self) -> bool:
        """True when the patience has run out (training should not go on)."""
        return getattr(self, "wait", 0) > self.patience

    def state_dict(self) -> dict[str, Any]:
        """The counters and best weights, to continue a training exactly (checkpoints).

        Returns
        -------
        dict
            "best" (the best value so far, negated for accuracies), "best_epoch", "wait"
            (epochs without improvement since), "best_weights" (copies, or None) and
            "best_state" (copies of the network's untrained state, such as BatchNorm's
            running statistics, at the best epoch, or None).

        See Also
        --------
        load_state_dict : Restores what this returns.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> X = np.random.default_rng(0).random((30, 4))
        >>> y = np.arange(30) % 3
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> stop = lw.EarlyStopping("train_loss", restore_best_weights=False)
        >>> _ = lw.fit(net, X, y, epochs=3, callbacks=[stop])
        >>> state = stop.state_dict()
        >>> state["best_epoch"], state["wait"], state["best_weights"]
        (2, 0, None)
        """
        weights = None if self.best_weights is None else [w.copy() for w in self.best_weights]
        state = None if self.best_state is None else [a.copy() for a in self.best_state]
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "best_weights": weights,
            "best_state": state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore ``state_dict()``; it takes effect when the next fit() begins.

        ``stopped`` reflects the restored counter at once.

        Parameters
        ----------
        state : dict
            A ``state_dict()`` of an EarlyStopping ("best_state" may be missing: None).

        Raises
        ------
        KeyError
            If ``state`` lacks one of the keys ``state_dict()`` gives.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> stop = lw.EarlyStopping(patience=2)
        >>> stop.load_state_dict({"best": 0.5, "best_epoch": 4, "wait": 3, "best_weights": None})
        >>> stop.stopped
        True
        """
        self._restored = state
        self.wait = int(state["wait"])

    def _apply(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), state["best_epoch"]
        self.wait, self.best_weights = int(state["wait"]), state["best_weights"]
        self.best_state = state.get("best_state")

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        """Record the epoch's value of ``monitor`` and say whether to stop.

        Parameters
        ----------
        epoch : int
            The epoch's number, from 0.
        logs : dict of str to float
            The epoch's metrics, from fit.

        Returns
        -------
        bool
            True when ``patience`` epochs without improvement have been followed by one
            more.

        Raises
        ------
        LayerwiseError
            If ``logs`` lacks ``monitor`` (a val_ metric and fit without validation data).
        """
        if self.monitor not in logs:
            if self.monitor.endswith("accuracy") and "train_accuracy" not in logs:
                raise LayerwiseError(
                    f"EarlyStopping monitors {self.monitor} but a regression has no accuracy"
                )
            raise LayerwiseError(f"EarlyStopping monitors {self.monitor} but fit() has no validation data")
        value = self.sign * logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.net.get_weights()
                self.best_state = [a.copy() for _, a in self.net.named_state()]
            return False
        self.wait += 1
        return self.wait > self.patience

    def on_train_end(self, net: "Network", history: "History") -> None:
        """Set ``history.best_epoch``; with ``restore_best_weights``, restore the best weights.

        Parameters
        ----------
        net : Network
            The trained network, which gets the weights of the best epoch (when
            ``restore_best_weights`` is set and an epoch was recorded), and the running
            statistics of that epoch.
        history : History
            The History of the training.
        """
        history.best_epoch = self.best_epoch
        if self.restore_best_weights and self.best_weights is not None:
            net.set_weights(self.best_weights)
            for (_, array), best in zip(net.named_state(), self.best_state or []):
                np.copyto(array, best)


# --- gradient norms -----------------------------------------------------------------------


def gradient_norms(net: "Network") -> dict[str, float]:
    """The norm of each Linear layer's and convolution's weight gradient, by layer.

    The gradients are those of the network's last backward pass: inside ``fit``, those
    of the last optimizer step (with the L2 term's share, lambda/N W), which stay in the
    Parameters' ``grad`` until the next step; the tutorial's figure of gradient norms
    plots these. Biases and BatchNorm's parameters are left out.

    Parameters
    ----------
    net : Network
        The network, after a backward pass (``fit``, ``loss_and_gradients``).

    Returns
    -------
    dict of str to float
        The Frobenius norm of each weight gradient, by layer name: "layer 1 (64x48)" for
        the first Linear layer of 64 inputs and 48 outputs, "layer 1 (conv 1->4 3x3)" for
        a convolution of 1 channel into 4 with 3x3 kernels; the layers with weights are
        numbered from 1, in the network's order.

    See Also
    --------
    GradientNorms : Records these at the end of every epoch.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.callbacks import gradient_norms
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> _ = net.loss_and_gradients(X, np.arange(30) % 3)
    >>> norms = gradient_norms(net)
    >>> list(norms)
    ['layer 1 (4x8)', 'layer 2 (8x3)']
    >>> bool(norms["layer 2 (8x3)"] == np.linalg.norm(net.layers[2].weight.grad))
    True
    """
    weighted = [layer for layer in net.layers if isinstance(layer, (Linear, Conv2D))]
    return {
        f"layer {i + 1} ({_layer_size(layer)})": float(np.linalg.norm(layer.weight.grad))
        for i, layer in enumerate(weighted)
    }


def _layer_size(layer: "Linear | Conv2D") -> str:
    """64x48 for a Linear layer, conv 1->4 3x3 for a convolution."""
    if isinstance(layer, Linear):
        return f"{layer.n_in}x{layer.n_out}"
    kh, kw = layer.kernel_size
    return f"conv {layer.in_channels}->{layer.out_channels} {kh}x{kw}"


class GradientNorms(Callback):
    """Records ``gradient_norms`` at the end of every epoch: those of its last step.

    ``norms`` maps each layer's name ("layer 1 (64x48)") to the list of its norms, one
    per epoch; ``fit`` starts it anew. The norms are computed once per epoch, from the
    gradients the epoch's last optimizer step left in the Parameters.

    Attributes
    ----------
    norms : dict of str to list of float
        The weight gradient's norm of each Linear layer and convolution, per epoch.

    See Also
    --------
    gradient_norms : The norms of one moment.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.callbacks import GradientNorms
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> norms = GradientNorms()
    >>> _ = lw.fit(net, X, np.arange(30) % 3, epochs=3, callbacks=[norms])
    >>> {name: len(values) for name, values in norms.norms.items()}
    {'layer 1 (4x8)': 3, 'layer 2 (8x3)': 3}
    """

    norms: dict[str, list[float]]

    def on_train_begin(self, net: "Network", history: "History") -> None:
        """Start the records anew, one empty list per layer with weights.

        Parameters
        ----------
        net : Network
            The network about to be trained.
        history : History
            The History of the training.
        """
        self.net = net
        self.norms = {name: [] for name in gradient_norms(net)}

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Append the norms of the epoch's last step.

        Parameters
        ----------
        epoch : int
            The epoch's number, from 0.
        logs : dict of str to float
            The epoch's metrics (not used).
        """
        for name, norm in gradient_norms(self.net).items():
            self.norms[name].append(norm)


# --- tracking: TensorBoard and MLflow -------------------------------------------------------

DEFAULT_MLFLOW_URI = "sqlite:///mlflow.db"  # a SQLite file in the working directory
MLFLOW_ARTIFACTS = "mlartifacts"  # beside a SQLite store's file: where its new experiments keep files
# MLflow's metric and parameter names: letters, digits, _ - . / and spaces.
_UNSAFE = re.compile(r"[^\w./-]+")


def tracking_name(name: str) -> str:
    """A metric's name as TensorBoard and MLflow record it: letters, digits, _ . / and -.

    Parameters
    ----------
    name : str
        A name such as ``gradient_norms`` gives a layer.

    Returns
    -------
    str
        The name with ``->`` written "to" and every run of other characters as one
        underscore.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.callbacks import tracking_name
    >>> tracking_name("grad_norm/layer 1 (64x48)"), tracking_name("grad_norm/layer 2 (conv 1->4 3x3)")
    ('grad_norm/layer_1_64x48', 'grad_norm/layer_2_conv_1_to_4_3x3')
    """
    return _UNSAFE.sub("_", name.replace("->", " to ")).strip("_")


def tracked_value(value: object) -> bool | int | float | str:
    """A setting's value as a number, a boolean or text, as TensorBoard and MLflow take it.

    Parameters
    ----------
    value : object
        A setting's value (``TrainConfig.to_dict`` gives them).

    Returns
    -------
    bool, int, float or str
        Numbers, booleans and text as they are; None as "none"; a list or tuple as its
        items joined by commas ("none" when empty); anything else as its ``str``.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.callbacks import tracked_value
    >>> tracked_value([48, 32]), tracked_value(None), tracked_value(0.01), tracked_value(True)
    ('48,32', 'none', 0.01, True)
    """
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()  # type: ignore[no-any-return]
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    return str(value)


def _library(module: str, what: str, package: str, extra: str) -> Any:
    """``module``, imported; missing, a one-line LayerwiseError naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise LayerwiseError(
            f"{what} needs {package}, which is not installed: pip install 'layerwise[{extra}]'"
        ) from None


class _Tracker(Callback):
    """What both trackers record at the end of each epoch."""

    net: "Network"
    history: "History"

    def on_train_begin(self, net: "Network", history: "History") -> None:
        self.net, self.history = net, history

    def _scalars(self, logs: dict[str, float]) -> dict[str, float]:
        """The epoch's metrics (fit's logs), its learning rate and the gradient norms."""
        values = {name: float(value) for name, value in logs.items()}
        if self.history.lr:
            values["lr"] = float(self.history.lr[-1])
        for name, norm in gradient_norms(self.net).items():
            values[tracking_name(f"grad_norm/{name}")] = norm
        return values


class TensorBoard(_Tracker):
    """Write each epoch's metrics to TensorBoard event files in ``logdir``.

    Each epoch (its number from 0 the step, as ``fit`` numbers them) records the scalars
    ``train_loss``, ``train_accuracy``, ``val_loss`` and ``val_accuracy`` (those the
    training has: the validation ones need ``validation_data``, a regression has no
    accuracy), ``lr`` (the epoch's learning rate, ``History.lr``) and, for each Linear
    layer and convolution, ``grad_norm/<layer>`` (``gradient_norms``: the norm of its
    weight gradient after the epoch's last step, e.g. ``grad_norm/layer_1_64x48``). The
    values are History's (TensorBoard keeps them as float32). Events are flushed to disk
    at the end of every epoch, so that a running TensorBoard shows them as they come.

    With ``hparams``, the end of the training also writes TensorBoard's HParams summary
    of the run (a session of these settings, ended successfully); the HParams dashboard
    shows the settings of every run beside its final metrics (the last value of each
    scalar above) and compares the runs by them. Give each training its own ``logdir`` (a
    sub-folder of the folder TensorBoard is started on): TensorBoard compares the runs of
    sub-folders.

    The events are written with TensorBoard's own writer (the ``tensorboard`` package,
    without TensorFlow), imported when the callback is made. A training that goes on
    from an earlier one (``fit(history=...)`` with its epochs) starts at the epoch after
    them, and TensorBoard forgets the events of that epoch on that an interrupted run
    had written.

    Parameters
    ----------
    logdir : str or os.PathLike
        The folder of the event files (made if need be).
    hparams : dict, optional
        The settings to show in the HParams dashboard, by name; numbers, booleans and
        text as they are, other values as text (None as "none", lists joined by commas).
        None writes no HParams summary.

    Raises
    ------
    LayerwiseError
        If the tensorboard package is not installed (``pip install
        'layerwise[tensorboard]'``), or (when training begins) ``logdir`` cannot be made.

    See Also
    --------
    MLflowLogger : The same metrics, to MLflow.
    TrainConfig.callbacks : The trackers the ``tensorboard`` and ``mlflow`` settings ask for.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    >>> logdir = tempfile.mkdtemp()
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> y = np.arange(30) % 3
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> board = lw.callbacks.TensorBoard(logdir, hparams={"hidden": [8], "lr": 0.001})
    >>> history = lw.fit(net, X[:24], y[:24], epochs=3, validation_data=(X[24:], y[24:]), callbacks=[board])
    >>> events = EventAccumulator(logdir)
    >>> _ = events.Reload()
    >>> sorted(events.Tags()["scalars"])  # doctest: +NORMALIZE_WHITESPACE
    ['grad_norm/layer_1_4x8', 'grad_norm/layer_2_8x3', 'lr', 'train_accuracy', 'train_loss',
     'val_accuracy', 'val_loss']
    >>> [(e.step, round(e.value, 6)) for e in events.Scalars("lr")]
    [(0, 0.001), (1, 0.001), (2, 0.001)]
    >>> bool(np.allclose([e.value for e in events.Scalars("val_loss")], history.val_loss))
    True
    """

    def __init__(
        self, logdir: "str | os.PathLike[str]", *, hparams: Mapping[str, object] | None = None
    ) -> None:
        self.logdir = Path(logdir)
        self.hparams = None if hparams is None else {str(k): tracked_value(v) for k, v in hparams.items()}
        self._writer_module = _library(
            "tensorboard.summary.writer.event_file_writer",
            "TensorBoard logging",
            "tensorboard",
            "tensorboard",
        )
        self._proto = _library(
            "tensorboard.compat.proto.summary_pb2", "TensorBoard logging", "tensorboard", "tensorboard"
        )
        self._writer: Any = None
        self._started = time.time()

    def on_train_begin(self, net: "Network", history: "History") -> None:
        """Open an event file in ``logdir``; after earlier epochs, the earlier events of
        the epochs to come are to be forgotten.

        Parameters
        ----------
        net : Network
            The network about to be trained, whose gradient norms are recorded.
        history : History
            The History of the training: its learning rates are recorded, and the
            epochs it already holds are not written again.

        Raises
        ------
        LayerwiseError
            If ``logdir`` cannot be made or written to.
        """
        super().on_train_begin(net, history)
        self.close()
        self._started = time.time()
        try:
            self.logdir.mkdir(parents=True, exist_ok=True)
            # TensorBoard reads a folder's event files in the order of their names, which
            # start with the second they were made: a file of this same second would sort
            # by its counter as text (.12 before .9), so the next file waits a second.
            while any(self.logdir.glob(f"events.out.tfevents.{int(time.time()):010d}.*")):
                time.sleep(0.05)
            self._writer = self._writer_module.EventFileWriter(str(self.logdir))
        except OSError as e:
            raise LayerwiseError(
                f"cannot write TensorBoard events to {self.logdir}: {e.strerror or e}"
            ) from None
        if history.epochs:  # TensorBoard forgets what an interrupted run wrote of these epochs on
            event_pb2 = importlib.import_module("tensorboard.compat.proto.event_pb2")
            start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
            self._writer.add_event(
                event_pb2.Event(wall_time=time.time(), step=history.epochs, session_log=start)
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Write the epoch's scalars (its step: ``epoch``) and flush them to disk.

        Parameters
        ----------
        epoch : int
            The epoch's number, from 0.
        logs : dict of str to float
            The epoch's metrics, from fit.
        """
        event_pb2 = importlib.import_module("tensorboard.compat.proto.event_pb2")
        summary = self._proto.Summary(
            value=[
                self._proto.Summary.Value(tag=tag, simple_value=v) for tag, v in self._scalars(logs).items()
            ]
        )
        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=epoch, summary=summary))
        self._writer.flush()

    def on_train_end(self, net: "Network", history: "History") -> None:
        """With ``hparams``, write the HParams summary; close the event file.

        Parameters
        ----------
        net : Network
            The trained network.
        history : History
            The History of the training.
        """
        if self.hparams is not None and self._writer is not None:
            for summary in self._hparams_summaries():
                self._writer.add_event(self._event(summary, history.epochs))
        self.close()

    def close(self) -> None:
        """Flush and close the event file (``fit`` does it at the end of the training).

        After a training that raised (a diverging loss, Ctrl-C), this closes the file;
        closing a closed one does nothing.

        Examples
        --------
        >>> import tempfile
        >>> import layerwise as lw
        >>> board = lw.callbacks.TensorBoard(tempfile.mkdtemp())
        >>> board.close()
        """
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _event(self, summary: Any, step: int) -> Any:
        event_pb2 = importlib.import_module("tensorboard.compat.proto.event_pb2")
        return event_pb2.Event(wall_time=time.time(), step=step, summary=summary)

    def _hparams_summaries(self) -> list[Any]:
        """TensorBoard's HParams summaries of one session: its settings (when it began) and
        its successful end. No experiment summary: TensorBoard then makes the experiment of
        every session it finds (the settings of all, their types, and the scalars as the
        metrics), where one experiment summary per run would be picked arbitrarily."""
        api_pb2, metadata, plugin_data_pb2 = (
            importlib.import_module(f"tensorboard.plugins.hparams.{name}")
            for name in ("api_pb2", "metadata", "plugin_data_pb2")
        )

        assert self.hparams is not None
        start = plugin_data_pb2.SessionStartInfo(start_time_secs=self._started)
        for name, value in self.hparams.items():
            if isinstance(value, bool):
                start.hparams[name].bool_value = value
            elif isinstance(value, (int, float)):
                start.hparams[name].number_value = float(value)
            else:
                start.hparams[name].string_value = str(value)
        end = plugin_data_pb2.SessionEndInfo(
            status=api_pb2.Status.Value("STATUS_SUCCESS"), end_time_secs=time.time()
        )
        contents = [
            (metadata.SESSION_START_INFO_TAG, {"session_start_info": start}),
            (metadata.SESSION_END_INFO_TAG, {"session_end_info": end}),
        ]
        summaries = []
        for tag, content in contents:
            data = plugin_data_pb2.HParamsPluginData(version=metadata.PLUGIN_DATA_VERSION, **content)
            plugin = self._proto.SummaryMetadata.PluginData(
                plugin_name=metadata.PLUGIN_NAME, content=data.SerializeToString()
            )
            value = self._proto.Summary.Value(
                tag=tag, metadata=self._proto.SummaryMetadata(plugin_data=plugin)
            )
            summaries.append(self._proto.Summary(value=[value]))
        return summaries


class MLflowLogger(_Tracker):
    """Log a training to MLflow: its settings as params, each epoch's metrics, the model file.

    A run is made in ``experiment`` (created if need be) of the tracking store at
    ``tracking_uri``, named ``run_name``, with ``params`` as its parameters. Each epoch
    logs, at step ``epoch`` (from 0, as ``fit`` numbers them), the metrics ``train_loss``,
    ``train_accuracy``, ``val_loss``, ``val_accuracy`` (those the training has), ``lr``
    and ``grad_norm/<layer>`` (the names and values ``TensorBoard`` writes; MLflow keeps
    them as float64, History's values exactly). At the end, the file ``log_model`` gives
    is logged as an artifact and the run is ended (FINISHED). With ``parent_run_id`` the
    run is a child run of that one (a search's trial under the search, say), as MLflow's
    nested runs are.

    The run is started by ``fit`` when it begins (``run_id`` is then set) and ended when it
    ends; to log more than one fit, or files written after the training, to one run, start
    and end it yourself: ``with logger:`` (started on entering; ended on leaving,
    FAILED or KILLED when an exception leaves the block, without the model) or ``start()``
    and ``end()``. mlflow is imported when the logger is made; it talks to the store with
    an ``MlflowClient`` of its own, and leaves MLflow's active run and tracking URI alone.

    Parameters
    ----------
    tracking_uri : str, optional
        The tracking store: None is "sqlite:///mlflow.db" (``DEFAULT_MLFLOW_URI``, a SQLite
        file in the working directory; MLflow 3 refuses new data in the older file store
        of ``mlruns/``), or "sqlite:///path/to/file.db", "http://host:5000"... A new
        experiment of a SQLite store keeps its artifacts in ``mlartifacts/`` beside the
        database file.
    experiment : str, default "layerwise"
        The experiment's name.
    run_name : str, optional
        The run's name (None: MLflow makes one up).
    params : dict, optional
        The parameters to log, by name (values as ``tracked_value`` gives them, as text).
    parent_run_id : str, optional
        The run this one is a child of.
    log_model : str, os.PathLike or callable, optional
        The file (a model file, say) to log as an artifact when the run ends, or a
        function that returns its path then (or None: no file); None logs no file.

    Attributes
    ----------
    run_id : str or None
        The run's id, once started (None before). A logger logs to one run: a second
        ``start()`` (a second fit) goes on in it; set ``run_id`` before the first to go on
        in a run made earlier (a resumed training), whose params stay as they were.

    Raises
    ------
    LayerwiseError
        If mlflow is not installed (``pip install 'layerwise[mlflow]'``), or (when the run
        starts) the tracking store cannot be used.

    See Also
    --------
    TensorBoard : The same metrics, to TensorBoard event files.
    TrainConfig.callbacks : The trackers the ``tensorboard`` and ``mlflow`` settings ask for.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from mlflow.tracking import MlflowClient
    >>> uri = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "mlflow.db")
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> y = np.arange(30) % 3
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> logger = lw.callbacks.MLflowLogger(uri, run_name="first", params={"hidden": [8], "epochs": 3})
    >>> history = lw.fit(net, X, y, epochs=3, callbacks=[logger])
    >>> run = MlflowClient(tracking_uri=uri).get_run(logger.run_id)
    >>> run.info.run_name, run.info.status, run.data.params
    ('first', 'FINISHED', {'hidden': '8', 'epochs': '3'})
    >>> steps = MlflowClient(tracking_uri=uri).get_metric_history(logger.run_id, "train_loss")
    >>> [m.step for m in steps], [m.value for m in steps] == history.train_loss
    ([0, 1, 2], True)
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        experiment: str = "layerwise",
        run_name: str | None = None,
        params: Mapping[str, object] | None = None,
        parent_run_id: str | None = None,
        log_model: "str | os.PathLike[str] | Callable[[], str | os.PathLike[str] | None] | None" = None,
    ) -> None:
        self.tracking_uri = DEFAULT_MLFLOW_URI if tracking_uri is None else str(tracking_uri)
        self.experiment, self.run_name, self.parent_run_id = experiment, run_name, parent_run_id
        self.params = {} if params is None else {str(k): tracked_value(v) for k, v in params.items()}
        self.log_model = log_model
        self.run_id: str | None = None
        self._mlflow = _library("mlflow", "MLflow logging", "mlflow", "mlflow")
        self._client: Any = None
        self._by_fit = False  # fit started the run, and ends it

    def start(self) -> str:
        """Start the run: the experiment (made if need be), the run and its params.

        With ``run_id`` set (by an earlier start, or by hand), that run goes on, its
        status RUNNING again, instead of a new one.

        Returns
        -------
        str
            The run's id (also ``run_id``).

        Raises
        ------
        LayerwiseError
            If the run is already started, or the tracking store cannot be used or has no
            run ``run_id`` (one line naming the store, with MLflow's reason).

        See Also
        --------
        end : Ends the run; its example starts one with ``with``, which calls this.
        """
        if self._client is not None:
            raise LayerwiseError(f"the MLflow run {self.run_id} is already started")
        from mlflow.entities import Param

        with self._mlflow_errors(), _quiet_mlflow():
            client = self._mlflow.tracking.MlflowClient(tracking_uri=self.tracking_uri)
            if self.run_id is not None:  # the run goes on (its params are logged already)
                client.update_run(self.run_id, status="RUNNING")
            else:
                experiment_id = self._experiment_id(client)
                tags = {} if self.parent_run_id is None else {"mlflow.parentRunId": self.parent_run_id}
                run = client.create_run(experiment_id, run_name=self.run_name, tags=tags)
                params = [Param(name, str(value)) for name, value in self.params.items()]
                for i in range(0, len(params), 100):  # MLflow takes at most 100 params a call
                    client.log_batch(run.info.run_id, params=params[i : i + 100])
                self.run_id = run.info.run_id
        self._client = client
        return self.run_id

    def end(self, status: str = "FINISHED") -> None:
        """Log the model file (when FINISHED and ``log_model`` gives one) and end the run.

        Parameters
        ----------
        status : {"FINISHED", "FAILED", "KILLED"}, default "FINISHED"
            The run's status.

        Raises
        ------
        LayerwiseError
            If the run was not started, or the model file cannot be logged.

        Examples
        --------
        >>> import os, tempfile
        >>> import layerwise as lw
        >>> from mlflow.tracking import MlflowClient
        >>> folder = tempfile.mkdtemp()
        >>> uri = "sqlite:///" + os.path.join(folder, "mlflow.db")
        >>> model = os.path.join(folder, "model.safetensors")
        >>> with lw.callbacks.MLflowLogger(uri, log_model=model) as logger:
        ...     _ = lw.save(lw.Network.from_spec("4-8-3", seed=0), model)
        >>> [f.path for f in MlflowClient(tracking_uri=uri).list_artifacts(logger.run_id)]
        ['model.safetensors']
        """
        if self.run_id is None or self._client is None:
            raise LayerwiseError("the MLflow run was not started")
        client, run_id = self._client, self.run_id
        self._client = None
        path = None
        if status == "FINISHED":
            path = self.log_model() if callable(self.log_model) else self.log_model
        with self._mlflow_errors():
            if path is not None:
                if not Path(path).is_file():
                    client.set_terminated(run_id, "FAILED")
                    raise LayerwiseError(f"cannot log {path} to MLflow: there is no such file")
                client.log_artifact(run_id, os.fspath(path))
            client.set_terminated(run_id, status)

    def __enter__(self) -> "MLflowLogger":
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        if kind is None:
            self.end()
        elif self._client is not None:
            status = "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED"
            try:
                self.end(status)
            except LayerwiseError:
                pass  # the error that left the block is the one to see

    def on_train_begin(self, net: "Network", history: "History") -> None:
        """Start the run, unless it is started already (``start()``, ``with``).

        Parameters
        ----------
        net : Network
            The network about to be trained, whose gradient norms are logged.
        history : History
            The History of the training, whose learning rates are logged.
        """
        super().on_train_begin(net, history)
        self._by_fit = self._client is None
        if self._by_fit:
            self.start()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Log the epoch's metrics at step ``epoch``.

        Parameters
        ----------
        epoch : int
            The epoch's number, from 0.
        logs : dict of str to float
            The epoch's metrics, from fit.
        """
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(name, value, now, epoch) for name, value in self._scalars(logs).items()]
        with self._mlflow_errors():
            self._client.log_batch(self.run_id, metrics=metrics)

    def on_train_end(self, net: "Network", history: "History") -> None:
        """End the run that ``fit`` started (logging the model file first).

        Parameters
        ----------
        net : Network
            The trained network.
        history : History
            The History of the training.
        """
        if self._by_fit:
            self.end()

    def _experiment_id(self, client: Any) -> str:
        """The experiment's id, made if need be (by another process at the same time too)."""
        found = client.get_experiment_by_name(self.experiment)
        if found is not None:
            return found.experiment_id  # type: ignore[no-any-return]
        location = None
        if self.tracking_uri.startswith("sqlite:///"):
            database = Path(self.tracking_uri[len("sqlite:///") :])
            location = (database.resolve().parent / MLFLOW_ARTIFACTS).as_uri()
        try:
            return client.create_experiment(self.experiment, artifact_location=location)  # type: ignore[no-any-return]
        except self._mlflow.exceptions.MlflowException:
            found = client.get_experiment_by_name(self.experiment)  # made meanwhile
            if found is None:
                raise
            return found.experiment_id  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def _mlflow_errors(self) -> Iterator[None]:
        """MLflow's errors (a store it cannot use, a file it cannot write) as one line."""
        try:
            yield
        except LayerwiseError:
            raise
        except Exception as e:  # noqa: BLE001  # MLflow raises many kinds; the user needs one line
            message = getattr(e, "message", None) or str(e) or type(e).__name__
            first = re.split(r"(?<=[.!?])\s|\n", str(message).strip(), maxsplit=1)[0]
            raise LayerwiseError(f"cannot log to MLflow at {self.tracking_uri}: {first}") from None


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """MLflow's information messages (making a new store's tables...) left out."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)
