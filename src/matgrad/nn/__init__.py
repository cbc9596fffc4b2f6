"""matgrad.nn: modules, layers, activations, losses, regularizers and initializers.

Built on the engine's primitives and composites only: nothing here defines a derivative.
Layers are batch first (row layout, ``Y = X W + b``), float32 by default.
"""

from . import init
from .activations import (
    ACTIVATIONS,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
)
from .config import from_config, loss_from_config, regularizer_from_config
from .conv import Conv2d, Flatten
from .dropout import Dropout
from .linear import Linear
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .mlp import MLP
from .module import LoadResult, Module
from .regularizers import L1, L2
from .sequential import Sequential

__all__ = [
    "ACTIVATIONS",
    "BCEWithLogitsLoss",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "L1",
    "L2",
    "LeakyReLU",
    "Linear",
    "LoadResult",
    "LogSoftmax",
    "MLP",
    "MSELoss",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "from_config",
    "get_activation",
    "init",
    "loss_from_config",
    "regularizer_from_config",
]
