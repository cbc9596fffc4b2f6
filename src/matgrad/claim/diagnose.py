"""Why a claimed gradient is wrong, tried in order, each answer confirmed on fresh draws.

The order: wrong shape (is the transpose, or a reshape, right?); the transpose of the right
shape (layout convention); right up to sign; right up to a constant factor; right only for
symmetric inputs; right only on some draws (a kink); otherwise the entries that disagree most.
A diagnosis found on the first draws is reported only if it also holds on draws made after them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..formula import Const, FormulaError, Node, Op, to_text, walk
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


def _cookbook(g: np.ndarray) -> np.ndarray:
    """G + Gᵀ − I⊙G: the derivative by the independent entries of a symmetric matrix."""
    return g + g.T - np.diag(np.diag(g))


def _cookbook_inner(tree: Node) -> list[Node]:
    """M and Mᵀ for a claim written ``… - diag(diag(M))`` (``2*M - diag(diag(M))``, ``M + M.T - …``):
    candidates for G, each checked on the draws before it is shown."""
    if not (isinstance(tree, Op) and tree.name == "sub"):
        return []
    right = tree.args[1]
    if not (isinstance(right, Op) and right.name == "diag" and isinstance(right.args[0], Op)
            and right.args[0].name == "diag"):
        return []
    inner = right.args[0].args[0]
    return [inner, Op("transpose", (inner,))]


def _terms(tree: Node, sign: int = 1) -> list[tuple[int, Node]]:
    """The claim's top-level sum as (sign, term): ``a - 2*b + c`` → [(1, a), (−1, 2*b), (1, c)]."""
    if isinstance(tree, Op) and tree.name in ("add", "sub") and len(tree.args) == 2:
        second = sign if tree.name == "add" else -sign
        return _terms(tree.args[0], sign) + _terms(tree.args[1], second)
    if isinstance(tree, Op) and tree.name == "neg" and isinstance(tree.args[0], Op) and tree.args[0].name in (
            "add", "sub"):
        return _terms(tree.args[0], -sign)
    return [(sign, tree)]


def _rebuild(parts: list[tuple[int, Node]], index: int, replacement: Node | None) -> Node | None:
    """The sum again, term ``index`` replaced (``None``: dropped)."""
    tree: Node | None = None
    for at, (sign, node) in enumerate(parts):
        if at == index:
            if replacement is None:
                continue
            node = replacement
        if tree is None:
            tree = node if sign > 0 else Op("neg", (node,))
        else:
            tree = Op("add" if sign > 0 else "sub", (tree, node))
    return tree


def _transposed(tree: Node) -> Node:
    """A formula equal to treeᵀ, the transpose moved onto the leaves: ``t.T@X`` → ``X.T@t``."""
    return _tidy(_pushed(tree))


def _pushed(tree: Node) -> Node:
    if isinstance(tree, Const):
        return tree
    if isinstance(tree, Op):
        if tree.name == "transpose":
            return tree.args[0]
        if tree.name == "matmul":
            return Op("matmul", (_pushed(tree.args[1]), _pushed(tree.args[0])))
        if tree.name in ("neg", "add", "sub", "mul") or (tree.name == "div" and isinstance(tree.args[1], Const)):
            return Op(tree.name, tuple(_pushed(arg) for arg in tree.args))
    return Op("transpose", (tree,))


def _tidy(tree: Node) -> Node:
    """Numbers out of matrix products and products to the left: ``X.T @ (2 * t)`` → ``2 * X.T @ t``."""
    if not isinstance(tree, Op):
        return tree
    tree = Op(tree.name, tuple(_tidy(arg) for arg in tree.args), tree.params)
    if tree.name != "matmul":
        return tree
    left, right = tree.args
    for at, factor in enumerate((left, right)):
        if isinstance(factor, Op) and factor.name == "mul" and isinstance(factor.args[0], Const):
            rest = (factor.args[1], right) if at == 0 else (left, factor.args[1])
            return Op("mul", (factor.args[0], _tidy(Op("matmul", rest))))
    if isinstance(right, Op) and right.name == "matmul":  # a @ (b @ c) → a @ b @ c
        return _tidy(Op("matmul", (Op("matmul", (left, right.args[0])), right.args[1])))
    return tree


def _scaled(node: Node, alpha: float) -> Node:
    """α × node, folding a leading number: ``2*M`` × ½ → ``M``."""
    node = _tidy(node)
    if isinstance(node, Op) and node.name == "mul" and isinstance(node.args[0], Const):
        alpha, node = alpha * node.args[0].value, node.args[1]
    return node if alpha == 1 else Op("mul", (Const(_number(alpha)), node))


def _number(k: float) -> float | int:
    fraction = as_fraction(k)
    return int(fraction) if fraction is not None and fraction.denominator == 1 else k


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
        self.gradient = {"gradient": f"∂f/∂{self.wrt}", "jacobian": f"∂f/∂{self.wrt}",
                         "hessian": f"∂²f/∂{self.wrt}²"}[problem.derivative]
        self.noun = f"the {problem.derivative}"

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
            head = f"the claim has shape {shape_text(claim)} but {self.problem.target} has shape {shape_text(grad)}"
            if len(claim) >= 2 and claim[:-2] + claim[:-3:-1] == grad:
                self.view, self.rewrite.transposed, self.thing = transpose, True, "the claim's transpose"
                if self.right(self.first) and self.right(self.fresh):
                    return Finding(("layout",), f"✗ {head}; its transpose is correct:", self.layout())
                kinds, subject = ("layout",), f"✗ {head} ({self.other_layout()}); its transpose"
            elif int(np.prod(claim)) == int(np.prod(grad)):
                self.view, self.thing = (lambda a: np.reshape(a, grad)), "the reshaped claim"
                if self.right(self.first) and self.right(self.fresh):
                    reshape = [f"  reshape it to {shape_text(grad)}"]
                    return Finding(("shape",), f"✗ {head}; its entries are right:", reshape)
                kinds, subject = ("shape",), f"✗ {head}; reshaped, it"
            else:
                term = self.terms()
                if term is not None:
                    return Finding(term.kinds, f"✗ the claim {term.verdict}", [f"  {head}", *term.details])
                return Finding(("shape",), f"✗ {head}, and neither its transpose nor a reshape fits",
                               [self.shape_rule(grad)])
        elif len(claim) >= 2 and claim[-1] == claim[-2] > 1:
            if self.right(self.first, transpose) and self.right(self.fresh, transpose):
                return Finding(("transpose",), f"✗ the claim is the transpose of {self.problem.target}:",
                               self.layout())
        steps = (self.convention, self.sign, self.factor, self.terms, self.symmetric, self.some_draws, self.entries)
        for step in steps if not kinds else (self.sign, self.factor, self.symmetric, self.some_draws, self.entries):
            found = step()
            if found is not None:
                return Finding(kinds + found.kinds, f"{subject} {found.verdict}", found.details, found.factor)
        raise AssertionError("entries always reports")  # pragma: no cover

    # ----- the steps ---------------------------------------------------------------------------------
    def other_layout(self) -> str:
        """The layout the claim was written in when its transpose is asked for."""
        if self.problem.derivative == "jacobian":
            return "the denominator layout" if self.problem.layout == "numerator" else "the numerator layout"
        return "the numerator layout" if self.problem.derivative == "gradient" else "transposed"

    def shape_rule(self, grad: tuple[int, ...]) -> str:
        problem = self.problem
        if problem.derivative == "jacobian":
            order = "f's entries by {w}'s" if problem.layout == "numerator" else "{w}'s entries by f's"
            return (f"  the Jacobian in the {problem.layout} layout is {shape_text(grad)}: "
                    f"{order.format(w=self.wrt)} (a column or a row counts as a vector)")
        if problem.derivative == "hessian":
            return f"  the Hessian is {shape_text(grad)}: {self.wrt}'s entries by {self.wrt}'s entries"
        return f"  the gradient of a scalar has the shape of the variable: {self.wrt} is {shape_text(grad)}"

    def layout(self) -> list[str]:
        corrected = self.rewrite.layout() or "the claim's transpose"
        problem = self.problem
        if problem.derivative == "jacobian":
            other = "denominator" if problem.layout == "numerator" else "numerator"
            lines = [f"  you wrote the {other} layout; in the {problem.layout} layout the Jacobian is {corrected}",
                     f"  (or check the claim as it is with --jacobian-layout {other})"]
        elif problem.derivative == "hessian":
            lines = [f"  the Hessian is {corrected}"]
        else:
            lines = [f"  you used the numerator layout; the gradient in the shape of {self.wrt} is {corrected}"]
        return lines + self.paste(self.rewrite.text("transpose"))

    def paste(self, text: str) -> list[str]:
        return [f"  as a formula: {text}"] if text else []

    def rewritable(self) -> bool:
        """The claim can be shown rewritten: it is a formula, and not reshaped."""
        return self.rewrite.expr is not None and self.thing != "the reshaped claim"

    def convention(self) -> Finding | None:
        """For a square matrix variable: the Matrix Cookbook's symmetric-matrix gradient G + Gᵀ − I⊙G
        (by the independent entries of a symmetric A), or the symmetric part ½(G + Gᵀ), in place of G."""
        shape, draws = self.first[0].grad.shape, self.first + self.fresh
        if self.problem.derivative != "gradient" or len(shape) != 2 or shape[0] != shape[1] or shape[0] < 2:
            return None
        if all(relative_error(d.claim, _cookbook(d.grad)) <= self.tolerance for d in draws):
            return Finding(("symmetric convention",), self.cookbook_verdict(), self.cookbook_lines())
        asymmetric = any(relative_error(d.grad, transpose(d.grad)) > self.tolerance for d in draws)
        if asymmetric and all(relative_error(d.claim, (d.grad + d.grad.T) / 2) <= self.tolerance for d in draws):
            a = self.wrt
            lines = [f"  ½(G + Gᵀ) is a standard answer too: for a symmetric {a} only the symmetric part of G "
                     f"acts on a symmetric step d{a} (tr(Gᵀ d{a}) = tr(½(G + Gᵀ) d{a})), and some texts call it "
                     f"the gradient on symmetric matrices",
                     f"  matgrad, like any autodiff, computes G itself, treating the n² entries of {a} as independent; "
                     f"here G is not symmetric, so the two differ",
                     f"  to compare with matgrad: symmetrize its gradient, ½(G + Gᵀ), or derive G without assuming "
                     f"{a} = {a}ᵀ", *self.drawn_general()]
            verdict = f"is the symmetric part ½(G + Gᵀ) of G = {self.gradient}, not G itself:"
            return Finding(("symmetric convention",), verdict, lines)
        return None

    def cookbook_verdict(self) -> str:
        return (f"is the gradient in the symmetric-matrix convention, G + Gᵀ − I⊙G with G = {self.gradient}, "
                f"not G itself:")

    def cookbook_lines(self) -> list[str]:
        a, n = self.wrt, self.first[0].grad.shape[0]
        lines = [
            f"  both are standard, and they differ off the diagonal: matgrad, like any autodiff, computes "
            f"G = {self.gradient} with the n² = {n * n} entries of {a} independent (df = tr(Gᵀ d{a}))",
            f"  the Matrix Cookbook's rule for a symmetric {a} differentiates by the "
            f"n(n+1)/2 = {n * (n + 1) // 2} independent entries aᵢⱼ, i ≤ j: each off-diagonal aᵢⱼ = aⱼᵢ stands "
            "twice in the matrix, so its derivative is Gᵢⱼ + Gⱼᵢ, while a diagonal one stays Gᵢᵢ",
            "  to convert: from G to the convention, G + Gᵀ − I⊙G (G + G.T - diag(diag(G))); back from the "
            "convention's S, ½(S + I⊙S) is G when G is symmetric (log det, xᵀAx), else G's symmetric part",
        ]
        back = self.cookbook_back()
        if back:
            lines.append(f"  as a formula: {back}")
        return lines + self.drawn_general()

    def cookbook_back(self) -> str:
        """The claim converted back to G, as a formula, if it is one (checked on every draw)."""
        formula = self.problem.claim_formula
        if formula is None:
            return ""
        tree = formula.tree
        candidates = _cookbook_inner(tree)
        candidates.append(Op("div", (Op("add", (tree, Op("diag", (Op("diag", (tree,)),)))), Const(2))))
        for candidate in candidates:
            try:
                if all(relative_error(self.problem.tree_at(candidate, d.inputs), d.grad) <= self.tolerance
                       for d in self.first + self.fresh):
                    return to_text(candidate)
            except FormulaError:
                continue
        return ""

    def drawn_general(self) -> list[str]:
        if self.problem.constraints.get(self.wrt) in ("symmetric", "spd"):
            return []
        return [f"  ({self.wrt} is drawn general here; the convention is for a symmetric {self.wrt}: "
                f"--symmetric {self.wrt} or --spd {self.wrt})"]

    def sign(self) -> Finding | None:
        if not (self.right(self.first, scale=-1.0) and self.right(self.fresh, scale=-1.0)):
            return None
        lines = [f"  {self.noun} is −({self.thing})"]
        if self.rewritable():
            lines = [f"  {self.noun} is {self.rewrite.negated()}", *self.paste(self.rewrite.text("neg"))]
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
        lines.append(f"  {self.noun} is {fix}")
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

    def terms(self) -> Finding | None:
        """One term of the claim's top-level sum wrong: transposed, of the wrong sign, extra, or off by a
        factor; found if putting it right makes the whole claim right on every draw."""
        formula = self.problem.claim_formula
        if formula is None or self.view is not np.asarray:
            return None
        parts = _terms(formula.tree)
        if len(parts) < 2 or len(parts) > 12:
            return None
        draws = self.first + self.fresh
        for index, (_, node) in enumerate(parts):
            fixed = _rebuild(parts, index, _transposed(node))
            if self.tree_is_right(fixed, draws):
                fix = to_text(_transposed(node))
                verdict = f"is wrong in one term: {formula.segment(node)} is transposed; {fix} makes the claim right:"
                return Finding(("term",), verdict, [f"  as a formula: {to_text(fixed)}"])
        found = []
        for index, (sign, node) in enumerate(parts):
            alpha = self.term_scale(parts, index, draws[0])
            if alpha is None:
                continue
            fraction = Fraction(0) if abs(alpha) < 1e-9 else as_fraction(alpha)
            alpha = float(fraction) if fraction is not None else alpha
            if alpha == -1:  # flip the sign in the sum
                fixed = _rebuild([(-s if at == index else s, n) for at, (s, n) in enumerate(parts)], -1, None)
            else:
                fixed = _rebuild(parts, index, None if alpha == 0 else _scaled(node, alpha))
            if self.tree_is_right(fixed, draws):  # an extra term, then a wrong sign, then a factor
                found.append((alpha != 0, alpha != -1, fraction is None, index, alpha, sign, node, fixed))
        if not found:
            return None
        *_, index, alpha, sign, node, fixed = min(found, key=lambda each: each[:4])
        term = formula.segment(node)
        if alpha == 0:
            what = f"{term} should not be there: without it the claim is right"
        elif alpha == -1:
            what = f"{term} has the wrong sign: {'+' if sign < 0 else '−'} {term} makes the claim right"
        else:
            what = f"{term} is off by a factor: {number_text(alpha)} × ({term}) makes the claim right"
        lines = [f"  as a formula: {to_text(fixed)}"]
        hint = factor_hint(1 / alpha, self.problem) if abs(alpha) in (2, 0.5) else ""
        if hint:
            lines.insert(0, f"  {hint}")
        return Finding(("term",), f"is wrong in one term: {what}:", lines)

    def term_scale(self, parts: list[tuple[int, Node]], index: int, draw: Draw) -> float | None:
        """α with the claim right when term ``index`` is α times itself, estimated on one draw."""
        try:
            term = parts[index][0] * self.problem.tree_at(parts[index][1], draw.inputs)
            term = np.broadcast_to(term, draw.grad.shape)
            claim = np.broadcast_to(draw.claim, draw.grad.shape) if draw.claim.shape != draw.grad.shape else draw.claim
            rest = claim - term
        except (FormulaError, ValueError):
            return None
        norm = float(np.vdot(term, term))
        if not norm > 0 or not np.all(np.isfinite(term)) or not np.all(np.isfinite(rest)):
            return None
        alpha = float(np.vdot(draw.grad - rest, term)) / norm
        return None if abs(alpha - 1) <= 1e-9 else alpha

    def tree_is_right(self, tree: Node | None, draws: list[Draw]) -> bool:
        if tree is None:
            return False
        try:
            return all(relative_error(self.problem.tree_at(tree, d.inputs), d.grad) <= self.tolerance for d in draws)
        except (FormulaError, ValueError, TypeError, IndexError):
            return False

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
        lines = [f"  {'entry':<12} {'claim':>12} {self.problem.symbol:>12}"]
        for flat in order:
            index = tuple(int(i) for i in np.unravel_index(flat, grad.shape))
            position = f"[{', '.join(map(str, index))}]"
            lines.append(f"  {position:<12} {claim[index]:>12.5g} {grad[index]:>12.5g}")
        verdict = (f"is wrong: it disagrees with {self.gradient} on all {len(draws)} draws (max relative error "
                   f"{worst:.2g}); the entries that disagree most on draw 1:")
        return Finding(("entries",), verdict, lines)
