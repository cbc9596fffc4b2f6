"""PyTorch with ``torch.compile`` (default mode, inductor) around the very functions of ``pytorch``.

A training step is ``torch.compile(sgd_step)``: Dynamo breaks the graph at ``loss.backward()``,
so the forward (with its AOT-compiled backward) and the update are compiled graphs and the
autograd engine runs between them.  Backward-only compiles the forward; ``loss.backward()``
then runs the compiled backward.  Transforms compile ``jacrev``, ``hessian`` and
``vmap(grad)``.  The first call, which compiles, is reported apart from the timed calls.
The worker is started with ``TORCHINDUCTOR_COMPILE_THREADS=1``: inductor's pool of compile
processes would otherwise go on warming up in the background while other frameworks are timed.
"""

from __future__ import annotations

import os

import torch

from ..workload import Impl, Spec
from . import pytorch


def build(spec: Spec) -> Impl:
    return pytorch.build_with(spec, torch.compile, "torch.compile")


configure = pytorch.configure


def describe() -> dict[str, str]:
    facts = pytorch.describe()
    threads = os.environ.get("TORCHINDUCTOR_COMPILE_THREADS", "not set")
    facts["version"] += f", inductor, TORCHINDUCTOR_COMPILE_THREADS={threads}"
    return facts
