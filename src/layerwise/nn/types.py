"""Type aliases for the core's annotations. They only document (and let mypy check) what
each function takes and returns; nothing here runs during training.

Shapes are not part of the types: docstrings give them ("(N, n_features)", "(N,)").
"""

from collections.abc import Callable
from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

Array: TypeAlias = NDArray[np.floating]
"""A float32 or float64 array: a batch of inputs, weights, gradients, activations."""

Labels: TypeAlias = NDArray[np.integer]
"""Integer class indices 0..K-1, one per example (rows of X)."""

Targets: TypeAlias = NDArray[np.integer] | NDArray[np.floating]
"""What a loss compares the outputs with: Labels for classification, an (N, n_outputs)
float array for regression."""

Seed: TypeAlias = int | np.random.SeedSequence | np.random.Generator | None
"""Anything ``np.random.default_rng`` accepts: an int, None (fresh entropy), a SeedSequence
or a Generator (used as it is)."""

Schedule: TypeAlias = Callable[[int], float]
"""A learning-rate schedule: epoch (from 0) -> multiplier of the initial learning rate."""

__all__ = ["Array", "ArrayLike", "DTypeLike", "Labels", "Schedule", "Seed", "Targets"]
