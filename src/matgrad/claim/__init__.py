"""``check``: verify a gradient derived by hand, and say what is wrong with it.

>>> import matgrad as mg
>>> report = mg.claim.check_gradient("sum(A * (X@B).T)", "B@A", wrt="X", A="3x4", X="4x5", B="5x3")
>>> print(report.verdict)
✗ the claim has shape 5×4 but ∂f/∂X has shape 4×5; its transpose is correct:
"""

from .api import ClaimReport, check_gradient, run_check

__all__ = ["ClaimReport", "check_gradient", "run_check"]
