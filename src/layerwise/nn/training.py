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
    """What happened per epoch (one entry per epoch in each list).

    ``fit`` returns one; epochs are appended to it as they end, so a History passed to
    ``fit(history=...)`` goes on from where an earlier training stopped. Epoch numbers are
    counted from 0, as the callbacks see them.

    Parameters
    ----------
    train_loss : list of float, optional
        The mean training loss of each epoch: the loss of each mini-batch (with the L2
        term), weighted by its size, as the weights changed during the epoch.
    train_accuracy : list of float, optional
        The share of training examples classified correctly, during the epoch's steps.
    val_loss : list of float, optional
        The loss on ``validation_data`` at the end of each epoch (empty without it).
    val_accuracy : list of float, optional
        The accuracy on ``validation_data`` at the end of each epoch (empty without it).
    lr : list of float, optional
        The learning rate of each epoch.
    seconds : list of float, optional
        The wall-clock duration of each epoch.
    best_epoch : int or None, optional
        The best epoch of ``EarlyStopping`` (None without it).
    stopped_epoch : int or None, optional
        The epoch after which a callback stopped the training (None when it ran all its
        epochs).

    See Also
    --------
    fit : Trains a network and returns its History.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> history = lw.fit(net, X, np.arange(30) % 3, epochs=3)
    >>> history.epochs, len(history.train_accuracy), history.val_loss, history.stopped_epoch
    (3, 3, [], None)
    >>> history.lr
    [0.001, 0.001, 0.001]
    """

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
        """The number of epochs recorded (the length of ``train_loss``)."""
        return len(self.train_loss)

    def to_dict(self) -> dict[str, Any]:
        """The fields by name, for reports and checkpoints.

        Returns
        -------
        dict
            Each field's value by its name; the lists are the History's own, not copies.

        See Also
        --------
        from_dict : The History of such a dict.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> history = lw.History(train_loss=[0.9, 0.5], train_accuracy=[0.6, 0.8])
        >>> history.to_dict()["train_loss"], list(history.to_dict())[-2:]
        ([0.9, 0.5], ['best_epoch', 'stopped_epoch'])
        """
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        """A History from a mapping of its fields, such as ``to_dict()`` returns.

        Parameters
        ----------
        d : dict
            Field values by name; names that are not fields are ignored, and missing
            fields take their defaults.

        Returns
        -------
        History
            A new History holding the values of ``d``.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> history = lw.History(train_loss=[0.9, 0.5], best_epoch=1)
        >>> lw.History.from_dict(history.to_dict()) == history
        True
        >>> lw.History.from_dict({"train_loss": [0.7], "note": "ignored"}).epochs
        1
        """
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def _restore_finite(values: Array, *candidates: Array) -> None:
    for candidate in candidates:
        if np.isfinite(candidate).all():
            np.copyto(values, candidate)
            return


def seed_generators(net: Network, seed: int | None) -> np.random.Generator:
    """The generator fit() shuffles with, from ``seed``; it also reseeds the Dropout layers.

    The network's Dropout layers get generators derived from ``seed``, so that the same
    seed gives bit-identical weights. fit(seed=<int>) calls this itself. To checkpoint a
    training (checkpoint.py), call it and pass the generator as ``seed``: fit then uses
    it, and the Dropout layers' own generators, as they are.

    Parameters
    ----------
    net : Network
        The network whose Dropout layers get new generators (when ``seed`` is not None).
    seed : int or None
        The seed of the shuffles and of the dropout masks; None draws fresh entropy and
        leaves the Dropout layers' generators as they are.

    Returns
    -------
    numpy.random.Generator
        ``np.random.default_rng(seed)``, for fit's shuffles.

    See Also
    --------
    fit : Its ``seed`` takes an int or this generator.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.training import seed_generators
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> y = np.arange(30) % 3
    >>> a = lw.Network.from_spec("4-8-3", dropout=0.5, seed=0)
    >>> b = lw.Network.from_spec("4-8-3", dropout=0.5, seed=0)
    >>> _ = lw.fit(a, X, y, epochs=2, seed=7)
    >>> _ = lw.fit(b, X, y, epochs=2, seed=seed_generators(b, 7))
    >>> all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    True
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
    """Train ``net`` in place and return a History.

    The defaults (optimizer, epochs, batch size, l2, seed) are those of ``TrainConfig``.
    ``batch_size=None`` uses the full batch every step, as the tutorial does; otherwise
    each epoch visits the examples in mini-batches, shuffled by a generator seeded from
    ``seed`` (an int, or a Generator from ``seed_generators`` to continue a checkpointed
    training). ``l2`` is the tutorial's lambda: the loss gets lambda/(2N) sum ||W||^2.
    ``start_epoch`` and ``history`` continue an earlier training: epochs are numbered from
    ``start_epoch`` and appended to ``history``. The network ends in inference mode.

    Parameters
    ----------
    net : Network
        The network to train; its parameters are updated in place.
    X : array_like of shape (n_examples, n_features)
        Training examples, one per row.
    y : array_like of shape (n_examples,)
        Their class labels, integers 0..K-1.
    optimizer : Optimizer or None, optional
        The optimizer, whose schedule sets the learning rate at each epoch (None:
        ``TrainConfig().make_optimizer()``, Adam with learning rate 1e-3).
    epochs : int, default 20
        Passes over the training set; 0 or more.
    batch_size : int or None, default 128
        Examples per optimizer step; None, or a size of at least ``n_examples``, is the
        full batch.
    l2 : float, default 0.0
        The tutorial's lambda, 0 or more.
    validation_data : tuple of (array_like, array_like) or None, optional
        ``(X_val, y_val)``, scored in inference mode at the end of each epoch
        (``val_loss`` and ``val_accuracy``, with the L2 term in the loss).
    seed : int, numpy.random.Generator or None, default 0
        Seeds the shuffles and the dropout masks (see ``seed_generators``); a Generator is
        used as it is, and the Dropout layers' own generators too.
    shuffle : bool, default True
        Shuffle the examples at each epoch (mini-batches only); False keeps their order.
    callbacks : iterable of Callback, default ()
        Hooks called at the start, after each step, after each epoch and at the end; one
        whose ``on_epoch_end`` returns True stops the training.
    start_epoch : int, default 0
        The number of the first epoch (counted from 0), to continue an earlier training.
    history : History or None, optional
        The History to append the epochs to (None: a new one).
    check_classes : bool, default True
        Refuse a training set with a single class, or a validation set with a class the
        training set lacks; False allows both, for one batch of a stream.

    Returns
    -------
    History
        ``history`` (or a new History) with one entry per epoch trained.

    Raises
    ------
    LayerwiseError
        If ``epochs``, ``l2`` or ``batch_size`` is out of range; if X, y or the
        validation data are not numeric arrays of the network's shapes, hold NaN or
        infinite values, or labels out of range; if ``check_classes`` finds one class in
        the training set, or a validation class the training set lacks.
    TrainingDiverged
        If a loss becomes NaN or infinite; it names the epoch, and the network is set back
        to its last finite weights.

    See Also
    --------
    TrainConfig : The defaults, and every other setting of a training.
    EarlyStopping : A callback that stops when the validation loss stops improving.
    Network.evaluate : Loss and accuracy on a dataset.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> y = np.arange(30) % 3
    >>> history = lw.fit(net, X[:24], y[:24], epochs=2, validation_data=(X[24:], y[24:]))
    >>> len(history.train_loss), len(history.val_accuracy)
    (2, 2)
    >>> optimizer = lw.SGD(lr=0.1, momentum=0.9)
    >>> history = lw.fit(net, X, y, optimizer=optimizer, epochs=3, batch_size=None, l2=0.01)
    >>> history.epochs, optimizer.steps
    (3, 3)
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
