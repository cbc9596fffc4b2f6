"""matgrad ↔ ONNX: an MLP as a graph of Gemm (or MatMul) and activation nodes, and back.

The graph has one input ``x`` of shape ``(batch, in)`` and one output ``y`` of shape
``(batch, out)``, the batch dimension left symbolic, so any number of rows runs.  A Linear layer
``Y = X W + b`` is ``Gemm(X, W, b)`` with ``W`` stored ``(in, out)`` exactly as matgrad keeps it
(no transpose; ``MatMul`` when it has no bias).  Weights are initializers named ``W1, b1, W2, …``
as ``explain`` names them.  Dropout is left out (it is the identity at inference).

``onnx`` is imported only when a function here runs: ``pip install "matgrad[export]"``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_writer
from .layers import Activation, Dense, ExportError, Step, common_dtype, fold_standardizer, steps_of, to_matgrad

OPSET = 17
INPUT, OUTPUT = "x", "y"
_TO_ONNX = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "leaky_relu": "LeakyRelu",
            "softmax": "Softmax", "log_softmax": "LogSoftmax", "identity": "Identity"}
_FROM_ONNX = {op: name for name, op in _TO_ONNX.items()}
MAX_ONNX_BYTES = 2 * 1024**3  # protobuf's own limit for one message


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ExportError('ONNX export needs the onnx package: pip install "matgrad[export]"') from None
    return onnx


def onnx_model(model: Any, standardizer: Any = None) -> Any:
    """The ``onnx.ModelProto`` of a matgrad MLP, checked by ``onnx.checker``.  With a
    ``standardizer`` (a fitted :class:`~matgrad.data.Standardizer`) it is folded into the first
    layer, so the graph takes raw features as ``matgrad predict`` does."""
    steps = steps_of(model, "to_onnx")
    if standardizer is not None:
        steps = fold_standardizer(steps, standardizer.mean, standardizer.std)
    return graph_of_steps(steps)


def graph_of_steps(steps: list[Step]) -> Any:
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    dtype = common_dtype(steps, "to_onnx")
    element = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    nodes, weights, current, layer = [], [], INPUT, 0
    dense = [s for s in steps if isinstance(s, Dense)]
    for step in steps:
        if isinstance(step, Dense):
            layer += 1
            inputs = [current, f"W{layer}"]
            weights.append(numpy_helper.from_array(step.W, f"W{layer}"))
            if step.b is not None:
                inputs.append(f"b{layer}")
                weights.append(numpy_helper.from_array(step.b, f"b{layer}"))
            op = "Gemm" if step.b is not None else "MatMul"
            nodes.append(helper.make_node(op, inputs, [f"z{layer}"], name=f"linear{layer}"))
            current = f"z{layer}"
        elif isinstance(step, Activation):
            name = f"a{layer}_{len(nodes)}"
            if step.name == "leaky_relu" and dtype == np.float64:  # LeakyRelu's alpha is a float32 attribute
                weights.append(numpy_helper.from_array(np.array([step.slope]), f"{name}_slope"))
                nodes.append(helper.make_node("PRelu", [current, f"{name}_slope"], [name], name=name))
            else:
                nodes.append(_activation_node(helper, step, current, name))
            current = name
    nodes[-1].output[0] = OUTPUT  # the last layer writes the graph's output itself
    graph = helper.make_graph(
        nodes, "matgrad_mlp",
        [helper.make_tensor_value_info(INPUT, element, ["batch", dense[0].W.shape[0]])],
        [helper.make_tensor_value_info(OUTPUT, element, ["batch", dense[-1].W.shape[1]])],
        initializer=weights,
    )
    model = helper.make_model(graph, producer_name="matgrad", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = min(model.ir_version, 8)  # readable by onnxruntime releases back to 1.12
    onnx.checker.check_model(model, full_check=True)
    return model


def _activation_node(helper: Any, step: Activation, current: str, name: str) -> Any:
    attributes: dict[str, Any] = {}
    if step.name == "leaky_relu":
        attributes["alpha"] = float(step.slope)
    if step.name in ("softmax", "log_softmax"):
        attributes["axis"] = int(step.axis)
    return helper.make_node(_TO_ONNX[step.name], [current], [name], name=name, **attributes)


def to_onnx(model: Any, path: str | os.PathLike, standardizer: Any = None) -> Path:
    """Write ``model`` (a matgrad MLP) as an ONNX file at ``path``, atomically: on any error the
    file at ``path`` is left as it was.  Returns the path."""
    proto = onnx_model(model, standardizer)
    target = Path(path)
    with atomic_writer(target) as file:
        file.write(proto.SerializeToString())
    return target


# ----- ONNX → matgrad ----------------------------------------------------------------------------


def from_onnx(source: Any) -> Any:
    """A matgrad ``Sequential`` (in eval mode) from an ONNX MLP: a chain of Gemm, MatMul (+ Add of
    a bias), Sigmoid, Tanh, Relu, LeakyRelu, Softmax, LogSoftmax, Identity and Dropout nodes
    whose weights are initializers.  ``source`` is a path or an ``onnx.ModelProto``."""
    onnx = _onnx()
    from onnx import numpy_helper

    model = source if isinstance(source, onnx.ModelProto) else _load(onnx, Path(source))
    graph = model.graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    inputs = [i.name for i in graph.input if i.name not in weights]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ExportError(f"from_onnx: the graph has {len(inputs)} inputs and {len(graph.output)} outputs; "
                          "an MLP has one of each")
    steps: list[Step] = []
    current = inputs[0]
    for node in graph.node:
        current = _read_node(node, current, weights, steps)
    if current != graph.output[0].name:
        raise ExportError(f"from_onnx: the chain of nodes ends in {current!r}, not in the output "
                          f"{graph.output[0].name!r}; only a single chain of layers is imported")
    if not any(isinstance(step, Dense) for step in steps):
        raise ExportError("from_onnx: the graph has no Gemm or MatMul layer; nothing to import")
    return to_matgrad(steps)


def _load(onnx: Any, path: Path) -> Any:
    if not path.is_file():
        raise ExportError(f"from_onnx: {path}: no such file")
    if path.stat().st_size > MAX_ONNX_BYTES:
        raise ExportError(f"from_onnx: {path}: larger than {MAX_ONNX_BYTES:,} bytes")
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf raises its own DecodeError, not a ValueError
        raise ExportError(f"from_onnx: {path}: not a readable ONNX model: {error}") from None


def _read_node(node: Any, current: str, weights: dict[str, np.ndarray], steps: list[Step]) -> str:
    """Append the step ``node`` computes from ``current``; return the name of its output."""
    where = f"from_onnx: node {node.name or node.op_type!r} ({node.op_type})"
    attributes = {a.name: _attribute(a) for a in node.attribute}
    operands = [name for name in node.input if name]
    if current not in operands:
        raise ExportError(f"{where} does not take {current!r}, the previous layer's output; only a chain is imported")
    others = [name for name in operands if name != current]
    if node.op_type == "Gemm":
        steps.append(_gemm(where, attributes, operands, current, weights))
    elif node.op_type == "MatMul" and operands[0] == current and others and others[0] in weights:
        steps.append(Dense(_matrix(weights[others[0]], where), None))
    elif node.op_type == "Add" and steps and isinstance(steps[-1], Dense) and steps[-1].b is None:
        steps[-1].b = _bias(weights.get(others[0]) if others else None, steps[-1].W.shape[1], where)
    elif node.op_type == "PRelu" and others and weights.get(others[0], np.zeros(2)).size == 1:
        steps.append(Activation("leaky_relu", slope=float(weights[others[0]].reshape(()))))
    elif node.op_type in _FROM_ONNX:
        name = _FROM_ONNX[node.op_type]
        slope = float(str(np.float32(attributes.get("alpha", 0.01))))  # 0.01, not float32's 0.0099999998
        steps.append(Activation(name, slope, int(attributes.get("axis", -1))))
    elif node.op_type != "Dropout":  # Dropout is the identity at inference
        raise ExportError(f"{where} is not supported; an MLP of Gemm, MatMul (+ Add), Sigmoid, Tanh, Relu, "
                          "LeakyRelu, PRelu (one slope), Softmax, LogSoftmax, Identity and Dropout nodes is imported")
    return node.output[0]


def _gemm(where: str, attributes: dict[str, Any], operands: list[str], current: str,
          weights: dict[str, np.ndarray]) -> Dense:
    """``alpha · X op(B) + beta · C`` as a Dense step, ``op(B) = Bᵀ`` when ``transB``."""
    if operands[0] != current or attributes.get("transA", 0) or operands[1] not in weights:
        raise ExportError(f"{where}: only Gemm(X, W, b) with the weights W as an initializer and transA = 0 "
                          "is imported")
    W = _matrix(weights[operands[1]], where)
    W = (W.T if attributes.get("transB", 0) else W) * W.dtype.type(attributes.get("alpha", 1.0))
    if len(operands) < 3:
        return Dense(np.ascontiguousarray(W), None)
    b = _bias(weights.get(operands[2]), W.shape[1], where) * W.dtype.type(attributes.get("beta", 1.0))
    return Dense(np.ascontiguousarray(W), b)


def _matrix(array: np.ndarray, where: str) -> np.ndarray:
    if array.ndim != 2 or array.dtype not in (np.float32, np.float64):
        raise ExportError(f"{where}: weights of shape {array.shape} and dtype {array.dtype}; expected a float32 "
                          "or float64 matrix")
    return array


def _bias(array: np.ndarray | None, width: int, where: str) -> np.ndarray:
    if array is None or array.size != width or array.dtype not in (np.float32, np.float64):
        shown = "not an initializer" if array is None else f"{array.dtype} of shape {array.shape}"
        raise ExportError(f"{where}: the bias is {shown}; expected {width} float numbers")
    return array.reshape(width)


def _attribute(attribute: Any) -> Any:
    from onnx import helper

    return helper.get_attribute_value(attribute)
