"""Why a claimed gradient is wrong, tried in order, each answer confirmed on fresh draws.

The order: wrong shape (is the transpose, or a reshape, right?); the transpose of the right
shape (layout convention); right up to sign; right up to a constant factor; right only for
symmetric inputs; right only on some draws (a kink); otherwise the entries that disagree most.
A diagnosis found on the first draws is reported only if it also holds on draws made after them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..formula import FormulaError, Op, walk
from .problem import Draw, Problem
from .words import KINKS, Rewrite, as_fraction, factor_hint, number_text, shape_text

View = Callable[[np.ndarray], np.ndarray]


def transpose(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def relative_error(claim: np.ndarray, grad: np.ndarray) -> float:
    """max |claim − grad| over the larger of max |claim| and max |grad|; inf for another shape or a NaN."""
    if claim.shape != grad.shape or not np.all(np.isfinite(claim)):
        return float("inf")
    scale = max(float(np.max(np.abs(grad), initial=0.0)), float(np.max(np.abs(claim), initial=0.0)))
    return 0.0 if scale == 0 else float(np.max(np.abs(claim - grad), initial=0.0)) / scale


def constant_factor(first: list[Draw], fresh: list[Draw], tolerance: float, view: View = np.asarray) -> float | None:
    """c with claim = c · gradient on every draw, estimated on ``first`` and confirmed on ``fresh``."""
    estimates = []
    for draw in first:
        claim, grad = view(draw.claim), draw.grad
        norm = float(np.vdot(grad, grad))
        if norm > 0 and claim.shape == grad.shape and np.all(np.isfinite(claim)):
            estimates.append(float(np.vdot(claim, grad)) / norm)
    if not estimates or estimates[0] == 0:
        return None
    c = estimates[0]
    if any(abs(e - c) > 1e-6 * abs(c) for e in estimates):
        return None
    holds = all(relative_error(view(d.claim), c * d.grad) <= tolerance for d in first + fresh)
    return c if holds else None


@dataclass
class Finding:
    """A diagnosis: its kinds (``("layout", "factor")``), the verdict line, the lines that explain it."""

    kinds: tuple[str, ...]
    verdict: str
    details: list[str] = field(default_factory=list)
    factor: float | None = None


class Diagnosis:
    """Runs the checks in order over the first draws, asking ``sample`` for fresh ones.

    ``sample(count, extra_constraints, stream)`` returns new draws; stream 0 continues the main
    random sequence, other streams are independent (used for the symmetric redraws).
    """

    def __init__(self, problem: Problem, first: list[Draw], sample: Callable[..., list[Draw]], tolerance: float):
        self.problem, self.first, self.sample, self.tolerance = problem, first, sample, tolerance
        self.rewrite = Rewrite(problem, first[0].inputs)
        self.view: View = np.asarray
        self.thing = "the claim"
        self._fresh: list[Draw] | None = None
        self.wrt = problem.wrt
        self.gradient = f"∂f/∂{problem.wrt}"

    @property
    def fresh(self) -> list[Draw]:
        if self._fresh is None:
            self._fresh = self.sample(len(self.first), None, 0)
        return self._fresh

    def right(self, draws: list[Draw], view: View | None = None, scale: float = 1.0) -> bool:
        view = view or self.view
        return all(relative_error(view(d.claim), scale * d.grad) <= self.tolerance for d in draws)

    def run(self) -> Finding:
        claim, grad = self.first[0].claim.shape, self.first[0].grad.shape
        kinds: tuple[str, ...] = ()
        subject = "✗ the claim"
        if claim != grad:
            head = f"the claim has shape {shape_text(claim)} but {self.gradient} has shape {shape_text(grad)}"
            if len(claim) >= 2 and claim[:-2] + claim[:-3:-1] == grad:
                self.view, self.rewrite.transposed, self.thing = transpose, True, "the claim's transpose"
                if self.right(self.first) and self.right(self.fresh):
                    return Finding(("layout",), f"✗ {head}; its transpose is correct:", self.layout())
                kinds, subject = ("layout",), f"✗ {head} (the numerator layout); its transpose"
            elif int(np.prod(claim)) == int(np.prod(grad)):
                self.view, self.thing = (lambda a: np.reshape(a, grad)), "the reshaped claim"
                if self.right(self.first) and self.right(self.fresh):
                    reshape = [f"  reshape it to {shape_text(grad)}"]
                    return Finding(("shape",), f"✗ {head}; its entries are right:", reshape)
                kinds, subject = ("shape",), f"✗ {head}; reshaped, it"
            else:
                return Finding(("shape",), f"✗ {head}, and neither its transpose nor a reshape fits", [
                    f"  the gradient of a scalar has the shape of the variable: {self.wrt} is {shape_text(grad)}"])
        elif len(claim) >= 2 and claim[-1] == claim[-2] > 1:
            if self.right(self.first, transpose) and self.right(self.fresh, transpose):
                return Finding(("transpose",), f"✗ the claim is the transpose of {self.gradient}:", self.layout())
        for step in (self.sign, self.factor, self.symmetric, self.some_draws, self.entries):
            found = step()
            if found is not None:
                return Finding(kinds + found.kinds, f"{subject} {found.verdict}", found.details, found.factor)
        raise AssertionError("entries always reports")  # pragma: no cover

    # ----- the steps ---------------------------------------------------------------------------------
    def layout(self) -> list[str]:
        corrected = self.rewrite.layout() or "the claim's transpose"
        lines = [f"  you used the numerator layout; the gradient in the shape of {self.wrt} is {corrected}"]
        return lines + self.paste(self.rewrite.text("transpose"))

    def paste(self, text: str) -> list[str]:
        return [f"  as a formula: {text}"] if text else []

    def rewritable(self) -> bool:
        """The claim can be shown rewritten: it is a formula, and not reshaped."""
        return self.rewrite.expr is not None and self.thing != "the reshaped claim"

    def sign(self) -> Finding | None:
        if not (self.right(self.first, scale=-1.0) and self.right(self.fresh, scale=-1.0)):
            return None
        lines = [f"  the gradient is −({self.thing})"]
        if self.rewritable():
            lines = [f"  the gradient is {self.rewrite.negated()}", *self.paste(self.rewrite.text("neg"))]
        return Finding(("sign",), f"is right up to sign: it equals −{self.gradient}", lines)

    def factor(self) -> Finding | None:
        c = constant_factor(self.first, self.fresh, self.tolerance, self.view)
        if c is None or abs(abs(c) - 1) <= 1e-9:
            return None
        n = len(self.first)
        hint = factor_hint(c, self.problem)
        lines = [f"  {hint}"] if hint else []
        fix = f"{number_text(1 / c)} × {self.thing}"
        if self.rewritable() and as_fraction(c) is not None:
            fix += f" = {self.rewrite.scaled(1 / c)}"
        lines.append(f"  the gradient is {fix}")
        lines += self.paste(self.rewrite.text("scale", 1 / c) if self.rewritable() else "")
        lines.append(f"  (the factor was estimated on draws 1–{n} and holds on fresh draws {n + 1}–{2 * n})")
        verdict = f"is right up to a constant factor: it equals {number_text(c)} × {self.gradient}"
        return Finding(("factor",), verdict, lines, c)

    def symmetric(self) -> Finding | None:
        shapes, problem = self.problem.shapes, self.problem
        # an invertible draw (the default for inv(X)) may be redrawn symmetric; other constraints stay
        square = [name for name in problem.names if name not in problem.fixed
                  and problem.constraints.get(name) in (None, "invertible")
                  and len(shapes[name]) == 2 and shapes[name][0] == shapes[name][1] > 1]
        groups = [[name] for name in square] + ([square] if len(square) > 1 else [])
        for group in groups:
            if not self.right_when_symmetric(group):
                continue
            for name in list(group):  # keep only the inputs that must be symmetric
                if len(group) > 1 and self.right_when_symmetric([n for n in group if n != name]):
                    group.remove(name)
            names = " and ".join(group)
            equal = ", ".join(f"{name} = {name}ᵀ" for name in group)
            worst = max(relative_error(self.view(d.claim), d.grad) for d in self.first)
            lines = [f"  with {names} symmetric it matches on {2 * len(self.first)} draws; for a general {names} "
                     f"its relative error is up to {worst:.2g}"]
            if self.symmetrized_is_right(group):
                halves = ", ".join(f"½({name} + {name}ᵀ)" for name in group)
                lines.append(f"  for any {names}: put {halves} in place of {names} in the claim")
            return Finding(("symmetric",), f"is right only for symmetric {names} ({equal}):", lines)
        return None

    def right_when_symmetric(self, group: list[str]) -> bool:
        """Right on 2 × draws new draws with the inputs of ``group`` symmetric (a stream of their own)."""
        stream = 1 + sum(2 ** self.problem.names.index(name) for name in group)
        try:
            draws = self.sample(2 * len(self.first), {name: "symmetric" for name in group}, stream)
        except FormulaError:  # f is not finite there: no verdict from these draws
            return False
        return self.right(draws)

    def symmetrized_is_right(self, group: list[str]) -> bool:
        for draw in self.first + self.fresh:
            inputs = {**draw.inputs, **{name: (draw.inputs[name] + draw.inputs[name].T) / 2 for name in group}}
            if relative_error(self.view(self.problem.claim_at(inputs)), draw.grad) > self.tolerance:
                return False
        return True

    def some_draws(self) -> Finding | None:
        draws = self.first + self.fresh
        errors = [relative_error(self.view(d.claim), d.grad) for d in draws]
        right = sum(e <= self.tolerance for e in errors)
        if right == 0 or right == len(draws):
            return None
        lines = [f"  it matches on those and is off by up to {max(errors):.2g} (relative) on the others"]
        formula = self.problem.f_formula
        used = sorted({node.name for node in walk(formula.tree) if isinstance(node, Op) and node.name in KINKS}
                      if formula else [])
        if used:
            lines.append(f"  f uses {', '.join(used)}, whose derivative jumps at a kink: is a mask such as 𝟙[z > 0] "
                         "missing from the claim, or does it hold on one side of the kink only?")
        else:
            lines.append("  a case the claim misses, true only in part of the input space (a kink, a mask)")
        return Finding(("some draws",), f"is right on only {right} of {len(draws)} draws:", lines)

    def entries(self) -> Finding:
        draws = self.first + self.fresh
        worst = max(relative_error(self.view(d.claim), d.grad) for d in draws)
        claim, grad = self.view(self.first[0].claim), self.first[0].grad
        gap = np.where(np.isfinite(claim), np.abs(claim - grad), np.inf).ravel()
        order = np.argsort(-gap, kind="stable")[:3]
        lines = [f"  {'entry':<12} {'claim':>12} {self.gradient:>12}"]
        for flat in order:
            index = tuple(int(i) for i in np.unravel_index(flat, grad.shape))
            position = f"[{', '.join(map(str, index))}]"
            lines.append(f"  {position:<12} {claim[index]:>12.5g} {grad[index]:>12.5g}")
        verdict = (f"is wrong: it disagrees with {self.gradient} on all {len(draws)} draws (max relative error "
                   f"{worst:.2g}); the entries that disagree most on draw 1:")
        return Finding(("entries",), verdict, lines)
