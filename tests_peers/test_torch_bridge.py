"""matgrad ↔ PyTorch, checked against PyTorch itself: outputs, autograd's gradients (which
catch a missing or extra transpose of Linear's weight), ``mg.explain`` of an ``nn.Sequential``,
and the file ``matgrad export --to torch`` writes.  Needs torch: see README.md here."""

import json

import numpy as np
import pytest
import torch
from torch import nn

import matgrad as mg
from matgrad import export
from matgrad.cli import main

TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}
MG_ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]


def torch_mlp(dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.LeakyReLU(0.2),
                         nn.Sequential(nn.Linear(4, 2), nn.Sigmoid())).to(dtype)


def made_up(rows, features=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, features)), rng.integers(0, 2, size=rows)


def close(a, b, dtype):
    return np.abs(np.asarray(a) - np.asarray(b)).max() <= TOLERANCE[dtype] * max(1.0, float(np.abs(b).max()))


# ----- to_torch ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", MG_ACTIVATIONS)
@pytest.mark.parametrize("output_activation", [None, "softmax", "log_softmax"])
def test_to_torch_computes_what_matgrad_computes(dtype, activation, output_activation):
    model = mg.nn.MLP([3, 6, 5, 2], activation=activation, output_activation=output_activation, seed=2,
                      dtype=dtype, dropout=0.25).eval()
    sequential = export.to_torch(model)
    assert not sequential.training and isinstance(sequential[2], nn.Dropout)
    assert sequential[0].weight.shape == (6, 3) and sequential[0].weight.dtype == TORCH_DTYPES[dtype]
    for rows in (1, 7):
        X = made_up(rows)[0].astype(dtype)
        with torch.no_grad():
            theirs = sequential(torch.from_numpy(X)).numpy()
        assert theirs.dtype == dtype and close(theirs, model(X).data, dtype)


def test_round_trip_through_torch_keeps_every_weight():
    sequential = torch_mlp()
    back = export.to_torch(export.from_torch(sequential))
    assert [type(m).__name__ for m in back] == ["Linear", "Tanh", "Linear", "LeakyReLU", "Linear", "Sigmoid"]
    assert back[3].negative_slope == 0.2
    flat = [m for m in sequential.modules() if isinstance(m, nn.Linear)]
    for original, copy in zip(flat, [m for m in back if isinstance(m, nn.Linear)]):
        assert torch.equal(original.weight, copy.weight) and torch.equal(original.bias, copy.bias)


# ----- from_torch: the gradients say the transposes are right --------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matgrad_gradients_of_an_imported_network_equal_torch_autograd(dtype):
    sequential = torch_mlp(TORCH_DTYPES[dtype])
    model = export.from_torch(sequential)
    X, labels = made_up(7)
    X = X.astype(dtype)
    nn.CrossEntropyLoss()(sequential(torch.from_numpy(X)), torch.from_numpy(labels)).backward()
    mg.nn.CrossEntropyLoss()(model(X), labels).backward()
    linears = [m for m in sequential.modules() if isinstance(m, nn.Linear)]
    ours = [m for m in model if isinstance(m, mg.nn.Linear)]
    for theirs, mine in zip(linears, ours, strict=True):
        assert mine.W.shape == tuple(theirs.weight.shape[::-1])
        assert close(mine.W.grad, theirs.weight.grad.numpy().T, dtype)  # ∂C/∂W = (weight.grad)ᵀ
        assert close(mine.b.grad, theirs.bias.grad.numpy(), dtype)


def test_a_layer_torch_has_and_matgrad_not_is_named():
    with pytest.raises(export.ExportError, match=r"layer 1 is Conv1d"):
        export.from_torch(nn.Sequential(nn.Linear(3, 4), nn.Conv1d(1, 1, 2)))

    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(export.ExportError, match="expected a torch.nn.Sequential"):
        export.from_torch(Custom())
    with pytest.raises(export.ExportError, match="float16"):
        export.from_torch(nn.Sequential(nn.Linear(3, 4)).half())


# ----- mg.explain of a PyTorch network ---------------------------------------------------------


@pytest.mark.parametrize("loss, target", [
    (nn.CrossEntropyLoss(), "labels"),
    (nn.MSELoss(), "values"),
    (nn.MSELoss(reduction="sum"), "values"),
    (nn.BCEWithLogitsLoss(), "bits"),
])
def test_explain_of_a_torch_sequential_checks_and_gives_torchs_grad(loss, target):
    torch.manual_seed(1)
    width = 1 if target == "bits" else 2
    sequential = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, width)).double()
    X, labels = made_up(5)
    x = torch.from_numpy(X)
    y = {"labels": torch.from_numpy(labels), "values": torch.randn(5, 2, dtype=torch.float64),
         "bits": torch.from_numpy(labels[:, None].astype(np.float64))}[target]
    explanation = mg.explain(sequential, loss=loss, x=x, y=y)
    assert explanation.ok and "✗" not in str(explanation)
    assert all(line.ok for line in explanation.lines)
    loss(sequential(x), y).backward()
    for layer, linear in ((1, sequential[0]), (2, sequential[2])):
        superscript = "¹²"[layer - 1]
        assert close(explanation.line(f"∂C/∂W{superscript}").value, linear.weight.grad.numpy().T, np.float64)
        assert close(explanation.line(f"∂C/∂b{superscript}").value, linear.bias.grad.numpy(), np.float64)
    column = mg.explain(sequential, loss=loss, x=x, y=y, layout="column")  # z = Wx + b: PyTorch's weight layout
    assert close(column.line("∂C/∂W¹").value, sequential[0].weight.grad.numpy(), np.float64)


def test_explain_of_a_torch_loss_without_a_matgrad_counterpart_says_so():
    sequential = nn.Sequential(nn.Linear(3, 2)).double()
    X = made_up(4)[0]
    with pytest.raises(export.ExportError, match="HuberLoss"):
        mg.explain(sequential, loss=nn.HuberLoss(), x=torch.from_numpy(X), y=torch.zeros(4, 2, dtype=torch.float64))


# ----- matgrad export --to torch ----------------------------------------------------------------


def test_the_exported_state_dict_loads_safely_and_predicts_as_matgrad(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "moons", "--layers", "2,8,2", "--loss", "cross-entropy", "--activation",
                 "relu", "--optimizer", "adam", "--lr", "0.05", "--epochs", "2", "--standardize", "--quiet",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["export", str(out / "model.npz"), "--to", "torch", "--out", str(tmp_path / "moons.pt")]) == 0
    printed = capsys.readouterr().out
    code = printed.split("load it: net = ")[1].split(";")[0]
    net = eval(code, {"nn": nn, "torch": torch})  # the architecture the command printed
    net.load_state_dict(torch.load(tmp_path / "moons.pt", weights_only=True))
    rows = np.random.default_rng(0).normal(size=(7, 2))
    np.savetxt(tmp_path / "rows.csv", rows, delimiter=",")
    assert main(["predict", str(out / "model.npz"), "--input", str(tmp_path / "rows.csv"), "--format", "json"]) == 0
    expected = np.array([row["probabilities"] for row in json.loads(capsys.readouterr().out)["rows"]])
    with torch.no_grad():
        probabilities = torch.softmax(net(torch.from_numpy(rows).float()), dim=1).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=2e-6)
