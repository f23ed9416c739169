"""Weights per example and per class: fit(sample_weight=, class_weight=), the weighted
losses, gradient checks with weights, and --class-weight on the command line."""

import json

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

import layerwise as lw
from layerwise.cli import main
from layerwise.io.model_file import load as load_model
from layerwise.nn.config import TrainConfig, parse_setting
from layerwise.nn.training import class_weights, seed_generators


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    X = rng.normal(0, 3, (3, 5))[y] + rng.normal(size=(40, 5))
    return X, y


def dense(dtype="float64", seed=0, out=3, **kw):
    return lw.Network.from_spec(f"5-8-{out}", "tanh", dtype=dtype, seed=seed, **kw)


def regression(dtype="float64", seed=0):
    net = dense(dtype, seed, out=2)
    return lw.Network(net.layers, loss=lw.MeanSquaredError())


def same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


def largest_difference(a, b):
    return max(float(np.abs(u - v).max()) for u, v in zip(a.get_weights(), b.get_weights()))


OPTIMIZERS = {
    "sgd": lambda: lw.SGD(lr=0.1, momentum=0.9),
    "adam": lambda: lw.Adam(lr=0.01),
}


def train(net, X, y, optimizer="sgd", **kw):
    settings = {"epochs": 40, "batch_size": None, "l2": 0.5, **kw}
    return net, lw.fit(net, X, y, optimizer=OPTIMIZERS[optimizer](), **settings)


# --- the weighted losses ---------------------------------------------------------------


def test_the_weighted_cross_entropy_is_the_weighted_mean_of_the_examples_losses():
    rng = np.random.default_rng(1)
    z, y, w = rng.normal(size=(7, 4)), rng.integers(0, 4, 7), rng.random(7) * 3
    loss = lw.SoftmaxCrossEntropy()
    P = lw.SoftmaxCrossEntropy.softmax(z)
    each = -np.log(P[np.arange(7), y])
    assert loss.forward(z, y, w) == pytest.approx(np.dot(w, each) / w.sum(), rel=1e-12)
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(loss.backward(), w[:, None] * (P - onehot) / w.sum(), rtol=1e-12, atol=1e-15)
    # equal weights, whatever their value, give the mean and its gradient
    plain = loss.forward(z, y)
    grad = loss.backward().copy()
    for c in (1.0, 0.25, 7.0):
        assert loss.forward(z, y, np.full(7, c)) == pytest.approx(plain, rel=1e-14)
        np.testing.assert_allclose(loss.backward(), grad, rtol=1e-13, atol=1e-16)


def test_the_weighted_squared_error_is_the_weighted_mean_over_the_examples():
    rng = np.random.default_rng(2)
    z, y, w = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)), rng.random(6)
    loss = lw.MeanSquaredError()
    assert loss.forward(z, y, w) == pytest.approx(
        np.dot(w, ((z - y) ** 2).sum(axis=1)) / (3 * w.sum()), rel=1e-12
    )
    np.testing.assert_allclose(loss.backward(), 2 * w[:, None] * (z - y) / (3 * w.sum()), rtol=1e-12)
    assert loss.forward(z, y, np.full(6, 4.0)) == pytest.approx(loss.forward(z, y), rel=1e-14)
    # the unweighted pass after a weighted one is the unweighted gradient again
    np.testing.assert_allclose(loss.backward(), 2 * (z - y) / z.size, rtol=1e-14)


def test_weighted_accuracy_counts_the_weight_of_the_correct_examples(blobs):
    X, y = blobs
    net = dense()
    out = net.eval().forward(net.check_X(X))
    correct = out.argmax(axis=1) == y
    w = np.arange(40, dtype=float)
    loss, accuracy = net.evaluate(X, y, l2=0.3, sample_weight=w)
    assert accuracy == pytest.approx(w[correct].sum() / w.sum())
    data_loss = lw.SoftmaxCrossEntropy().forward(out, y, w)
    squares = sum(float((p.value**2).sum()) for p in net.parameters() if p.decay)
    assert loss == pytest.approx(data_loss + 0.3 / (2 * w.sum()) * squares, rel=1e-12)
    assert net.evaluate(X, y, l2=0.3, sample_weight=np.ones(40)) == net.evaluate(X, y, l2=0.3)


# --- equal weights: exactly the numbers of no weights ------------------------------------


@pytest.mark.parametrize("batch_size", [None, 8])
@pytest.mark.parametrize("make", [dense, regression])
def test_equal_weights_train_exactly_as_no_weights(blobs, batch_size, make):
    X, y = blobs
    if make is regression:
        y = X[:, :2] * 0.5
    settings = {"batch_size": batch_size, "epochs": 5, "validation_data": (X[:10], y[:10])}
    plain, history = train(make("float32"), X, y, **settings)
    ones, history_ones = train(make("float32"), X, y, sample_weight=np.ones(40), **settings)
    assert same(plain, ones)
    assert {**history_ones.to_dict(), "seconds": []} == {**history.to_dict(), "seconds": []}
    # all weights c: the mean is the same; the L2 term's N is c times the examples
    c = 2.5
    tripled, _ = train(make("float32"), X, y, sample_weight=np.full(40, c), **settings)
    lambda_c, _ = train(make("float32"), X, y, **{**settings, "l2": 0.5 / c})
    assert same(tripled, lambda_c)
    no_l2, _ = train(make("float32"), X, y, **{**settings, "l2": 0.0})
    no_l2_c, _ = train(make("float32"), X, y, sample_weight=np.full(40, c), **{**settings, "l2": 0.0})
    assert same(no_l2, no_l2_c)


def test_balanced_classes_with_balanced_weights_train_exactly_as_no_weights():
    X = np.random.default_rng(3).normal(size=(30, 5))
    y = np.arange(30) % 3  # ten of each class: every class weight is 1
    plain, _ = train(dense("float32"), X, y, batch_size=8)
    balanced, _ = train(dense("float32"), X, y, batch_size=8, class_weight="balanced")
    assert same(plain, balanced)


# --- a weight of 2 is the example written twice ------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("l2", [0.0, 0.5])
def test_a_weight_of_two_trains_as_the_example_duplicated(blobs, optimizer, l2):
    X, y = blobs
    w = np.ones(40)
    w[[3, 17]] = 2.0
    weighted, history = train(dense(), X, y, optimizer, l2=l2, sample_weight=w)
    rows = np.r_[np.arange(40), 3, 17]
    duplicated, history_dup = train(dense(), X[rows], y[rows], optimizer, l2=l2)
    assert largest_difference(weighted, duplicated) < 1e-6
    np.testing.assert_allclose(history.train_loss, history_dup.train_loss, rtol=1e-9)
    np.testing.assert_allclose(history.train_accuracy, history_dup.train_accuracy, rtol=1e-12)


@pytest.mark.parametrize("make", [dense, regression])
def test_integer_weights_train_as_repeated_and_removed_examples(blobs, make):
    X, y = blobs
    if make is regression:
        y = np.column_stack([X[:, 0] - X[:, 1], X[:, 2]])
    w = np.random.default_rng(4).integers(0, 4, 40)  # 0 leaves the example out
    weighted, _ = train(make(), X, y, "adam", sample_weight=w)
    repeated, _ = train(make(), np.repeat(X, w, axis=0), np.repeat(y, w, axis=0), "adam")
    assert largest_difference(weighted, repeated) < 1e-6
    np.testing.assert_allclose(weighted.predict(X) if make is regression else weighted.predict_proba(X),
                               repeated.predict(X) if make is regression else repeated.predict_proba(X),
                               rtol=1e-6, atol=1e-9)  # fmt: skip


def test_class_weights_are_per_example_weights_of_the_examples_classes(blobs):
    X, y = blobs
    by_class, _ = train(dense(), X, y, batch_size=8, class_weight={0: 2.0, 2: 0.5})
    by_example, _ = train(dense(), X, y, batch_size=8, sample_weight=np.array([2.0, 1.0, 0.5])[y])
    assert same(by_class, by_example)
    # combined multiplicatively with the weights per example
    w = np.linspace(0.5, 2, 40)
    both, _ = train(dense(), X, y, batch_size=8, sample_weight=w, class_weight="balanced")
    per_class = compute_class_weight("balanced", classes=np.arange(3), y=y, sample_weight=w)
    product, _ = train(dense(), X, y, batch_size=8, sample_weight=w * per_class[y])
    assert largest_difference(both, product) < 1e-12


# --- mini-batches: drawn as without weights, weighted within each batch ------------------


def test_mini_batches_are_drawn_as_without_weights_and_weigh_their_share_of_the_total(blobs):
    X, y = blobs
    w = np.random.default_rng(5).random(40) * 2
    net = dense()
    fitted = net.astype("float64")
    lw.fit(fitted, X, y, optimizer=lw.SGD(lr=0.1, momentum=0.0), epochs=2, batch_size=8, l2=0.3,
           sample_weight=w, seed=7)  # fmt: skip
    # the same steps by hand: fit's shuffles; each batch's weighted mean times the batch's
    # weight over its share of the total, m * 8 (m the mean weight), and the L2 term
    # lambda / (2 m 8) sum W^2
    rng, share = seed_generators(net, 7), w.mean() * 8
    for _epoch in range(2):
        for batch in np.array_split(rng.permutation(40), 5):
            net.loss_and_gradients(X[batch], y[batch], sample_weight=w[batch])
            for p in net.parameters():
                grad = p.grad * (w[batch].sum() / share) + (0.3 / share * p.value if p.decay else 0.0)
                p.value -= 0.1 * grad
    assert largest_difference(net, fitted) < 1e-12


class FirstStep(lw.Callback):
    def on_train_begin(self, net, history):
        self.net = net

    def on_batch_end(self, batch, size, loss):
        if not hasattr(self, "weights"):  # the first step of the training
            self.weights, self.loss = self.net.get_weights(), loss


def test_a_batch_whose_weights_are_all_zero_takes_its_l2_step_alone(blobs):
    X, y = blobs
    w = np.ones(40)
    w[:8] = 0.0  # the first batch
    net, first = dense(), FirstStep()
    before = net.get_weights()
    optimizer = lw.SGD(lr=0.1, momentum=0.0)
    lw.fit(net, X, y, optimizer=optimizer, epochs=2, batch_size=8, shuffle=False, sample_weight=w, l2=0.3,
           callbacks=[first])  # fmt: skip
    assert optimizer.steps == 2 * 5
    share = w.mean() * 8
    for p, old, new in zip(net.parameters(), before, first.weights):
        np.testing.assert_allclose(new, old * (1 - 0.1 * 0.3 / share) if p.decay else old, rtol=1e-14)
    squares = sum(float((v**2).sum()) for p, v in zip(net.parameters(), before) if p.decay)
    assert first.loss == pytest.approx(0.3 / (2 * share) * squares, rel=1e-12)


def test_a_batch_of_light_examples_makes_a_small_step(blobs):
    X, y = blobs
    w = np.where(np.arange(40) < 8, 1e-3, 1.0)  # the first batch weighs almost nothing
    net, first = dense(), FirstStep()
    before = net.get_weights()
    lw.fit(net, X, y, optimizer=lw.SGD(lr=0.1, momentum=0.0), epochs=1, batch_size=8, shuffle=False,
           sample_weight=w, callbacks=[first])  # fmt: skip
    moved = max(float(np.abs(a - b).max()) for a, b in zip(before, first.weights))
    plain, first_plain = dense(), FirstStep()
    lw.fit(plain, X, y, optimizer=lw.SGD(lr=0.1, momentum=0.0), epochs=1, batch_size=8, shuffle=False,
           callbacks=[first_plain])  # fmt: skip
    moved_plain = max(float(np.abs(a - b).max()) for a, b in zip(before, first_plain.weights))
    assert moved < 0.01 * moved_plain


def test_the_training_history_is_weighted(blobs):
    X, y = blobs
    w = np.random.default_rng(6).random(40)
    net = dense()
    optimizer = lw.SGD(lr=1e-300, momentum=0.0)  # a step too small to change the weights
    history = lw.fit(net, X, y, optimizer=optimizer, epochs=1, batch_size=None, sample_weight=w, l2=0.2)
    loss, accuracy = net.evaluate(X, y, l2=0.2, sample_weight=w)
    assert history.train_loss[0] == pytest.approx(loss, rel=1e-12)
    assert history.train_accuracy[0] == pytest.approx(accuracy, rel=1e-12)


# --- validation: weighted only with weights of its own ------------------------------------


def test_validation_scores_are_weighted_only_with_their_own_weights(blobs):
    X, y = blobs
    w = np.random.default_rng(7).random(30) + 0.1
    net = dense()
    history = lw.fit(net, X[:30], y[:30], epochs=2, sample_weight=w, validation_data=(X[30:], y[30:]), l2=0.1)
    assert (history.val_loss[-1], history.val_accuracy[-1]) == net.evaluate(X[30:], y[30:], l2=0.1)
    wv = np.arange(1.0, 11.0)
    net = dense()
    history = lw.fit(net, X[:30], y[:30], epochs=2, validation_data=(X[30:], y[30:], wv), l2=0.1)
    assert (history.val_loss[-1], history.val_accuracy[-1]) == net.evaluate(X[30:], y[30:], l2=0.1,
                                                                            sample_weight=wv)  # fmt: skip
    stop = lw.EarlyStopping("val_loss", patience=1)
    lw.fit(dense(), X[:30], y[:30], epochs=3, validation_data=(X[30:], y[30:], wv), callbacks=[stop])


# --- gradient checks with weights (float64) ----------------------------------------------


@pytest.mark.parametrize("l2", [0.0, 0.7])
def test_gradients_with_weights_pass_the_gradient_check(blobs, l2):
    X, y = blobs
    w = np.random.default_rng(8).random(40) * 3
    w[:5] = 0.0
    assert max(lw.gradcheck(dense(), X[:12], y[:12], l2=l2, sample_weight=w[:12]).values()) < 1e-6
    net = lw.Network.from_spec("5-8-6-3", "relu", dropout=0.3, dtype="float64", seed=1)
    assert max(lw.gradcheck(net, X[:12], y[:12], l2=l2, sample_weight=w[:12]).values()) < 1e-6
    targets = np.column_stack([X[:12, 0], X[:12, 1] ** 2])
    assert max(lw.gradcheck(regression(), X[:12], targets, l2=l2, sample_weight=w[:12]).values()) < 1e-6


def test_the_gradient_check_finds_a_gradient_that_ignores_the_weights(blobs, monkeypatch):
    X, y = blobs
    w = np.linspace(0.1, 3, 12)

    def unweighted(loss):  # (P - onehot(y)) / N, as if every weight were 1
        grad = loss._exps / loss._total[:, None]
        grad.ravel()[loss._target] -= 1.0
        return grad / len(grad)

    monkeypatch.setattr(lw.SoftmaxCrossEntropy, "backward", unweighted)
    assert max(lw.gradcheck(dense(), X[:12], y[:12], sample_weight=w).values()) > 1e-3


# --- what the weights must be -------------------------------------------------------------


@pytest.mark.parametrize(
    "weights, message",
    [
        (np.ones(39), "X has 40 examples but sample_weight has 39 weights"),
        (np.ones((40, 2)), "sample_weight must be 1-D, one weight per example, not of shape (40, 2)"),
        (np.r_[np.ones(39), np.nan], "sample_weight contains NaN or infinite values"),
        (np.r_[np.ones(39), np.inf], "sample_weight contains NaN or infinite values"),
        (np.r_[np.ones(39), -0.5], "sample_weight must be non-negative, but it holds -0.5"),
        (np.zeros(40), "sample_weight must have a positive sum, but every weight is zero"),
        (np.array(["a"] * 40), "sample_weight must be numbers, not of dtype <U1"),
        (np.r_[np.ones(39), 1e39], "sample_weight holds values too large for float32"),
    ],
)
def test_invalid_weights_are_one_line_errors(blobs, weights, message):
    X, y = blobs
    with pytest.raises(lw.LayerwiseError) as error:
        lw.fit(dense("float32"), X, y, epochs=1, sample_weight=weights)
    assert str(error.value) == message


@pytest.mark.parametrize(
    "class_weight, message",
    [
        ("equal", "class_weight must be None, 'balanced' or a dict of class: weight, not 'equal'"),
        ({3: 1.0}, "class_weight names class 3, but the network has 3 classes (0..2)"),
        ({"a": 1.0}, "class_weight names class 'a', but the network has 3 classes (0..2)"),
        ({1: -1.0}, "class_weight of class 1 must be a non-negative number, not -1.0"),
        ({1: float("nan")}, "class_weight of class 1 must be a non-negative number, not nan"),
        ({0: 0, 1: 0, 2: 0}, "sample_weight must have a positive sum, but every weight is zero"),
    ],
)
def test_invalid_class_weights_are_one_line_errors(blobs, class_weight, message):
    X, y = blobs
    with pytest.raises(lw.LayerwiseError) as error:
        lw.fit(dense(), X, y, epochs=1, class_weight=class_weight)
    assert str(error.value) == message


def test_other_weight_errors(blobs):
    X, y = blobs
    with pytest.raises(lw.LayerwiseError, match="^class_weight is for classification"):
        lw.fit(regression(), X, X[:, :2], class_weight="balanced")
    with pytest.raises(
        lw.LayerwiseError, match="^the training examples of positive weight hold only one class"
    ):
        lw.fit(dense(), X, y, sample_weight=(y == 1).astype(float))
    with pytest.raises(
        lw.LayerwiseError, match="^the validation weights: X has 10 examples but sample_weight"
    ):
        lw.fit(dense(), X[:30], y[:30], validation_data=(X[30:], y[30:], np.ones(9)))
    with pytest.raises(lw.LayerwiseError, match=r"^validation_data must be \(X_val, y_val\)"):
        lw.fit(dense(), X[:30], y[:30], validation_data=(X[30:],))
    with pytest.raises(lw.LayerwiseError, match="^sample_weight must be non-negative"):
        dense().loss_and_gradients(X, y, sample_weight=-np.ones(40))


# --- "balanced" as scikit-learn computes it -----------------------------------------------


def test_balanced_class_weights_are_scikit_learns():
    rng = np.random.default_rng(9)
    y = rng.choice(4, size=50, p=[0.6, 0.25, 0.1, 0.05])
    expected = compute_class_weight("balanced", classes=np.unique(y), y=y)
    np.testing.assert_allclose(class_weights("balanced", y, 4), expected, rtol=1e-15)
    w = rng.random(50) * 2
    weighted = compute_class_weight("balanced", classes=np.unique(y), y=y, sample_weight=w)
    np.testing.assert_allclose(class_weights("balanced", y, 4, w), weighted, rtol=1e-14)
    # a class that y does not hold keeps 1 and does not count among the k classes
    y3 = np.array([0, 0, 0, 2])
    assert class_weights("balanced", y3, 3).tolist() == [4 / 6, 1.0, 2.0]


def test_balanced_weights_make_a_rare_class_count(tmp_path):
    rng = np.random.default_rng(10)
    y = (rng.random(300) < 0.08).astype(int)  # about 8% positives
    X = rng.normal(size=(300, 2)) + 1.2 * y[:, None]
    scores = {}
    for class_weight in (None, "balanced"):
        net = lw.Network.from_spec("2-16-2", seed=0)
        lw.fit(net, X, y, optimizer=lw.Adam(lr=0.01), epochs=30, class_weight=class_weight)
        predicted = net.predict(X)
        scores[class_weight] = np.mean(predicted[y == 1] == 1)  # recall of the rare class
    assert scores["balanced"] > scores[None] + 0.2


# --- the setting: TrainConfig and the command line ----------------------------------------


def test_class_weight_is_a_training_setting():
    assert TrainConfig().class_weight is None
    assert TrainConfig(class_weight="Balanced").class_weight == "balanced"
    assert TrainConfig(class_weight="none").class_weight is None
    assert parse_setting("class_weight", "balanced") == "balanced"
    config = TrainConfig(class_weight="balanced")
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(
        lw.LayerwiseError, match="^unknown class_weight 'equal'; choose one of none, balanced$"
    ):
        TrainConfig(class_weight="equal")


@pytest.fixture
def rare_csv(tmp_path):
    rng = np.random.default_rng(11)
    y = np.where(rng.random(240) < 0.1, 1, 0)
    X = rng.normal(size=(240, 4)) + y[:, None]
    path = tmp_path / "rare.csv"
    np.savetxt(path, np.column_stack([y, X]), delimiter=",", fmt="%.6g", header="label,a,b,c,d", comments="")
    return path


def test_train_class_weight_balanced_on_the_command_line(rare_csv, tmp_path):
    runs = {}
    for name, extra in (("plain", []), ("balanced", ["--class-weight", "balanced"])):
        out = tmp_path / name
        argv = [
            "train",
            "--data",
            rare_csv,
            "--hidden",
            "8",
            "--epochs",
            "3",
            "--quiet",
            "--out",
            out,
            *extra,
        ]
        assert main(list(map(str, argv))) == 0
        runs[name] = load_model(out)
    assert runs["balanced"].metadata["settings"]["class_weight"] == "balanced"
    assert runs["plain"].metadata["settings"]["class_weight"] is None
    assert not same(runs["plain"].network, runs["balanced"].network)


def test_a_wrong_class_weight_on_the_command_line_is_one_line(rare_csv, tmp_path, capsys):
    argv = ["train", "--data", str(rare_csv), "--class-weight", "equal", "--out", str(tmp_path / "run")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "unknown class_weight 'equal'; choose one of none, balanced" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_tune_trains_each_trial_with_the_class_weight(rare_csv, tmp_path):
    runs = {}
    for name, extra in (("plain", []), ("balanced", ["--class-weight", "balanced"])):
        out = tmp_path / name
        argv = ["tune", "--data", rare_csv, "--grid", "l2=0.1", "--hidden", "8", "--epochs", "3",
                "--jobs", "1", "--quiet", "--out", out, *extra]  # fmt: skip
        assert main(list(map(str, argv))) == 0
        runs[name] = load_model(out)
    assert runs["balanced"].metadata["settings"]["class_weight"] == "balanced"
    assert not same(runs["plain"].network, runs["balanced"].network)


def test_the_guides_examples_of_weights_run(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    guide = Path(__file__).resolve().parents[2] / "docs" / "data-and-training.md"
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(), flags=re.S)
    block = next(b for b in blocks if "sample_weight" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "docs/data-and-training.md", "exec"), {})
