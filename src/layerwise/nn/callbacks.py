"""Callbacks: hooks into fit() (progress, checkpoints, early stopping)."""

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import LayerwiseError
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
