"""Correctness before speed: every framework's outputs must equal hand NumPy's before timing.

For a training step the outputs are the weights after one SGD step from the same initial
weights and data; for backward, the gradients; for the transforms, the Jacobian, the Hessian
or the per-example gradients; for one op, its result.  A mismatch fails that framework's cell
only: the others are still timed.

Updated weights agree to rtol 1e-4 even when the step itself is wrong, if the step is small
(``lr = 0.001`` at batch 10), so a training step is also checked on its *update*
``W_new − W_initial`` (in float64), allowed one float32 ulp of ``W_initial`` for the rounding
of the two subtractions on top of the same rtol and atol.
"""

from __future__ import annotations

import numpy as np

from .workload import Outputs

RTOL = 1e-4  # float32
ATOL_SCALE = 1e-6  # entries near zero: absolute slack relative to the largest reference entry


def mismatch(got: Outputs, want: Outputs) -> str | None:
    """Why ``got`` differs from ``want`` (rtol ``RTOL``, atol ``ATOL_SCALE`` × max |want|), or None."""
    if set(got) != set(want):
        return f"outputs {sorted(got)}, hand NumPy's {sorted(want)}"
    for key, expected in want.items():
        actual = got[key]
        if actual.shape != expected.shape:
            return f"{key}: shape {actual.shape}, hand NumPy's {expected.shape}"
        expected64, actual64 = expected.astype(np.float64), actual.astype(np.float64)
        atol = ATOL_SCALE * float(np.max(np.abs(expected64), initial=0.0))
        bad = ~np.isclose(actual64, expected64, rtol=RTOL, atol=atol)
        bad |= np.isnan(actual64) != np.isnan(expected64)
        if bad.any():
            return _worst(key, actual64, expected64, bad, f"atol {atol:.1e}")
    return None


def update_mismatch(got: Outputs, want: Outputs, initial: Outputs) -> str | None:
    """Why the step ``initial → got`` differs from ``initial → want``, or None."""
    for key, start in initial.items():
        if key not in got or key not in want or got[key].shape != start.shape:
            continue  # mismatch() reports missing keys and shapes
        start64 = start.astype(np.float64)
        expected, actual = want[key].astype(np.float64) - start64, got[key].astype(np.float64) - start64
        ulp = np.spacing(np.abs(start)).astype(np.float64)
        atol = ATOL_SCALE * float(np.max(np.abs(expected), initial=0.0))
        bad = np.abs(actual - expected) > RTOL * np.abs(expected) + atol + ulp
        bad |= np.isnan(actual) != np.isnan(expected)
        if bad.any():
            return _worst(f"update of {key}", actual, expected, bad, f"atol {atol:.1e} + 1 ulp")
    return None


def _worst(what: str, actual: np.ndarray, expected: np.ndarray, bad: np.ndarray, atol: str) -> str:
    """How many entries of ``what`` are ``bad``, and the worst of them."""
    worst = np.unravel_index(np.argmax(np.abs(actual - expected) * bad), expected.shape)
    return (
        f"{what}: {int(bad.sum())} of {expected.size} entries differ beyond rtol {RTOL:g}, {atol}; "
        f"worst at {tuple(int(i) for i in worst)}: {actual[worst]:.7g} vs hand NumPy {expected[worst]:.7g}"
    )
