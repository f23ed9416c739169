"""Progress shown while training: a progress bar per epoch and one line per finished epoch.

``fit(verbose=...)`` and `layerwise train` use these callbacks. The bar is tqdm's
(``tqdm.auto``: a text bar in a terminal, a widget in Jupyter), imported only when a bar is
enabled, so that importing layerwise.nn still loads nothing but NumPy.
"""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import LayerwiseError
from .callbacks import Callback

if TYPE_CHECKING:  # for the annotations only: training imports this module
    from .network import Network
    from .training import History


class EpochProgress(Callback):
    """A progress bar over each epoch's examples, with the running loss.

    The bar of an epoch appears at its first step, shows the examples done, the examples
    per second and the mean loss so far, and is cleared when the epoch ends (``leave`` is
    off), so that a long training does not leave one bar per epoch behind. It is tqdm's
    ``tqdm.auto`` bar: text on standard error in a terminal, a widget in Jupyter (with
    ipywidgets installed); tqdm is imported when the callback is made, and only if
    ``enabled``.

    Parameters
    ----------
    n_examples : int
        The number of training examples, which one epoch goes through.
    epochs : int
        The number of the last epoch, counted from 1, as the bar shows it ("epoch 3/20").
    enabled : bool, default True
        False shows nothing (`layerwise train` shows the bar on a terminal only).
    first_epoch : int or None, default None
        The number of the first epoch, counted from 0, as fit's ``start_epoch``; None: the
        number of epochs the History already holds when training begins.

    Raises
    ------
    LayerwiseError
        If ``enabled`` and tqdm is not installed.

    See Also
    --------
    EpochLines : One line per finished epoch.
    fit : Its ``verbose`` adds these callbacks.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.progress import EpochProgress
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> bar = EpochProgress(len(X), epochs=2, enabled=False)
    >>> lw.fit(net, X, np.arange(30) % 3, epochs=2, callbacks=[bar]).epochs
    2
    """

    bar: Any  # the tqdm bar of the current epoch, or None between epochs

    def __init__(
        self, n_examples: int, epochs: int, enabled: bool = True, first_epoch: int | None = None
    ) -> None:
        self.n, self.epochs, self.enabled, self.first_epoch = n_examples, epochs, enabled, first_epoch
        self.bar = None
        self.epoch = 0 if first_epoch is None else first_epoch
        self.loss_sum = self.seen = 0.0
        if enabled:
            try:
                from tqdm.auto import tqdm  # type: ignore[import-untyped]
            except ImportError:
                raise LayerwiseError(
                    "the progress bar needs tqdm, which is not installed: pip install tqdm "
                    "(or layerwise[cli]), or train with verbose=0"
                ) from None
            self._tqdm = tqdm

    def on_train_begin(self, net: "Network", history: "History") -> None:
        """Take the number of the first epoch from ``history`` (unless ``first_epoch`` is given).

        Parameters
        ----------
        net : Network
            The network about to be trained.
        history : History
            The History fit appends the epochs to.

        Examples
        --------
        >>> import layerwise as lw
        >>> from layerwise.nn.progress import EpochProgress
        >>> bar = EpochProgress(100, epochs=10, enabled=False)
        >>> bar.on_train_begin(lw.Network.from_spec("4-8-3"), lw.History(train_loss=[0.9, 0.7]))
        >>> bar.epoch  # two epochs done: the next is the third (2, counted from 0)
        2
        """
        self.epoch = history.epochs if self.first_epoch is None else self.first_epoch

    def on_batch_end(self, batch: int, size: int, loss: float) -> None:
        """Advance the bar by the batch's examples (opening the epoch's bar at its first batch).

        Parameters
        ----------
        batch : int
            The batch's index within the epoch, from 0; every 20th updates the loss shown.
        size : int
            The number of examples in the batch.
        loss : float
            The batch's loss.

        Examples
        --------
        >>> from layerwise.nn.progress import EpochProgress
        >>> bar = EpochProgress(100, epochs=10)  # the bar goes to standard error
        >>> bar.on_batch_end(0, 32, 2.3)
        >>> bar.bar.n, bar.seen
        (32, 32.0)
        >>> bar.close()
        """
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = self._tqdm(
                total=self.n,
                desc=f"epoch {self.epoch + 1}/{self.epochs}",
                unit="ex",
                unit_scale=True,
                leave=False,
            )
            self.loss_sum = self.seen = 0.0
        self.loss_sum += loss * size
        self.seen += size
        self.bar.update(size)
        if batch % 20 == 0:
            self.bar.set_postfix(loss=f"{self.loss_sum / self.seen:.4f}", refresh=False)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Show the epoch's loss and accuracy on its bar, then close it.

        Parameters
        ----------
        epoch : int
            The epoch's number, from 0.
        logs : dict of str to float
            The epoch's metrics, from fit.

        Examples
        --------
        >>> from layerwise.nn.progress import EpochProgress
        >>> bar = EpochProgress(100, epochs=10)
        >>> bar.on_batch_end(0, 100, 2.3)
        >>> bar.on_epoch_end(0, {"train_loss": 2.3, "train_accuracy": 0.1})
        >>> bar.bar is None, bar.epoch
        (True, 1)
        """
        if self.bar is not None:
            shown = {
                "loss": logs["train_loss"],
                "accuracy": logs.get("train_accuracy"),
            }  # no accuracy: regression
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in shown.items() if v is not None})
        self.close()
        self.epoch = epoch + 1

    def on_train_end(self, net: "Network", history: "History") -> None:
        """Close the bar, if one is open.

        Parameters
        ----------
        net : Network
            The trained network.
        history : History
            The History of the training.

        Examples
        --------
        >>> import layerwise as lw
        >>> from layerwise.nn.progress import EpochProgress
        >>> bar = EpochProgress(100, epochs=10)
        >>> bar.on_batch_end(0, 50, 2.3)  # an epoch cut short
        >>> bar.on_train_end(lw.Network.from_spec("4-8-3"), lw.History())
        >>> bar.bar is None
        True
        """
        self.close()

    def close(self) -> None:
        """Close the bar of the current epoch, if one is open (fit calls it when it raises).

        Examples
        --------
        >>> from layerwise.nn.progress import EpochProgress
        >>> bar = EpochProgress(100, epochs=5, enabled=False)
        >>> bar.close()  # no bar open: nothing to do
        >>> bar.bar is None
        True
        """
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EpochLines(Callback):
    """One line per finished epoch: losses, accuracies, seconds and examples per second.

    The line reads ``epoch  5/20  loss 0.3313  accuracy 0.8790  val_loss 0.3347
    val_accuracy 0.8768  0.8 s  63,553 ex/s`` (the val_ parts with validation data only);
    the seconds are those since the previous line (or the start), the examples per second
    the training examples over them.

    Parameters
    ----------
    epochs : int
        The number of the last epoch, counted from 1, as the lines show it.
    n_examples : int
        The number of training examples, for the examples per second.
    write : callable or None, default None
        Called with each line (a str, without a newline); None prints it to standard
        output, flushed at once.

    See Also
    --------
    EpochProgress : A progress bar over each epoch.
    fit : Its ``verbose=2`` adds both callbacks.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.progress import EpochLines
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> lines = []
    >>> callbacks = [EpochLines(2, 30, lines.append)]
    >>> _ = lw.fit(net, X, np.arange(30) % 3, epochs=2, batch_size=None, callbacks=callbacks)
    >>> lines[-1].split("  ")[:3]
    ['epoch 2/2', 'loss 1.6358', 'accuracy 0.3667']
    """

    def __init__(self, epochs: int, n_examples: int, write: Callable[[str], object] | None = None) -> None:
        self.epochs, self.n = epochs, n_examples
        self.write = _print_flushed if write is None else write
        self.started = time.perf_counter()

    def on_train_begin(self, net: "Network", history: "History") -> None:
        """Start the clock of the first epoch.

        Parameters
        ----------
        net : Network
            The network about to be trained.
        history : History
            The History fit appends the epochs to.

        Examples
        --------
        >>> import layerwise as lw
        >>> from layerwise.nn.progress import EpochLines
        >>> lines = EpochLines(5, 100)
        >>> lines.on_train_begin(lw.Network.from_spec("4-8-3"), lw.History())
        >>> lines.started > 0
        True
        """
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Write the epoch's line.

        Parameters
        ----------
        epoch : int
            The epoch's number, from 0 (shown from 1).
        logs : dict of str to float
            The epoch's metrics, from fit.

        Examples
        --------
        >>> from layerwise.nn.progress import EpochLines
        >>> lines = EpochLines(20, 100)
        >>> lines.on_epoch_end(4, {"train_loss": 0.5, "train_accuracy": 0.75})  # doctest: +ELLIPSIS
        epoch  5/20  loss 0.5000  accuracy 0.7500  ... s  ... ex/s
        """
        seconds = time.perf_counter() - self.started
        self.started = time.perf_counter()
        line = f"epoch {epoch + 1:>{len(str(self.epochs))}}/{self.epochs}  loss {logs['train_loss']:.4f}"
        if "train_accuracy" in logs:  # a regression has none
            line += f"  accuracy {logs['train_accuracy']:.4f}"
        if "val_loss" in logs:
            line += f"  val_loss {logs['val_loss']:.4f}"
        if "val_accuracy" in logs:
            line += f"  val_accuracy {logs['val_accuracy']:.4f}"
        self.write(f"{line}  {seconds:.1f} s  {self.n / seconds:,.0f} ex/s")


def _print_flushed(line: str) -> None:
    print(line, flush=True)


def progress_callbacks(verbose: int, n_examples: int, first_epoch: int, epochs: int) -> list[Callback]:
    """The callbacks of fit's ``verbose``: none (0), a bar (1), a bar and lines (2).

    Parameters
    ----------
    verbose : {0, 1, 2}
        0 silent, 1 a progress bar per epoch, 2 the bar and one line per epoch.
    n_examples : int
        The number of training examples.
    first_epoch : int
        The number of the first epoch, counted from 0.
    epochs : int
        The number of the last epoch, counted from 1.

    Returns
    -------
    list of Callback
        ``[]``, ``[EpochProgress]`` or ``[EpochProgress, EpochLines]``.

    Raises
    ------
    LayerwiseError
        If ``verbose`` is not 0, 1 or 2, or it is 1 or 2 and tqdm is not installed.

    Examples
    --------
    >>> from layerwise.nn.progress import progress_callbacks
    >>> progress_callbacks(0, 100, 0, 20)
    []
    >>> [type(c).__name__ for c in progress_callbacks(2, 100, 0, 20)]
    ['EpochProgress', 'EpochLines']
    """
    if isinstance(verbose, bool):
        verbose = int(verbose)
    if verbose not in (0, 1, 2):
        raise LayerwiseError(f"verbose must be 0, 1 or 2, not {verbose!r}")
    callbacks: list[Callback] = []
    if verbose:
        callbacks.append(EpochProgress(n_examples, epochs, first_epoch=first_epoch))
    if verbose == 2:
        callbacks.append(EpochLines(epochs, n_examples))
    return callbacks
