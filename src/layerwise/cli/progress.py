"""Progress shown while training: the callbacks of layerwise.nn.progress, which
`layerwise train` shows (the bar on a terminal only; --quiet shows neither)."""

from ..nn.progress import EpochLines, EpochProgress

__all__ = ["EpochLines", "EpochProgress"]
