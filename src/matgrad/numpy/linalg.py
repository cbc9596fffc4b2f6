"""``numpy.linalg``, differentiable: :mod:`matgrad.linalg` under NumPy's names."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ..linalg import *  # noqa: F403
from ..linalg import __all__ as _names

#: numpy.linalg functions matgrad differentiates (matgrad's extra ``logdet`` is not NumPy's).
DIFFERENTIABLE = tuple(name for name in _names if hasattr(_np.linalg, name) and not isinstance(globals()[name], type))


def __getattr__(name: str) -> Any:
    return getattr(_np.linalg, name)
