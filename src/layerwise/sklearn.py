"""LayerwiseClassifier and LayerwiseRegressor: scikit-learn estimators around a layerwise
Network.

The parameters are MLPClassifier's and MLPRegressor's where they mean the same thing
(``alpha`` is the tutorial's lambda: the loss gets alpha/(2N) sum ||W||^2 with N the batch
size, as in both), plus the project's ``dropout``, ``dtype`` and ``init`` (and the
classifier's ``output_activation`` and ``class_weight``). ``fit`` takes ``sample_weight``
as MLPClassifier's and MLPRegressor's do. The two estimators share one base class: the
parameters and their checks, the training loop, prediction in float64 and model files.
"""

import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin, RegressorMixin
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .errors import LayerwiseError
from .nn import EarlyStopping, History, MeanSquaredError, Network, fit
from .nn.config import AUTO, DEFAULTS, TrainConfig
from .nn.model import Model
from .nn.training import BALANCED, class_weights


class _LayerwiseEstimator(BaseEstimator, ABC):
    """What LayerwiseClassifier and LayerwiseRegressor share: the parameters and their
    checks, the network's settings, the training loop (early stopping on the validation
    score included), prediction in float64 and model files. The subclasses say what the
    targets are, which network they train and how a validation set is scored."""

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
        verbose=0,
        warm_start=False,
        momentum=DEFAULTS.momentum,
        nesterovs_momentum=DEFAULTS.nesterov,
        early_stopping=DEFAULTS.early_stopping,
        validation_fraction=DEFAULTS.validation,
        beta_1=DEFAULTS.beta1,
        beta_2=DEFAULTS.beta2,
        epsilon=DEFAULTS.eps,
        n_iter_no_change=DEFAULTS.patience,
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
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.dtype = dtype
        self.init = init

    # --- what the subclasses define ---------------------------------------------------

    @abstractmethod
    def _targets(self, y: NDArray[Any], first: bool) -> NDArray[Any]:
        """y as the network trains on it; ``first``: the first training, which sets what the
        targets are (the classes, the number of outputs)."""

    @abstractmethod
    def _network(self, n_features: int) -> Network:
        """A new network for inputs of ``n_features`` and the targets of ``_targets``."""

    @abstractmethod
    def _validation_score(
        self, y: NDArray[Any], outputs: NDArray[Any], sample_weight: NDArray[Any] | None = None
    ) -> float:
        """The score of the network's outputs on a validation set (higher is better),
        weighted by ``sample_weight`` when given (NaN when its weights are all 0)."""

    @abstractmethod
    def _model_parts(self) -> tuple[NDArray[Any] | None, dict[str, Any]]:
        """The class labels (None for a regression) and metadata a model file keeps."""

    @abstractmethod
    def _restore(self, model: Model, path: str | Path) -> None:
        """Set the fitted attributes that ``_targets`` sets, from a model file's Model."""

    def _sample_weight(self, X, targets, sample_weight, partial):
        """The weight of each example for ``fit`` (None: all 1): ``sample_weight`` checked
        as scikit-learn checks it (a number, or one weight per example, non-negative and
        not all zero), times the classifier's class weights; ``partial``: for one batch
        of ``partial_fit``."""
        if sample_weight is None:
            return None
        return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)

    _stratify = False  # whether the early-stopping split keeps each class's share
    _y_options: dict[str, Any] = {}  # validate_data's options for y

    # --- training -----------------------------------------------------------------------

    def _fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        warm = self.warm_start and hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=not warm, dtype=(np.float64, np.float32), **self._y_options)
        self._check_params()
        targets = self._targets(y, first=not warm)
        weights = self._sample_weight(X, targets, sample_weight, partial=False)
        if not warm:
            self._start(X.shape[1])
        self._optimizer = self._make_optimizer()
        return self._train(X, targets, self.max_iter, stopping=True, sample_weight=weights)

    def _start(self, n_features):
        self.network_ = self._network(n_features)
        self.loss_curve_ = []
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = None
        self.n_iter_ = 0

    def _train(self, X, y, epochs, stopping, sample_weight=None):
        seed = self._seed()
        validation, callbacks = None, []
        if stopping and self.early_stopping:
            X, y, sample_weight, validation = _validation_split(
                X, y, self.validation_fraction, seed, self._stratify, sample_weight
            )
            callbacks.append(
                _ValidationScore(*validation, self._validation_score, self.n_iter_no_change, self.tol)
            )
        elif stopping:
            callbacks.append(
                EarlyStopping("train_loss", self.n_iter_no_change, self.tol, restore_best_weights=False)
            )
        try:
            history = fit(
                self.network_,
                X,
                y,
                optimizer=self._optimizer,
                epochs=epochs,
                batch_size=self.batch_size,  # "auto": resolved by fit from len(X)
                l2=self.alpha,
                validation_data=_scored(validation),
                seed=seed,
                shuffle=self.shuffle,
                callbacks=callbacks,
                start_epoch=self.n_iter_,
                history=History(),
                check_classes=stopping,  # one batch of partial_fit may hold a single class
                verbose=self.verbose,
                sample_weight=sample_weight,
            )
        except LayerwiseError as e:
            raise ValueError(str(e)) from None
        self.loss_curve_ = [*self.loss_curve_, *history.train_loss]
        self.n_iter_ += history.epochs
        if validation is not None:
            self.validation_scores_ = [*(self.validation_scores_ or []), *callbacks[0].scores]
            self.best_validation_score_ = max(self.validation_scores_, key=_nan_lowest)
        return self

    def _make_optimizer(self):
        return self._config().make_optimizer()

    def _output_activation(self) -> str | None:
        return None  # the classifier's is a parameter

    def _config(self):
        """The TrainConfig of these parameters (which checks them)."""
        return TrainConfig(
            hidden=self._hidden(), activation=self.activation,
            output_activation=self._output_activation(), init=self.init, dropout=self.dropout,
            dtype=self.dtype, optimizer=self.solver, lr=self.learning_rate_init, momentum=self.momentum,
            nesterov=self.nesterovs_momentum, beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon,
            l2=self.alpha, batch_size=self.batch_size,
            epochs=self.max_iter, early_stopping=self.early_stopping, patience=self.n_iter_no_change,
            validation=self.validation_fraction, seed=self._seed(),
        )  # fmt: skip

    def _seed(self):
        if isinstance(self.random_state, (int, np.integer)):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _hidden(self):
        """``hidden_layer_sizes`` as the ``hidden`` setting: "auto", or a tuple of ints."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, str) and sizes == AUTO:
            return AUTO
        if isinstance(sizes, str):
            raise ValueError(f"hidden_layer_sizes must be positive integers or 'auto', got {sizes!r}")
        sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
        if not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        return tuple(int(s) for s in sizes)

    def _check_params(self):
        if not (isinstance(self.verbose, bool) or self.verbose in (0, 1, 2)):
            raise ValueError(f"verbose must be 0, 1, 2 or a bool, got {self.verbose!r}")
        if self.batch_size not in ("auto", None) and not (
            isinstance(self.batch_size, (int, np.integer)) and self.batch_size > 0
        ):
            raise ValueError(
                f"batch_size must be 'auto', None or a positive integer, got {self.batch_size!r}"
            )
        self._config()  # every other parameter is checked as a training setting

    # --- prediction -------------------------------------------------------------------

    def _outputs(self, X):
        """The network's outputs for X, computed in float64 (so that they do not depend on
        how the rows are batched), in inference mode."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        net = self.network_ if self.network_.dtype == np.float64 else self.network_.astype("float64")
        return net.eval().forward(net.check_X(X)).copy()

    # --- models -----------------------------------------------------------------------

    def to_model(self) -> Model:
        """Return the fitted network with its settings (and labels), as a layerwise Model.

        The Model shares the estimator's Network. Its metadata holds the constructor's
        parameters (all but ``random_state``) under "estimator", which ``load`` reads back.

        Returns
        -------
        Model
            The network, no preprocessing; a classifier's ``classes_`` as its labels, a
            regressor's network without labels.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseClassifier, LayerwiseRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> y = np.where(X[:, 0] > 0.5, "high", "low")
        >>> clf = LayerwiseClassifier((8,), max_iter=3, random_state=0).fit(X, y)
        >>> model = clf.to_model()
        >>> model.classes.tolist(), model.metadata["estimator"]["hidden_layer_sizes"]
        (['high', 'low'], [8])
        >>> bool(np.array_equal(model.predict(X), clf.predict(X)))
        True
        >>> reg = LayerwiseRegressor((8,), max_iter=3, random_state=0).fit(X, X[:, 0] - X[:, 1])
        >>> model = reg.to_model()
        >>> model.classes is None, model.predict(X).shape  # the network's outputs
        (True, (60, 1))
        """
        check_is_fitted(self)
        params = {k: v for k, v in self.get_params().items() if k != "random_state"}
        if isinstance(params.get("class_weight"), dict):  # JSON keys are text: [label, weight] pairs
            params["class_weight"] = [[_plain(k), _plain(v)] for k, v in params["class_weight"].items()]
        hidden = self._hidden()
        params["hidden_layer_sizes"] = hidden if hidden == AUTO else list(hidden)
        classes, metadata = self._model_parts()
        return Model(self.network_, classes=classes, metadata={"estimator": params, **metadata})

    def save(self, path: str | Path) -> Path:
        """Write the fitted estimator as a layerwise model file (see ``lw.save``).

        The file holds ``to_model()``: the network, the labels of a classifier and the
        constructor's parameters; the estimator's ``load`` and ``lw.load`` read it.

        Parameters
        ----------
        path : str or Path
            The file to write (exactly this name, atomically); its folder must exist.

        Returns
        -------
        Path
            ``path``, as a Path.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        LayerwiseError
            If the file cannot be written, or a label is neither a string nor a number.

        Examples
        --------
        >>> import os
        >>> import tempfile
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> y = (X[:, 0] > 0.5).astype(int)
        >>> clf = LayerwiseClassifier((8,), max_iter=3, random_state=0).fit(X, y)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = clf.save(os.path.join(folder, "clf.safetensors"))
        ...     model = lw.load(path)
        >>> path.name, model.network.sizes
        ('clf.safetensors', [4, 8, 2])
        """
        from .io.model_file import save

        return save(self.to_model(), path)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Return a fitted estimator from a model file written by ``save`` or ``lw.save``.

        The constructor's parameters are those saved with the model (``random_state`` is
        not saved; a file that ``lw.save`` wrote from a Network has none, and gets the
        defaults). The training history is not saved: ``loss_curve_`` is empty,
        ``n_iter_`` 0, and ``validation_scores_`` and ``best_validation_score_`` are None.

        Parameters
        ----------
        path : str or Path
            A model file, or a run directory holding one.

        Returns
        -------
        LayerwiseClassifier or LayerwiseRegressor
            The estimator, of the class ``load`` is called on, fitted: it predicts as the
            saved network does.

        Raises
        ------
        LayerwiseError
            If the file cannot be read or is not a valid model file, holds the other kind
            of network (a regression's for ``LayerwiseClassifier.load``, a classifier's for
            ``LayerwiseRegressor.load``), or has preprocessing (load it with ``lw.load``
            to apply it).

        Examples
        --------
        >>> import os
        >>> import tempfile
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> y = (X[:, 0] > 0.5).astype(int)
        >>> clf = LayerwiseClassifier((8,), max_iter=3, random_state=0).fit(X, y)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = clf.save(os.path.join(folder, "clf.safetensors"))
        ...     loaded = LayerwiseClassifier.load(path)
        >>> loaded.max_iter, loaded.n_iter_, loaded.loss_curve_
        (3, 0, [])
        >>> bool(np.array_equal(loaded.predict(X), clf.predict(X)))
        True
        """
        from .io.model_file import load

        model = load(path)
        params = model.metadata.get("estimator", {})
        known = cls().get_params()
        if isinstance(params.get("class_weight"), list):
            params = {**params, "class_weight": {label: weight for label, weight in params["class_weight"]}}
        estimator = cls(**{k: v for k, v in params.items() if k in known})
        if model.preprocessing is not None:
            raise LayerwiseError(f"{path} has preprocessing; load it with lw.load to apply it")
        estimator._restore(model, path)
        estimator.network_ = model.network
        estimator.n_features_in_ = model.n_features
        estimator.loss_curve_, estimator.n_iter_ = [], 0
        estimator.validation_scores_ = estimator.best_validation_score_ = None
        estimator._optimizer = estimator._make_optimizer()
        return estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class LayerwiseClassifier(ClassifierMixin, _LayerwiseEstimator):
    """A fully connected network trained with softmax cross-entropy.

    A scikit-learn classifier around a layerwise Network. The parameters are those of
    ``sklearn.neural_network.MLPClassifier`` where they mean the same thing, plus the
    project's own ``output_activation``, ``dropout``, ``dtype`` and ``init``. The defaults
    are those of ``TrainConfig`` (as in `layerwise train`), not MLPClassifier's: hidden
    layers and batch size "auto" (sized from the data by the project's rules, below), 20
    epochs, ``alpha`` 0, the learning rate by solver (1e-3 for adam, 0.01 for sgd), no
    Nesterov momentum, patience 5. The parameters are checked when training starts, as
    training settings.

    Parameters
    ----------
    hidden_layer_sizes : int, sequence of int or "auto", default "auto"
        The size of each hidden layer, in order (an int: one hidden layer), as
        MLPClassifier's ``hidden_layer_sizes``; "auto" (not MLPClassifier's) sizes them
        from the data at ``fit``: (W, W/2), W twice the larger of the features and the
        classes rounded up to a power of two, from 64 to 256 (``resolve_hidden`` in
        ``layerwise.nn.config``). Default: ``TrainConfig.hidden``.
    activation : str, default "relu"
        The activation after every hidden layer: "relu", "logistic"/"sigmoid", "tanh",
        "identity" or "leaky_relu", as MLPClassifier's ``activation`` (plus
        "leaky_relu"). Default: ``TrainConfig.activation``.
    solver : {"adam", "sgd"}, default "adam"
        The optimizer, as MLPClassifier's ``solver`` (without "lbfgs"). Default:
        ``TrainConfig.optimizer``.
    alpha : float, default 0.0
        The L2 penalty, as MLPClassifier's ``alpha``: the tutorial's lambda, the loss gets
        alpha/(2N) sum ||W||^2 with N the batch size, as in both. Default:
        ``TrainConfig.l2``.
    batch_size : int, "auto" or None, default "auto"
        Examples per step, as MLPClassifier's ``batch_size``; None = the full batch.
        "auto" is the project's rule, as in ``layerwise.fit`` and `layerwise train`, not
        MLPClassifier's min(200, n): n/16 rounded up, between 8 and 128 (the full batch for
        up to 8 examples), n being the examples of the call to ``fit`` (after the
        ``early_stopping`` split) or ``partial_fit``; MLPClassifier's 200 epochs suit
        larger batches, the default 20 epochs need several steps each (see
        ``resolve_batch_size`` in ``layerwise.nn.config``). Default:
        ``TrainConfig.batch_size``.
    learning_rate_init : float or None, default None
        The learning rate, as MLPClassifier's ``learning_rate_init``; None: by solver,
        1e-3 for adam and 0.01 for sgd. Default: ``TrainConfig.lr``.
    max_iter : int, default 20
        The most epochs ``fit`` runs, as MLPClassifier's ``max_iter``. Default:
        ``TrainConfig.epochs``.
    shuffle : bool, default True
        Shuffle the training examples at each epoch, as MLPClassifier's ``shuffle`` (and
        with its default).
    random_state : int, RandomState instance or None, default None
        The seed of the initial weights, the shuffles, dropout and the validation split,
        as MLPClassifier's ``random_state`` (and with its default): an int makes training
        reproducible; otherwise a seed is drawn from the RandomState (None: NumPy's global
        one).
    tol : float, default 1e-4
        The least improvement that counts, as MLPClassifier's ``tol`` (and with its
        default): ``fit`` stops when the training loss (with ``early_stopping``, the
        validation accuracy) has not improved by more than ``tol`` for
        ``n_iter_no_change`` epochs.
    verbose : int or bool, default 0
        Progress while training, as MLPClassifier's ``verbose`` (and with its default),
        passed to ``layerwise.fit``: 0 (or False) shows nothing, 1 (or True) a progress
        bar per epoch (text in a terminal, a widget in Jupyter; tqdm must be installed), 2
        the bar and one line per epoch with its losses, accuracies and seconds.
    warm_start : bool, default False
        ``fit`` goes on from the current weights (and classes) instead of starting anew,
        as MLPClassifier's ``warm_start`` (and with its default); the optimizer starts
        anew at each call of ``fit``.
    momentum : float, default 0.9
        SGD's momentum, as MLPClassifier's ``momentum``. Default: ``TrainConfig.momentum``.
    nesterovs_momentum : bool, default False
        Nesterov momentum for SGD, as MLPClassifier's ``nesterovs_momentum``. Default:
        ``TrainConfig.nesterov``.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training examples (stratified when every
        class can be) and stop when the validation accuracy has not improved by more than
        ``tol`` for ``n_iter_no_change`` epochs; the network ends with the weights of its
        best epoch. As MLPClassifier's ``early_stopping``. Default:
        ``TrainConfig.early_stopping``.
    validation_fraction : float, default 0.1
        The share of the training examples held out with ``early_stopping``, as
        MLPClassifier's ``validation_fraction``. Default: ``TrainConfig.validation``.
    beta_1 : float, default 0.9
        Adam's first-moment decay, as MLPClassifier's ``beta_1``. Default:
        ``TrainConfig.beta1``.
    beta_2 : float, default 0.999
        Adam's second-moment decay, as MLPClassifier's ``beta_2``. Default:
        ``TrainConfig.beta2``.
    epsilon : float, default 1e-8
        Adam's epsilon, as MLPClassifier's ``epsilon``. Default: ``TrainConfig.eps``.
    n_iter_no_change : int, default 5
        The patience: epochs without improvement (see ``tol``) before ``fit`` stops, as
        MLPClassifier's ``n_iter_no_change``. Default: ``TrainConfig.patience``.
    output_activation : str or None, default None
        The project's own: the activation after the last linear layer, before the
        softmax; None = linear logits ("sigmoid" is the tutorial's head). No
        MLPClassifier parameter. Default: ``TrainConfig.output_activation``.
    dropout : float, default 0.0
        The project's own: the dropout rate after each hidden activation, in [0, 1). No
        MLPClassifier parameter. Default: ``TrainConfig.dropout``.
    dtype : {"float32", "float64"}, default "float32"
        The project's own: the network's dtype. No MLPClassifier parameter. Default:
        ``TrainConfig.dtype``.
    init : str or None, default None
        The project's own: the weight initialisation, "glorot_uniform", "he_uniform" or
        "he_normal"; None = he_uniform for ReLU-like activations, else glorot_uniform. No
        MLPClassifier parameter. Default: ``TrainConfig.init``.
    class_weight : dict, "balanced" or None, default None
        The weight of each class in the training loss, as in scikit-learn's linear
        classifiers (MLPClassifier has none): a dict of label (as in y): weight, the
        labels it does not name weighing 1 (a label that y does not hold is an error);
        "balanced": n_samples / (n_classes * np.bincount(y)), counted with
        ``sample_weight`` when it is given, as ``compute_class_weight`` computes it; None:
        every class 1. Each example's weight is its ``sample_weight`` times its class's.
        Default: ``TrainConfig.class_weight``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted; output i of the network is ``classes_[i]``.
    n_features_in_ : int
        The number of features seen in training.
    network_ : Network
        The Network.
    loss_curve_ : list of float
        The training loss of each epoch since the network was made.
    validation_scores_ : list of float or None
        The validation accuracy of each epoch, with early stopping; None without.
    best_validation_score_ : float or None
        The best of ``validation_scores_``; None without early stopping.
    n_iter_ : int
        The epochs run since the network was made.

    See Also
    --------
    LayerwiseRegressor : The same networks for regression, with the squared error.
    layerwise.fit : Train a Network.

    Notes
    -----
    Probabilities are computed in float64, so they do not depend on how rows are batched.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.sklearn import LayerwiseClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((60, 4))
    >>> y = np.where(X[:, 0] > 0.5, "high", "low")
    >>> clf = LayerwiseClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    >>> clf.fit(X, y).classes_.tolist()
    ['high', 'low']
    >>> clf.network_.sizes, clf.n_features_in_, clf.n_iter_, len(clf.loss_curve_)
    ([4, 8, 2], 4, 5, 5)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)

    The default hidden layers and batch size are sized from the data:

    >>> clf = LayerwiseClassifier(max_iter=2, random_state=0).fit(X, y)
    >>> clf.get_params()["hidden_layer_sizes"], clf.network_.sizes
    ('auto', [4, 64, 32, 2])

    Classes of unequal sizes weigh the same with ``class_weight="balanced"``:

    >>> y_rare = np.where(X[:, 0] > 0.8, "rare", "common")
    >>> clf_rare = LayerwiseClassifier((8,), max_iter=5, class_weight="balanced", random_state=0)
    >>> clf_rare.fit(X, y_rare).classes_.tolist()
    ['common', 'rare']

    In a scikit-learn pipeline:

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> pipeline = make_pipeline(StandardScaler(), clf).fit(X, y)
    >>> pipeline.predict(X[:3]).shape
    (3,)
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
        verbose=0,
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
        class_weight=DEFAULTS.class_weight,
    ):
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            dropout=dropout,
            dtype=dtype,
            init=init,
        )
        self.output_activation = output_activation
        self.class_weight = class_weight

    _stratify = True

    # --- training -------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train for up to ``max_iter`` epochs (from the current weights with warm_start).

        Training stops before ``max_iter`` epochs when the training loss (with
        ``early_stopping``, the validation accuracy) has not improved by more than ``tol``
        for ``n_iter_no_change`` epochs. Without ``warm_start``, or at the first call, a
        new network is made from ``random_state``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Training examples, one per row.
        y : array_like of shape (n_samples,)
            Their class labels (two classes or more); with ``warm_start``, after the first
            call, only labels of ``classes_``.
        sample_weight : array_like of shape (n_samples,), float or None, default None
            A weight per example (a number: the same for all), non-negative and not all
            zero, multiplied by the weight ``class_weight`` gives its class. As in
            ``layerwise.fit``, the loss is the weighted mean of the examples' losses and
            the ``alpha`` term's N the sum of the weights (as MLPClassifier takes them);
            a mini-batch's step weighs its share of that sum. With ``early_stopping`` the
            held-out examples keep their weights, which weight the validation accuracy.
            None: every example 1.

        Returns
        -------
        LayerwiseClassifier
            The classifier itself, fitted.

        Raises
        ------
        ValueError
            If a parameter is invalid (a LayerwiseError, which is a ValueError, naming the
            setting), X has NaN or infinite values or (with ``warm_start``) a different
            number of features, y is not class labels, holds a single class (among the
            examples of positive weight) or (with ``warm_start``) labels not seen before,
            ``class_weight`` names a label that y does not hold, the weights are invalid,
            or training diverged.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> y = (X[:, 0] > 0.5).astype(int)
        >>> clf = LayerwiseClassifier(8, max_iter=3, warm_start=True, random_state=0)
        >>> clf.fit(X, y).n_iter_
        3
        >>> clf.fit(X, y).n_iter_  # warm_start: 3 more epochs from the current weights
        6
        >>> weights = np.where(y == 1, 2.0, 1.0)  # the examples of class 1 count twice
        >>> clf.fit(X, y, sample_weight=weights).n_iter_
        9
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """Train one epoch over (X, y).

        The first call needs ``classes``, all labels to expect, and makes the network from
        ``random_state``; later calls go on from the current weights. There is no early
        stopping, and a batch may hold a single class.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Training examples, one per row.
        y : array_like of shape (n_samples,)
            Their class labels, all of them in ``classes``.
        classes : array_like of shape (n_classes,), optional
            All labels to expect: needed at the first call; at later calls, if given, they
            must be those of the first call.
        sample_weight : array_like of shape (n_samples,), float or None, default None
            A weight per example, as for ``fit``, times the weights of a ``class_weight``
            dict ("balanced" needs every batch's classes: it is refused here, as
            scikit-learn's SGDClassifier refuses it).

        Returns
        -------
        LayerwiseClassifier
            The classifier itself, fitted.

        Raises
        ------
        ValueError
            If ``classes`` is missing at the first call or differs from the first call's,
            y holds labels not seen before, a parameter is invalid, X has NaN or infinite
            values or a different number of features than at the first call, the weights
            are invalid, ``class_weight`` is "balanced", or training diverged.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> y = (X[:, 0] > 0.5).astype(int)
        >>> clf = LayerwiseClassifier(hidden_layer_sizes=(8,), random_state=0)
        >>> for batch in range(3):
        ...     rows = slice(20 * batch, 20 * batch + 20)
        ...     clf = clf.partial_fit(X[rows], y[rows], classes=[0, 1])
        >>> clf.n_iter_, clf.classes_.tolist()
        (3, [0, 1])
        """
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
        targets = self._encode(y)
        weights = self._sample_weight(X, targets, sample_weight, partial=True)
        return self._train(X, targets, 1, stopping=False, sample_weight=weights)

    def _sample_weight(self, X, targets, sample_weight, partial):
        weights = super()._sample_weight(X, targets, sample_weight, partial)
        class_weight = self.class_weight
        if class_weight is None:
            return weights
        if isinstance(class_weight, str) and class_weight == BALANCED:
            if partial:
                raise ValueError(
                    "class_weight 'balanced' needs the class counts of all the data, which partial_fit "
                    "does not see: compute them with sklearn.utils.class_weight.compute_class_weight and "
                    "pass class_weight as a dict"
                )
            per_class = class_weights(BALANCED, targets, len(self.classes_), weights)
        elif isinstance(class_weight, dict):
            per_class = class_weights(self._class_weight_by_index(class_weight), targets, len(self.classes_))
        else:
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict of label: weight, not {class_weight!r}"
            )
        return per_class[targets] if weights is None else weights * per_class[targets]

    def _class_weight_by_index(self, class_weight):
        """A dict of label: weight as a dict of class index: weight, each checked."""
        labels = self.classes_.tolist()
        by_index = {}
        for label, weight in class_weight.items():
            if label not in labels:
                known = ", ".join(map(repr, labels))
                raise ValueError(
                    f"class_weight names the label {label!r}, which is not a class of y ({known})"
                )
            if (
                isinstance(weight, bool)
                or not isinstance(weight, (int, float, np.number))
                or not (np.isfinite(weight) and weight >= 0)
            ):
                raise ValueError(
                    f"class_weight of label {label!r} must be a non-negative number, not {weight!r}"
                )
            by_index[labels.index(label)] = float(weight)
        return by_index

    def _targets(self, y, first):
        if not first:
            return self._encode(y)
        self.classes_, y_index = _classes_and_index(y)
        return y_index

    def _encode(self, y):
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(f"y contains labels not seen before: {np.unique(y[unknown])[:5]}")
        return index

    # --- prediction -------------------------------------------------------------------

    def _network(self, n_features):
        return self._config().network(n_features, len(self.classes_))

    def _output_activation(self):
        return self.output_activation

    def _validation_score(self, y, outputs, sample_weight=None):
        return _weighted_mean(outputs.argmax(axis=1) == y, sample_weight)  # the accuracy

    # --- prediction -------------------------------------------------------------------

    def predict_log_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Return the log of each class's probability for each row of X.

        Computed in float64, so that the values do not depend on how rows are batched.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The examples, one per row.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Log-probabilities, float64; column i is the class ``classes_[i]``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the classifier is not fitted.
        ValueError
            If X has NaN or infinite values or not ``n_features_in_`` features.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> y = (X[:, 0] > 0.5).astype(int)
        >>> clf = LayerwiseClassifier((8,), max_iter=3, random_state=0).fit(X, y)
        >>> log_p = clf.predict_log_proba(X[:3])
        >>> log_p.shape, log_p.dtype
        ((3, 2), dtype('float64'))
        >>> bool(np.allclose(np.exp(log_p), clf.predict_proba(X[:3])))
        True
        """
        z = self._outputs(X)
        z -= z.max(axis=1, keepdims=True)
        z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
        return z

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Return each class's probability for each row of X.

        Computed in float64, so that the values do not depend on how rows are batched.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The examples, one per row.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities, float64, each row summing to 1; column i is the class
            ``classes_[i]``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the classifier is not fitted.
        ValueError
            If X has NaN or infinite values or not ``n_features_in_`` features.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> y = (X[:, 0] > 0.5).astype(int)
        >>> clf = LayerwiseClassifier((8,), max_iter=3, random_state=0).fit(X, y)
        >>> p = clf.predict_proba(X[:3])
        >>> p.shape, p.sum(axis=1).round(6).tolist()
        ((3, 2), [1.0, 1.0, 1.0])
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Return the most probable class label of each row of X.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The examples, one per row.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the classifier is not fitted.
        ValueError
            If X has NaN or infinite values or not ``n_features_in_`` features.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> y = np.where(X[:, 0] > 0.5, "high", "low")
        >>> clf = LayerwiseClassifier((8,), max_iter=3, random_state=0).fit(X, y)
        >>> labels = clf.predict(X[:3])
        >>> labels.shape, set(labels) <= {"high", "low"}
        ((3,), True)
        """
        index = self._outputs(X).argmax(axis=1)
        return self.classes_[index]

    # --- models -----------------------------------------------------------------------

    # --- models -----------------------------------------------------------------------

    def _model_parts(self):
        return self.classes_, {}

    def _restore(self, model, path):
        if model.classes is None:
            raise LayerwiseError(f"{path} holds a regression network; load it with LayerwiseRegressor.load")
        self.classes_ = model.classes


class LayerwiseRegressor(MultiOutputMixin, RegressorMixin, _LayerwiseEstimator):
    """A fully connected network trained with the mean squared error.

    A scikit-learn regressor around a layerwise Network whose loss is MeanSquaredError:
    the counterpart of ``LayerwiseClassifier``, with the same parameters but
    ``output_activation`` (the last linear layer's outputs are the predictions, as in
    ``sklearn.neural_network.MLPRegressor``) and ``class_weight`` (``fit`` takes
    ``sample_weight``). The parameters are MLPRegressor's where they
    mean the same thing, plus the project's ``dropout``, ``dtype`` and ``init``; the
    defaults are those of ``TrainConfig`` (as in `layerwise train`), as for the classifier.
    The targets are one number per example (y of shape (n_samples,)) or several (y of
    shape (n_samples, n_outputs)); ``predict`` returns them in the same shape. ``score``
    is R^2, and the validation score of ``early_stopping`` too, as MLPRegressor's.

    The loss is 1/(N K) sum (prediction - y)^2 over the N examples and K outputs of a
    batch (PyTorch's ``MSELoss``), plus alpha/(2N) sum ||W||^2; MLPRegressor's is half of
    it. Targets far from zero or of large spread are learnt faster once standardised (as
    for MLPRegressor, ``TransformedTargetRegressor`` with a ``StandardScaler`` does it).

    Parameters
    ----------
    hidden_layer_sizes : int, sequence of int or "auto", default "auto"
        The size of each hidden layer, in order (an int: one hidden layer); "auto" sizes
        them from the features and the outputs at ``fit``, as for LayerwiseClassifier.
        Default: ``TrainConfig.hidden``.
    activation : str, default "relu"
        The activation after every hidden layer: "relu", "logistic"/"sigmoid", "tanh",
        "identity" or "leaky_relu". Default: ``TrainConfig.activation``.
    solver : {"adam", "sgd"}, default "adam"
        The optimizer. Default: ``TrainConfig.optimizer``.
    alpha : float, default 0.0
        The L2 penalty: the loss gets alpha/(2N) sum ||W||^2 with N the batch size.
        Default: ``TrainConfig.l2``.
    batch_size : int, "auto" or None, default "auto"
        Examples per step; None = the full batch; "auto" is the project's rule (see
        LayerwiseClassifier). Default: ``TrainConfig.batch_size``.
    learning_rate_init : float or None, default None
        The learning rate; None: by solver, 1e-3 for adam and 0.01 for sgd. Default:
        ``TrainConfig.lr``.
    max_iter : int, default 20
        The most epochs ``fit`` runs. Default: ``TrainConfig.epochs``.
    shuffle : bool, default True
        Shuffle the training examples at each epoch.
    random_state : int, RandomState instance or None, default None
        The seed of the initial weights, the shuffles, dropout and the validation split:
        an int makes training reproducible.
    tol : float, default 1e-4
        The least improvement that counts: ``fit`` stops when the training loss (with
        ``early_stopping``, the validation R^2) has not improved by more than ``tol`` for
        ``n_iter_no_change`` epochs.
    verbose : int or bool, default 0
        Progress while training: 0 (or False) nothing, 1 (or True) a progress bar per
        epoch, 2 the bar and one line per epoch with its losses and seconds.
    warm_start : bool, default False
        ``fit`` goes on from the current weights instead of starting anew; y must have
        as many outputs as before.
    momentum : float, default 0.9
        SGD's momentum. Default: ``TrainConfig.momentum``.
    nesterovs_momentum : bool, default False
        Nesterov momentum for SGD. Default: ``TrainConfig.nesterov``.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training examples and stop when their R^2
        has not improved by more than ``tol`` for ``n_iter_no_change`` epochs; the
        network ends with the weights of its best epoch. Default:
        ``TrainConfig.early_stopping``.
    validation_fraction : float, default 0.1
        The share of the training examples held out with ``early_stopping``. Default:
        ``TrainConfig.validation``.
    beta_1 : float, default 0.9
        Adam's first-moment decay. Default: ``TrainConfig.beta1``.
    beta_2 : float, default 0.999
        Adam's second-moment decay. Default: ``TrainConfig.beta2``.
    epsilon : float, default 1e-8
        Adam's epsilon. Default: ``TrainConfig.eps``.
    n_iter_no_change : int, default 5
        The patience: epochs without improvement (see ``tol``) before ``fit`` stops.
        Default: ``TrainConfig.patience``.
    dropout : float, default 0.0
        The project's own: the dropout rate after each hidden activation, in [0, 1).
        Default: ``TrainConfig.dropout``.
    dtype : {"float32", "float64"}, default "float32"
        The project's own: the network's dtype. Default: ``TrainConfig.dtype``.
    init : str or None, default None
        The project's own: the weight initialisation, "glorot_uniform", "he_uniform" or
        "he_normal"; None = he_uniform for ReLU-like activations, else glorot_uniform.
        Default: ``TrainConfig.init``.

    Attributes
    ----------
    n_outputs_ : int
        The number of targets per example (1 for a 1-D y).
    n_features_in_ : int
        The number of features seen in training.
    network_ : Network
        The Network, whose loss is MeanSquaredError.
    loss_curve_ : list of float
        The training loss of each epoch since the network was made.
    validation_scores_ : list of float or None
        The validation R^2 of each epoch, with early stopping; None without.
    best_validation_score_ : float or None
        The best of ``validation_scores_``; None without early stopping.
    n_iter_ : int
        The epochs run since the network was made.

    See Also
    --------
    LayerwiseClassifier : The same networks for classification.
    layerwise.MeanSquaredError : The loss.

    Notes
    -----
    Predictions are computed in float64, so they do not depend on how rows are batched.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.sklearn import LayerwiseRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X[:, 0] - 2 * X[:, 1] + 0.5 * X[:, 2] ** 2
    >>> reg = LayerwiseRegressor((32,), max_iter=60, learning_rate_init=0.01, random_state=0)
    >>> reg.fit(X, y).predict(X[:3]).shape
    (3,)
    >>> reg.network_.loss, reg.n_outputs_, reg.score(X, y) > 0.9
    (MeanSquaredError(), 1, True)

    Several targets per example:

    >>> Y = np.column_stack([y, X[:, 2]])
    >>> reg.fit(X, Y).predict(X[:3]).shape
    (3, 2)
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
        verbose=0,
        warm_start=False,
        momentum=DEFAULTS.momentum,
        nesterovs_momentum=DEFAULTS.nesterov,
        early_stopping=DEFAULTS.early_stopping,
        validation_fraction=DEFAULTS.validation,
        beta_1=DEFAULTS.beta1,
        beta_2=DEFAULTS.beta2,
        epsilon=DEFAULTS.eps,
        n_iter_no_change=DEFAULTS.patience,
        dropout=DEFAULTS.dropout,
        dtype=DEFAULTS.dtype,
        init=DEFAULTS.init,
    ):
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            dropout=dropout,
            dtype=dtype,
            init=init,
        )

    _y_options = {"multi_output": True, "y_numeric": True}

    # --- training -------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train for up to ``max_iter`` epochs (from the current weights with warm_start).

        Training stops before ``max_iter`` epochs when the training loss (with
        ``early_stopping``, the validation R^2) has not improved by more than ``tol`` for
        ``n_iter_no_change`` epochs. Without ``warm_start``, or at the first call, a new
        network is made from ``random_state``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Training examples, one per row.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            Their targets, numbers; with ``warm_start``, after the first call, as many
            per example as before.
        sample_weight : array_like of shape (n_samples,), float or None, default None
            A weight per example (a number: the same for all), non-negative and not all
            zero. As in ``layerwise.fit``, the loss is the weighted mean of the examples'
            losses and the ``alpha`` term's N the sum of the weights (as MLPRegressor
            takes them); a mini-batch's step weighs its share of that sum. With
            ``early_stopping`` the held-out examples keep their weights, which weight the
            validation R^2. None: every example 1.

        Returns
        -------
        LayerwiseRegressor
            The regressor itself, fitted.

        Raises
        ------
        ValueError
            If a parameter is invalid (a LayerwiseError, which is a ValueError, naming the
            setting), X or y has NaN or infinite values, y is not numeric, (with
            ``warm_start``) X has a different number of features or y of targets, the
            weights are invalid, or training diverged.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> reg = LayerwiseRegressor(8, max_iter=3, warm_start=True, random_state=0)
        >>> reg.fit(X, X.sum(axis=1)).n_iter_
        3
        >>> reg.fit(X, X.sum(axis=1)).n_iter_  # warm_start: 3 more epochs from the current weights
        6
        >>> reg.fit(X, X.sum(axis=1), sample_weight=X[:, 0]).n_iter_  # weighted by the first feature
        9
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train one epoch over (X, y).

        The first call makes the network from ``random_state``; later calls go on from the
        current weights, with as many targets per example. There is no early stopping.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Training examples, one per row.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            Their targets.
        sample_weight : array_like of shape (n_samples,), float or None, default None
            A weight per example, as for ``fit``.

        Returns
        -------
        LayerwiseRegressor
            The regressor itself, fitted.

        Raises
        ------
        ValueError
            If a parameter is invalid, X or y has NaN or infinite values, X has a
            different number of features or y of targets than at the first call, the
            weights are invalid, or training diverged.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> reg = LayerwiseRegressor(hidden_layer_sizes=(8,), random_state=0)
        >>> for batch in range(3):
        ...     rows = slice(20 * batch, 20 * batch + 20)
        ...     reg = reg.partial_fit(X[rows], X[rows].sum(axis=1))
        >>> reg.n_iter_, reg.n_outputs_
        (3, 1)
        """
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, reset=first, dtype=(np.float64, np.float32), **self._y_options)
        if first:
            self._check_params()
        targets = self._targets(y, first)
        weights = self._sample_weight(X, targets, sample_weight, partial=True)
        if first:
            self._start(X.shape[1])
            self._optimizer = self._make_optimizer()
        return self._train(X, targets, 1, stopping=False, sample_weight=weights)

    def _targets(self, y, first):
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if first:
            self.n_outputs_ = n_outputs
        elif n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} targets per example but the regressor was fitted with {self.n_outputs_}"
            )
        self._targets_1d = y.ndim == 1  # predict returns the shape of the last y
        return y

    def _network(self, n_features):
        net = self._config().network(n_features, self.n_outputs_)
        return Network(net.layers, loss=MeanSquaredError())

    def _validation_score(self, y, outputs, sample_weight=None):
        if sample_weight is not None and not np.sum(sample_weight) > 0:
            return np.nan  # no weight to score
        with warnings.catch_warnings():  # fewer than two examples: NaN, no improvement
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            return float(r2_score(y, outputs.reshape(y.shape), sample_weight=sample_weight))

    # --- prediction -------------------------------------------------------------------

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Return the predicted targets of each row of X.

        Computed in float64, so that the values do not depend on how rows are batched.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The examples, one per row.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predictions, float64, in the shape of the y of the last ``fit`` (1-D for
            a 1-D y).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the regressor is not fitted.
        ValueError
            If X has NaN or infinite values or not ``n_features_in_`` features.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> from layerwise.sklearn import LayerwiseRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((60, 4))
        >>> reg = LayerwiseRegressor((8,), max_iter=3, random_state=0)
        >>> reg.fit(X, X[:, :1]).predict(X[:5]).shape  # y of shape (60, 1)
        (5, 1)
        >>> reg.fit(X, X[:, 0]).predict(X[:5]).dtype
        dtype('float64')
        """
        outputs = self._outputs(X)
        return outputs.ravel() if self._targets_1d else outputs

    # --- models -----------------------------------------------------------------------

    def _model_parts(self):
        return None, {"targets": "1-D" if self._targets_1d else "2-D"}

    def _restore(self, model, path):
        if model.classes is not None:
            raise LayerwiseError(
                f"{path} holds a classifier's network; load it with LayerwiseClassifier.load"
            )
        self.n_outputs_ = model.network.n_outputs
        # as the regressor predicted; a file that lw.save wrote from a Network: 1-D for one output
        shape = model.metadata.get("targets", "1-D" if self.n_outputs_ == 1 else "2-D")
        self._targets_1d = shape == "1-D"


class _ValidationScore(EarlyStopping):
    """Early stopping on the estimator's score of a validation set (the accuracy, R^2), as
    MLPClassifier and MLPRegressor stop, and the score of each epoch in ``scores``.

    The score is handed to EarlyStopping's rule as "val_accuracy": a value to increase,
    with the best epoch's weights restored at the end."""

    def __init__(self, X, y, sample_weight, score, patience, tol):
        super().__init__("val_accuracy", patience, tol, restore_best_weights=True)
        self.X, self.y, self.sample_weight, self.score = X, y, sample_weight, score
        self.scores = []

    def on_train_begin(self, net, history):
        super().on_train_begin(net, history)
        self.X = net.check_X(self.X)

    def on_epoch_end(self, epoch, logs):
        score = self.score(self.y, self.net.eval().forward(self.X), self.sample_weight)
        self.scores.append(score)
        return super().on_epoch_end(epoch, {**logs, "val_accuracy": score})


def _plain(value):
    """A NumPy scalar as the Python number or string it holds (for JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def _nan_lowest(score):
    """Sort key of validation scores: an undefined one (NaN) is the lowest."""
    return -np.inf if np.isnan(score) else score


def _classes_and_index(y):
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"Unknown label type: {kind}; LayerwiseClassifier needs class labels")
    classes, index = np.unique(y, return_inverse=True)
    return classes, index


def _validation_split(X, y, fraction, seed, stratify, sample_weight=None):
    """A validation set as MLPClassifier and MLPRegressor take it: for classes (``stratify``),
    stratified when every class can be; the weights per example split with the examples.
    Returns (X_train, y_train, weights_train, (X_val, y_val, weights_val))."""
    if stratify:
        n_val = int(np.ceil(fraction * len(y)))
        counts = np.bincount(y)
        if not (counts[counts > 0].min() >= 2 and n_val >= np.count_nonzero(counts)):
            stratify = False
    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    parts = train_test_split(*arrays, test_size=fraction, random_state=seed, stratify=y if stratify else None)
    X_train, X_val, y_train, y_val = parts[:4]
    w_train, w_val = parts[4:] if sample_weight is not None else (None, None)
    return X_train, y_train, w_train, (X_val, y_val, w_val)


def _scored(validation):
    """The validation set as ``fit`` scores it: with its weights, unless there are none or
    they are all 0 (its score is then NaN, but its loss can still be shown)."""
    if validation is None or validation[2] is None or not np.sum(validation[2]) > 0:
        return None if validation is None else validation[:2]
    return validation


def _weighted_mean(values, sample_weight):
    """The mean of ``values``, weighted by ``sample_weight`` (None: all 1); NaN when the
    weights are all 0."""
    if sample_weight is None:
        return float(np.mean(values))
    total = float(np.sum(sample_weight))
    return float(np.dot(sample_weight, values)) / total if total > 0 else np.nan
