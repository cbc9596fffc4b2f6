"""The notation column of the table: how each primitive's rule reads in matrix calculus.

Templates use ``{0}``, ``{1}``, … for the inputs, ``{out}`` for the result and ``{g}`` for the
gradient flowing in (``∂ℓ/∂out``).  For every input there are three readings of the same VJP,
the three notations of the seed texts:

- ``jacobian`` (seed 001): the VJP ``gᵀ J`` written without forming ``J`` (``g ⊙ σ'(z)``);
- ``index`` (seed 000): component ``k`` of the gradient, the chain-rule sum and the Kronecker
  delta that collapses it;
- ``differential`` (seed 002): the term ``X`` in ``g : d out = X : d input``.

``product`` names the product the VJP uses and ``why`` says why that product appears.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notation:
    expression: str
    jacobian: tuple[str, ...]
    index: tuple[str, ...]
    differential: tuple[str, ...]
    product: tuple[str, ...]
    why: str

    def __post_init__(self) -> None:
        arity = {len(self.jacobian), len(self.index), len(self.differential), len(self.product)}
        if len(arity) != 1:
            raise ValueError(f"notation of {self.expression!r}: one entry per input in each field")


def _scaled(g: str, factor: str) -> str:
    if factor == "1":
        return g
    if factor == "-1":
        return f"−{g}"
    return f"{g} ⊙ {factor}"


def elementwise(expression: str, derivatives: tuple[str, ...], why: str = "") -> Notation:
    """An elementwise map: its Jacobian is diagonal, ``diag(f'(x))``, so the VJP is ``g ⊙ f'(x)``."""
    jacobian, index, differential, product = [], [], [], []
    for i, d in enumerate(derivatives):
        vjp = _scaled("{g}", d)
        jacobian.append(vjp)
        component = "[{g}]_k" if d == "1" else f"[{{g}}]_k [{d}]_k".replace("[-1]_k", "(−1)")
        index.append(f"Σ_j [{{g}}]_j ∂[{{out}}]_j/∂[{{{i}}}]_k = Σ_j [{{g}}]_j [{d}]_j δ_jk = {component}")
        differential.append(f"{{g}} : ({d} ⊙ d{{{i}}}) = ({vjp}) : d{{{i}}}")
        product.append("copy" if d in ("1", "-1") else "hadamard")
    reason = why or (
        "elementwise: out_j depends on input_j alone, so ∂out/∂input is diagonal, diag(f'), "
        "and a vector times a diagonal matrix is a Hadamard product"
    )
    return Notation(expression, tuple(jacobian), tuple(index), tuple(differential), tuple(product), reason)


def custom(
    expression: str,
    jacobian: tuple[str, ...],
    index: tuple[str, ...],
    differential: tuple[str, ...],
    product: tuple[str, ...],
    why: str,
) -> Notation:
    """A rule written out by hand (linear algebra, reductions, shape and nn functions)."""
    return Notation(expression, jacobian, index, differential, product, why)
