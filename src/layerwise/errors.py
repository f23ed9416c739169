"""The project's exception types: every error a user can cause is one of these."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotation only: layerwise.nn imports this module
    from .nn.training import History


class LayerwiseError(ValueError):
    """A problem with the user's input, data, files or settings, stated in one sentence.

    Every error a user can cause is a LayerwiseError (or one of its subclasses), and a
    ValueError, so ``except ValueError`` catches it too. It is raised with that sentence
    as its one argument, which is its message.

    See Also
    --------
    SettingError : A training setting with a wrong value.
    TrainingDiverged : The loss became NaN or infinite, or exploded (10^4 times its start).

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> try:
    ...     net.predict(np.ones((2, 5)))
    ... except lw.LayerwiseError as e:
    ...     print(e)
    X has 5 features but the network expects 4
    >>> issubclass(lw.LayerwiseError, ValueError)
    True
    """


class SettingError(LayerwiseError):
    """A training setting with a wrong value.

    ``setting`` names it, ``problem`` says what is wrong ("must be a positive integer,
    not 0"); the message is the two joined by a space. The command line names the option.

    Parameters
    ----------
    setting : str
        The setting's name (a ``TrainConfig`` field, such as "epochs"); kept as the
        attribute ``setting``.
    problem : str
        What is wrong with its value; kept as the attribute ``problem``.

    See Also
    --------
    TrainConfig : Every setting of a training, each checked on construction.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> try:
    ...     lw.TrainConfig(epochs=0)
    ... except lw.SettingError as e:
    ...     print(e.setting, "|", e.problem, "|", e)
    epochs | must be a positive integer, not 0 | epochs must be a positive integer, not 0
    """

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting} {problem}")
        self.setting, self.problem = setting, problem


class TrainingDiverged(LayerwiseError):
    """The loss became NaN or infinite, or exploded; the network keeps its last finite weights.

    ``fit`` raises it as soon as a mini-batch's loss is not finite or reaches 10^4 times the
    loss at the start, after setting the network back to the weights it had at the start of
    the current or the previous epoch (the most recent that are finite).

    Parameters
    ----------
    message : str
        What happened, with the epoch and the learning rate.
    epoch : int or None, optional
        The epoch at which the loss diverged, counted from 1; kept as the attribute
        ``epoch``.
    history : History or None, optional
        The History of the epochs completed before; kept as the attribute ``history``.

    See Also
    --------
    fit : Raises it.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> net = lw.Network.from_spec("4-8-3", seed=0)
    >>> X = np.random.default_rng(0).random((30, 4))
    >>> try:
    ...     lw.fit(net, X, np.arange(30) % 3, optimizer=lw.SGD(lr=1e30), epochs=5, batch_size=None)
    ... except lw.TrainingDiverged as e:
    ...     print(e.epoch, e.history.epochs)
    2 1
    >>> all(np.isfinite(w).all() for w in net.get_weights())
    True
    """

    def __init__(self, message: str, epoch: int | None = None, history: "History | None" = None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.history = history
