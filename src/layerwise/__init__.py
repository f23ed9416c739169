"""layerwise: neural networks from scratch in NumPy, every layer a forward and a backward."""

from .errors import LayerwiseError, TrainingDiverged
from .gradcheck import gradcheck
from .layers import Dropout, LeakyReLU, Linear, Parameter, ReLU, Sigmoid, Tanh
from .losses import SoftmaxCrossEntropy
from .model import Model, Preprocessing
from .network import Network
from .optimizers import SGD, Adam, ConstantLR, CosineAnnealingLR, StepLR, make_schedule
from .training import Callback, EarlyStopping, History, fit

__version__ = "0.1.0"

from .onnx_export import to_onnx  # noqa: E402  (these read __version__)
from .persistence import load, save  # noqa: E402


def search(data, space, settings=None, **options):
    """Hyperparameter search: layerwise.tuning.search (see docs/search.md). Imported on
    first use, so that ``import layerwise`` needs only NumPy."""
    from .tuning import search as run

    return run(data, space, settings, **options)


__all__ = [
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
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "StepLR",
    "Tanh",
    "TrainingDiverged",
    "fit",
    "gradcheck",
    "load",
    "make_schedule",
    "save",
    "search",
    "to_onnx",
]
