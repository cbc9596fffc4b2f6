"""``check_gradient``: is a gradient derived by hand right, and if not, how did it go wrong?"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..explain import Explanation, explain
from ..tensor import Tensor
from .diagnose import Diagnosis, relative_error
from .problem import Draw, Problem, build

#: The most random draws one check makes (and as many again to confirm a diagnosis).
MAX_DRAWS = 1_000


@dataclass
class ClaimReport:
    """The verdict on a claimed gradient.

    ``ok``: the claim equals ∂f/∂wrt on every draw (to ``tolerance``).  ``diagnosis``: the verdict
    in plain words, first line ``✓ correct: …`` or ``✗ …``.  ``kinds``: what was found, in the
    order tried: ``"shape"``, ``"layout"``, ``"transpose"``, ``"sign"``, ``"factor"``,
    ``"symmetric"``, ``"some draws"``, ``"entries"`` (empty when ok; ``("layout", "factor")``
    when the transpose is off by a factor).  ``max_error``: the largest relative error of the
    claim as given over the draws (inf when its shape is not the gradient's).  ``factor``: c when
    the claim is c × the gradient.  ``derivation``: matgrad's own derivation (``mg.explain``).
    """

    ok: bool
    verdict: str
    details: list[str]
    kinds: tuple[str, ...]
    max_error: float
    draws: int
    wrt: str
    factor: float | None = None
    problem: Problem | None = field(default=None, repr=False)
    inputs: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        """The last of ``kinds``, or ``"correct"``."""
        return self.kinds[-1] if self.kinds else "correct"

    @property
    def diagnosis(self) -> str:
        return "\n".join([self.verdict, *self.details])

    def __str__(self) -> str:
        return self.diagnosis

    def __repr__(self) -> str:
        """The diagnosis, verdict first, then what else the report holds."""
        factor = f", factor={self.factor:g}" if self.factor is not None else ""
        return (
            f"{self.diagnosis}\n(ClaimReport: ok={self.ok}, kind={self.kind!r}, max_error={self.max_error:.1e}, "
            f"draws={self.draws}, wrt={self.wrt!r}{factor}; .derivation is matgrad's own derivation)"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_markdown_(self) -> str:
        """The verdict in bold, the details as preformatted text (their columns line up)."""
        special = set("\\`*_[]<>|$~")  # not parentheses: escaped, some renderers read them as math
        verdict = "".join("\\" + c if c in special else c for c in self.verdict)
        out = f"**{verdict}**"
        if self.details:
            fence = "````" if any("```" in line for line in self.details) else "```"
            out += f"\n\n{fence}text\n" + "\n".join(self.details) + f"\n{fence}"
        return out

    @property
    def derivation(self) -> Explanation:
        """matgrad's derivation of ∂f/∂wrt at the first draw, every line checked (see ``mg.explain``)."""
        if self.problem is None or self.inputs is None:
            raise ValueError("check_gradient: this report has no problem to explain")
        if self.problem.derivative != "gradient":
            raise ValueError(f"matgrad explains gradients of a scalar f, not {self.problem.target}")
        problem = self.problem
        tensors = {name: Tensor(v, requires_grad=name == problem.wrt, name=name) for name, v in self.inputs.items()}
        explanation = explain(problem.output(tensors), loss_name="f")
        explanation.title = f"matgrad's derivation of ∂f/∂{problem.wrt}"
        return explanation


def check_gradient(
    f: Any,
    claim: Any,
    /,
    *,
    wrt: str,
    draws: int = 5,
    seed: int = 0,
    constraints: dict[str, str] | None = None,
    tolerance: float = 1e-8,
    hessian: bool = False,
    jacobian_layout: str = "numerator",
    **inputs: Any,
) -> ClaimReport:
    """Check a claimed gradient ∂f/∂wrt on random draws of the inputs and diagnose it if wrong.

    ``f``: a scalar function, as a formula (``"sum((y - X@w)**2)"``, parsed safely, never
    ``eval``) or a callable of the inputs by name that computes with matgrad on Tensors.
    ``claim``: the gradient derived by hand, as a formula over names ``f`` uses, or a callable of
    NumPy arrays by name.  ``inputs``: each of ``f``'s names as a shape (``"6x3"`` or ``(6, 3)``:
    drawn from N(0, 1) anew on every draw) or as a value (an array, held fixed).  ``constraints``
    maps a drawn name to ``positive``, ``symmetric``, ``simplex``, ``binary``, ``onehot``, ``spd``
    or ``invertible``; a square matrix that f only inverts (``log(det(X))``, ``inv(X)``) is drawn
    invertible, or SPD for ``logdet`` and ``cholesky``, unless a constraint is given for it.
    ``draws`` random draws (seeded by ``seed``), and as many fresh draws to confirm a diagnosis.
    An f that gives more than one number (f: Rⁿ → Rᵐ) makes the claim its Jacobian, m×n in
    ``jacobian_layout="numerator"`` (the default) or n×m in ``"denominator"`` (a column or row
    counts as a vector: x 3×1 gives n = 3); ``hessian=True`` makes it the Hessian of a scalar f
    (n×n).  Both are checked against matgrad's ``jacrev`` (``hessian``), with the same diagnoses.
    Inputs named wrt, draws, seed, constraints or tolerance: pass a dict to :func:`run_check`.

    Bad input (syntax, unknown names, shape conflicts, a non-finite f) raises FormulaError, a
    ValueError that names the column.

    >>> report = check_gradient("sum((y - X@w)**2)", "2*X.T@(X@w - y)", wrt="w", X="6x3", w="3x1", y="6x1")
    >>> report.ok, report.kind
    (True, 'correct')
    """
    return run_check(f, claim, wrt, inputs, draws=draws, seed=seed, constraints=constraints, tolerance=tolerance,
                     hessian=hessian, jacobian_layout=jacobian_layout)


def run_check(
    f: Any,
    claim: Any,
    wrt: str,
    inputs: dict[str, Any],
    *,
    draws: int = 5,
    seed: int = 0,
    constraints: dict[str, str] | None = None,
    tolerance: float = 1e-8,
    hessian: bool = False,
    jacobian_layout: str = "numerator",
) -> ClaimReport:
    """:func:`check_gradient` with the inputs as one dict (any names)."""
    if not 1 <= draws <= MAX_DRAWS:
        raise ValueError(f"check_gradient: draws must be from 1 to {MAX_DRAWS:,}, got {draws:,} "
                         "(a wrong claim is told from a right one within a few draws)")
    if not tolerance > 0:
        raise ValueError(f"check_gradient: tolerance must be positive, got {tolerance}")
    problem = build(f, claim, wrt, inputs, constraints, hessian, jacobian_layout)
    main = np.random.default_rng(seed)
    counter = [0]

    def sample(count: int, extra: dict[str, str] | None, stream: int) -> list[Draw]:
        rng = main if stream == 0 else np.random.default_rng([seed, stream])
        made = []
        for _ in range(count):
            counter[0] += stream == 0
            made.append(problem.evaluate(problem.draw(rng, extra), counter[0]))
        return made

    first = sample(draws, None, 0)
    max_error = max(relative_error(d.claim, d.grad) for d in first)
    common = dict(draws=draws, wrt=wrt, problem=problem, inputs=first[0].inputs, max_error=max_error)
    if max_error <= tolerance:
        plural = "s" * (draws != 1)
        layout = f" in the {problem.layout} layout" if problem.derivative == "jacobian" else ""
        verdict = (f"✓ correct: the claim equals {problem.target}{layout} (max relative error {max_error:.0e} "
                   f"over {draws} random draw{plural})")
        return ClaimReport(True, verdict, [], (), **common)
    finding = Diagnosis(problem, first, sample, tolerance).run()
    details = finding.details + [f"  {note}" for note in problem.notes]
    return ClaimReport(False, finding.verdict, details, finding.kinds, factor=finding.factor, **common)
