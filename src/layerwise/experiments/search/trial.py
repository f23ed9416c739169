"""One trial of a search, run by a worker: a network trained with its settings from its
seed and scored on the validation split or by k-fold cross-validation; one rung of a
candidate of successive halving, continued from its checkpoint; and the refit of the best
settings."""

import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import LayerwiseError
from ...io.checkpoint import Checkpointer, load_checkpoint, restore
from ...io.model_file import architecture
from ...nn import History, Model, TrainConfig, fit
from ...nn.layer_spec import multiply_adds
from ...nn.training import seed_generators
from .space import plain
from .tracking import tracked


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


def train(config, X, y, n_classes, seed, validation=None, images=None, callbacks=()):
    """One network trained with the TrainConfig ``config`` from ``seed``; ``validation``
    (X, y) is what early stopping (and ``callbacks``, which are called after it) watch;
    ``images`` is the data's image shape, for a spec of ``layers`` on images. Returns the
    network and its History."""
    net = config.network(X.shape[1], n_classes, seed, image_shape=images)
    validation = validation if config.early_stopping or callbacks else None
    history = fit(
        net, X, y, optimizer=config.make_optimizer(), epochs=config.epochs, batch_size=config.batch_size,
        l2=config.l2, class_weight=config.class_weight, seed=seed, validation_data=validation,
        callbacks=[*config.callbacks(), *callbacks],
    )  # fmt: skip
    return net, history


def run_trial(task, data):
    """One trial (a module-level function, for worker processes). ``task`` is
    (index, base TrainConfig, searched settings, seed, cv[, callbacks]); ``data`` the
    prepared Dataset; ``callbacks(index, settings)``, when given, makes the trial's extra
    callbacks (tracking; not with cv)."""
    index, base, searched, seed, cv, *rest = task
    config = base.replace(**searched)
    extra = rest[0](index, searched) if rest and rest[0] and not cv else []
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
            image_shape(data), extra,
        )  # fmt: skip
        record["epochs"] = history.epochs
        record["val_loss"], record["val_accuracy"] = net.evaluate(data.X_valid, data.y_valid)
        record["weights"] = net.get_weights()  # the parent keeps the best trial's network
        tracked(record, extra)
    record["seconds"] = time.perf_counter() - started
    record["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    record["status"] = "ok"
    return record


@dataclass(frozen=True)
class Rung:
    """One rung of one candidate of successive halving: train the candidate to ``epochs``
    epochs in total, going on from the state its checkpoint ``path`` holds.

    ``config`` holds the candidate's settings with the epochs of a full trial (so that a
    learning-rate schedule spans the full budget, and a candidate continued over rungs
    ends as one trained without stopping would); ``settings`` are the searched ones.
    ``final``: the last rung, whose network goes back to the parent (the best one is kept).
    ``callbacks(candidate, settings, run_id)`` gives the rung's trackers (a TrialTracking,
    or None); ``run_id`` is the MLflow run of the candidate's rung before.
    """

    candidate: int
    rung: int
    bracket: int | None
    config: TrainConfig
    settings: dict
    seed: int
    epochs: int
    path: str
    final: bool = False
    callbacks: object = None
    run_id: str | None = None


def run_rung(task, data):
    """Trains one Rung (a module-level function, for worker processes) and writes the
    candidate's checkpoint: the state after its last epoch, before early stopping puts
    its best weights back, so that the next rung goes on exactly. A checkpoint that is
    missing, damaged or of another candidate is not used: the candidate is trained again
    from its seed, which gives the same network. Returns the rung's record."""
    started = time.perf_counter()
    config = task.config
    optimizer = config.make_optimizer()
    early = (config.callbacks() or [None])[0]
    state = _checkpoint(task, data)
    if state is not None:
        model, history = state.model, state.history
        rng = restore(state, optimizer, early)
    else:
        net = config.network(data.X_train.shape[1], data.n_classes, task.seed, image_shape=image_shape(data))
        model = Model(net, metadata={"candidate": task.candidate, "settings": plain(task.settings),
                                     "seed": task.seed})  # fmt: skip
        rng, history = seed_generators(net, task.seed), History()
    net = model.network
    Path(task.path).parent.mkdir(parents=True, exist_ok=True)  # a worker on another machine
    saver = Checkpointer(task.path, None, model, optimizer, rng, early)
    done, epochs = history.epochs, task.epochs
    if early is not None and early.stopped:  # it stopped in an earlier rung: no more epochs
        history.stopped_epoch, epochs = done - 1, done
    extra = task.callbacks(task.candidate, task.settings, task.run_id) if task.callbacks else []
    fit(
        net, data.X_train, data.y_train, optimizer=optimizer, epochs=epochs - done,
        batch_size=config.batch_size, l2=config.l2, class_weight=config.class_weight, seed=rng,
        start_epoch=done, history=history,
        validation_data=(data.X_valid, data.y_valid) if early or extra else None,
        callbacks=[c for c in (early, saver) if c is not None] + extra,
    )  # fmt: skip
    saver.save()
    record = {"trial": task.candidate, "rung": task.rung, "settings": plain(task.settings), "seed": task.seed,
              "epochs": history.epochs, "budget": task.epochs}  # fmt: skip
    if task.bracket is not None:
        record["bracket"] = task.bracket
    record["val_loss"], record["val_accuracy"] = net.evaluate(data.X_valid, data.y_valid)
    if task.final:
        record["weights"] = net.get_weights()
    tracked(record, extra)
    record["seconds"] = time.perf_counter() - started
    record["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    record["status"] = "ok"
    return record


def _checkpoint(task, data):
    """The candidate's state from its checkpoint, when the file holds this candidate after
    at most ``task.epochs`` epochs; otherwise None."""
    path = Path(task.path)
    if not path.is_file():
        return None
    try:
        state = load_checkpoint(path)
    except LayerwiseError:
        return None
    meta = state.model.metadata
    ours = {"candidate": task.candidate, "settings": plain(task.settings), "seed": task.seed}
    if {k: meta.get(k) for k in ours} != ours or state.epoch > task.epochs:
        return None
    expected = task.config.network(
        data.X_train.shape[1], data.n_classes, task.seed, image_shape=image_shape(data)
    )
    return state if architecture(state.model.network) == architecture(expected) else None


def cost(config, data, epochs=None):
    """A training's rough cost: multiply-adds per example times examples seen, over
    ``epochs`` (default: the settings' epochs)."""
    n_features = data.X_train.shape[1]
    if config.layers:
        per_example = multiply_adds(config.layers, n_features, data.n_classes, image_shape(data))
    else:
        sizes = config.sizes(n_features, data.n_classes)
        per_example = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return per_example * (config.epochs if epochs is None else epochs) * len(data.X_train)


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
