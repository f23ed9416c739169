import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import layerwise as lw
import layerwise.sklearn
from layerwise.nn.config import DEFAULTS, resolve_batch_size
from layerwise.sklearn import LayerwiseClassifier

CHECK_SCRIPT = """
import json, sys
from sklearn.utils.estimator_checks import check_estimator
from layerwise.sklearn import LayerwiseClassifier
results = check_estimator(LayerwiseClassifier(**json.loads(sys.argv[1])), on_fail=None)
print(json.dumps([[r["check_name"], r["status"], str(r["exception"])[:500]] for r in results]))
"""


@pytest.mark.parametrize(
    "params",
    [
        {},  # the defaults: hidden layers and batch size "auto"
        {"hidden_layer_sizes": [16], "max_iter": 30, "learning_rate_init": 0.02, "random_state": 0},
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
    ],
)
@pytest.mark.slow
def test_scikit_learn_check_estimator_passes_every_check(params):
    # In a fresh process with SCIPY_ARRAY_API=1, which scikit-learn's array API check needs
    # (it reads the setting when SciPy is first imported); no check is skipped.
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CHECK_SCRIPT, json.dumps(params)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    results = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(results) > 50
    not_passed = [r for r in results if r[1] != "passed"]
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
