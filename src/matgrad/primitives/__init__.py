"""The primitive table: every differentiable operation, with its forward, VJP, JVP and notation.

``TABLE`` maps names to :class:`Primitive` rows.  The modules below register their rows
explicitly (``register(...)`` at the end of each file), and registering a name twice is an error.
"""

from . import convolution, decompositions, elementwise_math, matrices, norms, products, rearrange, scans
from .composites import (
    concatenate,
    cross_entropy,
    expand_dims,
    matrix_transpose,
    min,
    one_hot,
    squeeze,
    stack,
    swapaxes,
)
from .convolution import *  # noqa: F403
from .core import TABLE, Primitive, register, unbroadcast
from .decompositions import *  # noqa: F403
from .elementwise import (
    absolute,
    add,
    astype,
    clip,
    div,
    exp,
    identity,
    leaky_relu,
    log,
    maximum,
    minimum,
    mul,
    neg,
    power,
    relu,
    sigmoid,
    softplus,
    sqrt,
    sub,
    tanh,
    where,
)
from .elementwise_math import *  # noqa: F403
from .linalg import matmul, transpose
from .matrices import *  # noqa: F403
from .nn import log_softmax, softmax, softmax_cross_entropy
from .norms import *  # noqa: F403
from .notation import Notation
from .products import *  # noqa: F403
from .rearrange import *  # noqa: F403
from .reductions import logsumexp, max, mean, sum
from .scans import *  # noqa: F403
from .shape import broadcast_to, getitem, reshape, scatter_add

# The rest of NumPy's differentiable surface: each module lists its public functions in __all__.
SURFACE_MODULES = (elementwise_math, scans, products, matrices, decompositions, norms, rearrange, convolution)

__all__ = [
    "TABLE", "Notation", "Primitive", "register", "unbroadcast",
    "absolute", "add", "astype", "broadcast_to", "clip", "concatenate", "cross_entropy", "div",
    "exp", "expand_dims", "getitem", "identity", "leaky_relu", "log", "log_softmax", "logsumexp",
    "matmul", "matrix_transpose", "max", "maximum", "mean", "min", "minimum", "mul", "neg",
    "one_hot", "power", "relu", "reshape", "scatter_add", "sigmoid", "softmax",
    "softmax_cross_entropy", "softplus", "sqrt", "squeeze", "stack", "sub", "sum", "swapaxes",
    "tanh", "transpose", "where",
]
__all__ += [name for module in SURFACE_MODULES for name in module.__all__]
