"""The bridges out of matgrad (issue #15, item 7): a trained MLP exported to ONNX runs in
onnxruntime and gives matgrad's outputs, reads back into matgrad unchanged, and
``matgrad export`` follows the CLI's exit-status policy and never leaves a torn file.
(The PyTorch bridge is tested in tests_peers/, where torch is installed.)"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import matgrad as mg
from matgrad import export
from matgrad.cli import main
from matgrad.export import onnx_bridge

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
OUTPUTS = [None, "softmax", "log_softmax", "sigmoid"]
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}  # relative to the outputs' scale
MOONS = ["--data", "moons", "--layers", "2,8,2", "--loss", "cross-entropy", "--activation", "tanh",
         "--optimizer", "adam", "--lr", "0.05", "--batch-size", "16", "--epochs", "2", "--quiet"]


def made_up_data(features=3, classes=2, rows=48, seed=0):
    """Points labelled by the sign pattern of their first two features: tiny, and not linear."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    y = ((X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)) % classes
    return X, y


def trained_mlp(activation, output_activation=None, dtype=np.float64, dropout=0.0, sizes=(3, 6, 5, 2)):
    """An MLP trained for a few epochs on made-up data with the Python API, in eval mode."""
    X, y = made_up_data(sizes[0], sizes[-1])
    model = mg.nn.MLP(list(sizes), activation=activation, output_activation=output_activation, seed=1,
                      dtype=dtype, dropout=dropout)
    loss = mg.nn.CrossEntropyLoss() if output_activation is None else mg.nn.MSELoss()
    data = mg.data.Dataset(X.astype(dtype), y, "made-up", sizes[-1])
    mg.train.fit(model, loss, mg.optim.Adam(model.parameters(), lr=0.05), data, epochs=3, batch_size=8, verbose=0)
    return model.eval()


def run_onnx(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})[0]


def assert_close(actual, expected, dtype):
    scale = max(1.0, float(np.abs(expected).max()))
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= TOLERANCE[dtype] * scale, np.abs(actual - expected).max()


def cli(capsys, *args):
    """``matgrad ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        status = main([str(a) for a in args])
    except SystemExit as stop:
        status = stop.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 2-epoch, standardized moons run of ``matgrad train``: its model.npz."""
    out = tmp_path_factory.mktemp("export") / "run"
    assert main(["train", *MOONS, "--standardize", "--out", str(out)]) == 0
    return out / "model.npz"


# ----- ONNX outputs equal matgrad's ------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output_activation", OUTPUTS)
def test_onnx_runs_the_trained_network_in_onnxruntime(tmp_path, dtype, activation, output_activation):
    model = trained_mlp(activation, output_activation, dtype)
    path = export.to_onnx(model, tmp_path / "model.onnx")
    for rows in (1, 7):
        X = np.random.default_rng(rows).normal(size=(rows, 3)).astype(dtype)
        assert_close(run_onnx(path, X), model(X).data, dtype)


def test_the_batch_dimension_is_free_and_the_graph_checks(tmp_path):
    path = export.to_onnx(trained_mlp("relu"), tmp_path / "model.onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    (given,), (result,) = proto.graph.input, proto.graph.output
    assert given.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [d.dim_value for d in given.type.tensor_type.shape.dim[1:]] == [3]
    assert [d.dim_value for d in result.type.tensor_type.shape.dim[1:]] == [2]
    assert [op.op_type for op in proto.graph.node] == ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]
    assert proto.opset_import[0].version == onnx_bridge.OPSET


def test_dropout_is_left_out_and_the_weights_are_matgrads_own(tmp_path):
    model = trained_mlp("tanh", dropout=0.3)
    proto = onnx.load(str(export.to_onnx(model, tmp_path / "model.onnx")))
    assert "Dropout" not in [op.op_type for op in proto.graph.node]
    stored = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    np.testing.assert_array_equal(stored["W1"], model.layers[0].W.data)  # (in, out), not transposed
    np.testing.assert_array_equal(stored["b3"], model.layers[-1].b.data)
    X = np.random.default_rng(0).normal(size=(7, 3))
    assert_close(run_onnx(tmp_path / "model.onnx", X), model(X).data, np.float64)


def test_a_layer_without_bias_is_a_matmul(tmp_path):
    layer = mg.nn.Linear(3, 2, bias=False, rng=0, dtype=np.float64)
    model = mg.nn.Sequential(layer, mg.nn.Sigmoid())
    path = export.to_onnx(model, tmp_path / "model.onnx")
    assert onnx.load(str(path)).graph.node[0].op_type == "MatMul"
    X = np.random.default_rng(0).normal(size=(7, 3))
    assert_close(run_onnx(path, X), model(X).data, np.float64)


# ----- ONNX → matgrad --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_round_trip_gives_the_same_network(tmp_path, dtype, activation):
    model = trained_mlp(activation, "log_softmax", dtype)
    back = export.from_onnx(export.to_onnx(model, tmp_path / "model.onnx"))
    originals, copies = model.parameters(), back.parameters()
    assert len(originals) == len(copies)
    for original, copy in zip(originals, copies):
        assert copy.dtype == original.dtype
        np.testing.assert_array_equal(copy.data, original.data)
    kinds = [type(m).__name__ for m in model.layers]
    assert [type(m).__name__ for m in back] == kinds
    if activation == "leaky_relu":
        assert back[1].slope == model.layers[1].slope == 0.01
    X = np.random.default_rng(0).normal(size=(7, 3)).astype(dtype)
    np.testing.assert_array_equal(back(X).data, model(X).data)


def write_graph(path, nodes, weights, features, outputs):
    graph = helper.make_graph(
        nodes, "theirs", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", features])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", outputs])],
        initializer=[numpy_helper.from_array(array, name) for name, array in weights.items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_an_onnx_mlp_written_elsewhere_imports_with_its_transposes(tmp_path):
    """PyTorch's exporter writes Gemm with transB = 1 (weights (out, in)); others MatMul + Add."""
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(4, 3)).astype(np.float32)  # (out, in), as PyTorch stores it
    bias, W2, b2 = (rng.normal(size=shape).astype(np.float32) for shape in ((4,), (4, 2), (2,)))
    nodes = [
        helper.make_node("Gemm", ["input", "weight", "bias"], ["h"], transB=1, alpha=0.5, beta=2.0),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "W2"], ["m"]),
        helper.make_node("Add", ["m", "b2"], ["s"]),
        helper.make_node("Softmax", ["s"], ["output"], axis=1),
    ]
    path = write_graph(tmp_path / "theirs.onnx", nodes, {"weight": weight, "bias": bias, "W2": W2, "b2": b2}, 3, 2)
    X = rng.normal(size=(7, 3)).astype(np.float32)
    hidden = np.maximum(0.5 * X @ weight.T + 2.0 * bias, 0) @ W2 + b2  # the oracle, in NumPy
    expected = np.exp(hidden) / np.exp(hidden).sum(axis=1, keepdims=True)
    model = export.from_onnx(path)
    np.testing.assert_allclose(model(X).data, expected, rtol=1e-5)
    np.testing.assert_allclose(run_onnx(path, X), expected, rtol=1e-5)


def test_an_unsupported_onnx_node_is_named(tmp_path):
    nodes = [helper.make_node("Gemm", ["input", "W", "b"], ["h"]), helper.make_node("Erf", ["h"], ["output"])]
    weights = {"W": np.ones((3, 2), np.float32), "b": np.zeros(2, np.float32)}
    path = write_graph(tmp_path / "erf.onnx", nodes, weights, 3, 2)
    with pytest.raises(export.ExportError, match=r"Erf.*not supported"):
        export.from_onnx(path)
    (tmp_path / "junk.onnx").write_bytes(b"\x00not protobuf\xff" * 10)
    with pytest.raises(export.ExportError, match="not a readable ONNX model"):
        export.from_onnx(tmp_path / "junk.onnx")


def test_an_unsupported_layer_is_refused_by_name(tmp_path):
    model = mg.nn.Sequential(mg.nn.Conv2d(1, 2, 3, rng=0), mg.nn.Flatten(), mg.nn.Linear(8, 2, rng=0))
    with pytest.raises(export.ExportError, match=r"layer 0 is Conv2d.*supported layers: Linear"):
        export.to_onnx(model, tmp_path / "conv.onnx")
    assert not (tmp_path / "conv.onnx").exists()


# ----- the command line ------------------------------------------------------------------------


def predict_probabilities(capsys, checkpoint, rows_file):
    status, out, _ = cli(capsys, "predict", checkpoint, "--input", rows_file, "--format", "json")
    assert status == 0
    return np.array([row["probabilities"] for row in json.loads(out)["rows"]])


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_the_exported_run_takes_raw_rows_and_gives_predicts_probabilities(tmp_path, capsys, run):
    """The run was trained with --standardize: the ONNX file takes the same raw rows as predict."""
    status, out, err = cli(capsys, "export", run, "--to", "onnx", "--out", tmp_path / "moons.onnx")
    assert status == 0 and err == "", err
    assert "standardizer is folded" in out and "logits" in out
    saved = mg.load_checkpoint(run)
    assert np.abs(saved.checkpoint.section("extra")["mean"]).max() > 0.1  # standardizing does change the rows
    rows = np.random.default_rng(3).normal(size=(7, 2)) + [0.5, 0.25]
    np.savetxt(tmp_path / "rows.csv", rows, delimiter=",")
    expected = predict_probabilities(capsys, run, tmp_path / "rows.csv")
    for batch in (rows[:1], rows):
        logits = run_onnx(tmp_path / "moons.onnx", batch.astype(np.float32))
        np.testing.assert_allclose(softmax(logits.astype(np.float64)), expected[: len(batch)], atol=2e-6)


def test_export_exit_statuses(tmp_path, capsys, run):
    assert cli(capsys, "export", run, "--to", "onnx", "--out", tmp_path / "a.onnx")[0] == 0
    for args, message in [
        ((tmp_path / "missing.npz", "--to", "onnx", "--out", tmp_path / "b.onnx"), "no such file"),
        ((run, "--to", "tflite", "--out", tmp_path / "b.onnx"), "invalid choice: 'tflite'"),
        ((run, "--to", "onx", "--out", tmp_path / "b.onnx"), "did you mean onnx?"),
        ((run, "--out", tmp_path / "b.onnx"), "--to"),
        ((run, "--to", "onnx", "--out", tmp_path), "is a folder"),
        ((run, "--to", "onnx", "--out", tmp_path / "nowhere" / "b.onnx"), "does not exist"),
        ((run, "--to", "onnx", "--out", run, "--overwrite"), "is the checkpoint itself"),
    ]:
        status, _, err = cli(capsys, "export", *args)
        assert status == 2 and len(err.strip().splitlines()) == 1 and message in err, (args, err)
    assert not (tmp_path / "b.onnx").exists()


def test_an_unsupported_layer_is_exit_2_naming_it(tmp_path, capsys):
    model = mg.nn.Sequential(mg.nn.Conv2d(1, 2, 3, rng=0), mg.nn.Flatten(), mg.nn.Linear(8, 2, rng=0))
    mg.save(model, tmp_path / "conv.npz", loss=mg.nn.CrossEntropyLoss())
    status, _, err = cli(capsys, "export", tmp_path / "conv.npz", "--to", "onnx", "--out", tmp_path / "conv.onnx")
    assert status == 2 and "Conv2d" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "conv.onnx").exists()


@pytest.mark.parametrize("library, target, command", [("torch", "torch", "pip install torch"),
                                                      ("onnx", "onnx", 'pip install "matgrad[export]"')])
def test_a_missing_library_is_one_line_with_its_pip_command(tmp_path, capsys, monkeypatch, run, library, target,
                                                            command):
    monkeypatch.setitem(sys.modules, library, None)  # `import torch` now raises ImportError
    status, _, err = cli(capsys, "export", run, "--to", target, "--out", tmp_path / "model.out")
    assert status == 2 and len(err.strip().splitlines()) == 1 and command in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_out_is_kept_unless_overwrite_and_never_torn(tmp_path, capsys, monkeypatch, run):
    out = tmp_path / "model.onnx"
    out.write_bytes(b"the user's own file")
    status, _, err = cli(capsys, "export", run, "--to", "onnx", "--out", out)
    assert status == 2 and "--overwrite" in err and out.read_bytes() == b"the user's own file"

    class FailingProto:  # the disk fills up while the file is written
        def SerializeToString(self):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx_bridge, "onnx_model", lambda model, standardizer=None: FailingProto())
    status, _, err = cli(capsys, "export", run, "--to", "onnx", "--out", out, "--overwrite")
    assert status == 1 and "No space left" in err
    assert out.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # no temporary file left
    monkeypatch.undo()
    assert cli(capsys, "export", run, "--to", "onnx", "--out", out, "--overwrite")[0] == 0
    assert onnx.load(str(out)).producer_name == "matgrad"


def test_neither_onnx_nor_torch_is_imported_by_matgrad_itself():
    code = ("import sys, numpy as np, matgrad as mg, matgrad.export; from matgrad.cli import parser; parser(); "
            "net = mg.nn.MLP([2, 3, 2], seed=0, dtype=np.float64); "
            "mg.explain(net, loss=mg.nn.CrossEntropyLoss(), x=np.ones((2, 2)), y=np.array([0, 1])); "
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_peer_tests_say_how_to_run_them():
    folder = Path(__file__).resolve().parent.parent / "tests_peers"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "python -m pytest tests_peers" in readme and "torch==2.13.0" in readme
    assert (folder / "test_torch_bridge.py").is_file()
