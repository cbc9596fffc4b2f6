"""``combo_check``: one function, every combination of candidate arguments, against NumPy and numbers.

In the spirit of HIPS autograd's ``combo_check`` (its idea, not its code): given a matgrad function,
NumPy's function of the same name, and a list of candidate values for each positional argument and
for each keyword, run the cartesian product of the candidates (a deterministic sample of it above
``cap`` combinations).  Each combination is

* run through NumPy.  When NumPy refuses it, matgrad must refuse it too (the combination counts as
  *refused*, not as checked);
* run through matgrad on the same plain arrays, and on Tensors that require grad: the values must
  equal NumPy's (structure, shape, dtype and numbers), and the Tensors must give Tensors;
* checked by :func:`matgrad.gradcheck`, first and second order, reverse and forward mode, against
  float64 central differences, with respect to every floating-point array argument (arrays inside a
  list or tuple argument, as in ``concatenate``, count one by one).

Outputs that are tuples or lists (``split``, ``eigh``) are flattened and concatenated for the
derivative check unless ``post`` maps the output to one array (say, to functions of eigenvectors
that do not depend on each column's sign).  Every failing combination is collected; one
``AssertionError`` then lists them all, each described by its arguments' shapes and keywords.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import matgrad as mg

DEFAULT_CAP = 48
VALUE_RTOL, VALUE_ATOL = 1e-10, 1e-12


@dataclass
class ComboReport:
    """What :func:`combo_check` did: combinations checked, refused by both libraries, failing."""

    name: str
    total: int = 0  # size of the cartesian product
    checked: int = 0  # NumPy accepts it: values compared and derivatives checked
    refused: int = 0  # NumPy refuses it, and so does matgrad
    failures: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = (
            f"{self.name}: {len(self.failures)} of {self.checked + self.refused + len(self.failures)} "
            f"combination(s) failed (product of {self.total} candidates)"
        )
        return "\n".join([head, *self.failures])


def combo_check(
    fun: Callable,
    *arg_lists: Sequence[Any],
    reference: Callable,
    name: str | None = None,
    post: Callable | None = None,
    const: Sequence[int] = (),
    cap: int = DEFAULT_CAP,
    seed: int = 0,
    order: int = 2,
    modes: Sequence[str] = ("rev", "fwd"),
    atol: float = 1e-5,
    rtol: float = 1e-4,
    **kwarg_lists: Sequence[Any],
) -> ComboReport:
    """Check ``fun`` against ``reference`` and finite differences on every combination of candidates.

    ``arg_lists[i]`` lists the candidates for positional argument ``i``; each keyword lists the
    candidates for that keyword.  Floating-point arrays are differentiated, except in the positions
    named by ``const`` (a bound of ``clip``); anything else (ints, strings, boolean masks) is a
    constant.  (A keyword of ``fun`` that shares a name with one of this function's own, such as
    ``order``, cannot be swept here: wrap ``fun``.)  Raises ``AssertionError`` listing every failing
    combination; returns the report.
    """
    label = name or getattr(fun, "__name__", repr(fun))
    keys = list(kwarg_lists)
    pools = [list(a) for a in arg_lists] + [list(kwarg_lists[k]) for k in keys]
    sizes = [len(p) for p in pools]
    report = ComboReport(label, total=int(np.prod(sizes, dtype=np.int64)) if sizes else 1)
    if any(s == 0 for s in sizes):
        raise ValueError(f"combo_check {label}: an argument has no candidate")
    for index in _sample(sizes, cap, seed):
        chosen = [pool[i] for pool, i in zip(pools, index)]
        args = chosen[: len(arg_lists)]
        kwargs = dict(zip(keys, chosen[len(arg_lists) :]))
        what = describe(label, args, kwargs)
        try:
            outcome = _check_one(fun, reference, args, kwargs, post, const, order, modes, atol, rtol)
        except AssertionError as error:
            report.failures.append(f"- {what}:\n    " + str(error).strip().replace("\n", "\n    "))
            continue
        if outcome == "refused":
            report.refused += 1
        else:
            report.checked += 1
    if report.failures:
        raise AssertionError(str(report))
    return report


# ----- one combination ---------------------------------------------------------------------------
def _check_one(
    fun: Callable,
    reference: Callable,
    args: list,
    kwargs: dict,
    post: Callable | None,
    const: Sequence[int],
    order: int,
    modes: Sequence[str],
    atol: float,
    rtol: float,
) -> str:
    leaves, rebuild = _split_leaves(args, const)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = reference(*_copy(args), **kwargs)
    except Exception as numpy_error:
        try:
            got = fun(*_copy(args), **kwargs)
        except Exception:
            return "refused"
        raise AssertionError(
            f"NumPy refuses ({type(numpy_error).__name__}: {numpy_error}) but matgrad returns {_brief(got)}"
        ) from None

    # values: plain arrays in, NumPy's values out
    try:
        got = fun(*_copy(args), **kwargs)
    except Exception as error:
        raise AssertionError(f"NumPy computes it but matgrad raises {type(error).__name__}: {error}") from None
    _assert_same_values(got, expected, "on arrays")

    # values on Tensors that require grad: a Tensor (recorded) with the same values
    if leaves:
        tensors = [mg.tensor(x, requires_grad=True) for x in leaves]
        try:
            recorded = fun(*rebuild(tensors), **kwargs)
        except Exception as error:
            raise AssertionError(f"on Tensors, matgrad raises {type(error).__name__}: {error}") from None
        for part in _parts(recorded):
            if not isinstance(part, mg.Tensor):
                raise AssertionError(f"on Tensors that require grad, an output is {type(part).__name__}, not a Tensor")
        _assert_same_values(_data(recorded), expected, "on Tensors")

        def f(*xs: Any) -> Any:
            out = fun(*rebuild(list(xs)), **kwargs)
            return post(out) if post is not None else _flatten(out)

        try:
            mg.gradcheck(f, leaves, order=order, modes=modes, atol=atol, rtol=rtol)
        except mg.GradcheckError as error:
            failing = [str(c) for c in error.report.checks if not c.ok]
            raise AssertionError("gradcheck failed:\n" + "\n".join(failing)) from None
        except Exception as error:
            raise AssertionError(f"gradcheck raised {type(error).__name__}: {error}") from None
    return "checked"


def _is_float_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)


def _split_leaves(args: list, const: Sequence[int]) -> tuple[list[np.ndarray], Callable[[list], list]]:
    """The differentiable arrays among ``args`` (one level into lists/tuples), and how to put them back."""
    leaves: list[np.ndarray] = []
    slots: list[Any] = []  # per argument: None (constant), "leaf", or a list of per-item flags
    for i, a in enumerate(args):
        if i in const:
            slots.append(None)
        elif _is_float_array(a):
            slots.append("leaf")
            leaves.append(a)
        elif isinstance(a, (list, tuple)) and a and any(_is_float_array(x) for x in a):
            flags = [_is_float_array(x) for x in a]
            slots.append(flags)
            leaves.extend(x for x, flag in zip(a, flags) if flag)
        else:
            slots.append(None)

    def rebuild(values: list) -> list:
        it = iter(values)
        out = []
        for a, slot in zip(args, slots):
            if slot is None:
                out.append(a)
            elif slot == "leaf":
                out.append(next(it))
            else:
                items = [next(it) if flag else x for x, flag in zip(a, slot)]
                out.append(type(a)(items) if isinstance(a, tuple) else items)
        return out

    return leaves, rebuild


def _copy(args: list) -> list:
    """Fresh copies, so that no library can change the other's inputs."""
    return [
        a.copy() if isinstance(a, np.ndarray) else type(a)(x.copy() if isinstance(x, np.ndarray) else x for x in a)
        if isinstance(a, (list, tuple)) and not isinstance(a, str) else a
        for a in args
    ]


def _parts(out: Any) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _data(out: Any) -> Any:
    if isinstance(out, (tuple, list)):
        return [_data(o) for o in out]
    return out.data if isinstance(out, mg.Tensor) else out


def _flatten(out: Any) -> Any:
    """One array from a tuple/list output (``split``, ``eigh``), so that gradcheck sees every part."""
    if isinstance(out, (tuple, list)):
        return mg.concatenate([mg.reshape(p, shape=(-1,)) for p in out])
    return out


def _assert_same_values(got: Any, expected: Any, where: str) -> None:
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise AssertionError(f"{where}: NumPy returns {_brief(expected)}, matgrad {_brief(got)}")
        for k, (g, e) in enumerate(zip(got, expected)):
            _assert_same_values(g, e, f"{where}, output {k}")
        return
    if isinstance(got, (tuple, list)):
        raise AssertionError(f"{where}: NumPy returns {_brief(expected)}, matgrad {_brief(got)}")
    g, e = np.asarray(got), np.asarray(expected)
    if g.shape != e.shape or g.dtype != e.dtype:
        raise AssertionError(f"{where}: NumPy returns {_brief(e)}, matgrad {_brief(g)}")
    try:
        np.testing.assert_allclose(g, e, rtol=VALUE_RTOL, atol=VALUE_ATOL)
    except AssertionError as error:
        raise AssertionError(f"{where}: values differ from NumPy's:{error}") from None


# ----- sampling and describing ---------------------------------------------------------------
def _sample(sizes: list[int], cap: int, seed: int) -> list[tuple[int, ...]]:
    """Every index of the product if it has at most ``cap``; else ``cap`` of them, always the same."""
    total = int(np.prod(sizes, dtype=np.int64)) if sizes else 1
    if total <= cap:
        return list(itertools.product(*[range(s) for s in sizes]))
    picks = np.sort(np.random.default_rng(seed).choice(total, size=cap, replace=False))
    return [tuple(int(i) for i in np.unravel_index(p, sizes)) for p in picks]


def describe(name: str, args: Sequence[Any], kwargs: dict) -> str:
    """``tensordot(f64[2,3], f64[3,4], axes=1)``: a combination by its shapes and constants."""
    parts = [_show(a) for a in args] + [f"{k}={_show(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _show(x: Any) -> str:
    if isinstance(x, np.ndarray):
        if x.dtype == bool or np.issubdtype(x.dtype, np.integer):
            return f"{x.dtype.name}{list(x.shape)}:{x.tolist()}"
        return f"{x.dtype.str[1:]}{list(x.shape)}"
    if isinstance(x, (list, tuple)) and any(isinstance(i, np.ndarray) for i in x):
        inner = ", ".join(_show(i) for i in x)
        return f"[{inner}]" if isinstance(x, list) else f"({inner})"
    return repr(x)


def _brief(x: Any) -> str:
    if isinstance(x, (tuple, list)):
        return f"{type(x).__name__} of {len(x)}: [" + ", ".join(_brief(i) for i in x) + "]"
    if isinstance(x, mg.Tensor):
        return f"Tensor {x.dtype}{list(x.shape)}"
    a = np.asarray(x)
    return f"{type(x).__name__} {a.dtype}{list(a.shape)}"
