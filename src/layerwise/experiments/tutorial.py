"""The tutorial's experiment, run with the library.

On scikit-learn's digits, split as the tutorial does (721 train / 482 validation / 594
test, no scaling), train the 64-48-32-10 sigmoid network (a sigmoid after every linear map,
then softmax) with full-batch momentum SGD once per lambda, pick the lambda with the best
validation accuracy (ties: the smaller lambda), and score its network on the test set.

The sweep's trainings are independent: they run one per process (see backends.py), each
from its own seed, so the results do not depend on the number of processes.
"""

import time
from contextlib import nullcontext
from dataclasses import fields, replace

import numpy as np

from ..data.digits import tutorial_split
from ..data.preprocessing import fit_preprocessing
from ..errors import LayerwiseError
from ..io.checkpoint import capture, restore
from ..nn import Callback, History, Model, fit
from ..nn.callbacks import GradientNorms  # the norms the tutorial's figure plots
from ..nn.config import TrainConfig
from ..nn.metrics import accuracy, confusion_matrix
from ..nn.training import seed_generators
from .backends import TaskPool, check_jobs


def split_digits():
    """The tutorial's split of scikit-learn's digits (see datasets.digits.tutorial_split):
    a dict with X_train, X_valid, X_test, y_train, y_valid, y_test, 721 / 482 / 594 rows."""
    return tutorial_split()


# The tutorial's settings: its network, full-batch momentum SGD, its data as they are.
TUTORIAL = TrainConfig(
    data="digits",
    scaling="none",
    hidden=(48, 32),
    activation="sigmoid",
    output_activation="sigmoid",
    optimizer="sgd",
    lr=0.2,
    momentum=0.9,
    batch_size=None,
    epochs=1000,
)
N_FEATURES, N_CLASSES = 64, 10  # the digits: 8x8 pixels, ten classes
IMAGE_SHAPE, PIXEL_MAX = (8, 8), 16.0  # their images, and the value of full intensity
CLASSES = [str(i) for i in range(N_CLASSES)]  # their labels, as `layerwise train` names them
LAMBDAS = tuple(np.logspace(-2, 2, 10).tolist())
# The settings `layerwise reproduce` lets change: the data, the split and lambda are the
# tutorial's, the sweep trains without validation data (no early stopping), and its runs
# are not tracked (TensorBoard and MLflow follow one training, or a search's trials).
OPTIONS = tuple(
    f.name
    for f in fields(TrainConfig)
    if f.metadata["group"] not in ("data", "tracking") and f.name not in ("l2", "early_stopping", "patience")
)


def check_lambdas(lambdas):
    if not lambdas or min(lambdas) < 0:
        raise LayerwiseError("lambdas must be a non-empty list of non-negative numbers")
    return tuple(lambdas)


class Halfway(Callback):
    """Keeps the training's state (weights, optimizer, generators) after epoch ``epoch``."""

    def __init__(self, epoch, optimizer, rng):
        self.epoch, self.optimizer, self.rng, self.state = epoch, optimizer, rng, None

    def on_train_begin(self, net, history):
        self.net, self.history = net, history

    def on_epoch_end(self, epoch, logs):
        if epoch == self.epoch:
            state = capture(Model(self.net), self.optimizer, self.rng, self.history)
            self.state = replace(state, model=None)  # the weights are in state.weights


def _start(config, seed, state=None):
    """The network, optimizer and shuffling generator of a training from ``seed``, or
    from the ``state`` a Halfway callback kept."""
    net = config.network(N_FEATURES, N_CLASSES, seed, image_shape=IMAGE_SHAPE)
    optimizer = config.make_optimizer()
    rng = seed_generators(net, seed)
    if state is not None:
        net.set_weights(state.weights)
        rng = restore(replace(state, model=Model(net)), optimizer)
    return net, optimizer, rng


def train_one(task, data):
    """One training of the sweep (a module-level function, so processes can run it).

    Besides its validation results it returns its final weights and its state halfway,
    from which ``record_curves`` re-runs the second half of the training."""
    config, l2, seed = task
    net, optimizer, rng = _start(config, seed)
    halfway = Halfway(config.epochs // 2 - 1, optimizer, rng)
    history = fit(
        net, data["X_train"], data["y_train"], optimizer=optimizer, epochs=config.epochs,
        batch_size=config.batch_size, l2=l2, seed=rng, callbacks=[halfway],
    )  # fmt: skip
    val_loss, val_accuracy = net.evaluate(data["X_valid"], data["y_valid"], l2=l2)
    return {
        "l2": l2,
        "seed": seed,
        "val_accuracy": val_accuracy,
        "val_loss": val_loss,
        "train_loss": history.train_loss[-1],
        "weights": net.get_weights(),
        "halfway": halfway.state,
    }


def record_curves(task, data):
    """Runs epochs ``start`` to ``stop`` of a sweep's training again, from its seed or from
    the state it had halfway, recording the validation loss and the gradient norms of
    every epoch. Returns the History, the norms and the network."""
    config, l2, seed, start, stop, state = task
    net, optimizer, rng = _start(config, seed, state)
    norms = GradientNorms()
    history = fit(
        net, data["X_train"], data["y_train"], optimizer=optimizer, epochs=stop - start, start_epoch=start,
        batch_size=config.batch_size, l2=l2, validation_data=(data["X_valid"], data["y_valid"]), seed=rng,
        callbacks=[norms],
    )  # fmt: skip
    return {"history": history, "grad_norms": norms.norms, "net": net}


def _joined(parts):
    """One History and one set of gradient norms from the consecutive parts of a training."""
    history = History()
    for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
        setattr(history, name, [v for part in parts for v in getattr(part["history"], name)])
    norms = {name: [v for part in parts for v in part["grad_norms"][name]] for name in parts[0]["grad_norms"]}
    return history, norms


def run(config=TUTORIAL, lambdas=LAMBDAS, jobs=1, data=None, on_done=None, during_final=None, pool=None):
    """The whole experiment. Returns a dict with the sweep, the chosen lambda, the final
    network, its history, its test-set results and ``model``: the final network as a Model
    with the digits' labels, their preprocessing (none: the pixels go in as they are) and
    metadata naming the dataset and the settings (``l2``: the chosen lambda), as
    `layerwise train` saves its models.

    The final model is the best lambda's training from the sweep. Its loss and gradient
    norms per epoch are recorded by running that training again, its two halves at once
    (the second from the state the sweep kept halfway): training is deterministic, so
    this is the same as retraining with the best lambda from the same seed, in about
    half the time (``final["same_as_sweep"]`` says whether it ended with the sweep's
    network, bit for bit, as it does unless the processes compute differently).

    ``on_done(index, result)`` is called as each training ends; ``during_final(partial)``
    runs in this process while the curves are recorded (the command draws the sweep's
    figure then), with the result so far. ``pool`` is an open backend from backends.py
    (a Dask cluster, say); by default ``jobs`` local processes.
    """
    lambdas = check_lambdas(lambdas)
    started = time.perf_counter()
    data = split_digits() if data is None else data
    seeds = [int(s) for s in np.random.SeedSequence(config.seed).generate_state(len(lambdas))]
    tasks = [(config, l2, seed) for l2, seed in zip(lambdas, seeds)]
    with TaskPool(min(check_jobs(jobs), len(tasks))) if pool is None else nullcontext(pool) as backend:
        sweep = backend.map(train_one, tasks, on_done, shared=data)
        result = {"config": config, "sweep": sweep, "lambdas": lambdas, "data": data,
                  "sweep_seconds": time.perf_counter() - started}  # fmt: skip
        result["best_index"] = best = _best(sweep, lambdas)
        result["best_lambda"] = lambdas[best]
        meanwhile = (lambda: during_final(result)) if during_final else (lambda: None)
        parts = _record_final_curves(backend, config, sweep[best], data, meanwhile)
    final = _final(parts, sweep[best])
    if on_done:
        on_done(len(tasks), final)
    predicted = final["net"].predict(data["X_test"])
    result.update(
        final=final,
        test_predicted=predicted,
        test_accuracy=accuracy(data["y_test"], predicted),
        confusion=confusion_matrix(data["y_test"], predicted, n_classes=N_CLASSES),
        train_seconds=time.perf_counter() - started,
    )
    result["model"] = final_model(config, final, data)
    return result


def final_model(config, final, data):
    """The final network as a Model: the digits' labels, their preprocessing (unscaled
    pixels, as the tutorial trains on them) and the settings with the chosen lambda."""
    preprocessing = fit_preprocessing(data["X_train"], "none", pixel_max=PIXEL_MAX, image_shape=IMAGE_SHAPE)
    # the data are always the digits, unscaled, whatever ``config`` says of them
    settings = config.replace(l2=final["l2"], data="digits", scaling="none").to_dict()
    metadata = {"dataset": "digits", "data": "digits", "settings": settings}
    return Model(final["net"], classes=CLASSES, preprocessing=preprocessing, metadata=metadata)


def _best(sweep, lambdas):
    """The index of the best validation accuracy; ties: the smaller lambda."""
    accuracies = [r["val_accuracy"] for r in sweep]
    ties = [i for i, a in enumerate(accuracies) if a == max(accuracies)]
    return min(ties, key=lambda i: lambdas[i])


def _record_final_curves(backend, config, chosen, data, meanwhile):
    """The chosen training's two halves run again at once; ``meanwhile()`` runs here."""
    half = config.epochs // 2
    parts = [(0, half, None), (half, config.epochs, chosen["halfway"])] if half else [(0, 1, None)]
    futures = [
        backend.submit(record_curves, (config, chosen["l2"], chosen["seed"], a, b, state), shared=data)
        for a, b, state in parts
    ]
    meanwhile()
    return [f.result() for f in futures]


def _final(parts, chosen):
    net = parts[-1]["net"]
    history, norms = _joined(parts)
    return {
        "net": net,
        "history": history,
        "grad_norms": norms,
        "l2": chosen["l2"],
        "seed": chosen["seed"],
        "val_loss": history.val_loss[-1],
        "val_accuracy": history.val_accuracy[-1],
        "train_loss": history.train_loss[-1],
        # True unless the machines that ran the sweep and the curves compute differently
        "same_as_sweep": all(np.array_equal(a, b) for a, b in zip(net.get_weights(), chosen["weights"])),
    }
