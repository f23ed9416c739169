import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_friedman1,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import layerwise as lw
import layerwise.sklearn
from layerwise.nn.config import DEFAULTS, resolve_batch_size
from layerwise.sklearn import LayerwiseClassifier, LayerwiseRegressor

CHECK_SCRIPT = """
import json, sys
from sklearn.utils.estimator_checks import check_estimator
import layerwise.sklearn
estimator = getattr(layerwise.sklearn, sys.argv[1])(**json.loads(sys.argv[2]))
results = check_estimator(estimator, on_fail=None, expected_failed_checks=json.loads(sys.argv[3]))
print(json.dumps([[r["check_name"], r["status"], str(r["exception"])[:500]] for r in results]))
"""

# Trained in mini-batches (or in float32), weights cannot give exactly the networks that
# repeated examples give: the batches differ. scikit-learn does not mark this check for
# its own MLPClassifier and MLPRegressor (their __sklearn_tags__ in scikit-learn 1.9 set
# only input_tags.sparse and, for the classifier, classifier_tags.multi_label); its test
# suite runs it on them with full-batch settings instead (PER_ESTIMATOR_CHECK_PARAMS in
# sklearn/utils/_test_common/instance_generator.py: MLPClassifier(solver="lbfgs"),
# MLPRegressor(solver="sgd", tol=1e-2), whose batches of min(200, n) hold the check's
# examples), as the full-batch float64 settings below do here. The mini-batch settings
# get the mark, and the reason, that scikit-learn gives its own estimators that train on
# mini-batches (SGDClassifier, SGDRegressor, Perceptron, MiniBatchKMeans in
# PER_ESTIMATOR_XFAIL_CHECKS).
MINI_BATCH_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight is not equivalent to removing/repeating samples."
    )
}
FULL_BATCH_64 = {"batch_size": None, "dtype": "float64"}
# check_class_weight_classifiers trains with class weights of 1000 and 0.0001: the
# validation accuracy that early stopping watches, weighted as the training examples are,
# is 1.0 from the first epoch on, so early stopping keeps the first epoch's network.
EARLY_STOPPING_XFAIL = {
    "check_class_weight_classifiers": (
        "early stopping on the class-weighted validation accuracy, which these class weights "
        "make 1.0 from the first epoch, keeps the first epoch's network"
    )
}


def expected_failures(params):
    """The checks that scikit-learn's check_estimator is expected to fail with ``params``."""
    failures = {}
    if not (params.get("batch_size", "auto") is None and params.get("dtype") == "float64"):
        failures.update(MINI_BATCH_XFAIL)
    if params.get("early_stopping"):
        failures.update(EARLY_STOPPING_XFAIL)
    return failures


@pytest.mark.parametrize(
    "estimator, params",
    [
        ("LayerwiseClassifier", {}),  # the defaults: hidden layers and batch size "auto"
        (
            "LayerwiseClassifier",
            {"hidden_layer_sizes": [16], "max_iter": 30, "learning_rate_init": 0.02, "random_state": 0},
        ),
        (
            "LayerwiseClassifier",
            {
                "hidden_layer_sizes": [12, 8],
                "activation": "tanh",
                "output_activation": "sigmoid",
                "solver": "sgd",
                "learning_rate_init": 0.1,
                "early_stopping": True,
                "dropout": 0.1,
                "dtype": "float64",
                "max_iter": 30,
                "random_state": 0,
            },
        ),
        (
            "LayerwiseClassifier",  # full batch in float64: weights are repeated examples
            {
                **FULL_BATCH_64,
                "hidden_layer_sizes": [16],
                "max_iter": 200,
                "learning_rate_init": 0.01,
                "random_state": 0,
            },  # fmt: skip
        ),
        ("LayerwiseRegressor", {}),
        (
            "LayerwiseRegressor",
            {"hidden_layer_sizes": [16], "max_iter": 30, "learning_rate_init": 0.02, "random_state": 0},
        ),
        (
            "LayerwiseRegressor",
            {
                "hidden_layer_sizes": [12, 8],
                "activation": "tanh",
                "solver": "sgd",
                "learning_rate_init": 0.01,
                "early_stopping": True,
                "dropout": 0.1,
                "dtype": "float64",
                "max_iter": 30,
                "random_state": 0,
            },
        ),
        ("LayerwiseRegressor", FULL_BATCH_64),
    ],
)
@pytest.mark.slow
def test_scikit_learn_check_estimator_passes_every_check(estimator, params):
    # In a fresh process with SCIPY_ARRAY_API=1, which scikit-learn's array API check needs
    # (it reads the setting when SciPy is first imported); no check is skipped.
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    expected = expected_failures(params)
    out = subprocess.run(
        [sys.executable, "-c", CHECK_SCRIPT, estimator, json.dumps(params), json.dumps(expected)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    results = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(results) > 50
    if estimator == "LayerwiseRegressor":  # the regressor's own checks ran
        assert {"check_regressors_train", "check_regressor_multioutput"} <= {r[0] for r in results}
    names = {r[0] for r in results}
    assert {"check_sample_weights_shape", "check_all_zero_sample_weights_error",
            "check_sample_weight_equivalence_on_dense_data"} <= names  # fmt: skip
    if estimator == "LayerwiseClassifier":
        assert {"check_classifiers_one_label_sample_weights", "check_class_weight_classifiers"} <= names
    not_passed = [r for r in results if r[1] != "passed" and not (r[0] in expected and r[1] == "xfail")]
    assert not not_passed


@pytest.fixture
def blobs3():
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, (3, 4))
    y = rng.integers(0, 3, 150)
    return centers[y] + rng.normal(0, 1, (150, 4)), y


def small(**params):
    settings = {"hidden_layer_sizes": (16,), "max_iter": 60, "learning_rate_init": 0.02, "random_state": 0}
    return LayerwiseClassifier(**{**settings, **params})


def test_string_labels_and_fitted_attributes(blobs3):
    X, y = blobs3
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = small().fit(X, names)
    assert clf.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert clf.n_features_in_ == 4 and clf.n_iter_ == len(clf.loss_curve_) >= 1
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert set(clf.predict(X)) <= set(names) and clf.score(X, names) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), atol=1e-12)
    assert isinstance(clf.network_, lw.Network) and clf.network_.dtype == np.float32


def test_the_tutorial_head_and_the_tutorial_lambda(blobs3):
    X, y = blobs3
    clf = small(
        activation="logistic",
        output_activation="sigmoid",
        alpha=0.6,
        solver="sgd",
        learning_rate_init=0.2,
        nesterovs_momentum=False,
        batch_size=150,
        max_iter=200,
    )
    clf.fit(X, y)
    assert [type(layer).__name__ for layer in clf.network_.layers] == [
        "Linear",
        "Sigmoid",
        "Linear",
        "Sigmoid",
    ]
    assert clf.score(X, y) > 0.8


def test_partial_fit_needs_classes_then_learns_one_epoch_per_call(blobs3):
    X, y = blobs3
    clf = small()
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    for _ in range(5):
        clf.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X, y + 1)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)


def test_warm_start_continues_from_the_fitted_weights(blobs3):
    X, y = blobs3
    clf = small(warm_start=True, max_iter=5, tol=0).fit(X, y)
    first = clf.network_
    weights = first.get_weights()
    clf.fit(X, y)
    assert clf.network_ is first and clf.n_iter_ == 10
    assert not all(np.array_equal(a, b) for a, b in zip(weights, first.get_weights()))
    cold = clone(clf).set_params(warm_start=False).fit(X, y)
    assert cold.n_iter_ == 5


def test_same_random_state_same_model_and_early_stopping_restores_the_best(blobs3):
    X, y = blobs3
    a = small(early_stopping=True, n_iter_no_change=3).fit(X, y)
    b = small(early_stopping=True, n_iter_no_change=3).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert len(a.validation_scores_) == a.n_iter_ and a.best_validation_score_ == max(a.validation_scores_)


def test_bad_settings_are_value_errors(blobs3):
    X, y = blobs3
    for params in [
        {"solver": "lbfgs"},
        {"activation": "softplus"},
        {"hidden_layer_sizes": (0,)},
        {"batch_size": 0},
        {"dtype": "float16"},
        {"max_iter": 0},
        {"verbose": 3},
        {"verbose": "yes"},
    ]:
        with pytest.raises(ValueError):
            small(**params).fit(X, y)


def test_verbose_shows_the_progress_of_fit_as_mlpclassifier_does(blobs3, capsys):
    X, y = blobs3
    assert LayerwiseClassifier().get_params()["verbose"] == MLPClassifier().get_params()["verbose"] == 0
    small(max_iter=3).fit(X, y)
    assert capsys.readouterr() == ("", "")  # silent by default
    clf = small(max_iter=3, tol=0, verbose=2).fit(X, y)
    out, err = capsys.readouterr()
    assert [line.split("  ")[:2] for line in out.splitlines()] == [
        [f"epoch {epoch}/3", f"loss {loss:.4f}"] for epoch, loss in enumerate(clf.loss_curve_, 1)
    ]
    assert "epoch 3/3" in err  # the bar
    small(max_iter=2, verbose=True).fit(X, y)  # MLPClassifier's verbose is a bool: True is 1
    out, err = capsys.readouterr()
    assert out == "" and "epoch 2/2" in err
    clf = small(verbose=2)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y)
    assert capsys.readouterr().out.splitlines()[-1].startswith("epoch 2/2  loss ")


def test_save_and_load_give_the_same_predictions(blobs3, tmp_path):
    X, y = blobs3
    clf = small(hidden_layer_sizes=(8, 6)).fit(X, np.array(["a", "b", "c"])[y])
    path = clf.save(tmp_path / "clf.safetensors")
    again = LayerwiseClassifier.load(path)
    assert again.get_params()["hidden_layer_sizes"] == [8, 6] and again.learning_rate_init == 0.02
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X))
    model = lw.load(path)
    np.testing.assert_allclose(model.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def batch_sizes_taken(monkeypatch):
    """The batch size of each of the estimator's calls to lw.fit, as its History records it."""
    taken = []

    def recording_fit(*args, **kwargs):
        history = lw.fit(*args, **kwargs)
        taken.append(history.batch_size)
        return history

    monkeypatch.setattr(layerwise.sklearn, "fit", recording_fit)
    return taken


def test_the_defaults_fit_the_data_by_the_projects_rules(monkeypatch):
    X, y = load_iris(return_X_y=True)
    taken = batch_sizes_taken(monkeypatch)
    params = LayerwiseClassifier().get_params()
    assert params["hidden_layer_sizes"] == params["batch_size"] == "auto" == DEFAULTS.hidden
    clf = make_pipeline(StandardScaler(), LayerwiseClassifier(random_state=0)).fit(X, y)
    assert clf[-1].network_.sizes == [4, 64, 32, 3] == DEFAULTS.sizes(4, 3)  # not 4-256-128-3
    # the project's rule, as lw.fit and `layerwise train` take it: 15 steps per epoch, where
    # MLPClassifier's min(200, n) would be the full batch
    assert taken == [10] == [resolve_batch_size("auto", 150)]
    assert clf.score(X, y) > 0.9
    LayerwiseClassifier(max_iter=2, early_stopping=True, random_state=0).fit(X, y)
    assert taken[-1] == resolve_batch_size("auto", 135) == 9  # the examples left after the split
    LayerwiseClassifier(max_iter=2, batch_size=None, random_state=0).fit(X, y)
    LayerwiseClassifier(max_iter=2, batch_size=32, random_state=0).fit(X, y)
    assert taken[-2:] == [150, 32]
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        LayerwiseClassifier(hidden_layer_sizes="big").fit(X, y)


def test_auto_hidden_sizes_are_saved_and_loaded_as_auto(tmp_path):
    X, y = load_iris(return_X_y=True)
    clf = LayerwiseClassifier(max_iter=3, random_state=0).fit(X, y)
    assert clf.to_model().metadata["estimator"]["hidden_layer_sizes"] == "auto"
    again = LayerwiseClassifier.load(clf.save(tmp_path / "clf.safetensors"))
    assert again.get_params()["hidden_layer_sizes"] == "auto" and again.network_.sizes == [4, 64, 32, 3]
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))


def test_pipeline_grid_search_and_cross_val_score():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), small())
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.85
    grid = GridSearchCV(
        pipe,
        {"layerwiseclassifier__alpha": [1e-4, 1.0], "layerwiseclassifier__activation": ["relu", "tanh"]},
        cv=3,
    )
    grid.fit(X, y)
    assert set(grid.best_params_) == {"layerwiseclassifier__alpha", "layerwiseclassifier__activation"}
    assert grid.score(X, y) > 0.9


DATASETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer, "digits": load_digits}


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.slow
def test_cross_validated_accuracy_matches_mlpclassifier(dataset, solver):
    X, y = DATASETS[dataset](return_X_y=True)
    settings = dict(
        hidden_layer_sizes=(32,),
        activation="relu",
        solver=solver,
        alpha=1e-3,
        learning_rate_init=0.01,
        max_iter=60,
        batch_size=32,
        random_state=0,
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    ours = LayerwiseClassifier(**settings, init="glorot_uniform")  # MLPClassifier's initialisation
    ours = cross_val_score(make_pipeline(StandardScaler(), ours), X, y, cv=cv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(**settings)), X, y, cv=cv)
    print(f"{dataset} {solver}: layerwise {ours.mean():.3f}, MLPClassifier {theirs.mean():.3f}")
    assert ours.mean() >= theirs.mean() - 0.03


# --- regression -------------------------------------------------------------------------


@pytest.fixture
def friedman():
    X, y = make_friedman1(n_samples=300, noise=0.5, random_state=0)
    return X, (y - y.mean()) / y.std()


def small_regressor(**params):
    settings = {"hidden_layer_sizes": (32,), "max_iter": 60, "learning_rate_init": 0.01, "random_state": 0}
    return LayerwiseRegressor(**{**settings, **params})


def test_regressor_has_the_classifiers_parameters_but_output_activation_and_class_weight():
    ours = LayerwiseRegressor().get_params()
    assert set(ours) == set(LayerwiseClassifier().get_params()) - {"output_activation", "class_weight"}
    assert {k: v for k, v in LayerwiseClassifier().get_params().items() if k in ours} == ours
    assert not hasattr(LayerwiseRegressor(), "predict_proba")
    assert LayerwiseRegressor.load.__func__ is LayerwiseClassifier.load.__func__  # one code path


def test_regressor_fits_one_target_and_scores_r2(friedman):
    X, y = friedman
    reg = small_regressor().fit(X, y)
    assert reg.n_outputs_ == 1 and reg.n_features_in_ == 10 and reg.n_iter_ == len(reg.loss_curve_)
    assert reg.loss_curve_[-1] < reg.loss_curve_[0] / 5
    net = reg.network_
    assert isinstance(net.loss, lw.MeanSquaredError) and isinstance(net.layers[-1], lw.Linear)  # no head
    assert net.sizes == [10, 32, 1] and net.dtype == np.float32
    predicted = reg.predict(X)
    assert predicted.shape == (300,) and predicted.dtype == np.float64
    assert reg.score(X, y) == pytest.approx(r2_score(y, predicted)) and reg.score(X, y) > 0.9
    assert reg.validation_scores_ is None and reg.best_validation_score_ is None


def test_regressor_predicts_the_shape_of_y(friedman):
    X, y = friedman
    Y = np.column_stack([y, X[:, 0] * X[:, 1], -y])
    reg = small_regressor().fit(X, Y)
    assert reg.n_outputs_ == 3 and reg.network_.n_outputs == 3 and reg.predict(X).shape == (300, 3)
    assert reg.score(X, Y) == pytest.approx(r2_score(Y, reg.predict(X))) and reg.score(X, Y) > 0.8
    # a column y stays a column, as LinearRegression keeps it; a 1-D y gives 1-D predictions
    column = small_regressor(max_iter=2).fit(X, y[:, None])
    assert column.n_outputs_ == 1 and column.predict(X).shape == (300, 1)
    np.testing.assert_array_equal(column.predict(X).ravel(), small_regressor(max_iter=2).fit(X, y).predict(X))


def test_regressor_early_stopping_scores_r2_and_keeps_the_best_weights(friedman):
    X, y = friedman
    reg = small_regressor(early_stopping=True, n_iter_no_change=3, max_iter=200, learning_rate_init=0.03)
    reg.fit(X, y)
    assert reg.n_iter_ < 200 and len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_) > 0.8
    # the validation set is MLPRegressor's: train_test_split with the random_state
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.1, random_state=0)
    assert reg.score(X_val, y_val) == pytest.approx(reg.best_validation_score_, abs=1e-5)
    again = small_regressor(early_stopping=True, n_iter_no_change=3, max_iter=200, learning_rate_init=0.03)
    np.testing.assert_array_equal(again.fit(X, y).predict(X), reg.predict(X))


def test_regressor_warm_start_and_partial_fit_keep_the_number_of_outputs(friedman):
    X, y = friedman
    reg = small_regressor(warm_start=True, max_iter=3, tol=0).fit(X, y)
    first = reg.network_
    reg.fit(X, y)
    assert reg.network_ is first and reg.n_iter_ == 6
    with pytest.raises(ValueError, match="2 targets per example but the regressor was fitted with 1"):
        reg.fit(X, np.column_stack([y, y]))
    online = small_regressor()
    for start in range(0, 300, 100):
        online.partial_fit(X[start : start + 100], y[start : start + 100])
    assert online.n_iter_ == 3 and len(online.loss_curve_) == 3
    with pytest.raises(ValueError, match="features"):
        online.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="targets per example"):
        online.partial_fit(X, np.column_stack([y, y]))


def test_regressor_refuses_what_is_not_a_regression(friedman):
    X, y = friedman
    with pytest.raises(ValueError):
        small_regressor().fit(X, np.where(y > 0, "high", "low"))
    with pytest.raises(ValueError, match="NaN"):
        small_regressor().fit(X, np.where(y > 2, np.nan, y))
    for params in [{"solver": "lbfgs"}, {"hidden_layer_sizes": (0,)}, {"dtype": "float16"}, {"verbose": 3}]:
        with pytest.raises(ValueError):
            small_regressor(**params).fit(X, y)


def test_regressor_verbose_lines_show_losses_without_accuracy(friedman, capsys):
    X, y = friedman
    reg = small_regressor(max_iter=2, tol=0, verbose=2).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[:2] for line in out] == [
        [f"epoch {epoch}/2", f"loss {loss:.4f}"] for epoch, loss in enumerate(reg.loss_curve_, 1)
    ]
    assert "acc" not in "".join(out)


def test_regressor_save_and_load(friedman, tmp_path):
    X, y = friedman
    one = small_regressor(max_iter=5).fit(X, y)
    two = small_regressor(max_iter=5, dtype="float64").fit(X, np.column_stack([y, -y]))
    for reg, name in [(one, "one"), (two, "two")]:
        path = reg.save(tmp_path / f"{name}.safetensors")
        again = LayerwiseRegressor.load(path)
        assert again.n_outputs_ == reg.n_outputs_ and again.max_iter == 5 and again.loss_curve_ == []
        assert again.predict(X).shape == reg.predict(X).shape
        np.testing.assert_allclose(again.predict(X), reg.predict(X))
        model = lw.load(path)
        assert model.classes is None and model.metadata["estimator"]["dtype"] == reg.dtype
        np.testing.assert_allclose(model.predict(X).reshape(reg.predict(X).shape), reg.predict(X), atol=1e-5)
        with pytest.raises(lw.LayerwiseError, match="regression network; load it with LayerwiseRegressor"):
            LayerwiseClassifier.load(path)
    clf = small(max_iter=2).fit(X, y > 0)
    with pytest.raises(lw.LayerwiseError, match="classifier's network; load it with LayerwiseClassifier"):
        LayerwiseRegressor.load(clf.save(tmp_path / "clf.safetensors"))
    # a network lw.save wrote without the estimator's metadata: 1-D predictions for one output
    net = lw.Network([lw.Linear(10, 1, seed=0)], loss=lw.MeanSquaredError())
    loaded = LayerwiseRegressor.load(lw.save(net, tmp_path / "net.safetensors"))
    assert loaded.predict(X).shape == (300,) and loaded.get_params() == LayerwiseRegressor().get_params()


def test_regressor_in_pipelines_grid_searches_and_target_transforms():
    X, y = load_diabetes(return_X_y=True)
    model = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), small_regressor(alpha=1e-3)), transformer=StandardScaler()
    )
    assert cross_val_score(model, X, y, cv=3).mean() > 0.3
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), small_regressor()),
        {"layerwiseregressor__alpha": [1e-3, 1.0], "layerwiseregressor__activation": ["relu", "tanh"]},
        cv=3,
    )
    grid.fit(X, (y - y.mean()) / y.std())
    assert set(grid.best_params_) == {"layerwiseregressor__alpha", "layerwiseregressor__activation"}


REGRESSION_DATASETS = {
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "friedman1": lambda: make_friedman1(n_samples=500, noise=1.0, random_state=0),
}


@pytest.mark.parametrize("dataset", REGRESSION_DATASETS)
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.slow
def test_cross_validated_r2_matches_mlpregressor(dataset, solver):
    X, y = REGRESSION_DATASETS[dataset]()
    settings = dict(
        hidden_layer_sizes=(32,),
        activation="relu",
        solver=solver,
        alpha=1e-3,
        learning_rate_init=0.01,
        max_iter=60,
        batch_size=32,
        random_state=0,
    )
    cv = KFold(3, shuffle=True, random_state=0)

    def scores(regressor):
        model = make_pipeline(StandardScaler(), regressor)
        return cross_val_score(TransformedTargetRegressor(model, transformer=StandardScaler()), X, y, cv=cv)

    ours = scores(LayerwiseRegressor(**settings, init="glorot_uniform"))  # MLPRegressor's initialisation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = scores(MLPRegressor(**settings))
    print(f"{dataset} {solver}: layerwise {ours.mean():.3f}, MLPRegressor {theirs.mean():.3f}")
    assert ours.mean() >= theirs.mean() - 0.05


# --- weights: sample_weight in fit, class_weight in the classifier ------------------------


def full_batch(**params):
    settings = {"hidden_layer_sizes": (8,), "max_iter": 30, "learning_rate_init": 0.02, "random_state": 0,
                "batch_size": None, "dtype": "float64"}  # fmt: skip
    return LayerwiseClassifier(**{**settings, **params})


def test_integer_sample_weights_are_repeated_examples_in_full_batch(blobs3):
    X, y = blobs3
    labels = np.array(["a", "b", "c"])[y]
    w = np.random.default_rng(1).integers(0, 4, 150)
    weighted = full_batch().fit(X, labels, sample_weight=w)
    repeated = full_batch().fit(np.repeat(X, w, axis=0), np.repeat(labels, w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-6, atol=1e-9)
    assert weighted.loss_curve_ == pytest.approx(repeated.loss_curve_, rel=1e-9)
    # a number is every example's weight; 1 trains exactly as no weights
    same = full_batch().fit(X, labels, sample_weight=1)
    assert np.array_equal(same.predict_proba(X), full_batch().fit(X, labels).predict_proba(X))


def test_class_weight_by_label_is_a_sample_weight_per_class(blobs3):
    X, y = blobs3
    labels = np.array(["a", "b", "c"])[y]
    by_class = small(class_weight={"a": 3.0, "c": 0.5}).fit(X, labels)
    by_example = small().fit(X, labels, sample_weight=np.array([3.0, 1.0, 0.5])[y])
    assert np.array_equal(by_class.predict_proba(X), by_example.predict_proba(X))
    # multiplied with the weights per example, as scikit-learn multiplies them
    w = np.linspace(0.2, 2.0, 150)
    both = small(class_weight={"a": 3.0}).fit(X, labels, sample_weight=w)
    product = small().fit(X, labels, sample_weight=w * np.array([3.0, 1.0, 1.0])[y])
    np.testing.assert_allclose(both.predict_proba(X), product.predict_proba(X), rtol=1e-6)


def test_balanced_class_weight_is_scikit_learns(blobs3):
    from sklearn.utils.class_weight import compute_class_weight

    X, y = blobs3
    keep = (y != 2) | (np.arange(150) % 5 == 0)  # class 2 made rare
    X, y = X[keep], y[keep] * 10  # labels 0, 10, 20
    w = np.random.default_rng(2).random(len(y)) + 0.5
    balanced = small(class_weight="balanced").fit(X, y, sample_weight=w)
    per_class = compute_class_weight("balanced", classes=np.unique(y), y=y, sample_weight=w)
    explicit = small().fit(X, y, sample_weight=w * per_class[np.searchsorted([0, 10, 20], y)])
    np.testing.assert_allclose(balanced.predict_proba(X), explicit.predict_proba(X), rtol=1e-6)


def test_class_weight_errors_are_one_line_value_errors(blobs3):
    X, y = blobs3
    with pytest.raises(
        ValueError, match=r"^class_weight names the label 7, which is not a class of y \(0, 1, 2\)$"
    ):
        small(class_weight={7: 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="^class_weight of label 1 must be a non-negative number, not -1$"):
        small(class_weight={1: -1}).fit(X, y)
    with pytest.raises(ValueError, match="^class_weight must be None, 'balanced' or a dict"):
        small(class_weight="equal").fit(X, y)
    with pytest.raises(ValueError, match="^class_weight 'balanced' needs the class counts of all the data"):
        small(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="weight"):
        small().fit(X, y, sample_weight=-np.ones(150))
    with pytest.raises(ValueError, match="class"):  # the examples of positive weight: one class
        small().fit(X, y, sample_weight=(y == 1).astype(float))
    assert "class_weight" not in LayerwiseRegressor().get_params()


def test_partial_fit_takes_weights_and_class_weight_dicts(blobs3):
    X, y = blobs3
    clf = small(class_weight={0: 2.0})
    for rows in np.array_split(np.arange(150), 3):
        clf.partial_fit(X[rows], y[rows], classes=[0, 1, 2], sample_weight=np.full(len(rows), 0.5))
    assert clf.n_iter_ == 3
    reg = LayerwiseRegressor((8,), random_state=0).partial_fit(X, X[:, 0], sample_weight=np.arange(150))
    assert reg.n_iter_ == 1


def test_early_stopping_scores_the_validation_set_with_its_weights(blobs3):
    X, y = blobs3
    w = np.where(y == 0, 5.0, 1.0)
    clf = small(early_stopping=True, max_iter=5, n_iter_no_change=10).fit(X, y, sample_weight=w)
    seed = clf._seed()
    _, X_val, _, y_val, _, w_val = train_test_split(X, y, w, test_size=0.1, random_state=seed, stratify=y)
    correct = clf.predict(X_val) == y_val
    assert clf.validation_scores_[-1] == pytest.approx(np.dot(w_val, correct) / w_val.sum())
    # a held-out part whose weights are all 0 has no score, and training goes on
    zero = small(early_stopping=True, max_iter=3).fit(
        X, y, sample_weight=np.where(np.arange(150) < 140, 1, 0)
    )
    assert zero.n_iter_ >= 1


def test_regressor_sample_weights_are_repeated_examples_in_full_batch(friedman):
    X, y = friedman
    w = np.random.default_rng(3).integers(0, 3, len(y))
    settings = {"hidden_layer_sizes": (8,), "max_iter": 20, "batch_size": None, "dtype": "float64",
                "random_state": 0}  # fmt: skip
    weighted = LayerwiseRegressor(**settings).fit(X, y, sample_weight=w)
    repeated = LayerwiseRegressor(**settings).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-6, atol=1e-9)


def test_class_weight_dicts_are_saved_and_loaded(blobs3, tmp_path):
    X, y = blobs3
    labels = np.array(["a", "b", "c"])[y]
    clf = small(class_weight={"b": 2.0}, max_iter=2).fit(X, labels)
    loaded = LayerwiseClassifier.load(clf.save(tmp_path / "clf.safetensors"))
    assert loaded.class_weight == {"b": 2.0} and loaded.get_params()["class_weight"] == {"b": 2.0}
    numbers = small(class_weight={np.int64(1): 2.0}, max_iter=2).fit(X, y)
    assert LayerwiseClassifier.load(numbers.save(tmp_path / "n.safetensors")).class_weight == {1: 2.0}
    assert LayerwiseClassifier.load(small(class_weight="balanced", max_iter=2).fit(X, y).save(
        tmp_path / "b.safetensors")).class_weight == "balanced"  # fmt: skip
