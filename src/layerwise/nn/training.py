"""fit(): epochs of mini-batches (or the full batch), recorded in a History."""

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from ..errors import LayerwiseError, TrainingDiverged
from .callbacks import Callback
from .config import DEFAULTS
from .layers import Dropout
from .network import Network
from .optimizers import Optimizer
from .types import Array, ArrayLike, Labels


@dataclass
class History:
    """What happened per epoch (one entry per epoch in each list)."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def _restore_finite(values: Array, *candidates: Array) -> None:
    for candidate in candidates:
        if np.isfinite(candidate).all():
            np.copyto(values, candidate)
            return


def seed_generators(net: Network, seed: int | None) -> np.random.Generator:
    """The generator fit() shuffles with, from ``seed``; it also reseeds the network's
    Dropout layers from ``seed``, so that the same seed gives bit-identical weights.

    fit(seed=<int>) calls this itself. To checkpoint a training (checkpoint.py), call it
    and pass the generator as ``seed``: fit then uses it, and the Dropout layers' own
    generators, as they are.
    """
    rng = np.random.default_rng(seed)
    if seed is not None:
        dropouts = [layer for layer in net.layers if isinstance(layer, Dropout)]
        for layer, child in zip(dropouts, np.random.SeedSequence(seed).spawn(len(dropouts) + 1)[1:]):
            layer.rng = np.random.default_rng(child)
    return rng


def _check_classes(y: Labels, yv: Labels | None) -> None:
    """A training set needs two classes; a validation set only classes it has."""
    present = np.unique(y)
    if len(present) < 2:
        raise LayerwiseError(
            f"the training labels hold only one class ({present[0]}): a classifier needs at least two"
        )
    if yv is not None:
        absent = np.setdiff1d(np.unique(yv), present)
        if len(absent):
            raise LayerwiseError(
                f"the validation set has class {absent[0]}, which no training example has "
                "(its accuracy could only be wrong); split the data so that training sees every class"
            )


def _batches(n: int, batch_size: int, rng: np.random.Generator, shuffle: bool) -> list[NDArray[np.intp]]:
    order = rng.permutation(n) if shuffle else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def fit(
    net: Network,
    X: ArrayLike,
    y: ArrayLike,
    *,
    optimizer: Optimizer | None = None,
    epochs: int = DEFAULTS.epochs,
    batch_size: int | None = DEFAULTS.batch_size,
    l2: float = DEFAULTS.l2,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    seed: int | np.random.Generator | None = DEFAULTS.seed,
    shuffle: bool = True,
    callbacks: Iterable[Callback] = (),
    start_epoch: int = 0,
    history: History | None = None,
    check_classes: bool = True,
) -> History:
    """Trains ``net`` in place and returns a History.

    The defaults (optimizer, epochs, batch size, l2, seed) are those of ``TrainConfig``.
    ``batch_size=None`` uses the full batch every step, as the tutorial does; otherwise
    each epoch visits the examples in mini-batches, shuffled by a generator seeded from
    ``seed`` (an int, or a Generator from ``seed_generators`` to continue a checkpointed
    training). ``l2`` is the tutorial's lambda: the loss gets lambda/(2N) sum ||W||^2.
    ``start_epoch`` and ``history`` continue an earlier training: epochs are numbered from
    ``start_epoch`` and appended to ``history``.
    A training set with a single class, or a validation set with a class the training set
    lacks, is an error (``check_classes=False`` allows both, for one batch of a stream).
    A loss that becomes NaN or infinite raises TrainingDiverged naming the epoch, with the
    network set back to its last finite weights.
    """
    optimizer = optimizer or DEFAULTS.make_optimizer()
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise LayerwiseError(f"epochs must be a non-negative integer, not {epochs!r}")
    l2 = float(l2)
    if not math.isfinite(l2) or l2 < 0:
        raise LayerwiseError(f"l2 must be a non-negative number, not {l2}")
    X = net.check_X(X)
    y = net.check_y(y, len(X))
    n = len(X)
    if batch_size is not None and (int(batch_size) < 1):
        raise LayerwiseError(f"batch_size must be positive, not {batch_size}")
    batch = None if batch_size is None or int(batch_size) >= n else int(batch_size)  # None: full batch
    Xv: Array | None = None
    yv: Labels | None = None
    if validation_data is not None:
        Xv_raw, yv_raw = validation_data
        Xv = net.check_X(Xv_raw)
        yv = net.check_y(yv_raw, len(Xv))
    if check_classes:
        _check_classes(y, yv)

    # Dropout masks follow fit's seed too, for bit-identical reruns.
    rng = seed if isinstance(seed, np.random.Generator) else seed_generators(net, seed)

    history = history if history is not None else History()
    callbacks = list(callbacks)
    for c in callbacks:
        c.on_train_begin(net, history)
    # Overflow on the way to a diverging loss is reported once, as TrainingDiverged.
    with np.errstate(over="ignore", invalid="ignore"):
        _Loop(net, X, y, Xv, yv, optimizer, batch, l2, rng, shuffle, history, callbacks).run(
            start_epoch, epochs
        )
    net.train(False)
    for c in callbacks:
        c.on_train_end(net, history)
    return history


@dataclass
class _Loop:
    """What the epochs of one fit() work on (``batch_size`` None: the full batch)."""

    net: Network
    X: Array
    y: Labels
    Xv: Array | None
    yv: Labels | None
    optimizer: Optimizer
    batch_size: int | None
    l2: float
    rng: np.random.Generator
    shuffle: bool
    history: History
    callbacks: list[Callback]

    def run(self, start_epoch: int, epochs: int) -> None:
        self.params = self.net.parameters()
        self.values = self.net._packed()[0]  # every parameter value, as one flat array
        # Weights at the start of the last two epochs: when the loss turns NaN or infinite,
        # the most recent of them that is finite is restored.
        self.snapshots = (self.values.copy(), self.values.copy())
        self.batch_callbacks = [
            c for c in self.callbacks if type(c).on_batch_end is not Callback.on_batch_end
        ]
        for epoch in range(start_epoch, start_epoch + epochs):
            started = time.perf_counter()
            np.copyto(self.snapshots[epoch % 2], self.values)
            self.optimizer.set_epoch(epoch)
            self.net.train(True)
            loss_sum, correct = self._batches(epoch)
            if self._end_of_epoch(epoch, loss_sum, correct, started):
                self.history.stopped_epoch = epoch
                break

    def _batches(self, epoch: int) -> tuple[float, float]:
        """One epoch's optimizer steps; returns the summed loss and the correct predictions."""
        X, y, n = self.X, self.y, len(self.X)
        batches = [None] if self.batch_size is None else _batches(n, self.batch_size, self.rng, self.shuffle)
        loss_sum = correct = 0.0
        for b, idx in enumerate(batches):
            Xb, yb = (X, y) if idx is None else (X[idx], y[idx])
            loss, out = self.net._loss_and_gradients(Xb, yb, self.l2)
            if not math.isfinite(loss):
                self._diverged(epoch, loss)
            loss_sum += loss * len(yb)
            correct += np.count_nonzero(out.argmax(axis=1) == yb)
            self.optimizer.step(self.params)
            for c in self.batch_callbacks:
                c.on_batch_end(b, len(yb), loss)
        return loss_sum, correct

    def _diverged(self, epoch: int, loss: float) -> None:
        _restore_finite(self.values, self.snapshots[epoch % 2], self.snapshots[(epoch - 1) % 2])
        raise TrainingDiverged(
            f"training diverged at epoch {epoch + 1}: the loss became {loss}; the learning "
            f"rate ({self.optimizer.lr:g}) is probably too high or the inputs are not scaled; "
            "the network keeps its last finite weights",
            epoch=epoch + 1,
            history=self.history,
        )

    def _end_of_epoch(self, epoch: int, loss_sum: float, correct: float, started: float) -> bool:
        """Scores the epoch, records it and runs the callbacks; True when one says stop."""
        n, history = len(self.X), self.history
        logs = {"train_loss": loss_sum / n, "train_accuracy": correct / n}
        if self.Xv is not None:
            assert self.yv is not None  # fit() sets the two together
            logs["val_loss"], logs["val_accuracy"] = self.net._evaluate(self.Xv, self.yv, self.l2)
        history.train_loss.append(logs["train_loss"])
        history.train_accuracy.append(logs["train_accuracy"])
        if self.Xv is not None:
            history.val_loss.append(logs["val_loss"])
            history.val_accuracy.append(logs["val_accuracy"])
        history.lr.append(self.optimizer.lr)
        history.seconds.append(time.perf_counter() - started)
        stop = False
        for c in self.callbacks:
            stop = bool(c.on_epoch_end(epoch, logs)) or stop
        return stop
