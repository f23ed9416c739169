"""One training run, as `layerwise train` runs it: the data its settings ask for, the
network and optimizer they build, and the loop around ``fit`` that keeps checkpoints and
can be resumed exactly where it stopped.

    run = TrainingRun.start(config, folder)          # or TrainingRun.resume(folder)
    history = run.fit(callbacks)                     # KeyboardInterrupt: run.saver.save()
    ...                                              # reports/train.py writes the model
    run.finished()                                   # keeps the last epoch's checkpoint

A finished run keeps checkpoint.safetensors, the state of its last epoch, beside its
model.safetensors: ``TrainingRun.resume(folder, epochs=N)`` extends it (or an
interrupted run) to N epochs in total, exactly as one run of N epochs would have gone,
when the learning rates of the epochs done are those N epochs give them (always with the
constant schedule). ``TrainingRun.start(..., init_from=source)`` starts a new training
from the weights of another model (fine-tuning), with a fresh optimizer.
"""

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from ..data import load
from ..data.preprocessing import fit_preprocessing, stratified_split
from ..errors import LayerwiseError
from ..io.atomic import remove_temporaries
from ..io.checkpoint import CHECKPOINT_FILENAME, Checkpointer, load_checkpoint, restore
from ..io.model_file import MODEL_FILENAME, architecture
from ..nn import Dropout, History, Model, Reshape, fit
from ..nn.config import OPTIONAL_SETTINGS, TrainConfig
from ..nn.layer_spec import layers_text
from ..nn.training import seed_generators

TEST_SHARE = 0.2  # the stratified test split held out of data that has no test set
# The layers of a network of Linear layers and activations, as model files name them.
DENSE_TYPES = {"Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh"}


def prepare_data(config, data_dir=None, hold_out_test=False, preprocess=True):
    """The dataset of ``config`` with its validation split (and, with ``hold_out_test``, a
    stratified, seeded 20% test split where it has no test set), preprocessed in place with
    statistics of the training part only (left as read with ``preprocess=False``: for a
    model that applies its own). Returns (dataset, Preprocessing or None)."""
    data = load(config.data, data_dir, label_column=config.label_column, drop_columns=config.drop_columns)
    if hold_out_test and data.X_test is None:
        data.check_trainable()  # the data's own faults first
        try:
            train, test = stratified_split(data.y_train, TEST_SHARE, config.seed)
        except LayerwiseError:
            raise LayerwiseError(
                f"{data.name}: its {len(data.y_train)} examples are too few to hold out a test split of "
                f"{TEST_SHARE:.0%} (it has no test set)"
            ) from None
        X, y = data.X_train, data.y_train
        data = replace(data, X_train=X[train], y_train=y[train], X_test=X[test], y_test=y[test])
    data = data.with_validation(config.validation, seed=config.seed).check_trainable()
    if not preprocess:
        return data, None
    prep = fit_preprocessing(
        data.X_train, config.scaling, pixel_max=data.pixel_max, image_shape=data.image_shape
    )
    for part in ("train", "valid", "test"):
        X = getattr(data, f"X_{part}")
        if X is not None:
            prep.transform(X)  # in place: the data is held once
    return data, prep


def absolute_data(data):
    """``data`` as an absolute path when it names an existing file or folder (as ``load``
    reads it: an existing path wins over a dataset name), so that a run's recorded data is
    found from any working directory; a dataset name as it is."""
    path = Path(str(data)).expanduser()
    if str(data) == "digits" or not path.exists():
        return str(data)
    return str(path.resolve())


def split_of(metadata):
    """How a run's data were split, from its model or checkpoint metadata: a run of this
    version holds out a test split (TEST_SHARE, seeded by its seed) of data without a test
    set, and records ``drop_columns`` among its settings (its checkpoint also records
    ``held_out_test``); a run made before, which lacks both, did not."""
    settings = metadata.get("settings")
    recorded = isinstance(settings, dict) and "drop_columns" in settings
    return {"hold_out_test": recorded or metadata.get("held_out_test") is not None}


def fingerprint(data):
    """SHA-256 of the training examples and labels, as prepared for the network."""
    digest = hashlib.sha256()
    for array in (data.X_train, data.y_train):
        digest.update(array.dtype.str.encode() + str(array.shape).encode())
        digest.update(memoryview(array.reshape(-1)))
    return digest.hexdigest()


@dataclass
class TrainingRun:
    """A training in a run directory: the model being trained (with its metadata: the
    settings, the dataset, where it lives), its optimizer, generators, early stopping,
    history so far and how often it checkpoints; ``saver`` is its checkpointing callback."""

    folder: Path
    config: TrainConfig
    data: object
    model: Model
    optimizer: object
    rng: object
    early: object
    history: History
    every: int | None = None

    def __post_init__(self):
        self.saver = Checkpointer(self.folder / CHECKPOINT_FILENAME, self.every, self.model, self.optimizer,
                                  self.rng, self.early)  # fmt: skip

    @classmethod
    def start(cls, config, folder, data_dir=None, every=None, init_from=None):
        """A new run of ``config`` in ``folder``; ``init_from`` (a ModelSource, from
        ``load_model_or_checkpoint``) gives the network its initial weights, which must
        fit the architecture ``config`` describes."""
        config = config.replace(data=absolute_data(config.data))
        data, prep = prepare_data(config, data_dir, hold_out_test=True)
        net = config.network(data.n_features, data.n_classes, image_shape=data.image_shape)
        rng = seed_generators(net, config.seed)
        metadata = {
            "dataset": data.name,
            "data": config.data,
            "held_out_test": TEST_SHARE,
            "settings": config.to_dict(),
            "data_dir": data_dir,
            "checkpoint_every": every,
            "training_data_sha256": fingerprint(data),
        }
        if init_from is not None:
            copy_weights(init_from.model.network, net, init_from.path)
            metadata["init_from"] = str(init_from.path)
        model = Model(net, classes=data.classes, preprocessing=prep, metadata=metadata)
        early = (config.callbacks() or [None])[0]
        return cls(folder, config, data, model, config.make_optimizer(), rng, early, History(), every)

    @classmethod
    def resume(cls, folder, data_dir=None, every=None, epochs=None):
        """The run in ``folder`` as its checkpoint left it; ``epochs``: the epochs to
        train in total instead of those recorded (to extend a run, finished or not)."""
        folder = Path(folder)
        path = folder / CHECKPOINT_FILENAME
        finished = (folder / MODEL_FILENAME).is_file()
        if not path.is_file():
            if finished:
                raise LayerwiseError(
                    f"{folder} holds a finished run without its {CHECKPOINT_FILENAME}, the state its "
                    "training needs to go on: it cannot be resumed or extended"
                )
            raise LayerwiseError(
                f"no checkpoint to resume from in {folder} (runs started with --checkpoint-every N, "
                "or stopped with Ctrl-C, leave one)"
            )
        remove_temporaries(folder, CHECKPOINT_FILENAME)
        state = load_checkpoint(path)
        metadata = state.model.metadata
        config = recorded_config(metadata, path)
        done = state.epoch
        if epochs is not None:
            config = extended_config(config, epochs, state.history, folder)
        elif finished and (done >= config.epochs or _early_stopped(state, config)):
            raise LayerwiseError(
                f"{folder} holds a finished run of {done} epochs: there is nothing to resume; "
                f"--epochs N extends it to N epochs in total"
            )
        every = every or metadata.get("checkpoint_every")
        data_dir = data_dir or metadata.get("data_dir")
        data, prep = prepare_data(config, data_dir, **split_of(metadata))
        if fingerprint(data) != metadata.get("training_data_sha256"):
            raise LayerwiseError(
                f"the training data of {config.data} are not those the checkpoint was trained on"
            )
        net = state.model.network
        expected = config.network(data.n_features, data.n_classes, image_shape=data.image_shape)
        if architecture(net) != architecture(expected):
            raise LayerwiseError(f"{path} holds a network that its recorded settings do not describe")
        optimizer = config.make_optimizer()
        early = (config.callbacks() or [None])[0]
        rng = restore(state, optimizer, early)
        metadata = {**metadata, "settings": config.to_dict(), "checkpoint_every": every}
        model = Model(net, classes=data.classes, preprocessing=prep, metadata=metadata)
        return cls(folder, config, data, model, optimizer, rng, early, state.history, every)

    @property
    def network(self):
        return self.model.network

    def fit(self, callbacks=()):
        """Trains the epochs left to ``config.epochs``; returns the History."""
        done = self.history.epochs
        epochs = self.config.epochs
        if self.early is not None and self.early.stopped:  # it stopped training right after the checkpoint
            self.history.stopped_epoch, epochs = done - 1, done
        # early stopping before the saver, whose checkpoint holds its counters
        callbacks = [c for c in (self.early, self.saver) if c is not None] + list(callbacks)
        return fit(
            self.network,
            self.data.X_train,
            self.data.y_train,
            optimizer=self.optimizer,
            epochs=epochs - done,
            batch_size=self.config.batch_size,
            l2=self.config.l2,
            class_weight=self.config.class_weight,
            validation_data=(self.data.X_valid, self.data.y_valid),
            seed=self.rng,
            callbacks=callbacks,
            start_epoch=done,
            history=self.history,
        )

    def finished(self):
        """For a run whose model and report are written: writes the checkpoint of its last
        epoch, which stays in the run directory so that ``resume(folder, epochs=N)`` can
        extend the run."""
        self.saver.save()


def extended_config(config, epochs, history, folder):
    """``config`` with ``epochs`` epochs in total, for a run of ``folder`` that has done
    ``history.epochs``: refused when fewer, or when the run could not go on exactly as one
    run of ``epochs`` epochs would, because the learning-rate schedule (step, cosine)
    would have given the epochs done other rates over that total."""
    done = history.epochs
    if epochs < done:
        raise LayerwiseError(f"--epochs {epochs} is fewer than the {done} epochs {folder} has done")
    longer = config.replace(epochs=epochs)
    optimizer = longer.make_optimizer()
    for epoch, lr in enumerate(history.lr):
        optimizer.set_epoch(epoch)
        if optimizer.lr != lr:
            raise LayerwiseError(
                f"--epochs {epochs} cannot extend {folder} exactly: its {config.schedule} schedule "
                f"depends on the total epochs (over {epochs}, epoch {epoch + 1} would have had the learning "
                f"rate {optimizer.lr:.6g}, not {lr:.6g}); start a new run from its weights with "
                f"--init-from {folder} instead"
            )
    return longer


def copy_weights(source, net, path):
    """Sets the weights of ``net`` to those of ``source`` (converted to its dtype), and its
    state that is not trained (BatchNorm's running statistics) to the source's: the two
    must have the same layers, Dropout aside; ``path`` is where ``source`` came from."""
    if _trained_layers(source) != _trained_layers(net) or source.input_shape != net.input_shape:
        raise LayerwiseError(
            f"{path} holds a {_shape(source)} network but the settings describe a {_shape(net)} one: "
            "--init-from needs the same architecture"
        )
    net.set_weights(source.get_weights())
    for (_, theirs), (_, ours) in zip(source.named_state(), net.named_state()):
        ours[...] = theirs


def _trained_layers(net):
    """The network's layers as saved (architecture()), without Dropout and the dtype."""
    return [layer for layer in architecture(net)["layers"] if layer["type"] != "Dropout"]


def _shape(net):
    """``64-32-10 (Linear, ReLU, Linear)``: the sizes, then the layers but Dropout; for a
    network of other layers (convolutions...), its layers as a spec of ``--layers`` with
    the shape of its input: ``1x8x8 -> conv4k3,relu,flatten,10``."""
    trained = _trained_layers(net)
    if any(layer["type"] not in DENSE_TYPES for layer in trained):
        kept = [layer for layer in net.layers if not isinstance(layer, Dropout)]
        inputs = net.shapes[0] if isinstance(net.layers[0], Reshape) else net.input_shape
        return "x".join(map(str, inputs)) + " -> " + layers_text(kept)
    layers = ", ".join(
        f"LeakyReLU({layer['negative_slope']:g})" if layer["type"] == "LeakyReLU" else layer["type"]
        for layer in trained
    )
    return "-".join(map(str, net.sizes)) + f" ({layers})"


def _early_stopped(state, config):
    early = state.early_stopping
    return early is not None and config.early_stopping and early["wait"] > config.patience


def recorded_config(metadata, path):
    """The TrainConfig a model file or checkpoint records."""
    settings = metadata.get("settings")
    if not isinstance(settings, dict):
        raise LayerwiseError(f"{path} does not record the settings of a layerwise train run")
    # layerwise 0.1 recorded None for the settings that did not apply (momentum with adam...)
    settings = {k: v for k, v in settings.items() if v is not None or k in OPTIONAL_SETTINGS}
    try:
        return TrainConfig.from_dict(settings)
    except LayerwiseError as e:
        raise LayerwiseError(f"{path} records settings that cannot be used: {e}") from None
