"""layerwise: neural networks from scratch in NumPy, every layer a forward and a backward."""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import LayerwiseError, SettingError, TrainingDiverged
from .io.model_file import load, save
from .io.onnx_export import to_onnx
from .nn import (
    SGD,
    Adam,
    Callback,
    ConstantLR,
    CosineAnnealingLR,
    Dropout,
    EarlyStopping,
    History,
    LeakyReLU,
    Linear,
    Model,
    Network,
    Parameter,
    Preprocessing,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    StepLR,
    Tanh,
    TrainConfig,
    fit,
    gradcheck,
    make_schedule,
)

if TYPE_CHECKING:  # for the annotations only: search's modules are imported on first use
    from .data import Dataset
    from .experiments.search.space import Space


def search(
    data: "Dataset", space: "Space", config: TrainConfig | None = None, **options: Any
) -> dict[str, Any]:
    """Hyperparameter search: layerwise.experiments.search.search (see docs/search.md). Imported on
    first use, so that ``import layerwise`` needs only NumPy."""
    from .experiments.search import search as run

    return run(data, space, config, **options)


__all__ = [
    "__version__",
    "Adam",
    "Callback",
    "ConstantLR",
    "CosineAnnealingLR",
    "Dropout",
    "EarlyStopping",
    "History",
    "LayerwiseError",
    "LeakyReLU",
    "Linear",
    "Model",
    "Network",
    "Parameter",
    "Preprocessing",
    "ReLU",
    "SGD",
    "SettingError",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "StepLR",
    "Tanh",
    "TrainConfig",
    "TrainingDiverged",
    "fit",
    "gradcheck",
    "load",
    "make_schedule",
    "save",
    "search",
    "to_onnx",
]
