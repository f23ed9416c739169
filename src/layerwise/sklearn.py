"""LayerwiseClassifier: a scikit-learn estimator around a layerwise Network.

The parameters are MLPClassifier's where they mean the same thing (``alpha`` is the
tutorial's lambda: the loss gets alpha/(2N) sum ||W||^2 with N the batch size, as in both),
plus the project's ``output_activation``, ``dropout``, ``dtype`` and ``init``.
"""

from pathlib import Path
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from .errors import LayerwiseError
from .nn import EarlyStopping, History, fit
from .nn.config import DEFAULTS, TrainConfig
from .nn.model import Model


class LayerwiseClassifier(ClassifierMixin, BaseEstimator):
    """A fully connected network trained with softmax cross-entropy.

    Parameters as in ``sklearn.neural_network.MLPClassifier``: ``hidden_layer_sizes``,
    ``activation`` ("relu", "logistic"/"sigmoid", "tanh", "identity", "leaky_relu"),
    ``solver`` ("adam" or "sgd"), ``alpha``, ``batch_size`` ("auto" = min(200, n), None =
    the full batch),
    ``learning_rate_init``, ``max_iter`` (epochs), ``shuffle``, ``random_state``, ``tol``,
    ``warm_start``, ``momentum``, ``nesterovs_momentum``, ``early_stopping``,
    ``validation_fraction``, ``beta_1``, ``beta_2``, ``epsilon``, ``n_iter_no_change``.
    The project's own: ``output_activation`` (None = linear logits; "sigmoid" is the
    tutorial's head), ``dropout``, ``dtype`` ("float32" or "float64"), ``init``.
    The defaults are those of ``TrainConfig`` (as in `layerwise train`), not MLPClassifier's:
    hidden layers (256, 128), 20 epochs, batches of 128, ``alpha`` 0, the learning rate by
    solver (1e-3 for adam, 0.01 for sgd), no Nesterov momentum, patience 5.

    Fitted attributes: ``classes_``, ``n_features_in_``, ``network_`` (the Network),
    ``loss_curve_``, ``validation_scores_`` (with early stopping), ``n_iter_``.
    Probabilities are computed in float64, so they do not depend on how rows are batched.
    """

    def __init__(
        self,
        hidden_layer_sizes=DEFAULTS.hidden,
        activation=DEFAULTS.activation,
        *,
        solver=DEFAULTS.optimizer,
        alpha=DEFAULTS.l2,
        batch_size=DEFAULTS.batch_size,
        learning_rate_init=DEFAULTS.lr,
        max_iter=DEFAULTS.epochs,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        warm_start=False,
        momentum=DEFAULTS.momentum,
        nesterovs_momentum=DEFAULTS.nesterov,
        early_stopping=DEFAULTS.early_stopping,
        validation_fraction=DEFAULTS.validation,
        beta_1=DEFAULTS.beta1,
        beta_2=DEFAULTS.beta2,
        epsilon=DEFAULTS.eps,
        n_iter_no_change=DEFAULTS.patience,
        output_activation=DEFAULTS.output_activation,
        dropout=DEFAULTS.dropout,
        dtype=DEFAULTS.dtype,
        init=DEFAULTS.init,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.output_activation = output_activation
        self.dropout = dropout
        self.dtype = dtype
        self.init = init

    # --- training -------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Trains for up to ``max_iter`` epochs (from the current weights with warm_start)."""
        warm = self.warm_start and hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=not warm, dtype=(np.float64, np.float32))
        self._check_params()
        if warm:
            y_index = self._encode(y)
        else:
            self.classes_, y_index = _classes_and_index(y)
            self._start(X.shape[1])
        self._optimizer = self._make_optimizer()
        return self._train(X, y_index, self.max_iter, stopping=True)

    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None) -> Self:
        """One epoch over (X, y). The first call needs ``classes``, all labels to expect."""
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=first, dtype=(np.float64, np.float32))
        if first:
            self._check_params()
            if classes is None:
                raise ValueError("classes must be given at the first call to partial_fit")
            self.classes_, _ = _classes_and_index(np.asarray(classes))
            self._start(X.shape[1])
            self._optimizer = self._make_optimizer()
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes {np.unique(classes)} differ from those of the first call {self.classes_}"
            )
        return self._train(X, self._encode(y), 1, stopping=False)

    def _start(self, n_features):
        self.network_ = self._config().network(n_features, len(self.classes_))
        self.loss_curve_ = []
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = None
        self.n_iter_ = 0

    def _train(self, X, y, epochs, stopping):
        seed = self._seed()
        validation, callbacks = None, []
        if stopping and self.early_stopping:
            X, y, validation = _validation_split(X, y, self.validation_fraction, seed)
            monitor = "val_accuracy"
        else:
            monitor = "train_loss"
        if stopping:
            callbacks.append(
                EarlyStopping(
                    monitor, self.n_iter_no_change, self.tol, restore_best_weights=validation is not None
                )
            )
        batch_size = min(200, len(X)) if self.batch_size == "auto" else self.batch_size
        try:
            history = fit(
                self.network_,
                X,
                y,
                optimizer=self._optimizer,
                epochs=epochs,
                batch_size=batch_size,
                l2=self.alpha,
                validation_data=validation,
                seed=seed,
                shuffle=self.shuffle,
                callbacks=callbacks,
                start_epoch=self.n_iter_,
                history=History(),
                check_classes=stopping,  # one batch of partial_fit may hold a single class
            )
        except LayerwiseError as e:
            raise ValueError(str(e)) from None
        self._record(history)
        return self

    def _record(self, history):
        self.loss_curve_ = [*self.loss_curve_, *history.train_loss]
        self.n_iter_ += history.epochs
        if history.val_accuracy:
            self.validation_scores_ = [*(self.validation_scores_ or []), *history.val_accuracy]
            self.best_validation_score_ = max(self.validation_scores_)

    def _make_optimizer(self):
        return self._config().make_optimizer()

    def _config(self):
        """The TrainConfig of these parameters (which checks them)."""
        return TrainConfig(
            hidden=tuple(self._hidden_sizes()), activation=self.activation,
            output_activation=self.output_activation, init=self.init, dropout=self.dropout, dtype=self.dtype,
            optimizer=self.solver, lr=self.learning_rate_init, momentum=self.momentum,
            nesterov=self.nesterovs_momentum, beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon,
            l2=self.alpha, batch_size=None if self.batch_size == "auto" else self.batch_size,
            epochs=self.max_iter, early_stopping=self.early_stopping, patience=self.n_iter_no_change,
            validation=self.validation_fraction, seed=self._seed(),
        )  # fmt: skip

    def _seed(self):
        if isinstance(self.random_state, (int, np.integer)):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
        if not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        return [int(s) for s in sizes]

    def _check_params(self):
        if self.batch_size not in ("auto", None) and not (
            isinstance(self.batch_size, (int, np.integer)) and self.batch_size > 0
        ):
            raise ValueError(
                f"batch_size must be 'auto', None or a positive integer, got {self.batch_size!r}"
            )
        self._config()  # every other parameter is checked as a training setting

    def _encode(self, y):
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(f"y contains labels not seen before: {np.unique(y[unknown])[:5]}")
        return index

    # --- prediction -------------------------------------------------------------------

    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        net = self.network_ if self.network_.dtype == np.float64 else self.network_.astype("float64")
        return net.eval().forward(net.check_X(X)).copy()

    def predict_log_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        z = self._logits(X)
        z -= z.max(axis=1, keepdims=True)
        z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
        return z

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        index = self._logits(X).argmax(axis=1)
        return self.classes_[index]

    # --- models -----------------------------------------------------------------------

    def to_model(self) -> Model:
        """The fitted network with its labels and settings, as a layerwise Model."""
        check_is_fitted(self)
        params = {k: v for k, v in self.get_params().items() if k != "random_state"}
        params["hidden_layer_sizes"] = self._hidden_sizes()
        return Model(self.network_, classes=self.classes_, metadata={"estimator": params})

    def save(self, path: str | Path) -> Path:
        """Writes the fitted classifier as a layerwise model file (see ``lw.save``)."""
        from .io.model_file import save

        return save(self.to_model(), path)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """A fitted classifier from a model file written by ``save`` or ``lw.save``."""
        from .io.model_file import load

        model = load(path)
        params = model.metadata.get("estimator", {})
        known = cls().get_params()
        clf = cls(**{k: v for k, v in params.items() if k in known})
        if model.preprocessing is not None:
            raise LayerwiseError(f"{path} has preprocessing; load it with lw.load to apply it")
        clf.network_, clf.classes_ = model.network, model.classes
        clf.n_features_in_ = model.n_features
        clf.loss_curve_, clf.n_iter_ = [], 0
        clf.validation_scores_ = clf.best_validation_score_ = None
        clf._optimizer = clf._make_optimizer()
        return clf

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _classes_and_index(y):
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"Unknown label type: {kind}; LayerwiseClassifier needs class labels")
    classes, index = np.unique(y, return_inverse=True)
    return classes, index


def _validation_split(X, y, fraction, seed):
    """A validation set as MLPClassifier takes it: stratified when every class can be."""
    n_val = int(np.ceil(fraction * len(y)))
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 and n_val >= np.count_nonzero(counts) else None
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=fraction, random_state=seed, stratify=stratify
    )
    return X_train, y_train, (X_val, y_val)
