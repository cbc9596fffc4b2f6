"""Correctness before speed: every framework's gradients must equal the reference's."""

from __future__ import annotations

import numpy as np

from .workload import Workload

RTOL = 1e-4  # float32
ATOL_SCALE = 1e-6  # entries near zero: absolute slack relative to the largest reference entry


class GradientMismatchError(AssertionError):
    pass


def assert_same_gradients(workload: Workload) -> None:
    """Raise :class:`GradientMismatchError` naming the workload, framework and parameter."""
    reference = workload.impls[workload.reference]
    if reference.gradients is None:
        return
    expected = reference.gradients()
    for framework, impl in workload.impls.items():
        if framework == workload.reference or impl.gradients is None:
            continue
        got = impl.gradients()
        if set(got) != set(expected):
            raise GradientMismatchError(
                f"{workload.name}: {framework} gives gradients for {sorted(got)}, "
                f"{workload.reference} for {sorted(expected)}"
            )
        for key, want in expected.items():
            atol = ATOL_SCALE * float(np.max(np.abs(want), initial=0.0))
            try:
                np.testing.assert_allclose(got[key], want, rtol=RTOL, atol=atol)
            except AssertionError as error:
                raise GradientMismatchError(
                    f"{workload.name}: ∂/∂{key} by {framework} differs from {workload.reference}"
                    f" (rtol {RTOL}, atol {atol:.1e}):\n{error}"
                ) from error
