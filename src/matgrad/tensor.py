"""Tensor: a NumPy array, and, when it was computed from Tensors that require grad, a graph node.

A Tensor *is* its graph node: ``_prim`` is the primitive that produced it, ``_parents`` the
arguments it was called with (Tensors, or constants such as arrays and Python scalars),
``_inputs`` their values as the forward pass saw them (what the VJPs read), and
``_params`` its non-array arguments (``axis=…``) and ``_seq`` its creation number (a node is
always newer than its inputs, which orders the backward sweep).  Leaves have ``_prim is None``.
"""

from __future__ import annotations

import warnings
from itertools import count
from typing import TYPE_CHECKING, Any

import numpy as np

from .state import STATE

if TYPE_CHECKING:
    from .primitives.core import Primitive


class Tensor:
    """An ndarray that can record how it was computed.

    Operators and methods mirror NumPy (``@``, ``**``, ``.T``, ``.sum(axis=…)``, indexing)
    and call the primitives of :mod:`matgrad.primitives`; NumPy arrays and Python scalars on
    either side are constants.
    """

    __slots__ = (
        "__weakref__",
        "_inputs",
        "_params",
        "_parents",
        "_prim",
        "_seq",
        "data",
        "grad",
        "name",
        "requires_grad",
    )

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None) -> None:
        array = np.asarray(data.data if isinstance(data, Tensor) else data)
        if requires_grad:
            _check_differentiable_dtype(array.dtype, name)
        self.data = array
        self.grad: np.ndarray | Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._prim: Primitive | None = None
        self._parents: tuple | None = None
        self._inputs: tuple | None = None
        self._params: dict | None = None

    # ----- array protocol -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The values for NumPy, refused while they would leave a graph: ``np.asarray(t)`` or
        ``np.array([t, u])`` on a Tensor that requires grad would silently drop its gradient."""
        if self.requires_grad and STATE.grad_enabled:
            raise TypeError(
                f"numpy read the values of a Tensor that requires grad (shape {self.shape}), which would "
                f"drop it from the graph. Hint: build arrays from Tensors with matgrad.numpy.array or "
                f"mg.stack; take the values with t.detach() or t.numpy() if no gradient should flow"
            )
        if dtype is None:
            return self.data if not copy else self.data.copy()
        return self.data.astype(dtype, copy=bool(copy) or self.data.dtype != dtype)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``np.sin(t)``, ``ndarray @ t``, ``np.add.reduce(t)``: the matgrad function, recorded."""
        return _dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        """``np.sum(t, axis=0)``, ``np.linalg.inv(t)``: the matgrad function, recorded."""
        return _dispatch.array_function(func, types, args, kwargs)

    def __bool__(self) -> bool:
        """As NumPy: the truth of a one-entry Tensor; ambiguous (an error) for more entries."""
        return bool(self.data)

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shared, not copied)."""
        return self.data

    def item(self) -> Any:
        return self.data.item()

    def __float__(self) -> float:
        """The value of a 0-d Tensor, off the graph (as ``.item()``); NumPy's error for other shapes."""
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __repr__(self) -> str:
        flags = ", requires_grad=True" if self.requires_grad else ""
        named = f", name={self.name!r}" if self.name else ""
        made_by = f", prim={self._prim.name}" if self._prim is not None else ""
        body = np.array2string(self.data, precision=4, threshold=20, edgeitems=2, prefix="tensor(")
        return f"tensor({body}, shape={self.shape}, dtype={self.dtype}{flags}{made_by}{named})"

    # ----- graph ----------------------------------------------------------------------------
    @property
    def is_leaf(self) -> bool:
        return self._prim is None

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory)."""
        return Tensor(self.data, name=self.name)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag:
            _check_differentiable_dtype(self.dtype, self.name)
        self.requires_grad = flag
        return self

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Accumulate ∂self/∂leaf into ``leaf.grad`` for every leaf that requires grad.

        ``gradient`` seeds the sweep (the ``v`` of the vector-Jacobian product ``vᵀJ``);
        it may be omitted only for a scalar.  See :func:`matgrad.reverse.backward`.
        """
        _reverse.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    # ----- arithmetic -----------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return record(_p.add, (self, other), _NO_PARAMS)

    def __radd__(self, other: Any) -> Tensor:
        return record(_p.add, (other, self), _NO_PARAMS)

    def __sub__(self, other: Any) -> Tensor:
        return record(_p.sub, (self, other), _NO_PARAMS)

    def __rsub__(self, other: Any) -> Tensor:
        return record(_p.sub, (other, self), _NO_PARAMS)

    def __mul__(self, other: Any) -> Tensor:
        return record(_p.mul, (self, other), _NO_PARAMS)

    def __rmul__(self, other: Any) -> Tensor:
        return record(_p.mul, (other, self), _NO_PARAMS)

    def __truediv__(self, other: Any) -> Tensor:
        return record(_p.div, (self, other), _NO_PARAMS)

    def __rtruediv__(self, other: Any) -> Tensor:
        return record(_p.div, (other, self), _NO_PARAMS)

    def __pow__(self, other: Any) -> Tensor:
        return record(_p.power, (self, other), _NO_PARAMS)

    def __rpow__(self, other: Any) -> Tensor:
        return record(_p.power, (other, self), _NO_PARAMS)

    def __mod__(self, other: Any) -> Tensor:
        return _p.elementwise_math.mod(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _p.elementwise_math.mod(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return record(_p.matmul, (self, other), _NO_PARAMS)

    def __rmatmul__(self, other: Any) -> Tensor:
        return record(_p.matmul, (other, self), _NO_PARAMS)

    def __neg__(self) -> Tensor:
        return record(_p.neg, (self,), _NO_PARAMS)

    # In place (``W -= lr * g``): a Tensor that requires grad is updated in place under
    # ``no_grad`` (an optimizer step) and refused while recording, where Python would otherwise
    # rebind the name to a new node and an optimizer holding the leaf would never see the update.
    # A Tensor that requires no grad gets a new Tensor, as ``x = x + 1``: its values may be saved
    # by a recorded node, whose gradient must not change under it.
    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place("+", np.add, other, Tensor.__add__)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place("-", np.subtract, other, Tensor.__sub__)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place("*", np.multiply, other, Tensor.__mul__)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place("/", np.divide, other, Tensor.__truediv__)

    def __ipow__(self, other: Any) -> Tensor:
        return self._in_place("**", np.power, other, Tensor.__pow__)

    def __imatmul__(self, other: Any) -> Tensor:
        return self._in_place("@", np.matmul, other, Tensor.__matmul__)

    def _in_place(self, symbol: str, ufunc: np.ufunc, other: Any, new_node: Any) -> Tensor:
        """``self`` updated in place where that is the meaning (see above), else ``new_node(self, other)``."""
        if not self.requires_grad:
            return new_node(self, other)
        if STATE.grad_enabled:
            name = f" {self.name!r}" if self.name else ""
            raise RuntimeError(
                f"{symbol}=: the Tensor{name} requires grad, and an in-place update while recording would "
                f"leave the graph and any optimizer holding it behind; update it under `with mg.no_grad():` "
                f"(as an optimizer step does), or write `x = x {symbol} ...` to record a new node"
            )
        ufunc(self.data, _value(other), out=self.data, casting="same_kind")
        return self

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _p.absolute(self)

    # Comparisons are elementwise, as in NumPy, and give boolean NumPy arrays: they have no derivative.
    def __lt__(self, other: Any) -> np.ndarray:
        return self.data < _value(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= _value(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > _value(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= _value(other)

    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data == _value(other)

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data != _value(other)

    # Identity, as PyTorch does: a Tensor is a graph node, kept in sets and dicts by the sweep.  Distinct
    # live objects never share an identity hash, so a lookup never falls back on the elementwise ==.
    __hash__ = object.__hash__

    # ----- shape and reductions -------------------------------------------------------------
    def __getitem__(self, index: Any) -> Tensor:
        return _p.getitem(self, index=_value_index(index))

    @property
    def T(self) -> Tensor:
        return _p.transpose(self)

    @property
    def mT(self) -> Tensor:
        return _p.matrix_transpose(self)

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return _p.transpose(self, axes=tuple(axes) if axes else None)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _p.reshape(self, shape=shape)

    def ravel(self, order: str = "C") -> Tensor:
        return _p.rearrange.ravel(self, order)

    def flatten(self, order: str = "C") -> Tensor:
        return _p.rearrange.ravel(self, order)

    def squeeze(self, axis: Any = None) -> Tensor:
        return _p.squeeze(self, axis)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _p.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _p.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _p.max(self, axis=axis, keepdims=keepdims)

    def exp(self) -> Tensor:
        return _p.exp(self)

    def log(self) -> Tensor:
        return _p.log(self)

    def sqrt(self) -> Tensor:
        return _p.sqrt(self)

    def astype(self, dtype: Any) -> Tensor:
        """A differentiable cast between floating dtypes (``.data`` cast for anything else)."""
        return _p.astype(self, dtype=np.dtype(dtype))


def tensor(
    data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
) -> Tensor:
    """Make a leaf Tensor from an array-like.  float32 stays float32; nothing is upcast."""
    array = np.asarray(data.data if isinstance(data, Tensor) else data, dtype=dtype)
    return Tensor(array, requires_grad=requires_grad, name=name)


def record(prim: Primitive, args: tuple, params: dict) -> Tensor:
    """Run ``prim`` on the values of ``args`` and, if any requires grad, record the node."""
    # The raw values, unrolled for the one- and two-input primitives (nearly every call): a list
    # comprehension is a function call of its own, and a star-call converts a list to a tuple.
    if len(args) == 2:
        a, b = args
        values: tuple = (a.data if type(a) is Tensor else a, b.data if type(b) is Tensor else b)
    elif len(args) == 1:
        values = (args[0].data if type(args[0]) is Tensor else args[0],)
    else:
        values = tuple([arg.data if type(arg) is Tensor else arg for arg in args])
    try:  # a call with **{} costs a ufunc half a microsecond more than a plain call
        out = prim.forward(*values, **params) if params else prim.forward(*values)
    except (ValueError, TypeError, IndexError) as error:
        raise prim.input_error(values, params, error) from error
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    node = Tensor.__new__(Tensor)
    node.data = out
    node.grad = None
    node.name = None
    if STATE.grad_enabled:
        for arg in args:
            if type(arg) is Tensor and arg.requires_grad:
                if out.dtype is _FLOAT64:  # a float32 input upcast: by float64 data, if a parameter? say so
                    for value in values:  # inline: a float64 model's every step passes here
                        if type(value) is np.ndarray and value.dtype is _FLOAT32:
                            _warn_upcast(prim, args, values)
                            break
                node.requires_grad = True
                node._prim = prim
                node._parents = args
                node._inputs = values
                node._params = params
                node._seq = _next_seq()
                if STATE.anomaly:
                    raise_if_not_finite(out, f"forward of {prim.name}")
                return node
    node.requires_grad = False
    node._prim = node._parents = node._inputs = node._params = None
    return node


_next_seq = count().__next__  # creation numbers of recorded nodes
_FLOAT64 = np.dtype(np.float64)
_FLOAT32 = np.dtype(np.float32)


class PrecisionWarning(UserWarning):
    """A float32 parameter met float64 data and was silently computed in float64."""


def _warn_upcast(prim: Primitive, args: tuple, values: tuple) -> None:
    """The dtype rule is NumPy's (float32 with float64 gives float64; a Python number adapts), as in
    PyTorch and JAX; but a float32 parameter that meets a float64 *array* is nearly always a data set
    left in float64, which doubles the model's memory and gives its float32 weights float64
    gradients without a word.  Warn, naming the step and the fix."""
    parameter = any(type(a) is Tensor and a.requires_grad and a.data.dtype is _FLOAT32 for a in args)
    wide = [v for v in values if isinstance(v, np.ndarray) and v.dtype is _FLOAT64 and v.ndim > 0]
    if parameter and wide:
        shapes = " and ".join(f"{np.shape(v)} {np.asarray(v).dtype}" for v in values)
        warnings.warn(
            f"{prim.name}: a float32 parameter meets float64 data ({shapes}), so this step and its "
            "gradient run in float64; cast the data with .astype(np.float32), or build the model "
            "with dtype=np.float64",
            PrecisionWarning,
            stacklevel=4,
        )
_NO_PARAMS: dict = {}  # shared by the operators, which take no parameters; never mutated


def _value(x: Any) -> Any:
    """The raw value of a Tensor or of a constant."""
    return x.data if type(x) is Tensor else x


def _value_index(index: Any) -> Any:
    """Indices are constants: a Tensor used as an index contributes its integer values."""
    if isinstance(index, tuple):
        return tuple(_value(i) for i in index)
    return _value(index)


def _check_differentiable_dtype(dtype: np.dtype, name: str | None) -> None:
    if not np.issubdtype(dtype, np.floating):
        label = f" {name!r}" if name else ""
        raise TypeError(
            f"requires_grad: the tensor{label} has dtype {dtype}; only floating-point tensors "
            f"can require gradients (integer and boolean inputs are constants). "
            f"Hint: convert with .astype(np.float64) or np.float32 first."
        )


def raise_if_not_finite(array: Any, where: str) -> None:
    if not np.all(np.isfinite(array)):
        bad = "NaN" if np.any(np.isnan(array)) else "Inf"
        raise FloatingPointError(f"detect_anomaly: {where} produced {bad}")


from . import dispatch as _dispatch  # noqa: E402  (NumPy's protocols call back into the primitives)
from . import primitives as _p  # noqa: E402  (the primitives call back into record())
from . import reverse as _reverse  # noqa: E402
