"""fit(): epochs of mini-batches (or the full batch), recorded in a History; weights per
example and per class."""

import functools
import io
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, Self, TypeAlias

import numpy as np
from numpy.typing import NDArray

from ..errors import LayerwiseError, TrainingDiverged
from .callbacks import Callback
from .config import DEFAULTS, BatchSize, parse_setting, resolve_batch_size
from .layers import Dropout
from .network import Network
from .optimizers import Optimizer
from .progress import EpochProgress, progress_callbacks
from .types import Array, ArrayLike, Labels, Targets

if TYPE_CHECKING:  # for the annotation only: matplotlib is imported by History.plot alone
    from matplotlib.figure import Figure

# fit's divergence rule: a step whose loss is not below this many times the loss at the
# start (the larger of the first step's loss and log K) stops the training.
DIVERGENCE_FACTOR = 1e4
BALANCED = "balanced"  # class_weight: each class weighed inversely to its share of the examples
ClassWeight: TypeAlias = str | Mapping[int, float] | None


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
        term), weighted by its size (with weights per example, by its share of their
        sum), as the weights changed during the epoch.
    train_accuracy : list of float, optional
        The share of training examples classified correctly, during the epoch's steps
        (with weights per example, the share of their sum).
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
    batch_size : int or None, optional
        The examples per optimizer step of the last ``fit`` (its ``batch_size`` resolved:
        "auto" by its rule, the full batch as the number of examples); None before any.

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
    >>> history.batch_size  # "auto" for 30 examples: batches of 8
    8
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
    batch_size: int | None = None

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
        >>> history.to_dict()["train_loss"], list(history.to_dict())[-3:]
        ([0.9, 0.5], ['best_epoch', 'stopped_epoch', 'batch_size'])
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

    def plot(self) -> "Figure":
        """Return a matplotlib Figure of the loss and accuracy curves.

        Two panels side by side: the loss (with the L2 term) and the accuracy of each
        epoch, counted from 1, each with the training curve and, when the History has
        them, the validation curve; a dotted line marks ``best_epoch`` when early stopping
        set it. matplotlib is imported here, and the Figure is made without pyplot, so
        matplotlib's backend does not change. A Jupyter notebook shows the Figure when it
        is a cell's value; ``fig.savefig(path)`` writes it to a file.

        Returns
        -------
        matplotlib.figure.Figure
            The figure, with two Axes: the loss and the accuracy.

        Raises
        ------
        LayerwiseError
            If matplotlib is not installed.

        See Also
        --------
        fit : Returns the History of a training.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.Network.from_spec("4-8-3", seed=0)
        >>> X = np.random.default_rng(0).random((30, 4))
        >>> y = np.arange(30) % 3
        >>> history = lw.fit(net, X[:24], y[:24], epochs=5, validation_data=(X[24:], y[24:]))
        >>> fig = history.plot()
        >>> [ax.get_ylabel() for ax in fig.axes]
        ['loss', 'accuracy']
        >>> [line.get_label() for line in fig.axes[0].lines]
        ['training', 'validation']
        >>> len(fig.axes[0].lines[0].get_xdata())  # one point per epoch
        5
        """
        try:
            from matplotlib.figure import Figure
            from matplotlib.ticker import MaxNLocator
        except ImportError:
            raise LayerwiseError(
                "History.plot needs matplotlib, which is not installed: pip install matplotlib"
            ) from None
        fig = Figure(figsize=(10, 3.5), layout="constrained")
        loss_axes, accuracy_axes = fig.subplots(1, 2)
        panels = [
            (loss_axes, "loss", self.train_loss, self.val_loss),
            (accuracy_axes, "accuracy", self.train_accuracy, self.val_accuracy),
        ]
        for ax, name, train, validation in panels:
            for label, values in (("training", train), ("validation", validation)):
                if values:
                    marker = "o" if len(values) == 1 else None  # a single epoch is a point
                    ax.plot(np.arange(1, len(values) + 1), values, marker=marker, label=label)
            if self.best_epoch is not None:
                best = self.best_epoch + 1
                ax.axvline(best, color="gray", linestyle=":", label=f"best epoch ({best})")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend()
        accuracy_axes.set_ylim(0, 1.02)
        # Without pyplot no backend registers a display for Figures: the notebook asks this.
        fig._repr_png_ = functools.partial(_figure_png, fig)  # type: ignore[attr-defined]
        return fig


def _figure_png(fig: "Figure") -> bytes:
    """The Figure as a PNG image, for notebooks (IPython's ``_repr_png_``)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _restore_finite(values: Array, *candidates: Array) -> int | None:
    """Copy the first finite candidate into ``values``; return its index (None: none)."""
    for i, candidate in enumerate(candidates):
        if np.isfinite(candidate).all():
            np.copyto(values, candidate)
            return i
    return None


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


def _check_classes(y: Targets, yv: Targets | None, weights: Array | None = None) -> None:
    """A training set needs two classes (among its examples of positive weight); a
    validation set only classes it has."""
    present = np.unique(y if weights is None else y[weights > 0])
    if len(present) < 2:
        which = "training labels" if weights is None else "training examples of positive weight"
        raise LayerwiseError(
            f"the {which} hold only one class ({present[0]}): a classifier needs at least two"
        )
    if yv is not None:
        absent = np.setdiff1d(np.unique(yv), present)
        if len(absent):
            raise LayerwiseError(
                f"the validation set has class {absent[0]}, which no training example has "
                "(its accuracy could only be wrong); split the data so that training sees every class"
            )


def class_weights(
    class_weight: ClassWeight, y: Labels, n_classes: int, sample_weight: Array | None = None
) -> NDArray[np.float64]:
    """The weight of each class 0..K-1 that ``class_weight`` gives the labels ``y``.

    "balanced" is scikit-learn's rule (``compute_class_weight``): n / (k * n_c) for a
    class of n_c of the n examples, k being the number of classes that ``y`` holds, so
    that every class weighs as much in total; with ``sample_weight``, n and n_c are sums
    of weights, as scikit-learn counts them then. A dict gives the classes it names their
    weight, and the others 1. None gives every class 1.

    Parameters
    ----------
    class_weight : "balanced", dict of int to float, or None
        The rule, or the weight of each class it names by its index 0..K-1.
    y : ndarray of int of shape (N,)
        The labels 0..K-1, checked (``Network.check_y``).
    n_classes : int
        K, the number of classes (the network's outputs).
    sample_weight : ndarray of shape (N,) or None, default None
        The weights per example, checked, that "balanced" counts with.

    Returns
    -------
    ndarray of float64 of shape (K,)
        The weight of each class; 1 for a class that ``y`` does not hold ("balanced").

    Raises
    ------
    LayerwiseError
        If ``class_weight`` is none of these, or a dict names a class outside 0..K-1 or
        gives a weight that is not a finite non-negative number.

    See Also
    --------
    fit : Multiplies each example's weight by the weight of its class.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.training import class_weights
    >>> y = np.array([0, 0, 0, 1])  # three of class 0, one of class 1
    >>> class_weights("balanced", y, 2).tolist()  # 4 / (2 * 3), 4 / (2 * 1)
    [0.6666666666666666, 2.0]
    >>> class_weights({1: 5.0}, y, 3).tolist()
    [1.0, 5.0, 1.0]
    """
    weights = np.ones(n_classes)
    if class_weight is None:
        return weights
    if isinstance(class_weight, str) and class_weight.lower() == BALANCED:
        counts = np.bincount(y, weights=sample_weight, minlength=n_classes).astype(np.float64)
        held = np.bincount(y, minlength=n_classes) > 0  # the classes y holds
        counted = held & (counts > 0)
        weights[counted] = counts.sum() / (np.count_nonzero(held) * counts[counted])
        return weights
    if not isinstance(class_weight, Mapping):
        raise LayerwiseError(
            f"class_weight must be None, 'balanced' or a dict of class: weight, not {class_weight!r}"
        )
    for label, weight in class_weight.items():
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < n_classes:
            raise LayerwiseError(
                f"class_weight names class {label!r}, "
                f"but the network has {n_classes} classes (0..{n_classes - 1})"
            )
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float, np.number))
            or not (math.isfinite(weight) and weight >= 0)
        ):
            raise LayerwiseError(
                f"class_weight of class {label} must be a non-negative number, not {weight!r}"
            )
        weights[int(label)] = float(weight)
    return weights


def _example_weights(
    net: Network, y: Targets, sample_weight: ArrayLike | None, class_weight: ClassWeight
) -> tuple[Array | None, float]:
    """Each example's weight, checked: ``sample_weight`` times its class's weight. Equal
    weights c give (None, c): the plain mean, computed as without weights, with the
    L2 term's N multiplied by c."""
    if sample_weight is None and class_weight is None:
        return None, 1.0
    n = len(y)
    if class_weight is not None:
        if not net.loss.classifier:
            raise LayerwiseError(f"class_weight is for classification; this network's loss is {net.loss!r}")
        given = None if sample_weight is None else net.check_sample_weight(sample_weight, n)
        per_class = class_weights(class_weight, y, net.n_classes, given)  # type: ignore[arg-type]
        sample_weight = per_class[y] if given is None else given * per_class[y]
    weights = net.check_sample_weight(sample_weight, n)  # type: ignore[arg-type]
    if weights.min() == weights.max():
        return None, float(weights[0])
    return weights, 1.0


def _batches(
    n: int, batch_size: int, rng: np.random.Generator, shuffle: bool, fold_single: bool = False
) -> list[NDArray[np.intp]]:
    """The examples of each batch; ``fold_single``: a last batch of one joins the one before."""
    order = rng.permutation(n) if shuffle else np.arange(n)
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if fold_single and len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [order[-batch_size - 1 :]]
    return batches


def fit(
    net: Network,
    X: ArrayLike,
    y: ArrayLike,
    *,
    optimizer: Optimizer | None = None,
    epochs: int = DEFAULTS.epochs,
    batch_size: BatchSize | str = DEFAULTS.batch_size,
    l2: float = DEFAULTS.l2,
    validation_data: tuple[ArrayLike, ArrayLike] | tuple[ArrayLike, ArrayLike, ArrayLike] | None = None,
    seed: int | np.random.Generator | None = DEFAULTS.seed,
    shuffle: bool = True,
    callbacks: Iterable[Callback] = (),
    start_epoch: int = 0,
    history: History | None = None,
    check_classes: bool = True,
    verbose: int = 0,
    sample_weight: ArrayLike | None = None,
    class_weight: ClassWeight = None,
) -> History:
    """Train ``net`` in place and return a History.

    The defaults (optimizer, epochs, batch size, l2, seed) are those of ``TrainConfig``.
    ``batch_size="auto"`` (the default) takes the batch size from the number of examples
    (``resolve_batch_size``: 128 from 2,048 examples up, about 16 steps per epoch below),
    as every command and the estimator do; the size taken is ``History.batch_size``.
    ``batch_size=None`` uses the full batch every step, as the tutorial does; otherwise
    each epoch visits the examples in mini-batches, shuffled by a generator seeded from
    ``seed`` (an int, or a Generator from ``seed_generators`` to continue a checkpointed
    training). ``l2`` is the tutorial's lambda: the loss gets lambda/(2N) sum ||W||^2.
    ``start_epoch`` and ``history`` continue an earlier training: epochs are numbered from
    ``start_epoch`` and appended to ``history``. The network ends in inference mode.

    Divergence: training stops with ``TrainingDiverged`` at the first step whose loss is
    NaN, infinite, or not below 10^4 (``DIVERGENCE_FACTOR``) times the loss at the start:
    the larger of the first step's loss (in this call) and log K, the loss of a network
    that gives every one of the K classes the same probability. In trainings that work the
    loss of a step stays within a small multiple of that (below 40 times, with batches of
    one example or a learning rate high enough to make the loss bounce), while a loss that
    explodes grows by orders of magnitude within a few steps and leaves the network at
    chance accuracy. The check is one comparison per step.

    Weights: with ``sample_weight`` (a weight per example) and ``class_weight`` (a weight
    per class, "balanced" or a dict), each example's weight w_i is the product of the
    two. The loss is the weighted mean sum w_i l_i / sum w_i, its gradient weighted
    alike, and the L2 term is not weighted: it is lambda/(2N) sum ||W||^2 with N the sum
    of the weights (as scikit-learn's MLP takes it). So, in full-batch training, a weight
    of 2 trains the same weights as the example written twice (and a weight of 0 as the
    example left out), L2 term included; equal weights c are the plain mean, with N = c
    times the number of examples: exactly the numbers of no weights for c = 1, or for any
    c when ``l2`` is 0. Mini-batches are drawn as without weights, and each one's loss is
    its weighted losses summed over its share of the total weight, m B (m the mean
    weight of the training examples, B the batch size), the N of its L2 term: a step's
    expected gradient is then the full batch's, and a batch of light examples makes a
    small step (divided by its own weights' sum, as scikit-learn's MLP divides, a batch
    of examples of weight 0.001 would make as large a step as one of weight 1000, and
    class weights would lose their effect). The History's training loss and accuracy are
    weighted too (the batches' losses times their shares, over the total weight; the
    share of the weight classified correctly); the validation ones only with weights in
    ``validation_data``.

    Parameters
    ----------
    net : Network
        The network to train; its parameters are updated in place.
    X : array_like of shape (n_examples, n_features)
        Training examples, one per row.
    y : array_like of shape (n_examples,) or (n_examples, n_outputs)
        Their class labels, integers 0..K-1; for a network whose loss is
        MeanSquaredError, their targets (then no accuracy is recorded).
    optimizer : Optimizer or None, optional
        The optimizer, whose schedule sets the learning rate at each epoch (None:
        ``TrainConfig().make_optimizer()``, Adam with learning rate 1e-3).
    epochs : int, default 20
        Passes over the training set; 0 or more.
    batch_size : int, "auto" or None, default "auto"
        Examples per optimizer step; None, or a size of at least ``n_examples``, is the
        full batch; "auto" is ``resolve_batch_size``'s rule. Text is read as the
        command line's ``--batch-size`` ("64", "full", "auto"). In a network with
        BatchNorm, a last batch of one example joins the batch before it (batch
        statistics need two).
    l2 : float, default 0.0
        The tutorial's lambda, 0 or more.
    validation_data : tuple of (array_like, array_like[, array_like]) or None, optional
        ``(X_val, y_val)``, scored in inference mode at the end of each epoch
        (``val_loss`` and ``val_accuracy``, with the L2 term in the loss); or
        ``(X_val, y_val, weights)`` for weighted scores (as ``Network.evaluate`` with
        ``sample_weight``). The training's weights do not apply to it.
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
    verbose : {0, 1, 2}, default 0
        0 shows nothing; 1 a progress bar per epoch (tqdm's: text in a terminal, a widget
        in Jupyter), with the running loss, cleared at the end of the epoch; 2 the bar and
        one line per epoch with its losses, accuracies and seconds (printed). tqdm is
        imported only for 1 and 2.
    sample_weight : array_like of shape (n_examples,) or None, optional
        A weight per example: finite, non-negative, with a positive sum (see
        ``Network.check_sample_weight``); None: every example 1.
    class_weight : "balanced", dict of int to float, or None, optional
        A weight per class, for classification (see ``class_weights``): "balanced"
        weighs each class by n / (k * its number of examples), counted with
        ``sample_weight``, as scikit-learn does; a dict gives the classes it names (by
        their index 0..K-1) their weight and the others 1; None: every class 1.

    Returns
    -------
    History
        ``history`` (or a new History) with one entry per epoch trained.

    Raises
    ------
    LayerwiseError
        If ``epochs``, ``l2``, ``batch_size`` or ``verbose`` is out of range (or
        ``verbose`` asks for a bar and tqdm is not installed); if X, y or the
        validation data are not numeric arrays of the network's shapes, hold NaN or
        infinite values, or labels out of range; if the weights are invalid (see
        ``Network.check_sample_weight`` and ``class_weights``), or ``class_weight`` is
        given for a regression; if ``check_classes`` finds one class in the training set
        (among its examples of positive weight), or a validation class the training set
        lacks.
    TrainingDiverged
        If a step's loss is NaN, infinite or not below 10^4 times the loss at the start
        (see above); it names the epoch, and the network is set back to the weights it had
        at the start of this epoch or, if those are not finite, of the previous one.

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
    >>> len(history.train_loss), len(history.val_accuracy), history.batch_size
    (2, 2, 8)
    >>> optimizer = lw.SGD(lr=0.1, momentum=0.9)
    >>> history = lw.fit(net, X, y, optimizer=optimizer, epochs=3, batch_size=None, l2=0.01)
    >>> history.epochs, optimizer.steps
    (3, 3)

    A learning rate far too high makes the loss explode; the network keeps finite weights:

    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> try:
    ...     lw.fit(net, X * 100, y, optimizer=lw.SGD(lr=1e3, momentum=0.9), epochs=100)
    ... except lw.TrainingDiverged as e:
    ...     print(e.epoch, str(e).split(";")[0])  # doctest: +ELLIPSIS
    1 training diverged at epoch 1: the loss reached ...e+10, over 10000 times its start (...)
    >>> all(np.isfinite(w).all() for w in net.get_weights())
    True

    A weight per example, and "balanced" class weights for classes of unequal sizes:

    >>> weights = np.where(y == 0, 2.0, 1.0)  # the examples of class 0 count twice
    >>> history = lw.fit(net, X, y, epochs=2, sample_weight=weights)
    >>> history = lw.fit(net, X[:20], y[:20], epochs=2, class_weight="balanced")

    ``verbose=2`` prints one line per epoch (and shows a progress bar on standard error):

    >>> _ = lw.fit(net, X, y, epochs=2, verbose=2)  # doctest: +ELLIPSIS
    epoch 1/2  loss ...  accuracy ...  ... s  ... ex/s
    epoch 2/2  loss ...  accuracy ...  ... s  ... ex/s
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
    # text as the command line gives it; "auto" by its rule; the full batch: n
    setting: BatchSize = (
        parse_setting("batch_size", batch_size) if isinstance(batch_size, str) else batch_size
    )
    per_step = resolve_batch_size(setting, n)
    batch = None if per_step >= n else per_step  # None: the full batch
    weights, factor = _example_weights(net, y, sample_weight, class_weight)
    Xv: Array | None = None
    yv: Targets | None = None
    validation_weights: tuple[Array | None, float] | None = None
    if validation_data is not None:
        if len(validation_data) not in (2, 3):
            raise LayerwiseError("validation_data must be (X_val, y_val) or (X_val, y_val, weights)")
        Xv = net.check_X(validation_data[0])
        yv = net.check_y(validation_data[1], len(Xv))
        if len(validation_data) == 3:
            try:
                validation_weights = net._example_weights(validation_data[2], len(Xv))
            except LayerwiseError as e:
                raise LayerwiseError(f"the validation weights: {e}") from None
    if check_classes and net.loss.classifier:
        _check_classes(y, yv, weights)

    # Dropout masks follow fit's seed too, for bit-identical reruns.
    rng = seed if isinstance(seed, np.random.Generator) else seed_generators(net, seed)

    history = history if history is not None else History()
    history.batch_size = per_step
    # The progress callbacks come first: an epoch's bar is closed before the others print.
    progress = progress_callbacks(verbose, n, start_epoch, start_epoch + epochs)
    callbacks = [*progress, *callbacks]
    try:
        for c in callbacks:
            c.on_train_begin(net, history)
        # Overflow on the way to a diverging loss is reported once, as TrainingDiverged.
        with np.errstate(over="ignore", invalid="ignore"):
            loop = _Loop(net, X, y, Xv, yv, optimizer, batch, l2, rng, shuffle, history, callbacks)
            if weights is not None or factor != 1.0 or validation_weights is not None:
                loop.weigh(weights, factor, validation_weights)
            loop.run(start_epoch, epochs)
        net.train(False)
        for c in callbacks:
            c.on_train_end(net, history)
    finally:  # an error or Ctrl-C leaves no bar open
        for c in progress:
            if isinstance(c, EpochProgress):
                c.close()
    return history


@dataclass
class _Loop:
    """What the epochs of one fit() work on (``batch_size`` None: the full batch)."""

    net: Network
    X: Array
    y: Targets
    Xv: Array | None
    yv: Targets | None
    optimizer: Optimizer
    batch_size: int | None
    l2: float
    rng: np.random.Generator
    shuffle: bool
    history: History
    callbacks: list[Callback]
    # Weights (``weigh``): each training example's (None: all the same), the factor of
    # equal weights in the L2 term's N, and the validation set's (weights, N).
    weights: Array | None = None
    step_l2: float | None = None
    validation_weights: tuple[Array | None, float] | None = None

    def weigh(
        self, weights: Array | None, factor: float, validation_weights: tuple[Array | None, float] | None
    ) -> None:
        """Train with a weight per example (None: equal weights ``factor``, the plain mean
        with lambda/(2 factor N)); score the validation set with its own weights."""
        self.weights, self.validation_weights = weights, validation_weights
        if weights is None:
            self.step_l2 = self.l2 / factor

    def run(self, start_epoch: int, epochs: int) -> None:
        self.params = self.net.parameters()
        self.values = self.net._packed()[0]  # every parameter value, as one flat array
        # Weights at the start of the last two epochs: when the loss turns NaN or infinite,
        # the most recent of them that is finite is restored.
        self.snapshots = (self.values.copy(), self.values.copy())
        # the untrained state (BatchNorm's running statistics) at the same moments
        self.state = [array for _, array in self.net.named_state()]
        self.state_snapshots = ([a.copy() for a in self.state], [a.copy() for a in self.state])
        self.fold_single = any(layer.needs_batch for layer in self.net.layers)
        self.batch_callbacks = [
            c for c in self.callbacks if type(c).on_batch_end is not Callback.on_batch_end
        ]
        # Every step's loss must be below this (NaN is not): -inf until the first step,
        # which sets it (_check_loss).
        self.limit = -math.inf
        for epoch in range(start_epoch, start_epoch + epochs):
            started = time.perf_counter()
            np.copyto(self.snapshots[epoch % 2], self.values)
            for kept, array in zip(self.state_snapshots[epoch % 2], self.state):
                np.copyto(kept, array)
            self.optimizer.set_epoch(epoch)
            self.net.train(True)
            loss_sum, correct = (
                self._batches(epoch) if self.weights is None else self._weighted_batches(epoch)
            )
            if self._end_of_epoch(epoch, loss_sum, correct, started):
                self.history.stopped_epoch = epoch
                break

    def _batches(self, epoch: int) -> tuple[float, float]:
        """One epoch's optimizer steps; returns the summed loss and the correct predictions."""
        X, y, n = self.X, self.y, len(self.X)
        batches = (
            [None]
            if self.batch_size is None
            else _batches(n, self.batch_size, self.rng, self.shuffle, self.fold_single)
        )
        loss_sum = correct = 0.0
        n_correct = self.net.loss.n_correct
        limit = self.limit  # a local: the check is one comparison per step
        l2 = self.l2 if self.step_l2 is None else self.step_l2
        for b, idx in enumerate(batches):
            Xb, yb = (X, y) if idx is None else (X[idx], y[idx])
            loss, out = self.net._loss_and_gradients(Xb, yb, l2)
            if not loss < limit:  # NaN, infinite, exploding, or the first step
                limit = self._check_loss(epoch, loss)
            loss_sum += loss * len(yb)
            correct += n_correct(out, yb) or 0
            self.optimizer.step(self.params)
            for c in self.batch_callbacks:
                c.on_batch_end(b, len(yb), loss)
        return loss_sum, correct

    def _weighted_batches(self, epoch: int) -> tuple[float, float]:
        """``_batches`` with a weight per example (see ``fit``): a batch's loss is the sum
        of its weighted losses over its share of the total weight, m |batch| with m the
        mean weight (the full batch: the weighted mean), and its L2 term's N is that share.
        Returns the sum of each batch's loss times its share, and the weight of the
        correct predictions."""
        X, y, weights, n = self.X, self.y, self.weights, len(self.X)
        assert weights is not None  # only with weights
        if self.batch_size is None:
            batches: list[NDArray[np.intp] | None] = [None]
        else:
            batches = list(_batches(n, self.batch_size, self.rng, self.shuffle, self.fold_single))
        total_weight = float(weights.sum(dtype=np.float64))
        mean_weight = total_weight / n
        loss_sum = correct = 0.0
        n_correct = self.net.loss.n_correct
        for b, idx in enumerate(batches):
            if idx is None:
                Xb, yb, wb, share = X, y, weights, total_weight
            else:
                Xb, yb, wb, share = X[idx], y[idx], weights[idx], mean_weight * len(idx)
            loss, out = self.net._loss_and_gradients(Xb, yb, self.l2, wb, share)
            # the divergence rule sees a batch heavier than its share as if it were not
            heavier = float(wb.sum(dtype=np.float64)) / share
            checked = loss / heavier if heavier > 1 else loss
            if not checked < self.limit:  # NaN, infinite, exploding, or the first step
                self._check_loss(epoch, checked)
            loss_sum += loss * share
            correct += n_correct(out, yb, wb) or 0
            self.optimizer.step(self.params)
            for c in self.batch_callbacks:
                c.on_batch_end(b, len(yb), loss)
        return loss_sum, correct

    def _check_loss(self, epoch: int, loss: float) -> float:
        """The first step's finite loss sets the limit (fit's divergence rule), which this
        returns; any other loss that comes here is NaN, infinite or above the limit: the
        training diverged."""
        if self.limit == -math.inf and math.isfinite(loss):
            # a classifier's loss starts near log(K) at worst; a regression's where it is
            floor = math.log(max(self.net.n_classes, 2)) if self.net.loss.classifier else 1e-12
            self.start_loss = max(loss, floor)
            self.limit = DIVERGENCE_FACTOR * self.start_loss
            return self.limit
        self._diverged(epoch, loss)

    def _diverged(self, epoch: int, loss: float) -> NoReturn:
        order = (epoch % 2, (epoch - 1) % 2)
        chosen = _restore_finite(self.values, *(self.snapshots[i] for i in order))
        if chosen is not None:
            for array, kept in zip(self.state, self.state_snapshots[order[chosen]]):
                np.copyto(array, kept)
        if math.isfinite(loss):
            became = f"reached {loss:.3g}, over {DIVERGENCE_FACTOR:g} times its start ({self.start_loss:.3g})"
        else:
            became = f"became {loss}"
        raise TrainingDiverged(
            f"training diverged at epoch {epoch + 1}: the loss {became}; the learning "
            f"rate ({self.optimizer.lr:g}) is probably too high or the inputs are not scaled; "
            "the network keeps its last finite weights",
            epoch=epoch + 1,
            history=self.history,
        )

    def _end_of_epoch(self, epoch: int, loss_sum: float, correct: float, started: float) -> bool:
        """Scores the epoch, records it and runs the callbacks; True when one says stop."""
        history = self.history
        # the examples, or the total weight
        n = len(self.X) if self.weights is None else float(self.weights.sum(dtype=np.float64))
        classifier = self.net.loss.classifier  # a regression records no accuracy
        logs = {"train_loss": loss_sum / n}
        if classifier:
            logs["train_accuracy"] = correct / n
        if self.Xv is not None:
            assert self.yv is not None  # fit() sets the two together
            logs["val_loss"], val_accuracy = self.net._evaluate(
                self.Xv, self.yv, self.l2, *(self.validation_weights or ())
            )
            if classifier:
                logs["val_accuracy"] = val_accuracy
        history.train_loss.append(logs["train_loss"])
        if classifier:
            history.train_accuracy.append(logs["train_accuracy"])
        if self.Xv is not None:
            history.val_loss.append(logs["val_loss"])
            if classifier:
                history.val_accuracy.append(logs["val_accuracy"])
        history.lr.append(self.optimizer.lr)
        history.seconds.append(time.perf_counter() - started)
        stop = False
        for c in self.callbacks:
            stop = bool(c.on_epoch_end(epoch, logs)) or stop
        return stop
