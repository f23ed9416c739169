"""The core: Parameter, layers, losses, Network, optimizers and schedules, fit with its
History and callbacks (progress bars and lines among them), gradient checking, metrics,
Model. Imports NumPy and nothing else (of the project: only layerwise.errors); tqdm and
matplotlib only inside the functions that need them (a progress bar, History.plot); numba,
when it is installed, at the first call of a layer on images (kernels.py)."""

from .callbacks import Callback, EarlyStopping
from .config import TrainConfig
from .conv import AvgPool2D, Conv2D, MaxPool2D
from .gradcheck import gradcheck
from .kernels import get_kernels, set_kernels
from .layers import Dropout, Flatten, LeakyReLU, Linear, Parameter, ReLU, Reshape, Sigmoid, Tanh
from .losses import MeanSquaredError, SoftmaxCrossEntropy
from .model import Model, Preprocessing
from .network import Network
from .normalization import BatchNorm
from .optimizers import SGD, Adam, ConstantLR, CosineAnnealingLR, StepLR, make_schedule
from .progress import EpochLines, EpochProgress
from .training import History, fit

__all__ = [
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
    "EpochLines",
    "EpochProgress",
    "History",
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
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "StepLR",
    "Tanh",
    "TrainConfig",
    "fit",
    "get_kernels",
    "gradcheck",
    "make_schedule",
    "set_kernels",
]
