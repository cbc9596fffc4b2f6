"""NumPy's interface, differentiable: ``import matgrad.numpy as np`` (as with HIPS autograd).

Every name NumPy has is here.  Those in :data:`DIFFERENTIABLE` are matgrad functions with NumPy's
signature that record their primitives on Tensors (and return plain arrays on arrays); those in
:data:`CONSTANT` have no derivative by nature (comparisons, ``argmax``, ``shape``) and give NumPy
values; any other name is NumPy's own object, which refuses a Tensor that requires grad with an
error naming the function (see :mod:`matgrad.dispatch`).  Plain ``numpy`` works on Tensors too,
through the same tables; only ``np.array``/``np.asarray`` of a list of Tensors need this module's
:func:`array`, since NumPy builds those without asking the Tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from .. import primitives as _p
from ..primitives import SURFACE_MODULES as _SURFACE_MODULES
from ..primitives.composites import array
from ..primitives.convolution import *  # noqa: F403
from ..primitives.core import refuse_out
from ..primitives.core import value as _value
from ..primitives.decompositions import *  # noqa: F403
from ..primitives.elementwise_math import *  # noqa: F403
from ..primitives.elementwise_math import binary_ufunc, unary_ufunc
from ..primitives.matrices import *  # noqa: F403
from ..primitives.norms import *  # noqa: F403
from ..primitives.products import *  # noqa: F403
from ..primitives.rearrange import *  # noqa: F403
from ..primitives.scans import *  # noqa: F403
from ..pytree import tree_map as _tree_map
from . import linalg  # noqa: F401  (np.linalg, as NumPy has it)


def _cast(x: Any, dtype: Any) -> Any:
    return x if dtype is None else _p.astype(x, dtype=_np.dtype(dtype))


add = binary_ufunc(_p.add, "add")
subtract = binary_ufunc(_p.sub, "subtract")
multiply = binary_ufunc(_p.mul, "multiply")
divide = true_divide = binary_ufunc(_p.div, "divide")
power = binary_ufunc(_p.power, "power")
negative = unary_ufunc(_p.neg, "negative")
positive = unary_ufunc(_p.identity, "positive")
absolute = abs = fabs = unary_ufunc(_p.absolute, "absolute")  # noqa: A001
exp = unary_ufunc(_p.exp, "exp")
log = unary_ufunc(_p.log, "log")
sqrt = unary_ufunc(_p.sqrt, "sqrt")
tanh = unary_ufunc(_p.tanh, "tanh")
maximum = binary_ufunc(_p.maximum, "maximum")
minimum = binary_ufunc(_p.minimum, "minimum")
matmul = binary_ufunc(_p.matmul, "matmul")


def sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    refuse_out("sum", out)
    return _p.sum(_cast(a, dtype), axis=axis, keepdims=keepdims)


def mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    refuse_out("mean", out)
    return _p.mean(_cast(a, dtype), axis=axis, keepdims=keepdims)


def max(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    refuse_out("max", out)
    return _p.max(a, axis=axis, keepdims=keepdims)


def min(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    refuse_out("min", out)
    return _p.min(a, axis=axis, keepdims=keepdims)


def clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **bounds: Any) -> Any:
    """NumPy 2's ``clip(a, a_min, a_max)`` (or ``min=``/``max=``); bounds are constants."""
    refuse_out("clip", out)
    lo, hi = bounds.pop("min", a_min), bounds.pop("max", a_max)
    if bounds:
        raise TypeError(f"clip: unexpected keyword argument(s) {', '.join(sorted(bounds))}")
    return _p.clip(a, lo=lo, hi=hi)


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """``x`` where ``condition`` holds, else ``y``; ``where(condition)`` alone is NumPy's
    ``nonzero(condition)``: integer indices, constants like ``argmax``'s."""
    if x is None and y is None:
        return _np.nonzero(_tree_map(_value, condition))  # the values of any Tensors: indices are constants
    if x is None or y is None:
        raise ValueError("where: either both or neither of x and y should be given")
    return _p.where(condition, x, y)


def transpose(a: Any, axes: Any = None) -> Any:
    return _p.transpose(a, axes=None if axes is None else tuple(axes))


def reshape(a: Any, shape: Any = None, order: str = "C", **newshape: Any) -> Any:
    if order != "C":
        raise TypeError(f"reshape: only order='C' is supported, got {order!r}")
    shape = newshape.pop("newshape", shape)
    return _p.reshape(a, shape=(shape,) if isinstance(shape, int) else tuple(shape))


def broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    return _p.broadcast_to(array, shape=(shape,) if isinstance(shape, int) else tuple(shape))


def concatenate(arrays: Any, axis: Any = 0, out: Any = None, dtype: Any = None, casting: str = "same_kind") -> Any:
    refuse_out("concatenate", out)
    if axis is None:
        return _p.concatenate([_p.reshape(a, shape=(-1,)) for a in arrays], axis=0)
    return _cast(_p.concatenate(list(arrays), axis=axis), dtype)


def stack(arrays: Any, axis: int = 0, out: Any = None, dtype: Any = None, casting: str = "same_kind") -> Any:
    refuse_out("stack", out)
    return _cast(_p.stack(list(arrays), axis=axis), dtype)


def expand_dims(a: Any, axis: Any) -> Any:
    return _p.expand_dims(a, axis)


def squeeze(a: Any, axis: Any = None) -> Any:
    return _p.squeeze(a, axis)


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    return _p.swapaxes(a, axis1, axis2)


def matrix_transpose(x: Any) -> Any:
    return _p.matrix_transpose(x)


def asarray(a: Any, dtype: Any = None, order: Any = None, **ignored: Any) -> Any:
    """A Tensor stays itself (cast to ``dtype`` if given); lists holding Tensors are stacked."""
    return array(a, dtype=dtype)


def _reduce(primitive: Any, name: str) -> Any:
    """``ufunc.reduce(array, axis=0, dtype=None, out=None, keepdims=False)`` as a primitive."""

    def reduce(array: Any, axis: Any = 0, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        refuse_out(name, out)
        return primitive(_cast(array, dtype), axis=axis, keepdims=keepdims)

    reduce.__name__ = reduce.__qualname__ = name.replace(".", "_")
    return reduce


add_reduce = _reduce(_p.sum, "add.reduce")
maximum_reduce = _reduce(_p.max, "maximum.reduce")
minimum_reduce = _reduce(_p.min, "minimum.reduce")

#: NumPy's ufunc methods that matgrad differentiates: (ufunc, method) → the name of a function here.
UFUNC_METHODS = {("add", "reduce"): "add_reduce", ("maximum", "reduce"): "maximum_reduce",
                 ("minimum", "reduce"): "minimum_reduce"}

#: NumPy functions without a derivative by nature: on Tensors they compute on the values.
CONSTANT = frozenset(
    """shape ndim size result_type can_cast min_scalar_type iscomplexobj isrealobj isscalar iscomplex isreal
    allclose isclose array_equal array_equiv argmax argmin argsort argwhere nonzero flatnonzero count_nonzero
    any all searchsorted digitize bincount lexsort unravel_index ravel_multi_index
    zeros_like ones_like empty_like full_like shares_memory may_share_memory array2string array_repr array_str
    equal not_equal less less_equal greater greater_equal logical_and logical_or logical_xor logical_not
    isfinite isnan isinf signbit linalg.matrix_rank""".split()
)

_OWN = ("add subtract multiply divide true_divide power negative positive absolute abs fabs exp log sqrt tanh "
        "maximum minimum matmul sum mean max min clip where transpose reshape broadcast_to concatenate stack "
        "expand_dims squeeze swapaxes matrix_transpose array asarray").split()

#: NumPy functions matgrad differentiates, by their NumPy name.
DIFFERENTIABLE = tuple(
    sorted(({*_OWN} | {name for module in _SURFACE_MODULES for name in module.__all__}) - CONSTANT)
)


def __getattr__(name: str) -> Any:
    """Any other NumPy name (``pi``, ``float32``, ``random``, ``ones``) is NumPy's own."""
    try:
        return getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'matgrad.numpy' has no attribute {name!r} (nor has numpy)") from None
