"""One training run, as `layerwise train` runs it: the data its settings ask for, the
network and optimizer they build, and the loop around ``fit`` that keeps checkpoints and
can be resumed exactly where it stopped.

    run = TrainingRun.start(config, folder)          # or TrainingRun.resume(folder)
    history = run.fit(callbacks)                     # KeyboardInterrupt: run.interrupted()
"""

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from ..data import load
from ..data.preprocessing import fit_preprocessing, stratified_split
from ..errors import LayerwiseError
from ..io.atomic import remove_temporaries
from ..io.checkpoint import CHECKPOINT_FILENAME, Checkpointer, load_checkpoint, restore
from ..io.model_file import MODEL_FILENAME
from ..nn import History, Model, fit
from ..nn.config import OPTIONAL_SETTINGS, TrainConfig
from ..nn.training import seed_generators


def prepare_data(config, data_dir=None, hold_out_test=False):
    """The dataset of ``config`` with its validation split (and, with ``hold_out_test``, a
    stratified 20% test split where it has no test set), preprocessed in place with
    statistics of the training part only. Returns (dataset, Preprocessing)."""
    data = load(config.data, data_dir, label_column=config.label_column)
    if hold_out_test and data.X_test is None:
        train, test = stratified_split(data.y_train, 0.2, config.seed)
        X, y = data.X_train, data.y_train
        data = replace(data, X_train=X[train], y_train=y[train], X_test=X[test], y_test=y[test])
    data = data.with_validation(config.validation, seed=config.seed).check_trainable()
    prep = fit_preprocessing(
        data.X_train, config.scaling, pixel_max=data.pixel_max, image_shape=data.image_shape
    )
    for part in ("train", "valid", "test"):
        X = getattr(data, f"X_{part}")
        if X is not None:
            prep.transform(X)  # in place: the data is held once
    return data, prep


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
    def start(cls, config, folder, data_dir=None, every=None):
        data, prep = prepare_data(config, data_dir)
        net = config.network(data.n_features, data.n_classes)
        rng = seed_generators(net, config.seed)
        metadata = {
            "dataset": data.name,
            "data": str(config.data),
            "settings": config.to_dict(),
            "data_dir": data_dir,
            "checkpoint_every": every,
            "training_data_sha256": fingerprint(data),
        }
        model = Model(net, classes=data.classes, preprocessing=prep, metadata=metadata)
        early = (config.callbacks() or [None])[0]
        return cls(folder, config, data, model, config.make_optimizer(), rng, early, History(), every)

    @classmethod
    def resume(cls, folder, data_dir=None, every=None):
        """The run in ``folder`` as its checkpoint left it."""
        folder = Path(folder)
        path = folder / CHECKPOINT_FILENAME
        if not path.is_file():
            if (folder / MODEL_FILENAME).is_file():
                raise LayerwiseError(f"{folder} holds a finished run: there is nothing to resume")
            raise LayerwiseError(
                f"no checkpoint to resume from in {folder} (runs started with --checkpoint-every N, "
                "or stopped with Ctrl-C, leave one)"
            )
        remove_temporaries(folder, CHECKPOINT_FILENAME)
        state = load_checkpoint(path)
        metadata = state.model.metadata
        config = recorded_config(metadata, path)
        every = every or metadata.get("checkpoint_every")
        data_dir = data_dir or metadata.get("data_dir")
        data, prep = prepare_data(config, data_dir)
        if fingerprint(data) != metadata.get("training_data_sha256"):
            raise LayerwiseError(
                f"the training data of {config.data} are not those the checkpoint was trained on"
            )
        net = state.model.network
        expected = config.sizes(data.n_features, data.n_classes)
        if net.sizes != expected or str(net.dtype) != config.dtype:
            raise LayerwiseError(f"{path} holds a network that its recorded settings do not describe")
        optimizer = config.make_optimizer()
        early = (config.callbacks() or [None])[0]
        rng = restore(state, optimizer, early)
        model = Model(
            net, classes=data.classes, preprocessing=prep, metadata={**metadata, "checkpoint_every": every}
        )
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
            validation_data=(self.data.X_valid, self.data.y_valid),
            seed=self.rng,
            callbacks=callbacks,
            start_epoch=done,
            history=self.history,
        )

    def finished(self):
        """Removes the checkpoint of a run whose model is written."""
        self.saver.path.unlink(missing_ok=True)


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
