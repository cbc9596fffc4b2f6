"""The primitive table: every differentiable operation, with its forward, VJP, JVP and notation.

``TABLE`` maps names to :class:`Primitive` rows.  The modules below register their rows
explicitly (``register(...)`` at the end of each file), and registering a name twice is an error.
"""

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
from .core import TABLE, Primitive, register, unbroadcast
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
from .linalg import matmul, transpose
from .nn import log_softmax, softmax, softmax_cross_entropy
from .notation import Notation
from .reductions import logsumexp, max, mean, sum
from .shape import broadcast_to, getitem, reshape, scatter_add

__all__ = [
    "TABLE", "Notation", "Primitive", "register", "unbroadcast",
    "absolute", "add", "astype", "broadcast_to", "clip", "concatenate", "cross_entropy", "div",
    "exp", "expand_dims", "getitem", "identity", "leaky_relu", "log", "log_softmax", "logsumexp",
    "matmul", "matrix_transpose", "max", "maximum", "mean", "min", "minimum", "mul", "neg",
    "one_hot", "power", "relu", "reshape", "scatter_add", "sigmoid", "softmax",
    "softmax_cross_entropy", "softplus", "sqrt", "squeeze", "stack", "sub", "sum", "swapaxes",
    "tanh", "transpose", "where",
]
