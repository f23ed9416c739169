"""Callbacks: hooks into fit() (progress, checkpoints, early stopping)."""

import math
from typing import TYPE_CHECKING, Any

from ..errors import LayerwiseError
from .types import Array

if TYPE_CHECKING:  # for the annotations only: training and network import this module
    from .network import Network
    from .training import History


class Callback:
    """Hooks into fit(). Return True from ``on_epoch_end`` to stop training."""

    def on_train_begin(self, net: "Network", history: "History") -> None:
        """Before the first epoch."""

    def on_batch_end(self, batch: int, size: int, loss: float) -> None:
        """After each optimizer step, with the batch's index, size and loss."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        """After each epoch, with its metrics (train_loss, train_accuracy, val_...)."""

    def on_train_end(self, net: "Network", history: "History") -> None:
        """After the last epoch."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` ("val_loss" or "val_accuracy", or the train_ ones) has not
    improved by more than ``min_delta`` for ``patience`` epochs; with
    ``restore_best_weights`` the network ends with the weights of its best epoch."""

    net: "Network"
    history: "History"
    best: float
    best_epoch: int | None
    wait: int
    best_weights: list[Array] | None
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
        self.net, self.history = net, history
        self.best, self.best_epoch, self.wait, self.best_weights = math.inf, None, 0, None
        restored = getattr(self, "_restored", None)
        if restored is not None:
            self._apply(restored)
            self._restored = None

    @property
    def stopped(self) -> bool:
        """True when the patience has run out (training should not go on)."""
        return getattr(self, "wait", 0) > self.patience

    def state_dict(self) -> dict[str, Any]:
        """The counters and best weights, to continue a training exactly (checkpoints)."""
        weights = None if self.best_weights is None else [w.copy() for w in self.best_weights]
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "best_weights": weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores ``state_dict()``; it takes effect when the next fit() begins."""
        self._restored = state
        self.wait = int(state["wait"])

    def _apply(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), state["best_epoch"]
        self.wait, self.best_weights = int(state["wait"]), state["best_weights"]

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        if self.monitor not in logs:
            raise LayerwiseError(f"EarlyStopping monitors {self.monitor} but fit() has no validation data")
        value = self.sign * logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.net.get_weights()
            return False
        self.wait += 1
        return self.wait > self.patience

    def on_train_end(self, net: "Network", history: "History") -> None:
        history.best_epoch = self.best_epoch
        if self.restore_best_weights and self.best_weights is not None:
            net.set_weights(self.best_weights)
