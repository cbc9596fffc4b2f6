"""Bridges out of matgrad: an MLP to ONNX or PyTorch, and back.

- ``to_onnx(model, path)`` / ``from_onnx(path)``: an ONNX graph of Gemm and activation nodes
  (``pip install "matgrad[export]"``);
- ``to_torch(model)`` / ``from_torch(sequential)``: a ``torch.nn.Sequential`` with the same
  weights, transposed to PyTorch's ``(out, in)`` (needs torch);
- ``matgrad export RUN/model.npz --to onnx|torch --out FILE`` on the command line.

Neither onnx nor torch is imported until one of these functions runs.
"""

from __future__ import annotations

from typing import Any

from .layers import ExportError

__all__ = ["ExportError", "from_onnx", "from_torch", "to_onnx", "to_torch"]


def to_onnx(model: Any, path: Any, standardizer: Any = None) -> Any:
    """Write the matgrad MLP ``model`` as an ONNX file at ``path`` (atomically); return the path."""
    from .onnx_bridge import to_onnx as write

    return write(model, path, standardizer)


def from_onnx(source: Any) -> Any:
    """A matgrad ``Sequential`` from an ONNX MLP file (or ``onnx.ModelProto``)."""
    from .onnx_bridge import from_onnx as read

    return read(source)


def to_torch(model: Any, standardizer: Any = None) -> Any:
    """A ``torch.nn.Sequential`` computing what the matgrad MLP ``model`` computes."""
    from .torch_bridge import to_torch as convert

    return convert(model, standardizer)


def from_torch(sequential: Any) -> Any:
    """A matgrad ``Sequential`` with the layers and weights of a ``torch.nn.Sequential`` MLP."""
    from .torch_bridge import from_torch as convert

    return convert(sequential)
