"""Preprocessing fitted on training data only (scaling to [0, 1], standardisation) and a
stratified, seeded validation split. The fitted statistics are a ``lw.Preprocessing``,
which model files keep so that evaluation and prediction apply the same map."""

import numpy as np

from ..errors import LayerwiseError
from ..nn.model import Preprocessing

SCALINGS = ("unit", "standard", "none")


def fit_preprocessing(X_train, scaling="unit", *, pixel_max=None, image_shape=None):
    """A Preprocessing fitted on the training rows ``X_train``.

    ``scaling``: "unit" divides by ``pixel_max`` (the raw value of full intensity, 255 for
    MNIST) or, without one, by the training data's largest absolute value, so inputs lie
    in [0, 1] (or [-1, 1]); "standard" does that and then subtracts each feature's mean and
    divides by its standard deviation, both from the training data (1 for constant
    features); "none" leaves the data as it is.
    """
    if scaling not in SCALINGS:
        raise LayerwiseError(f"unknown scaling {scaling!r}; choose one of {', '.join(SCALINGS)}")
    if scaling == "none":
        return Preprocessing(image_shape=image_shape, pixel_max=pixel_max)
    top = pixel_max or float(np.abs(X_train).max()) or 1.0
    mean = std = None
    if scaling == "standard":
        mean = X_train.mean(axis=0, dtype=np.float64) / top
        std = X_train.std(axis=0, dtype=np.float64) / top
        std[std <= 1e-12] = 1.0
    return Preprocessing(scale=1 / top, mean=mean, std=std, image_shape=image_shape, pixel_max=pixel_max)


def stratified_split(y, fraction, seed=None):
    """Indices (train, valid), each sorted, with about ``fraction`` of each class in valid.

    Each class gives round(fraction * its count) examples, chosen by a generator seeded
    from ``seed``; a class with a single example stays in training.
    """
    y = np.asarray(y)
    if not 0 < fraction < 1:
        raise LayerwiseError(f"the validation fraction must be between 0 and 1, not {fraction}")
    rng = np.random.default_rng(seed)
    valid = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        take = min(int(round(fraction * len(members))), len(members) - 1)
        valid.append(rng.permutation(members)[:take])
    valid = np.sort(np.concatenate(valid)) if valid else np.array([], np.intp)
    if len(valid) == 0:
        raise LayerwiseError(f"{len(y)} examples are too few to split off a validation set of {fraction:g}")
    keep = np.ones(len(y), bool)
    keep[valid] = False
    return np.flatnonzero(keep), valid
