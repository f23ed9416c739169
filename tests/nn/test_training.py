import json
import subprocess
import sys

import numpy as np
import pytest

import layerwise as lw


def test_tutorial_configuration_follows_the_reference_trajectory(reference, digits_split):
    """Same initial weights, float64, full batch: the same weights as the tutorial after 50 epochs."""
    X_train, X_valid, _, y_train, y_valid, _ = digits_split
    initial = reference.init_weights(rng=np.random.default_rng(7))
    expected, ref_history = reference.train(
        X_train, y_train, 0.6, X_valid, y_valid, weights=initial, epochs=50
    )

    net = lw.Network.from_spec(
        "64-48-32-10", activation="sigmoid", output_activation="sigmoid", dtype="float64", seed=0
    )
    for layer, (W, b) in zip(net.linears, initial):
        layer.weight.value[...] = W
        layer.bias.value[...] = b.ravel()  # the reference keeps biases as columns
    history = lw.fit(
        net,
        X_train,
        y_train,
        optimizer=lw.SGD(lr=0.2, momentum=0.9),
        epochs=50,
        batch_size=None,
        l2=0.6,
        validation_data=(X_valid, y_valid),
    )

    for layer, (W, b) in zip(net.linears, expected):
        assert np.max(np.abs(layer.weight.value - W)) <= 1e-9 * np.max(np.abs(W))
        assert np.max(np.abs(layer.bias.value - b.ravel())) <= 1e-9 * max(np.max(np.abs(b)), 1e-3)
    assert np.allclose(history.train_loss, ref_history["train"], rtol=1e-9)
    assert np.allclose(history.val_loss, ref_history["validation"], rtol=1e-9)


def test_fit_learns_and_records_history(blobs):
    X, y = blobs
    net = lw.Network.from_spec("5-16-3", activation="relu", seed=0)
    history = lw.fit(
        net,
        X[:60],
        y[:60],
        optimizer=lw.Adam(lr=0.01),
        epochs=40,
        batch_size=16,
        validation_data=(X[60:], y[60:]),
        seed=1,
    )
    for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
        assert len(getattr(history, name)) == 40
    assert history.train_loss[-1] < history.train_loss[0] / 3
    assert history.val_accuracy[-1] >= 0.9
    assert net.predict(X[60:]).shape == (30,)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_gives_bit_identical_weights(blobs, dtype):
    X, y = blobs

    def train():
        net = lw.Network.from_spec("5-12-12-3", activation="relu", dropout=0.2, dtype=dtype, seed=11)
        lw.fit(
            net, X, y, optimizer=lw.SGD(lr=0.05, momentum=0.9, nesterov=True), epochs=5, batch_size=8, seed=3
        )
        return net.get_weights()

    first, second = train(), train()
    assert first[0].dtype == np.dtype(dtype)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    net = lw.Network.from_spec("5-12-12-3", activation="relu", dropout=0.2, dtype=dtype, seed=11)
    lw.fit(net, X, y, optimizer=lw.SGD(lr=0.05, momentum=0.9, nesterov=True), epochs=5, batch_size=8, seed=4)
    assert not np.array_equal(net.get_weights()[0], first[0])  # another seed, another shuffle


def test_early_stopping_restores_the_best_weights(blobs):
    X, y = blobs
    net = lw.Network.from_spec("5-32-3", activation="relu", seed=0)
    seen = {}

    class Remember(lw.Callback):
        def on_epoch_end(self, epoch, logs):
            seen[epoch] = (logs["val_loss"], net.get_weights())

    stop = lw.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    # a learning rate this high makes the validation loss bounce, so training stops early
    # (2.0 did too, by making the loss explode to 5e7: a divergence, which fit now stops)
    history = lw.fit(
        net,
        X[:45],
        y[:45],
        optimizer=lw.SGD(lr=0.5),
        epochs=200,
        batch_size=5,
        validation_data=(X[45:], y[45:]),
        callbacks=[Remember(), stop],
        seed=0,
    )
    assert history.stopped_epoch is not None and history.epochs < 200
    best = min(seen, key=lambda e: seen[e][0])
    assert history.best_epoch == best
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), seen[best][1]))
    assert history.epochs == history.stopped_epoch + 1 == best + 3 + 2


def test_early_stopping_on_accuracy_needs_validation_data(blobs):
    X, y = blobs
    net = lw.Network.from_spec("5-4-3", seed=0)
    with pytest.raises(lw.LayerwiseError, match="no validation data"):
        lw.fit(net, X, y, epochs=3, callbacks=[lw.EarlyStopping(monitor="val_accuracy")])


def test_divergence_names_the_epoch_and_keeps_finite_weights(blobs):
    X, y = blobs
    net = lw.Network.from_spec("5-16-3", activation="relu", seed=0)
    with pytest.raises(lw.TrainingDiverged, match=r"diverged at epoch \d+.*learning rate \(1000\)") as info:
        lw.fit(net, X * 100, y, optimizer=lw.SGD(lr=1e3, momentum=0.9), epochs=100)
    assert 1 <= info.value.epoch < 100
    assert all(np.isfinite(w).all() for w in net.get_weights())
    assert len(info.value.history.train_loss) == info.value.epoch - 1


def test_callbacks_see_batches_and_epochs(blobs):
    X, y = blobs
    calls = []

    class Spy(lw.Callback):
        def on_train_begin(self, net, history):
            calls.append("begin")

        def on_batch_end(self, batch, size, loss):
            calls.append(size)

        def on_epoch_end(self, epoch, logs):
            calls.append(("epoch", epoch, sorted(logs)))

        def on_train_end(self, net, history):
            calls.append("end")

    lw.fit(lw.Network.from_spec("5-4-3", seed=0), X, y, epochs=2, batch_size=40, callbacks=[Spy()], seed=0)
    epoch_logs = ("epoch", 0, ["train_accuracy", "train_loss"])
    assert calls == ["begin", 40, 40, 10, epoch_logs, 40, 40, 10, ("epoch", 1, epoch_logs[2]), "end"]


def test_schedule_sets_the_learning_rate_per_epoch(blobs):
    X, y = blobs
    history = lw.fit(
        lw.Network.from_spec("5-4-3", seed=0),
        X,
        y,
        epochs=4,
        optimizer=lw.SGD(lr=0.1, schedule=lw.StepLR(2, 0.5)),
    )
    assert history.lr == [0.1, 0.1, 0.05, 0.05]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(epochs=-1), "epochs"),
        (dict(batch_size=0), "batch_size"),
        (dict(l2=-0.1), "l2"),
        (dict(l2=float("nan")), "l2"),
    ],
)
def test_bad_fit_arguments_are_clear_errors(blobs, kwargs, message):
    X, y = blobs
    with pytest.raises(lw.LayerwiseError, match=message):
        lw.fit(lw.Network.from_spec("5-4-3", seed=0), X, y, **kwargs)


def test_history_plot_draws_the_loss_and_accuracy_curves(blobs):
    from matplotlib.figure import Figure

    X, y = blobs
    net = lw.Network.from_spec("5-8-3", seed=0)
    stop = lw.EarlyStopping(patience=2)
    history = lw.fit(
        net, X[:60], y[:60], optimizer=lw.Adam(lr=0.05), epochs=40,
        validation_data=(X[60:], y[60:]), callbacks=[stop],
    )  # fmt: skip
    fig = history.plot()
    assert isinstance(fig, Figure)
    loss, accuracy = fig.axes
    assert (loss.get_ylabel(), accuracy.get_ylabel(), loss.get_xlabel()) == ("loss", "accuracy", "epoch")
    epochs = np.arange(1, history.epochs + 1)
    for ax, train, val in [
        (loss, history.train_loss, history.val_loss),
        (accuracy, history.train_accuracy, history.val_accuracy),
    ]:
        training, validation, best = ax.lines
        assert (training.get_label(), validation.get_label()) == ("training", "validation")
        assert np.array_equal(training.get_xdata(), epochs) and np.allclose(training.get_ydata(), train)
        assert np.allclose(validation.get_ydata(), val)
        assert best.get_xdata()[0] == history.best_epoch + 1 and "best epoch" in best.get_label()
    assert fig._repr_png_().startswith(b"\x89PNG")  # what a notebook shows


def test_history_plot_without_validation_and_of_one_epoch():
    fig = lw.History(train_loss=[0.9], train_accuracy=[0.6]).plot()
    assert [[line.get_label() for line in ax.lines] for ax in fig.axes] == [["training"], ["training"]]
    assert fig.axes[0].lines[0].get_marker() == "o"  # a single epoch is a point


def test_history_plot_imports_matplotlib_then_only_and_leaves_pyplot_alone():
    code = (
        "import json, sys; import layerwise as lw; h = lw.History(train_loss=[1.0, 0.5], "
        "train_accuracy=[0.5, 0.8]); before = 'matplotlib' in sys.modules; fig = h.plot(); "
        "print(json.dumps([before, 'matplotlib.figure' in sys.modules, 'matplotlib.pyplot' in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [False, True, False]  # without pyplot, no backend is chosen


def test_history_plot_without_matplotlib_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(lw.LayerwiseError, match="needs matplotlib.*pip install matplotlib"):
        lw.History(train_loss=[1.0], train_accuracy=[0.5]).plot()


def test_early_stopping_restores_the_running_statistics_of_the_best_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4))
    y = (X[:, 0] > 0).astype(int)
    net = lw.Network([lw.Linear(4, 8, seed=0), lw.BatchNorm(8), lw.ReLU(), lw.Linear(8, 2, seed=1)])
    seen = {}

    class Record(lw.Callback):
        def on_epoch_end(self, epoch, logs):
            seen[epoch] = [a.copy() for _, a in net.named_state()]

    # a validation set of the wrong labels: its loss gets worse as training goes on
    stop = lw.EarlyStopping(patience=2)
    history = lw.fit(
        net, X, y, epochs=30, batch_size=16, optimizer=lw.Adam(0.05), seed=0,
        validation_data=(X, 1 - y), callbacks=[stop, Record()],
    )  # fmt: skip
    best = history.best_epoch
    assert best is not None and history.stopped_epoch is not None and best < history.stopped_epoch
    state = [a for _, a in net.named_state()]
    assert all(np.array_equal(a, b) for a, b in zip(state, seen[best]))
    assert not np.array_equal(seen[best][0], seen[history.stopped_epoch][0])
    assert len(stop.state_dict()["best_state"]) == 2


def test_a_last_batch_of_one_joins_the_one_before_when_batchnorm_needs_two():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(41, 4)), np.arange(41) % 2
    sizes = []

    class Sizes(lw.Callback):
        def on_batch_end(self, batch, size, loss):
            sizes.append(size)

    net = lw.Network([lw.Linear(4, 8, seed=0), lw.BatchNorm(8), lw.ReLU(), lw.Linear(8, 2, seed=1)])
    lw.fit(net, X, y, epochs=2, batch_size=10, seed=0, callbacks=[Sizes()])
    assert sizes == [10, 10, 10, 11] * 2
    sizes.clear()
    lw.fit(lw.Network.from_spec("4-8-2", seed=0), X, y, epochs=1, batch_size=10, seed=0, callbacks=[Sizes()])
    assert sizes == [10, 10, 10, 10, 1]  # without BatchNorm, batches are as asked


def test_a_diverging_training_restores_the_running_statistics_with_the_weights():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 4)), np.arange(64) % 2
    net = lw.Network([lw.Linear(4, 8, seed=0), lw.BatchNorm(8), lw.ReLU(), lw.Linear(8, 2, seed=1)])
    lw.fit(net, X, y, epochs=2, batch_size=16, seed=0)
    before = [a.copy() for _, a in net.named_state()]

    class Blow(lw.Callback):
        def on_batch_end(self, batch, size, loss):
            if batch == 1:
                net.layers[0].weight.value[:] = np.nan  # the next step's loss is NaN

    with pytest.raises(lw.TrainingDiverged):
        lw.fit(net, X, y, epochs=1, batch_size=16, seed=1, callbacks=[Blow()])
    assert all(np.array_equal(a, b) for (_, a), b in zip(net.named_state(), before))
    assert np.isfinite(net.layers[0].weight.value).all()
