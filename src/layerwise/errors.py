"""The project's exception types: every error a user can cause is one of these."""


class LayerwiseError(ValueError):
    """A problem with the user's input, data, files or settings, stated in one sentence."""


class TrainingDiverged(LayerwiseError):
    """The loss became NaN or infinite; the network keeps its last finite weights."""

    def __init__(self, message, epoch=None, history=None):
        super().__init__(message)
        self.epoch = epoch
        self.history = history
