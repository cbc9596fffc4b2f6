"""autograd's public names, expressed with matgrad's public API (ours; no autograd code).

The port (``port.py``) rewrites the ported tests' ``from autograd import …`` and
``from autograd.test_util import …`` lines to import from this module (copied next to them as
``_autograd_shim``).  Each name here is written on :mod:`matgrad`'s transforms: ``grad``,
``value_and_grad``, ``vjp``, ``jvp``, ``jacrev``, ``hessian`` and ``gradcheck``.

Names matgrad cannot honestly express (autograd's ``primitive``/``defvjp``, ``vspace``, its
boxed containers' internals, complex differentiation, ``checkpoint``) resolve to placeholders
that raise :class:`Unsupported` when used, so a test that needs them fails as "unsupported",
never as a wrong number.  autograd's ``tuple``/``list``/``dict``/``isinstance`` are Python's
own: in matgrad a container of Tensors is an ordinary container (a pytree).

``check_grads`` follows the contract of autograd's ``test_util.check_grads`` (``argnum``
selects the arguments, ``modes`` and ``order`` as there, both call styles) but checks with
``matgrad.gradcheck``: the full Jacobian, entry by entry, against central differences, in each
mode, and at ``order`` ≥ 2 the derivatives of the VJP and JVP as well.
"""

from __future__ import annotations

import builtins
import functools
import itertools
import os
from typing import Any

import numpy as onp

import matgrad as mg
import matgrad.numpy as mnp
from matgrad import Tensor

__all__ = [
    "Unsupported", "unary_to_nary", "grad", "elementwise_grad", "value_and_grad", "grad_and_aux", "deriv",
    "jacobian", "hessian", "make_vjp", "make_jvp", "core_make_vjp", "core_make_jvp", "make_hvp",
    "hessian_tensor_product", "hessian_vector_product", "tensor_jacobian_product", "vector_jacobian_product",
    "make_ggnvp", "holomorphic_grad", "checkpoint", "isbox", "check_grads", "combo_check", "check_equivalent",
    "scalar_close", "tuple", "list", "dict", "isinstance", "type",
]


class Unsupported(Exception):  # noqa: N818  (deliberately not a TypeError/NotImplementedError: never "expected")
    """The ported test needs a piece of autograd that matgrad has no counterpart for."""


class _Missing:
    """A placeholder for an autograd name with no matgrad counterpart: calling it (or asking its truth,
    indexing, iterating) raises; an attribute is another placeholder, so a module-level
    ``stats.norm.pdf`` still lets the file be collected and each test fail on its own."""

    def __init__(self, name: str, why: str) -> None:
        self._name, self._why = name, why

    def _refuse(self) -> Unsupported:
        return Unsupported(f"autograd's {self._name} is not supported by the matgrad port: {self._why}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._refuse()

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Missing(f"{self._name}.{attr}", self._why)

    def __getitem__(self, key: Any) -> Any:
        raise self._refuse()

    def __iter__(self) -> Any:
        raise self._refuse()

    def __bool__(self) -> bool:
        raise self._refuse()

    def __repr__(self) -> str:
        return f"<unsupported autograd name {self._name}>"


_INTERNALS = {
    "primitive": "autograd's tracer (user-defined primitives); matgrad's rules live in its primitive table",
    "defvjp": "autograd's tracer (user-defined VJPs)",
    "defjvp": "autograd's tracer (user-defined JVPs)",
    "defvjp_argnum": "autograd's tracer (user-defined VJPs)",
    "primitive_vjps": "autograd's internal VJP registry",
    "vspace": "autograd's vector-space internals",
    "VSpace": "autograd's vector-space internals",
    "Box": "autograd's tracer boxes",
    "SparseObject": "autograd's sparse cotangents",
    "const_graph": "autograd.misc.const_graph (graph caching)",
    "flatten": "autograd.misc.flatten",
    "quick_grad_check": "a deprecated autograd helper",
    "checkpoint": "matgrad has no rematerialising function wrapper",
    "holomorphic_grad": "complex numbers (matgrad differentiates real floating-point arrays only)",
    "multigrad_dict": "autograd's dict-of-arguments gradient",
    "grad_named": "autograd's by-name gradient",
    "make_jvp_reversemode": "autograd's reverse-mode JVP trick",
}


_MODULES = {
    "autograd_scipy": "SciPy (matgrad differentiates NumPy's functions; it has no SciPy layer)",
    "autograd_misc": "autograd.misc (optimizers, flatten, graph tracing)",
}


def __getattr__(name: str) -> Any:
    """Any other autograd name: a placeholder that refuses when used.  ``autograd_scipy_stats`` and
    the like stand for whole autograd modules (``import autograd.scipy.stats as stats``)."""
    if name.startswith("__"):
        raise AttributeError(name)
    if name.startswith("autograd_"):
        why = next((w for prefix, w in _MODULES.items() if name.startswith(prefix)), "an autograd module")
        return _Missing(name.replace("_", "."), why)
    return _Missing(name, _INTERNALS.get(name) or "an autograd internal with no matgrad counterpart")


# ----- autograd's containers are Python's: a pytree of Tensors is an ordinary container --------------
tuple = builtins.tuple  # noqa: A001
list = builtins.list  # noqa: A001
dict = builtins.dict  # noqa: A001
type = builtins.type  # noqa: A001


def isinstance(obj: Any, classinfo: Any) -> bool:  # noqa: A001
    """autograd's ``isinstance``: a traced value is an instance of what it stands for (a Tensor is an
    ndarray); anything else as Python's."""
    classes = classinfo if builtins.isinstance(classinfo, builtins.tuple) else (classinfo,)
    if builtins.isinstance(obj, Tensor) and onp.ndarray in classes:
        return True
    return builtins.isinstance(obj, classinfo)


def isbox(x: Any) -> bool:
    """autograd's "is this value being traced": a matgrad Tensor on a graph."""
    return builtins.isinstance(x, Tensor) and x.requires_grad


# ----- argnum handling: operator(fun, argnum=0, *op_args, **op_kwargs)(*args, **kwargs) -------------
def _substitute(args: builtins.tuple, pairs: Any) -> builtins.tuple:
    new = builtins.list(args)
    for i, value in pairs:
        new[i] = value
    return builtins.tuple(new)


def unary_to_nary(unary_operator: Any) -> Any:
    """Turn ``op(f, x, ...)`` (f of one argument) into ``op(f, argnum=0, ...)(*args, **kwargs)``:
    ``x`` is ``args[argnum]``, or the tuple of the arguments named by a tuple/list ``argnum``."""

    @functools.wraps(unary_operator)
    def nary_operator(fun: Any, argnum: Any = 0, *op_args: Any, **op_kwargs: Any) -> Any:
        assert builtins.type(argnum) in (int, builtins.tuple, builtins.list), argnum

        def nary_f(*args: Any, **kwargs: Any) -> Any:
            def unary_f(x: Any) -> Any:
                pairs = [(argnum, x)] if builtins.isinstance(argnum, int) else zip(argnum, x)
                return fun(*_substitute(args, pairs), **kwargs)

            unary_f.__name__ = getattr(fun, "__name__", "f")
            x = args[argnum] if builtins.isinstance(argnum, int) else builtins.tuple(args[i] for i in argnum)
            return unary_operator(unary_f, x, *op_args, **op_kwargs)

        name = f"{unary_operator.__name__}_of_{getattr(fun, '__name__', 'f')}_wrt_argnum_{argnum}"
        nary_f.__name__ = nary_f.__qualname__ = name
        nary_f.__doc__ = f"{unary_operator.__name__} of {getattr(fun, '__name__', 'f')}, argument(s) {argnum}"
        return nary_f

    return nary_operator


def _ones_like(tree: Any) -> Any:
    return mg.tree_map(lambda leaf: onp.ones(onp.shape(leaf), dtype=_float_dtype(leaf)), tree)


def _float_dtype(leaf: Any) -> Any:
    dtype = onp.result_type(leaf.dtype if builtins.isinstance(leaf, Tensor) else leaf)
    return dtype if onp.issubdtype(dtype, onp.floating) else onp.float64


# ----- the unary operators on matgrad's transforms ---------------------------------------------------
def _grad(fun: Any, x: Any) -> Any:
    return mg.grad(fun)(x)


def _value_and_grad(fun: Any, x: Any) -> Any:
    return mg.value_and_grad(fun)(x)


def _grad_and_aux(fun: Any, x: Any) -> Any:
    return mg.grad(lambda x: builtins.tuple(fun(x)), has_aux=True)(x)


def _elementwise_grad(fun: Any, x: Any) -> Any:
    value, fun_vjp = mg.vjp(fun, x)
    return fun_vjp(_ones_like(value))[0]


def _deriv(fun: Any, x: Any) -> Any:
    return mg.jvp(fun, (x,), (_ones_like(x),))[1]


def _jacobian(fun: Any, x: Any) -> Any:
    return mg.jacrev(fun)(x)


def _hessian(fun: Any, x: Any) -> Any:
    return mg.hessian(fun)(x)


def core_make_vjp(fun: Any, x: Any) -> Any:
    """``autograd.core.make_vjp(fun, x)``: ``(vjp, fun(x))`` with ``vjp(g)`` = gᵀJ."""
    value, fun_vjp = mg.vjp(fun, x)
    return (lambda g: fun_vjp(g)[0]), value


def core_make_jvp(fun: Any, x: Any) -> Any:
    """``autograd.core.make_jvp(fun, x)``: ``jvp(v)`` = ``(fun(x), J v)``."""
    return lambda v: mg.jvp(fun, (x,), (v,))


def _make_hvp(fun: Any, x: Any) -> Any:
    return core_make_vjp(grad(fun), x)


_grad.__name__ = "grad"
_value_and_grad.__name__ = "value_and_grad"
_grad_and_aux.__name__ = "grad_and_aux"
_elementwise_grad.__name__ = "elementwise_grad"
_deriv.__name__ = "deriv"
_jacobian.__name__ = "jacobian"
_hessian.__name__ = "hessian"
_make_hvp.__name__ = "make_hvp"

grad = unary_to_nary(_grad)
value_and_grad = unary_to_nary(_value_and_grad)
grad_and_aux = unary_to_nary(_grad_and_aux)
elementwise_grad = unary_to_nary(_elementwise_grad)
deriv = unary_to_nary(_deriv)
jacobian = unary_to_nary(_jacobian)
hessian = unary_to_nary(_hessian)
make_vjp = unary_to_nary(core_make_vjp)
make_jvp = unary_to_nary(core_make_jvp)
make_hvp = unary_to_nary(_make_hvp)
holomorphic_grad = _Missing("holomorphic_grad", _INTERNALS["holomorphic_grad"])
checkpoint = _Missing("checkpoint", _INTERNALS["checkpoint"])


def hessian_tensor_product(fun: Any, argnum: int = 0) -> Any:
    """``(*args, V) ↦ H V``: the gradient of ⟨∇f, V⟩, V held constant."""
    fun_grad = grad(fun, argnum)

    def inner_with_gradient(*args: Any, **kwargs: Any) -> Any:
        *rest, tensor = args
        return mnp.tensordot(fun_grad(*rest, **kwargs), tensor, onp.ndim(tensor))

    return grad(inner_with_gradient, argnum)


hessian_vector_product = hessian_tensor_product


def tensor_jacobian_product(fun: Any, argnum: int = 0) -> Any:
    """``(*args, V) ↦`` the Jacobian of ⟨V, f⟩ (V contracted with f's leading axes), V held constant."""

    def contracted(*args: Any, **kwargs: Any) -> Any:
        *rest, tensor = args
        return mnp.tensordot(tensor, fun(*rest, **kwargs), axes=onp.ndim(tensor))

    return jacobian(contracted, argnum)


vector_jacobian_product = tensor_jacobian_product


def make_ggnvp(f: Any, g: Any = None, f_argnum: int = 0) -> Any:
    """``x ↦ (v ↦ Jᵀ H_g J v)``: the generalised Gauss-Newton product (J of f at x, H_g of g at f(x)).
    ``g`` defaults to ½‖y‖² over the last axis, as in autograd."""
    g = g if g is not None else (lambda y: 0.5 * mnp.sum(y**2, axis=-1))

    def _make(fun: Any, x: Any) -> Any:
        fx = fun(x)

        def ggnvp(v: Any) -> Any:
            jv = mg.jvp(fun, (x,), (v,))[1]
            hjv = core_make_vjp(mg.grad(g), fx)[0](jv)
            return core_make_vjp(fun, x)[0](hjv)

        return ggnvp

    _make.__name__ = "make_ggnvp"
    return unary_to_nary(_make)(f, f_argnum)


# ----- test_util: check_grads, combo_check, check_equivalent, scalar_close ----------------------------
TOL = RTOL = 1e-6


def scalar_close(a: Any, b: Any) -> bool:
    return builtins.abs(a - b) < TOL or builtins.abs(a - b) / builtins.abs(a + b) < RTOL


def _leaf_array(leaf: Any) -> onp.ndarray:
    return onp.asarray(leaf.data if builtins.isinstance(leaf, Tensor) else leaf)


def _refuse_complex(leaves: Any, what: str) -> None:
    if builtins.any(onp.iscomplexobj(_leaf_array(leaf)) for leaf in leaves):
        raise Unsupported(f"complex numbers ({what} is complex); matgrad differentiates real floating-point arrays")


def _flat_output(out: Any) -> Any:
    """One array for gradcheck: a single output as it is, a pytree's leaves raveled and joined."""
    leaves = mg.tree_flatten(out)[0]
    _refuse_complex(leaves, "the function's output")
    if builtins.len(leaves) == 1:
        return leaves[0]
    return mnp.concatenate([mnp.reshape(leaf, (-1,)) for leaf in leaves]) if leaves else onp.zeros(0)


#: ``AUTOGRAD_PORT_STRICT=1`` (``port.py --strict``): every check in both modes, whatever the test asked
#: for (autograd's test_linalg skips forward mode, which autograd lacked for its decompositions).
STRICT = os.environ.get("AUTOGRAD_PORT_STRICT") == "1"
#: ``AUTOGRAD_PORT_TOL="atol,rtol"`` (``port.py --tol``): gradcheck's tolerances (default: its own).
_TOL = os.environ.get("AUTOGRAD_PORT_TOL")
TOLERANCES = builtins.dict(zip(("atol", "rtol"), (float(v) for v in _TOL.split(",")))) if _TOL else {}


def _check_grads(f: Any, x: Any, modes: Any = ("fwd", "rev"), order: int = 2) -> None:
    assert builtins.all(m in ("fwd", "rev") for m in modes), modes
    if STRICT:
        modes = ("rev", "fwd")
    leaves, treedef = mg.tree_flatten(x)
    _refuse_complex(leaves, "an input")

    def flat_f(*xs: Any) -> Any:
        return _flat_output(f(mg.tree_unflatten(treedef, builtins.list(xs))))

    flat_f.__name__ = getattr(f, "__name__", "f")
    mg.gradcheck(flat_f, leaves, modes=builtins.tuple(modes), order=order, **TOLERANCES)


_check_grads.__name__ = "check_grads"
check_grads = unary_to_nary(_check_grads)


def combo_check(fun: Any, *check_args: Any, **check_kwargs: Any) -> Any:
    """``combo_check(fun, argnum, **check_options)(*arg_choices, **kwarg_choices)``: check_grads on every
    combination of one choice per positional argument and one per keyword.

    Every combination runs (a complex one does not stop the real ones after it); then the first
    failure is raised, a wrong number or crash before an :class:`Unsupported`."""

    def run(*arg_choices: Any, **kwarg_choices: Any) -> None:
        keyword_options = [[(k, v) for v in vs] for k, vs in kwarg_choices.items()]
        failures, unsupported, count = [], [], 0
        for args in itertools.product(*arg_choices):
            for kwargs in itertools.product(*keyword_options):
                count += 1
                try:
                    check_grads(fun, *check_args, **check_kwargs)(*args, **builtins.dict(kwargs))
                except Exception as error:
                    error.add_note(f"combo_check case: args {_describe(args)}, kwargs {builtins.dict(kwargs)}")
                    (unsupported if builtins.isinstance(error, Unsupported) else failures).append(error)
        for found in (failures, unsupported):
            if found:
                found[0].add_note(f"combo_check: {builtins.len(failures)} failed, {builtins.len(unsupported)} "
                                  f"unsupported, {count - builtins.len(failures) - builtins.len(unsupported)} "
                                  f"passed of {count} combinations")
                raise found[0]

    return run


def _describe(args: Any) -> str:
    def one(a: Any) -> str:
        if builtins.isinstance(a, (onp.ndarray, Tensor)):
            return f"array{a.shape}"
        if builtins.isinstance(a, (builtins.list, builtins.tuple)):
            return "(" + ", ".join(one(b) for b in a) + ")"
        return repr(a)

    return "(" + ", ".join(one(a) for a in args) + ")"


def check_equivalent(x: Any, y: Any) -> None:
    """Same structure and shapes, and the same values to 1e-6 (relative and absolute)."""
    x_leaves = mg.tree_flatten(x)[0]
    y_leaves = mg.tree_flatten(y)[0]
    assert builtins.len(x_leaves) == builtins.len(y_leaves), f"Structure mismatch:\nx: {x}\ny: {y}"
    for a, b in zip(x_leaves, y_leaves):
        a, b = _leaf_array(a), _leaf_array(b)
        assert a.shape == b.shape, f"Shape mismatch: {a.shape} vs {b.shape}\nx: {x}\ny: {y}"
        assert onp.allclose(a, b, rtol=RTOL, atol=TOL), f"Value mismatch:\nx: {x}\ny: {y}"
