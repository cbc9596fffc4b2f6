"""matgrad: backpropagation made visible and fast.

Reverse- and forward-mode automatic differentiation on NumPy, built from one table of
primitives (forward, VJP, JVP and the rule's matrix-calculus notation side by side).
"""

from . import claim, data, linalg, nn, numpy, optim, primitives
from .check import GradcheckError, GradcheckReport, dot_product_test, gradcheck, numeric_jacobian
from .claim import ClaimReport, check_gradient
from .compile import CompileError, compile, compile_backward
from .explain import explain
from .per_example import per_example_grad
from .primitives import SURFACE_MODULES as _SURFACE_MODULES
from .primitives import (
    TABLE,
    absolute,
    add,
    broadcast_to,
    clip,
    concatenate,
    cross_entropy,
    div,
    exp,
    expand_dims,
    leaky_relu,
    log,
    log_softmax,
    logsumexp,
    matmul,
    matrix_transpose,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    one_hot,
    power,
    relu,
    reshape,
    sigmoid,
    softmax,
    softplus,
    sqrt,
    squeeze,
    stack,
    sub,
    sum,
    swapaxes,
    tanh,
    transpose,
    where,
)
from .primitives.convolution import *  # noqa: F403
from .primitives.decompositions import *  # noqa: F403
from .primitives.elementwise_math import *  # noqa: F403
from .primitives.matrices import *  # noqa: F403
from .primitives.norms import *  # noqa: F403
from .primitives.products import *  # noqa: F403
from .primitives.rearrange import *  # noqa: F403
from .primitives.scans import *  # noqa: F403
from .pytree import tree_flatten, tree_map, tree_unflatten
from .reverse import grad_of
from .saving import CheckpointError, LoadedCheckpoint, load, load_checkpoint, load_state, save
from .state import detect_anomaly, enable_grad, no_grad
from .tensor import Tensor, tensor
from .train import EarlyStopping, History, evaluate, fit
from .transforms import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp

abs = absolute  # noqa: A001  (NumPy's spelling)

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``mg.plot`` is imported on first use: it needs matplotlib, an optional extra."""
    if name == "plot":
        import importlib

        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module 'matgrad' has no attribute {name!r}")


__all__ = [
    "TABLE",
    "CheckpointError",
    "LoadedCheckpoint",
    "load",
    "load_checkpoint",
    "load_state",
    "save",
    "ClaimReport",
    "check_gradient",
    "claim",
    "compile",
    "compile_backward",
    "CompileError",
    "EarlyStopping",
    "GradcheckError",
    "History",
    "data",
    "evaluate",
    "explain",
    "fit",
    "linalg",
    "nn",
    "numpy",
    "optim",
    "GradcheckReport",
    "Tensor",
    "__version__",
    "abs",
    "absolute",
    "add",
    "broadcast_to",
    "clip",
    "concatenate",
    "cross_entropy",
    "detect_anomaly",
    "div",
    "dot_product_test",
    "enable_grad",
    "exp",
    "expand_dims",
    "grad",
    "grad_of",
    "gradcheck",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "leaky_relu",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "matrix_transpose",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "no_grad",
    "numeric_jacobian",
    "one_hot",
    "per_example_grad",
    "power",
    "primitives",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "softplus",
    "sqrt",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "swapaxes",
    "tanh",
    "tensor",
    "transpose",
    "tree_flatten",
    "tree_map",
    "tree_unflatten",
    "value_and_grad",
    "vjp",
    "where",
]
__all__ += [name for module in _SURFACE_MODULES for name in module.__all__]
