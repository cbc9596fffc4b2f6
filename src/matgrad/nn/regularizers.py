"""Weight penalties ``reg(module) -> scalar Tensor`` to add to a loss: ``nn.L2`` and ``nn.L1``.

By default they apply to weights only: the parameters whose dotted name ends in ``"W"``
(``layers.0.W``, not the biases ``layers.0.b``); ``include_biases=True`` applies them to every
parameter.  With a loss averaged over a batch (``reduction="mean"``), Nielsen's
``(λ / 2n) Σ w²`` over a training set of n examples is ``L2(λ / n)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import absolute
from ..primitives import sum as sum_
from ..tensor import Tensor
from .module import Module


class _Penalty:
    """Shared plumbing: ``lam``, the parameter selection, ``config()`` and ``repr``."""

    def __init__(self, lam: float, include_biases: bool = False) -> None:
        if not lam >= 0:
            raise ValueError(f"{type(self).__name__}: lam must be >= 0, got {lam}")
        self.lam = float(lam)
        self.include_biases = bool(include_biases)

    def penalised(self, module: Module) -> list[Tensor]:
        """The parameters this penalty applies to, in ``named_parameters`` order."""
        return [p for name, p in module.named_parameters() if self.include_biases or name.endswith("W")]

    def _total(self, module: Module, term: Any) -> Tensor:
        terms = [sum_(term(p)) for p in self.penalised(module)]
        if not terms:
            return Tensor(0.0)
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def _weight(self, total: Tensor, name: str) -> Tensor:
        """λ as a named constant in the penalty's dtype, so that ``explain`` writes the gradient
        ``λ W`` with its value beside it rather than folding λ into a number."""
        return Tensor(np.asarray(self.lam, dtype=total.dtype), name=name)

    def config(self) -> dict[str, Any]:
        """A JSON-serialisable dict for :func:`matgrad.nn.regularizer_from_config`."""
        return {"type": type(self).__name__, "lam": self.lam, "include_biases": self.include_biases}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lam={self.lam}, include_biases={self.include_biases})"


class L2(_Penalty):
    """``(λ/2) Σ_W ‖W‖²_F``: the ``λΩ(θ)`` of Goodfellow et al., *Deep Learning*, Algorithm 6.4; its
    gradient is ``λ W`` (weight decay)."""

    def __call__(self, module: Module) -> Tensor:
        total = self._total(module, lambda p: p * p)
        return 0.5 * (self._weight(total, "λ") * total)


class L1(_Penalty):
    """``λ Σ_W Σ_ij |W_ij|``; its gradient is ``λ sign(W)`` (0 at 0)."""

    def __call__(self, module: Module) -> Tensor:
        total = self._total(module, absolute)
        return self._weight(total, "λ₁") * total
