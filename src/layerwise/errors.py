"""The project's exception types: every error a user can cause is one of these."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotation only: layerwise.nn imports this module
    from .nn.training import History


class LayerwiseError(ValueError):
    """A problem with the user's input, data, files or settings, stated in one sentence."""


class SettingError(LayerwiseError):
    """A training setting with a wrong value: ``setting`` names it, ``problem`` says what is
    wrong ("must be a positive integer, not 0"); the command line names the option."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting} {problem}")
        self.setting, self.problem = setting, problem


class TrainingDiverged(LayerwiseError):
    """The loss became NaN or infinite; the network keeps its last finite weights."""

    def __init__(self, message: str, epoch: int | None = None, history: "History | None" = None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.history = history
