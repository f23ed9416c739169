"""layerwise: neural networks from scratch in NumPy, every layer a forward and a backward.

``import layerwise as lw`` gives what most programs need, and needs only NumPy:

- networks: ``Network`` and its layers ``Linear``, ``ReLU``, ``LeakyReLU``, ``Sigmoid``,
  ``Tanh``, ``Dropout``, ``Conv2D``, ``MaxPool2D``, ``AvgPool2D``, ``BatchNorm``,
  ``Reshape`` and ``Flatten``, their ``Parameter``s, the losses ``SoftmaxCrossEntropy``
  (classification) and ``MeanSquaredError`` (regression), and ``gradcheck`` to check the
  gradients;
- training: ``fit``, ``TrainConfig`` (every setting of a training, with its default), the
  optimizers ``SGD`` and ``Adam``, the learning-rate schedules ``ConstantLR``, ``StepLR``
  and ``CosineAnnealingLR`` (``make_schedule``), ``Callback``, ``EarlyStopping`` and the
  ``History`` of a training;
- tracking: the module ``callbacks`` (``layerwise.nn.callbacks``), whose ``TensorBoard``
  and ``MLflowLogger`` log a training to TensorBoard and MLflow (their libraries, the
  extras ``tensorboard`` and ``mlflow``, imported only when one is made);
- trained models: ``Model`` (a network with its class labels and its ``Preprocessing``),
  model files (``save``, ``load``) and ONNX export (``to_onnx``);
- hyperparameter search: ``search``;
- errors: ``LayerwiseError`` and its kinds ``SettingError`` and ``TrainingDiverged``.

The subpackages are imported on their own: ``layerwise.data`` (datasets and file
readers), ``layerwise.sklearn`` (``LayerwiseClassifier`` and ``LayerwiseRegressor``,
scikit-learn estimators), ``layerwise.experiments`` (training runs, search and the
backends that run them),
``layerwise.reports`` and ``layerwise.cli`` (the ``layerwise`` command).
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import LayerwiseError, SettingError, TrainingDiverged
from .io.model_file import load, save
from .io.onnx_export import to_onnx
from .nn import (
    SGD,
    Adam,
    AvgPool2D,
    BatchNorm,
    Callback,
    ConstantLR,
    Conv2D,
    CosineAnnealingLR,
    Dropout,
    EarlyStopping,
    Flatten,
    History,
    LeakyReLU,
    Linear,
    MaxPool2D,
    MeanSquaredError,
    Model,
    Network,
    Parameter,
    Preprocessing,
    ReLU,
    Reshape,
    Sigmoid,
    SoftmaxCrossEntropy,
    StepLR,
    Tanh,
    TrainConfig,
    callbacks,
    fit,
    get_kernels,
    gradcheck,
    make_schedule,
    set_kernels,
)

if TYPE_CHECKING:  # for the annotations only: search's modules are imported on first use
    from .data import Dataset
    from .experiments.search.space import Space


def search(
    data: "Dataset", space: "Space", config: TrainConfig | None = None, **options: Any
) -> dict[str, Any]:
    """Search hyperparameters over ``space`` and score the best settings on the test set.

    This is ``layerwise.experiments.search.search`` (see docs/search.md), imported on first
    use, so that ``import layerwise`` needs only NumPy. Each trial trains one network with
    its settings, from its own seed (which depends only on ``seed`` and the trial's
    settings), on the training split and scores it on the validation split, or by k-fold
    cross-validation with ``cv``. The best trial (highest validation accuracy, then lowest
    validation loss, then the earlier trial) is scored on the test set: with a validation
    split, its own network (a search that no longer holds it, after a resumption, trains
    it again with the same seed); with ``cv``, a network retrained on every non-test
    example. Trials already in ``out``/trials.jsonl are not run again with ``resume``.

    Parameters
    ----------
    data : layerwise.data.Dataset
        A Dataset with train, validation and test parts, prepared (scaled as wanted).
    space : layerwise.experiments.search.Space
        The settings to search and their values: a grid, seeded random draws, or both.
    config : TrainConfig, optional
        The TrainConfig of the settings that are not searched (default: the defaults).
    **options
        The keyword options below (Other Parameters).

    Returns
    -------
    dict
        ``trials`` (every trial's record, in trial order: ``trial``, ``settings``,
        ``seed``, ``epochs``, ``val_loss``, ``val_accuracy``, ``fold_accuracy`` with
        ``cv``, ``seconds``, ``worker``, ``status``, and ``error`` for a failed trial),
        ``ranking`` (the finished trials, best first), ``best`` (the best trial's record),
        ``best_settings`` (its TrainConfig), ``failed`` (the failed trials' records),
        ``test_accuracy`` (of the best settings on the test set), the retrained ``net``
        (the network scored on the test set), and the search's own ``settings``
        (``config``, its ``epochs`` those of a full trial), ``space``, ``seed``, ``cv``
        and ``strategy``; ``pruned`` (the trials an Optuna pruner stopped),
        ``total_epochs`` (the epochs trained, every trial's counted once) and, for
        halving and Hyperband, ``rungs`` (every rung's record; ``trials`` then holds each
        candidate's last one, with its ``rung`` and ``budget``).

    Other Parameters
    ----------------
    seed : int, default 0
        The search's seed: each trial's seed comes from it and the trial's settings, and
        so do the random draws of ``space``.
    cv : int, optional
        Score each trial by the mean accuracy over ``cv`` (at least 2) stratified folds
        of the training and validation examples instead of the validation split. Cannot
        be combined with early stopping. None: the validation split.
    pool : TaskPool or DaskPool, optional
        An open backend from ``layerwise.experiments.backends`` (a TaskPool or DaskPool
        inside its ``with`` block); None runs the trials in this process.
    out : str or os.PathLike, optional
        A folder (made if need be) where each finished trial is appended to
        ``trials.jsonl``; None keeps no record on disk.
    resume : bool, default False
        Run only the trials not already in ``out``/trials.jsonl.
    on_trial : callable, optional
        ``on_trial(record)`` is called as each trial finishes.
    during_refit : callable, optional
        ``during_refit(result)`` runs here while a worker retrains the best settings,
        with the result so far (the command draws its figures then).
    strategy : {"grid", "random", "halving", "hyperband"}, optional
        How the epochs are spent: every candidate trained to the end (None: "grid", or
        "random" for a space of random draws); "halving": successive halving, every
        candidate of the space trains the first rung's epochs and the best 1/``eta`` go
        on from their state, eta times longer, until ``max_epochs``; "hyperband":
        several such brackets, each drawing its candidates from the space.
    eta : int, default 3
        Halving's reduction factor (and that of the Hyperband pruner).
    min_epochs : int, default 1
        The epochs of the first rung, at least; an Optuna pruner prunes no trial before.
    max_epochs : int, optional
        The epochs of a full trial (None: ``config.epochs``).
    sampler : {"tpe", "random", "grid"}, optional
        Run an Optuna study (``pip install 'layerwise[optuna]'``) whose sampler picks each
        trial's settings from the space ("grid": the grid's points in order); ``trials``
        of the space (or its grid's size) trials. Its file is ``out``/study.db.
    pruner : {"none", "median", "hyperband"}, optional
        The Optuna study's pruner, shown each epoch's validation accuracy.
    tracking : layerwise.experiments.search.tracking.Tracking, optional
        Where the trials are tracked; None: in TensorBoard and MLflow as ``config``'s
        ``tensorboard`` and ``mlflow`` ask (a folder ``trial-<id>`` each, and a child
        run each under the search's parent run).

    Raises
    ------
    LayerwiseError
        If ``cv`` is not an integer of at least 2, early stopping is asked for with
        ``cv``, a trial's settings are invalid, the strategy's options do not fit the
        space (see docs/search.md), Optuna is not installed for a study, or every trial
        failed (or was pruned).

    See Also
    --------
    layerwise.experiments.search.Space.parse : A search space from "setting=values" items.
    fit : Train one network.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.data import load_digits
    >>> from layerwise.experiments.search import Space
    >>> digits = load_digits()
    >>> digits.X_train /= 16
    >>> digits.X_valid /= 16
    >>> digits.X_test /= 16
    >>> space = Space.parse(["l2=0.01,1"])
    >>> config = lw.TrainConfig(hidden=(8,), epochs=3, batch_size=None)
    >>> result = lw.search(digits, space, config, seed=0)
    >>> len(result["trials"]), result["failed"]
    (2, [])
    >>> result["best"]["settings"], result["best_settings"].l2
    ({'l2': 1.0}, 1.0)
    >>> result["net"].sizes
    [64, 8, 10]
    >>> bool(0 <= result["test_accuracy"] <= 1)
    True

    Successive halving: 9 candidates train 1 epoch, the best 3 go on to 3 epochs, the best
    of those to 9, each going on from where it was:

    >>> space = Space.parse(["l2=0,0.01,0.1", "hidden=8;16;32"])
    >>> result = lw.search(digits, space, config.replace(epochs=9), seed=0, strategy="halving")
    >>> [[r["budget"] for r in result["rungs"]].count(e) for e in (1, 3, 9)], result["best"]["epochs"]
    ([9, 3, 1], 9)
    >>> result["total_epochs"]  # 9 x 1 + 3 x 2 + 1 x 6, against 81 for the grid
    21
    """
    from .experiments.search import search as run

    return run(data, space, config, **options)


__all__ = [
    "__version__",
    "Adam",
    "AvgPool2D",
    "BatchNorm",
    "Callback",
    "ConstantLR",
    "Conv2D",
    "CosineAnnealingLR",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "History",
    "LayerwiseError",
    "LeakyReLU",
    "Linear",
    "MaxPool2D",
    "MeanSquaredError",
    "Model",
    "Network",
    "Parameter",
    "Preprocessing",
    "ReLU",
    "Reshape",
    "SGD",
    "SettingError",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "StepLR",
    "Tanh",
    "TrainConfig",
    "TrainingDiverged",
    "callbacks",
    "fit",
    "get_kernels",
    "gradcheck",
    "load",
    "make_schedule",
    "save",
    "search",
    "set_kernels",
    "to_onnx",
]
