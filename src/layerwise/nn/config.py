"""TrainConfig: every setting of one training, with its one default and its one check.

`layerwise train`, `tune` and `reproduce` declare their options from these fields, the
scikit-learn estimators and ``fit``/``Network.from_spec`` take their defaults from
``DEFAULTS``, and a search space varies them. Values given as text (command line, grid,
TOML) are read by ``parse_setting``, which is the only parser of each setting.
"""

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Final, Literal, Self, TypeAlias, TypeVar

import numpy as np

from ..errors import LayerwiseError, SettingError
from . import layer_spec
from .callbacks import DEFAULT_MLFLOW_URI, Callback, EarlyStopping, MLflowLogger, TensorBoard
from .layers import INITS, activation_layer, as_dtype
from .optimizers import SGD, Adam, Optimizer, make_schedule

if TYPE_CHECKING:  # for the annotation only: network imports this module
    from .network import Network

SCALINGS = ("unit", "standard", "none")
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "step", "cosine")
DTYPES = ("float32", "float64")
NO_ACTIVATION = ("none", "identity", "linear")  # an output activation that leaves the logits as they are
DEFAULT_LR = {"adam": 1e-3, "sgd": 0.01}
# None is a value of these
OPTIONAL_SETTINGS = (
    "lr", "init", "output_activation", "batch_size", "layers", "class_weight", "tensorboard", "mlflow"
)  # fmt: skip
CLASS_WEIGHTS = ("none", "balanced")  # class_weight: every class 1, or n / (k * count), as scikit-learn's
AUTO: Final = "auto"  # hidden and batch_size: resolved from the data by resolve_hidden, resolve_batch_size
# The settings of the network of ``hidden`` that a ``layers`` spec replaces, with the values
# they keep beside one (their defaults): the spec gives the layers, activations and dropout.
REPLACED_BY_LAYERS: dict[str, object] = {"hidden": AUTO, "activation": "relu", "dropout": 0.0}
# resolve_hidden's rule: the first hidden layer is 2 * max(n_features, n_classes) rounded up
# to a power of two, within these bounds; the second is half of it.
AUTO_WIDTH = (64, 256)
# resolve_batch_size's rule: the examples cut into this many batches, each of a size within
# these bounds (never more than the examples: the full batch).
AUTO_STEPS = 16
AUTO_BATCH = (8, 128)
Hidden: TypeAlias = tuple[int, ...] | Literal["auto"]
BatchSize: TypeAlias = int | Literal["auto"] | None
MAX_VALUES = 10_000  # values in one list: more is a typo, not a search
_RANGE = re.compile(r"^\s*(logspace|linspace|geomspace)\(\s*([^,()]+),\s*([^,()]+),\s*([^,()]+)\)\s*$")


T = TypeVar("T")


def _setting(
    default: T,
    kind: str,
    group: str,
    help: str,
    choices: tuple[str, ...] | None = None,
    searchable: bool = True,
    const: str | None = None,
) -> T:
    # const: the value of the option given alone (--mlflow), None: the option takes a value
    meta = {"kind": kind, "group": group, "help": help, "choices": choices, "searchable": searchable}
    meta["const"] = const
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training, each with its one default and its one check.

    Construction checks every value (one-line LayerwiseError naming the setting);
    ``replace(**changes)`` gives a checked copy. A value may also be given as its text
    ("48,32", "full", "none", "0.01"), which ``parse_setting`` reads. The command line's
    options, the estimators' and ``fit``'s defaults (``DEFAULTS``) and the search spaces
    all come from these fields.

    Parameters
    ----------
    data : str, default "digits"
        digits, mnist, fashion-mnist, or a CSV/NPZ file or IDX folder.
    label_column : int or str, default 0
        CSV label column: index or header name.
    drop_columns : tuple of int or str, default ()
        CSV columns left out of the features (an id column...): indices from 0 or header
        names; text "id,name" or "none".
    validation : float, default 0.1
        Share of the training data held out for validation where the data has no
        validation set; between 0 and 1.
    scaling : {"unit", "standard", "none"}, default "unit"
        unit: divide by the pixel maximum into [0, 1]; standard: then subtract the
        training mean and divide by the training std per feature; none: the data as they
        are.
    class_weight : {None, "balanced"}, default None
        The weight of each class in the training loss (``fit``'s ``class_weight``):
        "balanced" weighs a class of n_c of the n examples by n / (k n_c), k being the
        number of classes, as scikit-learn computes it; None (text: none) weighs every
        class 1. The validation scores are not weighted.
    hidden : tuple of int or "auto", default "auto"
        Hidden layer sizes, e.g. 48,32 (none: no hidden layer), or "auto": sized from the
        number of features and classes when the network is made (``resolve_hidden``:
        (256, 128) for 784 features, (64, 32) for iris's 4).
    layers : str or None, default None
        The network as comma-separated layers, instead of the network of ``hidden``,
        ``activation`` and ``dropout``: ``conv<filters>k<kernel>[s<stride>][p<padding>]``,
        ``maxpool<k>[s<stride>]``, ``avgpool<k>[s<stride>]``, ``bn``, ``relu``,
        ``leaky_relu``, ``tanh``, ``sigmoid``, ``dropout<p>``, ``flatten`` and a number of
        units for a Linear layer, e.g. "conv32k3p1,relu,maxpool2,flatten,128,relu,dropout0.3"
        (see ``layerwise.nn.layer_spec``). The last Linear layer, one unit per class, is
        added. A spec with convolutions or pooling works on images (the data's image shape)
        and flattens them before its first Linear layer. Kept in its canonical text; with
        it, ``hidden``, ``activation`` and ``dropout`` must keep their defaults (auto, relu,
        0): the spec gives the layers, the activations and the dropout.
    activation : str, default "relu"
        Hidden activation: relu, leaky_relu, tanh, sigmoid.
    output_activation : str or None, default None
        Activation after the last linear map, before the softmax (None: raw logits).
    init : str or None, default None
        glorot_uniform, he_uniform or he_normal (None: he_uniform for relu-like
        activations, else glorot_uniform; see ``weight_init``); with ``layers``, for its
        convolutions and Linear layers.
    dropout : float, default 0.0
        Dropout after each hidden activation; in [0, 1).
    dtype : {"float32", "float64"}, default "float32"
        The network's float type.
    optimizer : {"adam", "sgd"}, default "adam"
        The optimizer.
    lr : float or None, default None
        Learning rate (None: 1e-3 for adam, 0.01 for sgd; see ``learning_rate``).
    momentum : float, default 0.9
        SGD momentum; in [0, 1).
    nesterov : bool, default False
        Nesterov momentum for SGD.
    beta1 : float, default 0.9
        Adam's first-moment decay; in [0, 1).
    beta2 : float, default 0.999
        Adam's second-moment decay; in [0, 1).
    eps : float, default 1e-8
        Adam's epsilon; positive.
    schedule : {"constant", "step", "cosine"}, default "constant"
        Learning-rate schedule (see ``make_schedule``).
    l2 : float, default 0.0
        The tutorial's lambda: loss + lambda/(2N) sum W^2; 0 or more.
    batch_size : int, "auto" or None, default "auto"
        Examples per step, None (text: full) for the whole training set, or "auto": from
        the number of training examples when training starts (``resolve_batch_size``: 128
        from 2,048 examples up, about 16 steps per epoch below that, in batches of at
        least 8).
    epochs : int, default 20
        Epochs; at least 1.
    early_stopping : bool, default False
        Stop when the validation loss stops improving.
    patience : int, default 5
        Epochs without improvement before early stopping stops; 0 or more.
    seed : int, default 0
        Seed of the split, the weights, the shuffles and dropout; 0 or more.
    tensorboard : str or None, default None
        A folder for TensorBoard event files (``callbacks(tracking=True)``: in a
        sub-folder named after the run), None for none.
    mlflow : str or None, default None
        An MLflow tracking URI to log to, such as "sqlite:///mlflow.db" (the command
        line's ``--mlflow`` alone; ``DEFAULT_MLFLOW_URI``), None for none.

    Raises
    ------
    SettingError
        If a value has the wrong type or is out of range, or its text cannot be read.
    LayerwiseError
        If a name (scaling, activation, init, dtype, optimizer, schedule, ...) is unknown,
        or hidden sizes cannot be read; (a SettingError) if ``layers`` cannot be read or is
        given with ``hidden``, ``activation`` or ``dropout`` changed.

    See Also
    --------
    fit : Takes its defaults from ``DEFAULTS``, the default TrainConfig.
    parse_setting : Reads one setting's value from its text.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> config = lw.TrainConfig(hidden=(48, 32), activation="sigmoid", epochs=5)
    >>> config.weight_init, config.learning_rate
    ('glorot_uniform', 0.001)
    >>> config = lw.TrainConfig(hidden="64x64", batch_size="full", optimizer="sgd")
    >>> config.hidden, config.batch_size, config.learning_rate
    ((64, 64), None, 0.01)

    The defaults fit the data: "auto" sizes are resolved from its shape.

    >>> config = lw.TrainConfig()
    >>> config.hidden, config.batch_size
    ('auto', 'auto')
    >>> config.sizes(4, 3), config.resolved_batch_size(120)  # iris: 4 features, 3 classes
    ([4, 64, 32, 3], 8)
    >>> config.sizes(784, 10), config.resolved_batch_size(54_000)  # Fashion-MNIST
    ([784, 256, 128, 10], 128)

    A convolutional network is a spec of layers:

    >>> config = lw.TrainConfig(layers="Conv8k3p1, ReLU, MaxPool2, Flatten, 64, ReLU")
    >>> config.layers, config.weight_init
    ('conv8k3p1,relu,maxpool2,flatten,64,relu', 'he_uniform')
    >>> config.network(784, 10, image_shape=(28, 28)).shapes[1:4]
    [(8, 28, 28), (8, 28, 28), (8, 14, 14)]
    >>> lw.TrainConfig(layers=["conv8k3p1", "relu", "64"]).layers  # a list of layers, as TOML gives it
    'conv8k3p1,relu,64'
    >>> try:
    ...     lw.TrainConfig(dropout=1.5)
    ... except lw.LayerwiseError as e:
    ...     print(e)
    dropout must be in [0, 1), not 1.5
    """

    # data
    data: str = _setting(
        "digits",
        "text",
        "data",
        "digits, mnist, fashion-mnist, or a CSV/NPZ file or IDX folder",
        searchable=False,
    )
    label_column: int | str = _setting(
        0, "column", "data", "CSV label column: index or header name", searchable=False
    )
    drop_columns: tuple[int | str, ...] = _setting(
        (),
        "columns",
        "data",
        "CSV columns left out of the features, e.g. an id column: indices from 0 or header names, "
        "comma-separated (none: keep every column)",
        searchable=False,
    )
    validation: float = _setting(
        0.1,
        "float",
        "data",
        "share of the training data held out for validation where the data has no validation set",
        searchable=False,
    )
    scaling: str = _setting(
        "unit",
        "name",
        "data",
        "unit: divide by the pixel maximum into [0, 1]; standard: then subtract the training "
        "mean and divide by the training std per feature; none: the data as they are",
        SCALINGS,
        searchable=False,
    )
    class_weight: str | None = _setting(
        None,
        "name",
        "data",
        "weight of each class in the training loss: balanced (n / (k x the class's count) for n examples "
        "of k classes, as scikit-learn computes it) or none (every class 1)",
        CLASS_WEIGHTS,
    )
    # network
    hidden: Hidden = _setting(
        AUTO,
        "sizes",
        "network",
        "hidden layer sizes, e.g. 48,32 (none: no hidden layer; auto: W,W/2, W = 2 x max(features, "
        "classes) rounded up to a power of 2 in [64, 256])",
    )
    layers: str | None = _setting(
        None,
        "layers",
        "network",
        "the network as comma-separated layers instead of hidden, activation and dropout, e.g. "
        "conv32k3p1,relu,maxpool2,flatten,128,relu,dropout0.3: convFkK (F filters of KxK, then sS for a "
        "stride S and pP for a padding P), maxpoolK and avgpoolK (then sS for a stride S other than K), bn, "
        "relu, leaky_relu, tanh, sigmoid, dropoutX (X the probability), flatten, and N for a Linear layer of "
        "N units; the last Linear layer, one unit per class, is "
        "added, and images are flattened before the first Linear layer (none: the network of hidden)",
    )
    activation: str = _setting(
        "relu", "name", "network", "hidden activation: relu, leaky_relu, tanh, sigmoid"
    )
    output_activation: str | None = _setting(
        None, "name", "network", "activation after the last linear map, before the softmax (none: raw logits)"
    )
    init: str | None = _setting(
        None,
        "name",
        "network",
        "glorot_uniform, he_uniform or he_normal (none: he_uniform for relu-like activations, "
        "else glorot_uniform)",
    )
    dropout: float = _setting(0.0, "float", "network", "dropout after each hidden activation")
    dtype: str = _setting("float32", "name", "network", "float32 or float64", DTYPES)
    # training
    optimizer: str = _setting("adam", "name", "training", "adam or sgd", OPTIMIZERS)
    lr: float | None = _setting(
        None, "float", "training", "learning rate (none: 1e-3 for adam, 0.01 for sgd)"
    )
    momentum: float = _setting(0.9, "float", "training", "SGD momentum")
    nesterov: bool = _setting(False, "bool", "training", "Nesterov momentum for SGD")
    beta1: float = _setting(0.9, "float", "training", "Adam's first-moment decay")
    beta2: float = _setting(0.999, "float", "training", "Adam's second-moment decay")
    eps: float = _setting(1e-8, "float", "training", "Adam's epsilon")
    schedule: str = _setting(
        "constant", "name", "training", "learning-rate schedule: constant, step or cosine", SCHEDULES
    )
    l2: float = _setting(0.0, "float", "training", "the tutorial's lambda: loss + lambda/(2N) sum W^2")
    batch_size: BatchSize = _setting(
        AUTO,
        "batch",
        "training",
        "examples per step, full (the whole training set) or auto (n/16 rounded up, in [8, 128], "
        "for n training examples)",
    )
    epochs: int = _setting(20, "int", "training", "epochs")
    early_stopping: bool = _setting(
        False, "bool", "training", "stop when the validation loss stops improving"
    )
    patience: int = _setting(5, "int", "training", "epochs without improvement before early stopping stops")
    seed: int = _setting(
        0, "int", "training", "seed of the split, the weights, the shuffles and dropout", searchable=False
    )
    # tracking: where the metrics of each epoch are logged (no effect on the training)
    tensorboard: str | None = _setting(
        None,
        "folder",
        "tracking",
        "folder for TensorBoard event files of each epoch's losses, accuracies, learning rate and "
        "gradient norms, one sub-folder per training (none: no event files)",
        searchable=False,
    )
    mlflow: str | None = _setting(
        None,
        "uri",
        "tracking",
        f"MLflow tracking URI to log the settings, each epoch's metrics and the model to (given alone: "
        f"{DEFAULT_MLFLOW_URI}, a SQLite file in the working directory; none: no MLflow)",
        searchable=False,
        const=DEFAULT_MLFLOW_URI,
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) and f.metadata["kind"] not in ("text", "column"):
                value = parse_setting(f.name, value)
            elif f.name in ("hidden", "drop_columns") and isinstance(value, list):
                value = tuple(value)
            elif f.metadata["kind"] == "folder" and isinstance(value, os.PathLike):
                value = os.fspath(value)
            elif f.name == "layers" and isinstance(value, (list, tuple)):  # a TOML list of layers
                value = parse_setting("layers", ",".join(map(str, value)))
            elif isinstance(value, np.integer) or (f.metadata["kind"] == "float" and is_number(value)):
                value = float(value) if f.metadata["kind"] == "float" else int(value)
            object.__setattr__(self, f.name, value)
        self._check()

    # --- derived values ---------------------------------------------------------------

    @property
    def weight_init(self) -> str:
        """``init``, or the default for the activation: he_uniform for ReLU-like ones.

        With ``layers``, for the spec's activations: he_uniform when all of them are
        ReLU-like (``layer_spec.default_init``).
        """
        if self.init:
            return self.init
        return layer_spec.default_init(self.layers) if self.layers else default_init(self.activation)

    @property
    def learning_rate(self) -> float:
        """``lr``, or the optimizer's default (1e-3 for adam, 0.01 for sgd)."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def sizes(self, n_features: int, n_classes: int) -> list[int]:
        """The layer sizes of the network: the inputs, the hidden sizes, then the classes.

        Parameters
        ----------
        n_features : int
            Inputs per example.
        n_classes : int
            Number of classes (outputs).

        Returns
        -------
        list of int
            ``[n_features, *hidden, n_classes]``, with ``hidden`` "auto" resolved by
            ``resolve_hidden``; with ``layers``, the units of its Linear layers in place
            of ``hidden``, as ``Network.sizes`` gives them.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.TrainConfig(hidden=(48, 32)).sizes(64, 10)
        [64, 48, 32, 10]
        >>> lw.TrainConfig(hidden="auto").sizes(64, 10)
        [64, 128, 64, 10]
        >>> lw.TrainConfig(layers="conv8k3,relu,maxpool2,32,relu").sizes(64, 10)
        [64, 32, 10]
        """
        if self.layers:
            return [n_features, *layer_spec.linear_units(self.layers), n_classes]
        return [n_features, *resolve_hidden(self.hidden, n_features, n_classes), n_classes]

    def resolved_batch_size(self, n_examples: int) -> int:
        """The examples per optimizer step that ``fit`` takes from ``n_examples``.

        ``batch_size`` "auto" is resolved by ``resolve_batch_size``; the full batch (None)
        is ``n_examples``, and a size above it is cut to it.

        Parameters
        ----------
        n_examples : int
            Training examples; at least 1.

        Returns
        -------
        int
            Examples per step (the last step of an epoch may take fewer), from 1 to
            ``n_examples``; ``n_examples`` is the full batch.

        Raises
        ------
        LayerwiseError
            If ``n_examples`` is below 1.

        See Also
        --------
        resolve_batch_size : The rule.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> config = lw.TrainConfig()
        >>> config.resolved_batch_size(150), config.resolved_batch_size(721)
        (10, 46)
        >>> config.resolved_batch_size(54_000), config.replace(batch_size="full").resolved_batch_size(150)
        (128, 150)
        """
        return resolve_batch_size(self.batch_size, n_examples)

    # --- what the settings build ------------------------------------------------------

    def network(
        self,
        n_features: int,
        n_classes: int,
        seed: int | None = None,
        image_shape: Sequence[int] | None = None,
    ) -> "Network":
        """The network of these settings, initialised from ``seed`` (default: ``self.seed``).

        Its layer sizes are ``sizes(n_features, n_classes)``: hidden sizes "auto" are
        resolved from the features and the classes. With ``layers``, the spec's layers,
        sized for the data (``layer_spec.build_network``): a spec with convolutions or
        pooling needs ``image_shape``.

        Parameters
        ----------
        n_features : int
            Inputs per example.
        n_classes : int
            Number of classes (outputs).
        seed : int or None, optional
            Seed of the initial weights and the dropout masks (None: ``self.seed``).
        image_shape : sequence of int or None, optional
            (height, width) of the data's images (``Dataset.image_shape``), for a spec of
            ``layers`` on images; None: the data are rows without an image shape.

        Returns
        -------
        Network
            A new network with the hidden sizes, activations, dropout, initialisation
            (``weight_init``) and dtype of the settings, or the layers of ``layers``.

        Raises
        ------
        SettingError
            If ``layers`` does not fit the data: image layers without ``image_shape``, a
            window larger than its input image, an image layer after the Linear layers.

        See Also
        --------
        Network.from_spec : Builds the network of ``hidden``.
        layerwise.nn.layer_spec.build_network : Builds the network of ``layers``.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> net = lw.TrainConfig(hidden=(8,), dtype="float64").network(4, 3)
        >>> net.sizes, str(net.dtype)
        ([4, 8, 3], 'float64')
        >>> lw.TrainConfig().network(4, 3).sizes  # hidden "auto"
        [4, 64, 32, 3]
        >>> net = lw.TrainConfig(layers="conv4k3p1,relu,maxpool2,16,relu").network(64, 10, image_shape=(8, 8))
        >>> [type(layer).__name__ for layer in net.layers]
        ['Reshape', 'Conv2D', 'ReLU', 'MaxPool2D', 'Flatten', 'Linear', 'ReLU', 'Linear']
        """
        from .network import Network

        seed = self.seed if seed is None else seed
        if self.layers:
            return layer_spec.build_network(
                self.layers, n_features, n_classes, image_shape=image_shape,
                output_activation=self.output_activation, init=self.weight_init, dtype=self.dtype, seed=seed,
            )  # fmt: skip
        return Network.from_spec(
            self.sizes(n_features, n_classes),
            activation=self.activation,
            output_activation=self.output_activation,
            dropout=self.dropout,
            init=self.weight_init,
            dtype=self.dtype,
            seed=seed,
        )

    def make_optimizer(self) -> Optimizer:
        """A new optimizer of these settings, with its learning-rate schedule.

        Returns
        -------
        Optimizer
            ``SGD`` (learning_rate, momentum, nesterov) or ``Adam`` (learning_rate, beta1,
            beta2, eps), with the schedule ``make_schedule(schedule, epochs)``.

        Raises
        ------
        LayerwiseError
            If ``nesterov`` is set with a momentum of 0 (SGD refuses it).

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.TrainConfig().make_optimizer()
        Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08)
        >>> optimizer = lw.TrainConfig(optimizer="sgd", lr=0.1, schedule="step").make_optimizer()
        >>> optimizer, optimizer.schedule
        (SGD(lr=0.1, momentum=0.9, nesterov=False), StepLR(step_size=6, gamma=0.1))
        """
        schedule = make_schedule(self.schedule, self.epochs)
        if self.optimizer == "sgd":
            return SGD(
                lr=self.learning_rate, momentum=self.momentum, nesterov=self.nesterov, schedule=schedule
            )
        return Adam(lr=self.learning_rate, betas=(self.beta1, self.beta2), eps=self.eps, schedule=schedule)

    def callbacks(
        self,
        *,
        tracking: bool = False,
        run_name: str | None = None,
        log_model: "str | os.PathLike[str] | Callable[[], str | os.PathLike[str] | None] | None" = None,
    ) -> list[Callback]:
        """The callbacks of one training: early stopping when asked for, and the trackers.

        With ``tracking``, the trackers that ``tensorboard`` and ``mlflow`` ask for come
        after early stopping: ``TensorBoard`` writing into ``tensorboard``/``run_name``
        (``tensorboard`` itself without a run name), with the settings as its HParams, and
        ``MLflowLogger`` logging to the tracking URI ``mlflow`` a run named ``run_name``,
        with the settings as its params and ``log_model`` as its model file. The settings
        are ``to_dict()``'s but the trackers' own two. Without ``tracking`` (a search's
        trials, which are tracked each in their own way), early stopping alone.

        Parameters
        ----------
        tracking : bool, default False
            Also the trackers of ``tensorboard`` and ``mlflow``.
        run_name : str, optional
            The training's name: TensorBoard's sub-folder and MLflow's run name.
        log_model : str, os.PathLike or callable, optional
            The model file MLflow logs when the training ends (see ``MLflowLogger``).

        Returns
        -------
        list of Callback
            ``EarlyStopping("val_loss", patience)`` with ``early_stopping``; with
            ``tracking``, then ``TensorBoard`` with ``tensorboard`` and ``MLflowLogger`` with
            ``mlflow``.

        Raises
        ------
        LayerwiseError
            With ``tracking``, if a tracker's library is not installed.

        See Also
        --------
        layerwise.nn.callbacks.TensorBoard : The TensorBoard tracker.
        layerwise.nn.callbacks.MLflowLogger : The MLflow tracker.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> [stop] = lw.TrainConfig(early_stopping=True, patience=3).callbacks()
        >>> stop.monitor, stop.patience
        ('val_loss', 3)
        >>> lw.TrainConfig().callbacks()
        []
        >>> config = lw.TrainConfig(tensorboard="tb", mlflow="sqlite:///mlflow.db", early_stopping=True)
        >>> [type(c).__name__ for c in config.callbacks()]
        ['EarlyStopping']
        >>> stop, board, logger = config.callbacks(tracking=True, run_name="first")
        >>> board.logdir.as_posix(), board.hparams["early_stopping"], "tensorboard" in board.hparams
        ('tb/first', True, False)
        >>> logger.tracking_uri, logger.run_name, logger.params["hidden"]
        ('sqlite:///mlflow.db', 'first', 'auto')
        """
        callbacks: list[Callback] = [EarlyStopping("val_loss", self.patience)] if self.early_stopping else []
        if not tracking:
            return callbacks
        settings = {k: v for k, v in self.to_dict().items() if k not in ("tensorboard", "mlflow")}
        if self.tensorboard is not None:
            logdir = os.path.join(self.tensorboard, run_name) if run_name else self.tensorboard
            callbacks.append(TensorBoard(logdir, hparams=settings))
        if self.mlflow is not None:
            logger = MLflowLogger(self.mlflow, run_name=run_name, params=settings, log_model=log_model)
            callbacks.append(logger)
        return callbacks

    # --- copies and records -----------------------------------------------------------

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (values or their text), checked.

        Parameters
        ----------
        **changes
            New values by setting name, as values or as text.

        Returns
        -------
        TrainConfig
            A new TrainConfig; this one is not changed (it is frozen).

        Raises
        ------
        LayerwiseError
            If a name is not a setting, or a value fails its check.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> config = lw.TrainConfig().replace(epochs="5", hidden=[32])
        >>> config.epochs, config.hidden
        (5, (32,))
        """
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise LayerwiseError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings by name, ``hidden`` as a list (for JSON and TOML).

        "auto" stays "auto" (the rule is recorded, not the sizes it gave for one data set):
        ``from_dict`` reads it back, and the same data resolve it the same way.

        Returns
        -------
        dict
            Every setting's value by its name.

        See Also
        --------
        from_dict : The settings of such a dict.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> d = lw.TrainConfig(hidden=(48, 32)).to_dict()
        >>> d["hidden"], d["optimizer"], d["lr"], d["batch_size"]
        ([48, 32], 'adam', None, 'auto')
        >>> lw.TrainConfig().to_dict()["hidden"]
        'auto'
        """
        d = asdict(self)
        d["hidden"] = list(self.hidden) if isinstance(self.hidden, tuple) else self.hidden
        d["drop_columns"] = list(self.drop_columns)
        return d

    @classmethod
    def from_dict(cls, values: dict[str, Any], base: Self | None = None) -> Self:
        """Settings from a mapping of setting names to values or their text, over ``base``.

        The mapping is a TOML [settings] table or a recorded report, say; the settings it
        does not name keep their value in ``base`` (default: the defaults).

        Parameters
        ----------
        values : dict
            Values, or their text, by setting name.
        base : TrainConfig or None, optional
            The settings to start from (None: ``TrainConfig()``).

        Returns
        -------
        TrainConfig
            ``base`` with ``values``, checked.

        Raises
        ------
        LayerwiseError
            If ``values`` is not a dict, names an unknown setting, or holds a value that
            fails its check.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> config = lw.TrainConfig.from_dict({"hidden": "48,32", "lr": "0.01"})
        >>> config.hidden, config.lr
        ((48, 32), 0.01)
        >>> lw.TrainConfig.from_dict(config.to_dict()) == config
        True
        """
        if not isinstance(values, dict):
            raise LayerwiseError(f"settings must be a table of setting = value, not {type(values).__name__}")
        return (base or cls()).replace(**values)

    def describe(self, n_features: int, n_classes: int, n_examples: int | None = None) -> str:
        """One line on the network and the training, for logs.

        Parameters
        ----------
        n_features : int
            Inputs per example.
        n_classes : int
            Number of classes (outputs).
        n_examples : int or None, optional
            Training examples: with them the batch size shown is the one ``fit`` takes
            (``resolved_batch_size``; "full" stays "full"); without, ``batch_size`` as it
            is set ("auto", "full" or a number).

        Returns
        -------
        str
            The sizes (hidden "auto" resolved) and activation, or the inputs, the spec of
            ``layers`` and the classes; then the optimizer, learning rate, batch size and
            epochs.

        Examples
        --------
        >>> import numpy as np
        >>> import layerwise as lw
        >>> lw.TrainConfig(hidden=(48, 32), batch_size=64, epochs=5).describe(64, 10)
        'network 64-48-32-10 relu, adam lr 0.001, batch 64, 5 epochs'
        >>> lw.TrainConfig().describe(4, 3, n_examples=135)
        'network 4-64-32-3 relu, adam lr 0.001, batch 9, 20 epochs'
        >>> lw.TrainConfig().describe(4, 3)
        'network 4-64-32-3 relu, adam lr 0.001, batch auto, 20 epochs'
        >>> lw.TrainConfig(layers="conv8k3,relu,maxpool2,32,relu", epochs=5).describe(64, 10)
        'network 64 -> conv8k3,relu,maxpool2,32,relu -> 10, adam lr 0.001, batch auto, 5 epochs'
        """
        if self.layers:
            network = f"{n_features} -> {self.layers} -> {n_classes}"
        else:
            network = "-".join(map(str, self.sizes(n_features, n_classes))) + f" {self.activation}"
        batch: object = self.batch_size or "full"
        if n_examples is not None and self.batch_size is not None:
            batch = self.resolved_batch_size(n_examples)
        return (
            f"network {network}, {self.optimizer} lr {self.learning_rate:g}, "
            f"batch {batch}, {self.epochs} epochs"
        )

    # --- the one check ----------------------------------------------------------------

    def _check_layers(self) -> None:
        """A spec of layers replaces hidden, activation and dropout: given with one of them
        changed, it is an error rather than a silent choice between the two."""
        layer_spec.parse_layers(self.layers or "")
        why = {
            "hidden": "its numbers are the hidden layers",
            "activation": "it names each activation, e.g. conv32k3,tanh",
            "dropout": "it places each dropout, e.g. 128,relu,dropout0.3",
        }
        for name, kept in REPLACED_BY_LAYERS.items():
            value = getattr(self, name)
            if value != kept:
                shown = ",".join(map(str, value)) or "none" if isinstance(value, tuple) else value
                raise SettingError(
                    "layers",
                    f"replaces the network of hidden, activation and dropout; it cannot be given with "
                    f"{name} {shown} ({why[name]}): leave {name} at {kept}",
                )

    def _check(self) -> None:
        for f in fields(self):
            _check_type(f.name, f.metadata["kind"], getattr(self, f.name))
        _between(self, "validation", 0, 1, "must be between 0 and 1")
        _between(self, "dropout", 0, 1, "must be in [0, 1)", low_open=False)
        _between(self, "momentum", 0, 1, "must be in [0, 1)", low_open=False)
        _between(self, "beta1", 0, 1, "must be in [0, 1)", low_open=False)
        _between(self, "beta2", 0, 1, "must be in [0, 1)", low_open=False)
        for name in ("lr", "eps"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise SettingError(name, f"must be positive, not {value}")
        if self.l2 < 0:
            raise SettingError("l2", f"must be 0 or more, not {self.l2}")
        if self.epochs < 1:
            raise SettingError("epochs", f"must be a positive integer, not {self.epochs}")
        if isinstance(self.batch_size, int) and self.batch_size < 1:
            raise SettingError("batch_size", f"must be a positive integer, not {self.batch_size}")
        for name in ("patience", "seed"):
            if getattr(self, name) < 0:
                raise SettingError(name, f"must be 0 or more, not {getattr(self, name)}")
        if isinstance(self.hidden, tuple) and any(n < 1 for n in self.hidden):
            raise SettingError("hidden", f"sizes must be positive, not {self.hidden}")
        if self.layers is not None:
            self._check_layers()
        for f in fields(self):
            choices, value = f.metadata["choices"], getattr(self, f.name)
            if choices and value not in choices and not (value is None and f.name in OPTIONAL_SETTINGS):
                raise LayerwiseError(f"unknown {f.name} {value!r}; choose one of {', '.join(choices)}")
        activation_layer(self.activation)
        activation_layer(self.output_activation or "identity")
        if self.init is not None and self.init not in INITS:
            raise LayerwiseError(f"unknown init {self.init!r}; choose one of {', '.join(INITS)}")
        as_dtype(self.dtype)
        self.make_optimizer()  # the optimizer's and the schedule's own checks (Nesterov needs momentum)


def default_init(activation: str) -> str:
    """The default initialisation for an activation.

    he_uniform for ReLU-like activations, glorot_uniform (the tutorial's) otherwise.

    Parameters
    ----------
    activation : str
        The hidden activation's name (case, "-" or "_" do not matter).

    Returns
    -------
    str
        "he_uniform" for relu and leaky_relu, "glorot_uniform" otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.config import default_init
    >>> default_init("Leaky-ReLU"), default_init("tanh")
    ('he_uniform', 'glorot_uniform')
    """
    relu_like = str(activation).lower().replace("-", "_") in ("relu", "leaky_relu")
    return "he_uniform" if relu_like else "glorot_uniform"


def resolve_hidden(hidden: Hidden, n_features: int, n_classes: int) -> tuple[int, ...]:
    """The hidden layer sizes ``hidden`` gives a network of ``n_features`` and ``n_classes``.

    Explicit sizes are kept. "auto" gives two hidden layers (W, W/2), W being twice the
    larger of ``n_features`` and ``n_classes``, rounded up to a power of two and kept
    between 64 and 256 (``AUTO_WIDTH``). The network narrows from the inputs to the
    classes, and the second layer keeps at least as many units as there are classes (up
    to 128 of them). 784 inputs (MNIST, Fashion-MNIST) get (256, 128), as the default was
    before "auto"; the 8x8 digits' 64 get (128, 64); iris's 4 (and any data of up to 32
    features and classes) (64, 32): 2,400 weights instead of 34,000. 64 is the floor
    because narrower networks need many more than the default 20 epochs to fit small
    data sets (on iris, (32, 16) reached 0.81 to 0.90 test accuracy in 20 epochs, (64,
    32) 0.94 to 0.95).

    Parameters
    ----------
    hidden : tuple of int or "auto"
        The ``hidden`` setting.
    n_features : int
        Inputs per example.
    n_classes : int
        Number of classes (outputs).

    Returns
    -------
    tuple of int
        The hidden sizes (an empty tuple: no hidden layer).

    See Also
    --------
    TrainConfig.sizes : All the layer sizes of a configuration's network.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.config import resolve_hidden
    >>> resolve_hidden("auto", 4, 3), resolve_hidden("auto", 64, 10), resolve_hidden("auto", 784, 10)
    ((64, 32), (128, 64), (256, 128))
    >>> resolve_hidden("auto", 20, 100), resolve_hidden((48, 32), 4, 3)
    ((256, 128), (48, 32))
    """
    if isinstance(hidden, tuple):
        return hidden
    low, high = AUTO_WIDTH
    wanted = 2 * max(int(n_features), int(n_classes), 1)
    width = min(high, max(low, 1 << (wanted - 1).bit_length()))  # rounded up to a power of two
    return (width, width // 2)


def resolve_batch_size(batch_size: BatchSize, n_examples: int) -> int:
    """The examples per optimizer step that ``batch_size`` gives ``n_examples`` examples.

    None is the full batch: ``n_examples``; a number is kept, but never above
    ``n_examples``. "auto" cuts the n examples into about 16 batches (``AUTO_STEPS``) of
    8 to 128 examples (``AUTO_BATCH``): ceil(n / 16), kept between 8 and 128, and the
    full batch when that is all of them (up to 8 examples).

    From 2,048 examples up that is 128, the default before "auto" (Fashion-MNIST's 54,000
    training images: 422 steps per epoch). Below, an epoch has 15 or 16 steps (fewer
    under 128 examples, where the batches keep 8): the 721 training digits get batches
    of 46, iris's 150 flowers batches of 10. The full batch would give the default 20
    epochs 20 optimizer steps, too few for Adam at 1e-3 to fit even iris; batches of at
    least 8 keep each step's gradient from being mostly noise. scikit-learn's
    MLPClassifier takes min(200, n) for its "auto", with 200 epochs by default.

    Parameters
    ----------
    batch_size : int, "auto" or None
        The ``batch_size`` setting.
    n_examples : int
        Training examples; at least 1.

    Returns
    -------
    int
        Examples per step, from 1 to ``n_examples`` (the last step of an epoch may take
        fewer); ``n_examples`` is the full batch.

    Raises
    ------
    LayerwiseError
        If ``n_examples`` is below 1, or (a SettingError) ``batch_size`` is neither a
        positive integer, "auto" nor None.

    See Also
    --------
    TrainConfig.resolved_batch_size : The same, for a configuration.
    fit : Resolves its ``batch_size`` with this.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.config import resolve_batch_size
    >>> [resolve_batch_size("auto", n) for n in (5, 60, 150, 721, 2048, 54_000)]
    [5, 8, 10, 46, 128, 128]
    >>> resolve_batch_size(None, 150), resolve_batch_size(500, 150), resolve_batch_size(32, 150)
    (150, 150, 32)
    """
    if isinstance(n_examples, bool) or not isinstance(n_examples, (int, np.integer)) or n_examples < 1:
        raise LayerwiseError(f"a training set needs at least one example, not {n_examples!r}")
    n = int(n_examples)
    if batch_size is None:
        return n
    if batch_size == AUTO:
        low, high = AUTO_BATCH
        return min(n, high, max(low, math.ceil(n / AUTO_STEPS)))
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise SettingError("batch_size", f"must be a positive integer, full or auto, not {batch_size!r}")
    return min(n, int(batch_size))


def _between(
    config: TrainConfig, name: str, low: float, high: float, words: str, low_open: bool = True
) -> None:
    value = getattr(config, name)
    if not ((low < value if low_open else low <= value) and value < high):
        raise SettingError(name, f"{words}, not {value}")


def is_number(value: object) -> bool:
    """Whether ``value`` is a finite number: an int, a float or a NumPy number, not a bool.

    Parameters
    ----------
    value : object
        Anything.

    Returns
    -------
    bool
        True for finite numbers; False for bools, NaN, infinities and non-numbers.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.config import is_number
    >>> is_number(3), is_number(np.float32(0.5)), is_number(True), is_number(float("nan"))
    (True, True, False, False)
    >>> is_number("1")
    False
    """
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and math.isfinite(value)


def _check_type(name: str, kind: str, value: object) -> None:
    if value is None and name in OPTIONAL_SETTINGS:
        return
    ok: Callable[[Any], bool] = {
        "text": lambda v: isinstance(v, str) and v != "",
        "column": lambda v: isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)),
        "columns": lambda v: (
            isinstance(v, tuple)
            and all(isinstance(c, str) or (isinstance(c, int) and not isinstance(c, bool)) for c in v)
        ),
        "name": lambda v: isinstance(v, str),
        "float": is_number,
        "int": lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool),
        "batch": lambda v: v == AUTO or (isinstance(v, (int, np.integer)) and not isinstance(v, bool)),
        "bool": lambda v: isinstance(v, bool),
        "sizes": lambda v: v == AUTO or (isinstance(v, tuple) and all(type(n) is int for n in v)),
        "layers": lambda v: isinstance(v, str),
        "folder": lambda v: isinstance(v, str) and v.strip() != "",
        "uri": lambda v: isinstance(v, str) and v.strip() != "",
    }[kind]
    if not ok(value):
        what = {
            "text": "a name or a path",
            "column": "a column index or name",
            "columns": "column indices or names",
            "name": "a name",
            "float": "a finite number",
            "int": "an integer",
            "batch": "an integer, full or auto",
            "bool": "true or false",
            "sizes": "a list of layer sizes or auto",
            "layers": "a spec of layers such as conv32k3p1,relu,maxpool2,flatten,128,relu, or none",
            "folder": "a folder or none",
            "uri": "a tracking URI such as sqlite:///mlflow.db, or none",
        }[kind]
        raise SettingError(name, f"must be {what}, not {value!r}")


# --- settings from text -----------------------------------------------------------------


def parse_setting(name: str, text: str) -> Any:
    """One setting's value from its text, as the command line, a grid or a TOML file give it.

    "48,32" for hidden, "full" for batch_size, "none" for output_activation, "auto" for
    hidden and batch_size... It is the only parser of each setting. It reads the text
    only: the range of the value is checked by ``TrainConfig``.

    Parameters
    ----------
    name : str
        The setting, a ``TrainConfig`` field name.
    text : str
        Its value as text. Names are lowercased, with "-" read as "_"; booleans are
        true/yes/1 or false/no/0; "none" is None for output_activation (also "identity"
        or "linear"), init, lr, layers, tensorboard and mlflow; "full" (or "none") is None
        for batch_size;
        "auto" is "auto" for hidden and batch_size; a spec of layers is kept in its
        canonical text (``layer_spec.canonical_layers``).

    Returns
    -------
    object
        The value, of the setting's type (a tuple of int for hidden, None where allowed,
        "auto" for hidden and batch_size).

    Raises
    ------
    LayerwiseError
        If ``name`` is not a setting, or hidden sizes cannot be read.
    SettingError
        If the text is not a value of the setting's type.

    See Also
    --------
    parse_candidates : Several values of a setting, to search.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.config import parse_setting
    >>> parse_setting("hidden", "48,32"), parse_setting("lr", "1e-3")
    ((48, 32), 0.001)
    >>> parse_setting("batch_size", "full"), parse_setting("output_activation", "none")
    (None, None)
    >>> parse_setting("hidden", "Auto"), parse_setting("batch_size", "auto")
    ('auto', 'auto')
    >>> parse_setting("activation", "Leaky-ReLU"), parse_setting("nesterov", "yes")
    ('leaky_relu', True)
    >>> parse_setting("layers", "Conv8K3P1, ReLU, MaxPool2s2, 64"), parse_setting("layers", "none")
    ('conv8k3p1,relu,maxpool2,64', None)
    """
    kinds = {f.name: f.metadata["kind"] for f in fields(TrainConfig)}
    if name not in kinds:
        raise LayerwiseError(f"unknown setting {name!r}")
    kind, text = kinds[name], str(text).strip()
    if kind in ("sizes", "batch") and text.lower() == AUTO:
        return AUTO
    if kind == "sizes":
        return hidden_sizes(text)
    if kind == "layers":
        return None if text.lower() == "none" else layer_spec.canonical_layers(text)
    if kind == "column":
        return int(text) if text.lstrip("-").isdigit() else text
    if kind == "columns":
        if text.lower() in ("", "none"):
            return ()
        cells = [c.strip() for c in text.split(",") if c.strip()]
        return tuple(int(c) if c.lstrip("-").isdigit() else c for c in cells)
    if kind in ("folder", "uri"):
        return None if text.lower() in ("", "none") else text
    if kind == "text":
        return text
    if kind == "bool":
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if text.lower() not in words:
            raise SettingError(name, f"must be true or false, not {text!r}")
        return words[text.lower()]
    if kind == "name":
        lowered = text.lower().replace("-", "_")
        if name == "output_activation" and lowered in NO_ACTIVATION:
            return None
        if name in ("init", "class_weight") and lowered == "none":
            return None
        return lowered
    if kind == "batch" and text.lower() in ("full", "none"):
        return None
    if kind == "float":
        if name == "lr" and text.lower() == "none":
            return None
        try:
            return float(text)
        except ValueError:
            raise SettingError(name, f"must be a number, not {text!r}") from None
    try:
        return int(text)
    except ValueError:
        expected = {"batch_size": "a positive integer, full or auto", "epochs": "a positive integer"}.get(
            name, "an integer"
        )
        raise SettingError(name, f"must be {expected}, not {text!r}") from None


def parse_candidates(name: str, text: str) -> list[Any]:
    """The values of one setting to search, from text.

    Numbers as "0.1,1,10" or "logspace(-2,2,10)"; hidden layer sizes and specs of layers
    as one list per candidate, separated by semicolons ("48,32;64,64;128", "auto;48,32",
    "conv8k3,relu,32;none"); other settings separated by commas ("relu,tanh",
    "auto,32,full"). Each value is read by ``parse_setting``.

    Parameters
    ----------
    name : str
        A searchable setting: any ``TrainConfig`` field but data, label_column,
        validation, scaling and seed.
    text : str
        The candidates, as above.

    Returns
    -------
    list
        The values, each of the setting's type.

    Raises
    ------
    LayerwiseError
        If the setting cannot be searched, no value is given, or a value cannot be read.

    See Also
    --------
    number_list : Reads lists and ranges of numbers.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.config import parse_candidates
    >>> parse_candidates("lr", "logspace(-3,-1,3)")
    [0.001, 0.01, 0.1]
    >>> parse_candidates("hidden", "48,32;64;auto")
    [(48, 32), (64,), 'auto']
    >>> parse_candidates("activation", "relu,tanh")
    ['relu', 'tanh']
    >>> parse_candidates("layers", "conv8k3p1,relu,maxpool2,32,relu; none")
    ['conv8k3p1,relu,maxpool2,32,relu', None]
    """
    kinds = {f.name: f.metadata for f in fields(TrainConfig)}
    if name not in kinds or not kinds[name]["searchable"]:
        searchable = ", ".join(f.name for f in fields(TrainConfig) if f.metadata["searchable"])
        raise LayerwiseError(f"cannot search {name!r}; searchable settings: {searchable}")
    kind = kinds[name]["kind"]
    if kind == "float" and "none" not in text.lower():
        return number_list(text, name)
    parts = [p.strip() for p in text.split(";" if kind in ("sizes", "layers") else ",") if p.strip()]
    if not parts:
        raise LayerwiseError(f"no values given for {name}")
    return [parse_setting(name, p) for p in parts]


def number_list(text: str, name: str = "value") -> list[float]:
    """Numbers from "logspace(-2,2,10)", "linspace(0,1,5)", "geomspace(1e-3,1,4)" or "0.1,1,10".

    The three ranges are NumPy's, with the same arguments (start, stop, count).

    Parameters
    ----------
    text : str
        Numbers separated by commas, or one range.
    name : str, default "value"
        What the numbers are, for the error messages.

    Returns
    -------
    list of float
        The numbers, 1 to 10,000 of them.

    Raises
    ------
    LayerwiseError
        If the text cannot be read, or (a SettingError) it gives a number that is not
        finite, or more than 10,000 numbers.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.config import number_list
    >>> number_list("linspace(0,1,5)")
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> number_list("geomspace(1e-3,1,4)"), number_list("0.1, 1, 10")
    ([0.001, 0.01, 0.1, 1.0], [0.1, 1.0, 10.0])
    """
    m = _RANGE.match(text)
    try:
        if m:
            kind, a, b, n = m.groups()
            count = int(n)
            if not 1 <= count <= MAX_VALUES:
                raise ValueError
            with np.errstate(over="ignore", invalid="ignore"):  # an overflow is the error below
                values: list[float] = getattr(np, kind)(float(a), float(b), count).tolist()
        else:
            values = [float(v) for v in text.split(",")]
    except ValueError:
        raise LayerwiseError(
            f"cannot read {name} list {text!r}: give numbers separated by commas or logspace(a,b,n)"
        ) from None
    if not values or not all(np.isfinite(values)) or len(values) > MAX_VALUES:
        raise SettingError(name, f"list {text!r} must hold 1 to {MAX_VALUES} finite numbers")
    return values


def hidden_sizes(text: str) -> tuple[int, ...]:
    """Hidden layer sizes from text: "48,32" or "48x32" -> (48, 32); "" or "none" -> ().

    An empty tuple is no hidden layer; "0" reads as one too, and brackets around the
    sizes ("[48, 32]") are ignored.

    Parameters
    ----------
    text : str
        The sizes, separated by commas or "x".

    Returns
    -------
    tuple of int
        The sizes, each positive.

    Raises
    ------
    LayerwiseError
        If a size is not an integer or is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.config import hidden_sizes
    >>> hidden_sizes("48,32"), hidden_sizes("64x64"), hidden_sizes("[128]"), hidden_sizes("none")
    ((48, 32), (64, 64), (128,), ())
    """
    text = str(text).strip().lower().strip("[]()")
    if text in ("", "none", "0"):
        return ()
    try:
        sizes = tuple(int(v) for v in re.split(r"\s*[,x]\s*", text))
    except ValueError:
        raise LayerwiseError(f"cannot read hidden sizes {text!r}: give sizes like 48,32") from None
    if min(sizes) < 1:
        raise LayerwiseError(f"hidden sizes must be positive, not {text!r}")
    return sizes


def positive_int(text: str | int, name: str) -> int:
    """``text`` as a positive integer, or a SettingError naming ``name``.

    Parameters
    ----------
    text : str or int
        The value, or its text.
    name : str
        The setting or option it is, for the error message.

    Returns
    -------
    int
        The value, 1 or more.

    Raises
    ------
    SettingError
        If ``text`` is not an integer or is below 1.

    Examples
    --------
    >>> import numpy as np
    >>> import layerwise as lw
    >>> from layerwise.nn.config import positive_int
    >>> positive_int("5", "epochs")
    5
    >>> try:
    ...     positive_int("0", "epochs")
    ... except lw.SettingError as e:
    ...     print(e)
    epochs must be a positive integer, not 0
    """
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise SettingError(name, f"must be a positive integer, not {text!r}") from None
    if value < 1:
        raise SettingError(name, f"must be a positive integer, not {value}")
    return value


DEFAULTS = TrainConfig()
