"""L-BFGS with an optional strong-Wolfe line search, on all parameters as one flat vector.

``step(closure)`` follows PyTorch's convention: the closure clears the gradients, computes the
loss, calls ``loss.backward()`` and returns the loss; the optimizer calls it as often as it needs
(once per iteration without a line search, once per trial step with one).

One call of ``step`` runs up to ``max_iter`` iterations.  With x the flat parameters, g the flat
gradient and the last m pairs ``s = x_{k+1} − x_k``, ``y = g_{k+1} − g_k`` kept (pairs with
``yᵀs ≤ 1e-10`` are skipped, so the implicit inverse Hessian stays positive definite), an
iteration is::

    d ← −H g                two-loop recursion, H₀ = (yᵀs / yᵀy) I from the newest pair
    t ← lr                  (the very first iteration: min(1, 1/‖g‖₁) · lr)
    x ← x + t d             t from a strong-Wolfe search along d when line_search_fn="strong_wolfe"

and the loop stops after ``max_iter`` iterations, ``max_eval`` closure calls, when
``max|g| ≤ tolerance_grad``, when ``gᵀd > −tolerance_change``, when ``max|t d| ≤ tolerance_change``
or when the loss changed by less than ``tolerance_change``.  The history, the last direction and
step and the counts stay in the optimizer, so another ``step`` goes on where the last one ended.

The strong-Wolfe search (Nocedal & Wright, algorithms 3.5 and 3.6, with the safeguards of
minFunc, as PyTorch does) brackets a step that satisfies ``f(t) ≤ f(0) + c₁ t f'(0)`` and
``|f'(t)| ≤ −c₂ f'(0)`` (c₁ = 1e-4, c₂ = 0.9), extrapolating and then zooming with the minimizer
of the cubic through the bracket's two ends; its evaluations count against ``max_eval``.

The flat vector has the parameters' common dtype (``np.result_type``), so float32 parameters are
optimized in float32; updates are written into each ``p.data`` in place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..state import enable_grad
from ..tensor import Tensor
from . import _checks as check
from ._checks import StateDict
from .optimizers import Optimizer

LINE_SEARCHES = (None, "strong_wolfe")
_CURVATURE_MIN = 1e-10  # a pair with yᵀs at or below this is not stored


class FlatParams:
    """The parameters seen as one vector: read, write in place, and gather their gradients."""

    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        self.dtype = np.result_type(*(p.data.dtype for p in params))
        self.sizes = [p.data.size for p in params]
        self.size = sum(self.sizes)

    def get(self) -> np.ndarray:
        """A copy of every parameter, raveled and concatenated, in the common dtype."""
        return np.concatenate([p.data.ravel() for p in self.params]).astype(self.dtype, copy=False)

    def set(self, flat: np.ndarray) -> None:
        """Write ``flat`` back into each ``p.data`` (the same arrays, each in its own dtype)."""
        start = 0
        for p, n in zip(self.params, self.sizes):
            p.data[...] = flat[start : start + n].reshape(p.data.shape)
            start += n

    def grad(self, owner: Optimizer) -> np.ndarray:
        """The gradients as one vector; a parameter without one counts as zeros (as in PyTorch)."""
        pieces = []
        for i, p in enumerate(self.params):
            g = owner._grad(i, p)
            pieces.append(np.zeros(p.data.size, self.dtype) if g is None else g.ravel())
        return np.concatenate(pieces).astype(self.dtype, copy=False)


def axpy(x: np.ndarray, a: Any, y: np.ndarray) -> np.ndarray:
    """``x + a y`` rounded once to x's dtype where a wider float holds the product exactly
    (float32 and float16 via float64): the fused multiply-add PyTorch's kernels use."""
    if x.dtype.itemsize < 8:
        return (x.astype(np.float64) + float(a) * y.astype(np.float64)).astype(x.dtype)
    return x + a * y


def evaluate(closure: Callable[[], Any], owner: str) -> tuple[Any, float]:
    """Call the closure (recording a graph even under ``no_grad``): its result and that as a float."""
    with enable_grad():
        result = closure()
    try:
        array = np.asarray(result.data if isinstance(result, Tensor) else result, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.empty(0)
    if array.size != 1:
        raise TypeError(f"{owner}.step: the closure must return the loss, a scalar, got {result!r}")
    return result, float(array.reshape(()))


def check_closure(owner: str, closure: Any) -> None:
    if not callable(closure):
        raise TypeError(
            f"{owner}.step needs a closure that clears the gradients, computes the loss, calls "
            f"loss.backward() and returns the loss; got {closure!r}"
        )


# ----- the line search ------------------------------------------------------------------------
def cubic_minimizer(
    a: float, fa: float, ga: float, b: float, fb: float, gb: float, bounds: tuple[float, float] | None = None
) -> float:
    """The minimizer of the cubic with values ``fa, fb`` and slopes ``ga, gb`` at ``a, b``, kept in
    ``bounds`` (default: between a and b); the middle of the bounds when the cubic has none."""
    low, high = bounds if bounds is not None else (min(a, b), max(a, b))
    if a == b:
        return (low + high) / 2
    # Write the cubic's derivative through the secant slope: its roots are where
    # (b − a)(gb + w − z)/(gb − ga + 2w) measures back from b, with z and w below.
    z = ga + gb - 3 * (fa - fb) / (a - b)
    disc = z * z - ga * gb
    if not disc >= 0:  # also NaN
        return (low + high) / 2
    w = math.sqrt(disc)
    if a > b:  # measure from the larger end
        a, fa, ga, b, fb, gb = b, fb, gb, a, fa, ga
    denom = gb - ga + 2 * w
    if denom == 0:
        return (low + high) / 2
    x = b - (b - a) * (gb + w - z) / denom
    if not math.isfinite(x):
        return (low + high) / 2
    return min(max(x, low), high)


def strong_wolfe(
    phi: Callable[[float], tuple[float, np.ndarray]],
    t: float,
    d: np.ndarray,
    f0: float,
    g0: np.ndarray,
    slope0: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_trials: int = 25,
) -> tuple[float, np.ndarray, float, int]:
    """A step length along ``d`` meeting the strong Wolfe conditions, from the trial ``t``.

    ``phi(t)`` is the loss and the flat gradient at ``x + t d``; ``f0``, ``g0`` and
    ``slope0 = g0ᵀd < 0`` are those at t = 0.  ``t`` itself is always evaluated; at most
    ``max_trials`` evaluations follow (LBFGS passes what is left of ``max_eval``, as PyTorch
    does).  Returns ``(f, g, t, evaluations)`` of the best point found (the lower end of the
    final bracket, which may be t = 0 when the budget ran out before any decrease).
    """
    d_scale = float(np.max(np.abs(d)))
    f, g = phi(t)
    slope = g @ d
    evals = 1
    t_prev, f_prev, g_prev, slope_prev = 0.0, f0, g0, slope0
    found = False
    bracket: list[list[Any]] = []  # [t, f, g, slope] at each end
    while True:
        if f > f0 + c1 * t * slope0 or (evals > 2 and f >= f_prev):  # as minFunc: from the third trial
            bracket = [[t_prev, f_prev, g_prev, slope_prev], [t, f, g, slope]]
            break
        if abs(slope) <= -c2 * slope0:
            bracket, found = [[t, f, g, slope]], True
            break
        if slope >= 0:
            bracket = [[t_prev, f_prev, g_prev, slope_prev], [t, f, g, slope]]
            break
        if evals > max_trials:
            bracket = [[0.0, f0, g0, slope0], [t, f, g, slope]]
            break
        # Still descending with a steep slope: extrapolate, between a little past t and 10 t.
        t_next = cubic_minimizer(t_prev, f_prev, slope_prev, t, f, slope, bounds=(t + 0.01 * (t - t_prev), 10 * t))
        t_prev, f_prev, g_prev, slope_prev = t, f, g, slope
        t = t_next
        f, g = phi(t)
        slope = g @ d
        evals += 1

    # Zoom: shrink the bracket, keeping at `low` the end with the lower loss.
    low = 0 if len(bracket) == 1 or bracket[0][1] <= bracket[1][1] else 1
    stalled = False
    while not found and evals <= max_trials:
        (ta, fa, _, sa), (tb, fb, _, sb) = bracket
        lo, hi = min(ta, tb), max(ta, tb)
        if (hi - lo) * d_scale < tolerance_change:
            break
        t = cubic_minimizer(ta, fa, sa, tb, fb, sb)
        # Stay at least a tenth of the bracket away from its ends; allow one step close to
        # an end, then push away from it if progress stalls.
        margin = 0.1 * (hi - lo)
        if min(hi - t, t - lo) < margin:
            if stalled or t >= hi or t <= lo:
                t = hi - margin if abs(t - hi) < abs(t - lo) else lo + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f, g = phi(t)
        slope = g @ d
        evals += 1
        high = 1 - low
        if f > f0 + c1 * t * slope0 or f >= bracket[low][1]:
            bracket[high] = [t, f, g, slope]  # too high: the new point closes the bracket
        else:
            if abs(slope) <= -c2 * slope0:
                found = True
            elif slope * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]  # the minimum lies on the other side of t
            bracket[low] = [t, f, g, slope]
        low = 0 if bracket[0][1] <= bracket[1][1] else 1
    t, f, g, _ = bracket[low]
    return f, g, t, evals


# ----- the optimizer --------------------------------------------------------------------------
class LBFGS(Optimizer):
    """Limited-memory BFGS over all ``params`` as one vector; ``step(closure)`` as in PyTorch.

    Args:
        lr: the step length tried first (scaled down on the very first iteration, see the
            module docstring); with ``line_search_fn=None`` every step has this length.
        max_iter: iterations per ``step`` call.
        max_eval: closure calls per ``step`` call (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when every entry of the gradient is at most this in size.
        tolerance_change: stop when the loss or the parameters change by less than this.
        history_size: correction pairs kept (the m of L-BFGS).
        line_search_fn: None (fixed steps) or ``"strong_wolfe"``.

    ``step`` returns what the closure returned on its first call (the loss before the step).
    """

    _HYPER = ("max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size", "line_search_fn")
    closure = "grad"
    _ARRAYS = ("d", "prev_flat_grad")  # state over the flat vector, present after the first iteration

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        super().__init__(params, lr)
        self._flat = FlatParams(self.params)
        hyper = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        self._configure(self._check_hyper(hyper))
        self._reset_state()

    @classmethod
    def _check_hyper(cls, hyper: dict[str, Any]) -> dict[str, Any]:
        owner = cls.__name__
        max_iter = check.positive_int(owner, "max_iter", hyper["max_iter"])
        max_eval = hyper["max_eval"]
        line_search = hyper["line_search_fn"]
        if line_search == "none":  # how a state dict stores None
            line_search = None
        if line_search not in LINE_SEARCHES:
            raise ValueError(f"{owner}: line_search_fn must be None or 'strong_wolfe', got {line_search!r}")
        return {
            "lr": check.at_least_zero(owner, "lr", hyper["lr"]),
            "max_iter": max_iter,
            "max_eval": max_iter * 5 // 4 if max_eval is None else check.positive_int(owner, "max_eval", max_eval),
            "tolerance_grad": check.at_least_zero(owner, "tolerance_grad", hyper["tolerance_grad"]),
            "tolerance_change": check.at_least_zero(owner, "tolerance_change", hyper["tolerance_change"]),
            "history_size": check.positive_int(owner, "history_size", hyper["history_size"]),
            "line_search_fn": line_search,
        }

    def _reset_state(self) -> None:
        self.func_evals = 0  # closure calls, over all steps
        self.n_iter = 0  # iterations, over all steps
        self.d: np.ndarray | None = None  # the last direction
        self.t = 0.0  # the last step length along it
        self.H_diag = 1.0  # the scale of H₀
        self.prev_flat_grad: np.ndarray | None = None
        self.prev_loss = 0.0
        self.old_dirs: list[np.ndarray] = []  # y: gradient differences, oldest first
        self.old_stps: list[np.ndarray] = []  # s: parameter differences
        self.ro: list[float] = []  # 1 / yᵀs

    def _direction(self, g: np.ndarray) -> np.ndarray:
        """``−H g`` by the two-loop recursion over the stored pairs."""
        q = -g
        alphas: list[Any] = [0.0] * len(self.old_dirs)
        for i in reversed(range(len(self.old_dirs))):
            alphas[i] = (self.old_stps[i] @ q) * self.ro[i]
            q = axpy(q, -alphas[i], self.old_dirs[i])
        r = q * self.H_diag
        for i in range(len(self.old_dirs)):
            beta = (self.old_dirs[i] @ r) * self.ro[i]
            r = axpy(r, alphas[i] - beta, self.old_stps[i])
        return r.astype(self._flat.dtype, copy=False)

    def _remember(self, g: np.ndarray) -> None:
        """Store the pair from the last iteration, if its curvature ``yᵀs`` is positive enough."""
        assert self.prev_flat_grad is not None and self.d is not None
        scalar = self._flat.dtype.type
        y = g - self.prev_flat_grad
        s = (self.d * self.t).astype(self._flat.dtype, copy=False)
        ys = scalar(y @ s)
        if ys > _CURVATURE_MIN:
            if len(self.old_dirs) == self.history_size:
                del self.old_dirs[0], self.old_stps[0], self.ro[0]
            self.old_dirs.append(y)
            self.old_stps.append(s)
            self.ro.append(scalar(1.0 / ys))
            self.H_diag = scalar(ys / (y @ y))

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` iterations; return the closure's first result."""
        owner = type(self).__name__
        check_closure(owner, closure)
        flat = self._flat
        orig, loss = evaluate(closure, owner)
        g = flat.grad(self)
        self.func_evals += 1
        evals = 1
        self.step_count += 1
        if float(np.max(np.abs(g), initial=0.0)) <= self.tolerance_grad:
            return orig
        tol_change = self.tolerance_change
        scalar = flat.dtype.type  # the iteration's scalars in the parameters' dtype, like PyTorch's 0-d tensors
        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            self.n_iter += 1
            if self.n_iter == 1:
                d = -g
                self.old_dirs, self.old_stps, self.ro, self.H_diag = [], [], [], 1.0
            else:
                self._remember(g)
                d = self._direction(g)
            self.prev_flat_grad = g.copy()
            self.prev_loss = loss
            if self.n_iter == 1:
                t = scalar(min(1.0, 1.0 / np.sum(np.abs(g))) * self.lr)
            else:
                t = scalar(self.lr)
            slope = scalar(g @ d)
            if slope > -tol_change:  # not a descent direction any more
                self.d, self.t = d, t
                break
            if self.line_search_fn == "strong_wolfe":
                x0 = flat.get()

                def phi(step: float, x0: np.ndarray = x0, d: np.ndarray = d) -> tuple[float, np.ndarray]:
                    flat.set(axpy(x0, step, d))
                    return evaluate(closure, owner)[1], flat.grad(self)

                loss, g, t, ls_evals = strong_wolfe(
                    phi, t, d, loss, g, slope, tolerance_change=tol_change, max_trials=self.max_eval - evals
                )
                t = scalar(t)
                flat.set(axpy(x0, t, d))
            else:
                flat.set(axpy(flat.get(), t, d))
                ls_evals = 0
                if n_iter != self.max_iter:  # the last iteration's point is evaluated by the next step
                    loss = evaluate(closure, owner)[1]
                    g = flat.grad(self)
                    ls_evals = 1
            self.d, self.t = d, t
            evals += ls_evals
            self.func_evals += ls_evals
            if n_iter == self.max_iter or evals >= self.max_eval:
                break
            if float(np.max(np.abs(g))) <= self.tolerance_grad:
                break
            if float(np.max(np.abs(d * t))) <= tol_change:
                break
            if abs(loss - self.prev_loss) < tol_change:
                break
        return orig

    # ----- checkpoints ----------------------------------------------------------------------
    def hyperparameters(self) -> dict[str, Any]:
        out = super().hyperparameters()
        out["line_search_fn"] = out["line_search_fn"] or "none"  # a state dict holds no None
        return out

    def state_dict(self) -> StateDict:
        """``type``, hyperparameters, counts, and (after the first iteration) the last direction,
        step and gradient and the history pairs as ``"old_dirs.k"``, ``"old_stps.k"``, ``"ro.k"``."""
        out: StateDict = {
            "type": type(self).__name__,
            **self.hyperparameters(),
            "step": self.step_count,
            "func_evals": self.func_evals,
            "n_iter": self.n_iter,
            "history": len(self.old_dirs),
        }
        if self.d is not None and self.prev_flat_grad is not None:
            out.update(d=self.d.copy(), prev_flat_grad=self.prev_flat_grad.copy())
            out.update(t=self.t, H_diag=self.H_diag, prev_loss=self.prev_loss)
        for k, (y, s, ro) in enumerate(zip(self.old_dirs, self.old_stps, self.ro)):
            out[f"old_dirs.{k}"] = y.copy()
            out[f"old_stps.{k}"] = s.copy()
            out[f"ro.{k}"] = ro
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` exactly; everything is checked before anything changes."""
        owner = type(self).__name__
        check.check_type(owner, state)
        raw = {name: check.scalar(owner, state, name) if name != "line_search_fn" else state.get(name)
               for name in ("lr", *self._HYPER)}
        if "line_search_fn" not in state:
            raise ValueError(f"{owner}.load_state_dict: missing key 'line_search_fn'")
        hyper = self._check_hyper(raw)
        history = check.count(owner, state, "history")
        started = "d" in state
        keys = {"type", "lr", "step", "func_evals", "n_iter", "history", *self._HYPER}
        if started:
            keys |= {*self._ARRAYS, "t", "H_diag", "prev_loss"}
        keys |= {f"{name}.{k}" for name in ("old_dirs", "old_stps", "ro") for k in range(history)}
        check.check_keys(owner, state, keys)
        if history > hyper["history_size"]:
            raise ValueError(
                f"{owner}.load_state_dict: {history} history pairs but history_size is {hyper['history_size']}"
            )
        like = np.zeros(self._flat.size, self._flat.dtype)
        arrays = {name: check.buffer(owner, state, name, like) for name in self._ARRAYS if started}
        floats = {name: check.real(owner, name, check.scalar(owner, state, name))
                  for name in ("t", "H_diag", "prev_loss") if started}
        pairs = [
            (check.buffer(owner, state, f"old_dirs.{k}", like), check.buffer(owner, state, f"old_stps.{k}", like),
             check.real(owner, f"ro.{k}", check.scalar(owner, state, f"ro.{k}")))
            for k in range(history)
        ]
        counts = {name: check.count(owner, state, name) for name in ("step", "func_evals", "n_iter")}
        self._configure(hyper)
        self._reset_state()
        self.step_count, self.func_evals, self.n_iter = counts["step"], counts["func_evals"], counts["n_iter"]
        if started:
            self.d, self.prev_flat_grad = arrays["d"], arrays["prev_flat_grad"]
            self.t, self.H_diag, self.prev_loss = floats["t"], floats["H_diag"], floats["prev_loss"]
        self.old_dirs = [y for y, _, _ in pairs]
        self.old_stps = [s for _, s, _ in pairs]
        self.ro = [ro for _, _, ro in pairs]

    def __repr__(self) -> str:
        return f"LBFGS({len(self.params)} params, {self._flat.size} entries, lr={self.lr!r}, " \
               f"max_iter={self.max_iter}, line_search_fn={self.line_search_fn!r})"
