"""Training checkpoints: everything a training needs to go on exactly where it stopped.

A checkpoint file has the model file's format (model_file.py: safetensors with JSON
metadata, validated on load, never unpickled), with format "layerwise-checkpoint". Besides
the model (weights, the state that is not trained such as BatchNorm's running statistics,
classes, preprocessing, metadata) it holds the optimizer's state as
tensors "optimizer.<i>.<name>", the weights early stopping keeps as "early_stopping.<i>",
and as JSON the epochs done, the History, the optimizer's counters, the state of every
random generator (fit's shuffling and each Dropout layer's masks) and early stopping's
counters. A training resumed from it ends with the weights an uninterrupted one would.

    rng = seed_generators(net, seed)
    saver = Checkpointer(path, every=5, model=Model(net, ...), optimizer=opt, rng=rng)
    fit(net, X, y, optimizer=opt, seed=rng, callbacks=[saver], ...)
    ...
    state = load_checkpoint(path)                 # later, in another process
    rng = restore(state, opt)                     # state.model.network is ready to train
    fit(state.model.network, X, y, optimizer=opt, seed=rng, epochs=total - state.epoch,
        start_epoch=state.epoch, history=state.history)
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayerwiseError
from ..nn import Callback, History
from ..nn.config import is_number
from ..nn.layers import Dropout
from ..nn.model import Model
from .atomic import write_atomic
from .model_file import CHECKPOINT_FILENAME as CHECKPOINT_FILENAME  # its name in a run directory
from .model_file import CHECKPOINT_FORMAT, dumps, model_parts, read_file, safetensors_bytes

STATE_NAMES = ("m", "v", "velocity")  # the optimizers' per-parameter state arrays


@dataclass
class TrainingState:
    """A training between two epochs: ``epoch`` epochs are done; ``weights`` are the
    network's parameter values then and ``state`` its arrays of state that are not trained
    (``named_state()`` order: BatchNorm's running statistics); ``model.network`` holds
    both after loading."""

    model: Model
    weights: list
    epoch: int
    history: History
    optimizer: dict
    shuffle: dict
    dropout: list
    early_stopping: dict | None = None
    state: list | None = None


def capture(model, optimizer, rng, history, early_stopping=None):
    """A copy of the training's state now (between epochs)."""
    net = model.network
    return TrainingState(
        model=model,
        weights=net.get_weights(),
        epoch=history.epochs,
        history=History.from_dict({k: _copy(v) for k, v in history.to_dict().items()}),
        optimizer=optimizer.state_dict(),
        shuffle=rng.bit_generator.state,
        dropout=[layer.rng.bit_generator.state for layer in _dropouts(net)],
        early_stopping=None if early_stopping is None else early_stopping.state_dict(),
        state=[array.copy() for _, array in net.named_state()],
    )


def restore(state, optimizer, early_stopping=None):
    """Puts the optimizer and early stopping back in ``state``, the state arrays of
    ``state.model.network`` (running statistics) back to ``state.state``, and its Dropout
    layers on their generators; returns the generator to pass to fit()."""
    names = set(optimizer._init_state(np.zeros(1))) - {"scratch"}
    if state.optimizer["state"] and set(state.optimizer["state"][0]) != names:
        raise LayerwiseError(
            f"the checkpoint holds the state of another optimizer than {type(optimizer).__name__}"
        )
    optimizer.load_state_dict(state.optimizer)
    if early_stopping is not None and state.early_stopping is not None:
        early_stopping.load_state_dict(state.early_stopping)
    if state.state is not None:
        _set_state(state.model.network, state.state)
    for layer, generator in zip(_dropouts(state.model.network), state.dropout):
        layer.rng = _generator(generator)
    return _generator(state.shuffle)


class Checkpointer(Callback):
    """Keeps the state of the last finished epoch in memory, and writes it to ``path``
    every ``every`` epochs (never when ``every`` is None). ``save()`` writes the state
    kept, for instance when the training is interrupted."""

    def __init__(self, path, every, model, optimizer, rng, early_stopping=None):
        self.path, self.every = Path(path), every
        self.model, self.optimizer, self.rng = model, optimizer, rng
        self.early_stopping = early_stopping
        self.latest = None

    def on_train_begin(self, net, history):
        self.history = history
        self.latest = self._capture()

    def on_epoch_end(self, epoch, logs):
        self.latest = self._capture()
        if self.every and (epoch + 1) % self.every == 0:
            self.save()

    def _capture(self):
        return capture(self.model, self.optimizer, self.rng, self.history, self.early_stopping)

    def save(self):
        """Writes the last state kept; returns its TrainingState."""
        save_checkpoint(self.latest, self.path)
        return self.latest


def save_checkpoint(state, path):
    """Writes a TrainingState to ``path`` atomically."""
    tensors, metadata = model_parts(state.model, CHECKPOINT_FORMAT)
    net = state.model.network  # its values now give way to those the state kept
    kept = dict(zip([name for name, _ in net.named_parameters()], state.weights))
    if state.state is not None:
        kept.update(zip([name for name, _ in net.named_state()], state.state))
    tensors = [(name, kept.get(name, value)) for name, value in tensors]
    opt = dict(state.optimizer)
    arrays = opt.pop("state")
    names = sorted(arrays[0]) if arrays else []
    for i, values in enumerate(arrays):
        tensors += [(f"optimizer.{i}.{name}", values[name]) for name in names]
    early = None
    if state.early_stopping is not None:
        early = dict(state.early_stopping)
        best = early.pop("best_weights") or []
        best_state = early.pop("best_state", None) or []
        early["best"] = None if not math.isfinite(early["best"]) else early["best"]
        early["n_weights"], early["n_state"] = len(best), len(best_state)
        tensors += [(f"early_stopping.{i}", w) for i, w in enumerate(best)]
        tensors += [(f"early_stopping.state.{i}", a) for i, a in enumerate(best_state)]
    training = {
        "epoch": state.epoch,
        "history": state.history.to_dict(),
        "optimizer": {**opt, "names": names, "n_states": len(arrays)},
        "generators": {"shuffle": state.shuffle, "dropout": state.dropout},
        "early_stopping": early,
    }
    metadata["training"] = dumps(training)
    try:
        write_atomic(path, safetensors_bytes(tensors, metadata))
    except OSError as e:
        raise LayerwiseError(f"cannot write the checkpoint {path}: {e.strerror or e}") from None


def load_checkpoint(path):
    """A TrainingState from a checkpoint file, every part of it checked."""
    path = Path(path)
    if not path.is_file():
        raise LayerwiseError(f"no checkpoint at {path}")
    parsed = {}

    def extra_tensors(meta, net):
        parsed.update(_training_json(meta, net))
        return _extra_shapes(parsed, net)

    model, arrays, _ = read_file(path, CHECKPOINT_FORMAT, extra_tensors)
    try:
        return _state(model, parsed, arrays)
    except LayerwiseError as e:
        raise LayerwiseError(f"{path} is not a valid layerwise checkpoint: {e}") from None


# --- reading ---------------------------------------------------------------------------


def _training_json(meta, net):
    try:
        training = json.loads(meta["training"])
    except (KeyError, TypeError, ValueError, RecursionError):
        raise LayerwiseError("its training metadata is missing or not JSON") from None
    if not isinstance(training, dict):
        raise LayerwiseError("its training metadata is not a JSON object")
    epoch = training.get("epoch")
    if type(epoch) is not int or epoch < 0:
        raise LayerwiseError(f"its epoch {epoch!r} is not a count of epochs")
    opt = _object(training.get("optimizer"), "optimizer state")
    names, n = opt.get("names"), opt.get("n_states")
    if not (isinstance(names, list) and all(name in STATE_NAMES for name in names)):
        raise LayerwiseError(f"its optimizer state names {names!r} are unknown")
    if n not in (0, len(net.parameters())) or (n and not names):
        raise LayerwiseError(f"its optimizer state covers {n!r} parameters, not {len(net.parameters())}")
    generators = _object(training.get("generators"), "generator states")
    dropout = generators.get("dropout")
    if not isinstance(dropout, list) or len(dropout) != len(_dropouts(net)):
        raise LayerwiseError("its dropout generator states do not match the Dropout layers")
    early = training.get("early_stopping")
    if early is not None:
        early = _object(early, "early stopping state")
        if early.get("n_weights") not in (0, len(net.parameters())):
            raise LayerwiseError("its early stopping weights do not match the parameters")
        if early.get("n_state", 0) not in (0, len(net.named_state())):
            raise LayerwiseError("its early stopping running statistics do not match the network's")
    return {**training, "optimizer": opt, "generators": generators, "early_stopping": early}


def _extra_shapes(training, net):
    shapes = [p.value.shape for p in net.parameters()]
    opt = training["optimizer"]
    extra = {}
    for i in range(opt["n_states"]):
        extra.update({f"optimizer.{i}.{name}": shapes[i] for name in opt["names"]})
    early = training["early_stopping"]
    for i in range(early["n_weights"] if early else 0):
        extra[f"early_stopping.{i}"] = shapes[i]
    state_shapes = [array.shape for _, array in net.named_state()]
    for i in range(early.get("n_state", 0) if early else 0):
        extra[f"early_stopping.state.{i}"] = state_shapes[i]
    return extra


def _state(model, training, arrays):
    opt = training["optimizer"]
    optimizer = {key: value for key, value in opt.items() if key not in ("names", "n_states")}
    for key in ("lr", "steps", "t"):
        if key in optimizer and not is_number(optimizer[key]):
            raise LayerwiseError(f"its optimizer {key} is not a number")
    if not (is_number(optimizer.get("lr")) and optimizer["lr"] > 0):
        raise LayerwiseError("its optimizer has no valid learning rate")
    optimizer["state"] = [
        {name: arrays[f"optimizer.{i}.{name}"] for name in opt["names"]} for i in range(opt["n_states"])
    ]
    generators = training["generators"]
    for generator in [generators.get("shuffle"), *generators["dropout"]]:
        _generator(generator)  # checked now, so that resuming cannot fail on it later
    early = training["early_stopping"]
    if early is not None:
        early = _early_stopping(early, arrays)
    return TrainingState(
        model=model,
        weights=[p.value for p in model.network.parameters()],
        state=[array for _, array in model.network.named_state()],
        epoch=training["epoch"],
        history=_history(training.get("history"), training["epoch"]),
        optimizer=optimizer,
        shuffle=generators["shuffle"],
        dropout=generators["dropout"],
        early_stopping=early,
    )


def _early_stopping(early, arrays):
    best, best_epoch, wait = early.get("best"), early.get("best_epoch"), early.get("wait")
    if best is not None and not is_number(best):
        raise LayerwiseError("its early stopping best value is not a number")
    if not (best_epoch is None or type(best_epoch) is int) or type(wait) is not int or wait < 0:
        raise LayerwiseError("its early stopping counters are invalid")
    weights = [arrays[f"early_stopping.{i}"] for i in range(early["n_weights"])] or None
    state = [arrays[f"early_stopping.state.{i}"] for i in range(early.get("n_state", 0))] or None
    return {"best": math.inf if best is None else float(best), "best_epoch": best_epoch, "wait": wait,
            "best_weights": weights, "best_state": state}  # fmt: skip


def _history(history, epoch):
    history = _object(history, "history")
    for key in ("train_loss", "train_accuracy", "lr", "seconds"):
        values = history.get(key)
        if not (isinstance(values, list) and len(values) == epoch and all(map(is_number, values))):
            raise LayerwiseError(f"its history's {key} is not a list of {epoch} numbers")
    for key in ("val_loss", "val_accuracy"):
        values = history.get(key, [])
        if not (isinstance(values, list) and len(values) in (0, epoch) and all(map(is_number, values))):
            raise LayerwiseError(f"its history's {key} is not a list of numbers")
    for key in ("best_epoch", "stopped_epoch"):
        if history.get(key) is not None and type(history[key]) is not int:
            raise LayerwiseError(f"its history's {key} is not an epoch")
    return History.from_dict(history)


def _generator(state):
    """A NumPy generator in the PCG64 ``state`` (the dict ``bit_generator.state`` gives)."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise LayerwiseError("a random generator state is not that of a PCG64 generator")
    rng = np.random.default_rng(0)
    try:
        rng.bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError):
        raise LayerwiseError("a random generator state is damaged") from None
    return rng


def _copy(value):
    return [float(v) for v in value] if isinstance(value, list) else value


def _object(value, what):
    if not isinstance(value, dict):
        raise LayerwiseError(f"its {what} is not a JSON object")
    return value


def _set_state(net, values):
    """Copies ``values`` into the network's state arrays, in named_state() order."""
    arrays = [array for _, array in net.named_state()]
    if len(values) != len(arrays) or any(v.shape != a.shape for v, a in zip(values, arrays)):
        raise LayerwiseError("the training state does not match the network's running statistics")
    for array, value in zip(arrays, values):
        if array is not value:
            np.copyto(array, value)


def _dropouts(net):
    return [layer for layer in net.layers if isinstance(layer, Dropout)]
