"""One trial of a search, run by a worker: a network trained with its settings from its
seed and scored on the validation split or by k-fold cross-validation; and the refit of
the best settings."""

import hashlib
import json
import os
import socket
import time

import numpy as np

from ...nn import fit
from .space import plain


def trial_seed(seed, settings):
    """A trial's seed from the search seed and its settings (not its position), so a trial
    gets the same seed whatever the order, backend or resumption."""
    key = json.dumps(plain(settings), sort_keys=True).encode()
    return int.from_bytes(hashlib.sha256(key + str(seed).encode()).digest()[:4], "little")


def stratified_folds(y, k, seed):
    """k lists of validation indices, each class dealt evenly across the folds."""
    rng = np.random.default_rng(seed)
    folds = [[] for _ in range(k)]
    offset = 0
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        for j, i in enumerate(members):
            folds[(offset + j) % k].append(i)
        offset += len(members)
    return [np.sort(np.array(f, dtype=np.intp)) for f in folds]


def image_shape(data):
    """The (height, width) of the data's images, or None: rows without an image shape (or
    data that do not say, such as a stand-in for a Dataset)."""
    return getattr(data, "image_shape", None)


def train(config, X, y, n_classes, seed, validation=None, images=None):
    """One network trained with the TrainConfig ``config`` from ``seed``; ``validation``
    (X, y) is what early stopping watches when the config asks for it; ``images`` is the
    data's image shape, for a spec of ``layers`` on images. Returns the network and its
    History."""
    net = config.network(X.shape[1], n_classes, seed, image_shape=images)
    validation = validation if config.early_stopping else None
    history = fit(
        net, X, y, optimizer=config.make_optimizer(), epochs=config.epochs, batch_size=config.batch_size,
        l2=config.l2, seed=seed, validation_data=validation, callbacks=config.callbacks(),
    )  # fmt: skip
    return net, history


def run_trial(task, data):
    """One trial (a module-level function, for worker processes). ``task`` is
    (index, base TrainConfig, searched settings, seed, cv); ``data`` the prepared Dataset."""
    index, base, searched, seed, cv = task
    config = base.replace(**searched)
    started = time.perf_counter()
    record = {"trial": index, "settings": plain(searched), "seed": seed}
    if cv:
        X, y = _all_but_test(data)
        scores, epochs = [], []
        for fold in stratified_folds(y, cv, seed):
            keep = np.ones(len(y), bool)
            keep[fold] = False
            net, history = train(config, X[keep], y[keep], data.n_classes, seed, (X[fold], y[fold]),
                                 image_shape(data))  # fmt: skip
            scores.append(net.evaluate(X[fold], y[fold]))
            epochs.append(history.epochs)
        record["fold_accuracy"] = [a for _, a in scores]
        record["val_loss"] = float(np.mean([s for s, _ in scores]))
        record["val_accuracy"] = float(np.mean(record["fold_accuracy"]))
        record["epochs"] = max(epochs)
    else:
        net, history = train(
            config, data.X_train, data.y_train, data.n_classes, seed, (data.X_valid, data.y_valid),
            image_shape(data),
        )  # fmt: skip
        record["epochs"] = history.epochs
        record["val_loss"], record["val_accuracy"] = net.evaluate(data.X_valid, data.y_valid)
        record["weights"] = net.get_weights()  # the parent keeps the best trial's network
    record["seconds"] = time.perf_counter() - started
    record["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    record["status"] = "ok"
    return record


def refit_task(task, data):
    """The best settings trained again: after cross-validation, like scikit-learn's refit,
    on every non-test example; after a validation split, on the training split with the
    trial's seed, which gives the trial's own network (used when a resumed search no
    longer holds it)."""
    config, seed, cv = task
    if cv:
        X, y = _all_but_test(data)
        return train(config, X, y, data.n_classes, seed, images=image_shape(data))[0]
    validation = (data.X_valid, data.y_valid)
    return train(config, data.X_train, data.y_train, data.n_classes, seed, validation, image_shape(data))[0]


def _all_but_test(data):
    return np.concatenate([data.X_train, data.X_valid]), np.concatenate([data.y_train, data.y_valid])
