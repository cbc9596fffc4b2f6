"""mg.save / mg.load and the Module methods: the checkpoint format of `matgrad train`, from Python.

Round trips are bit-exact; a file of the CLI loads from Python and the other way round; a failed
save leaves the previous file and no temporary file; a Module class of the user's own goes
through the weights-only path; every bad file or misuse is one clear error naming the file.
"""

import json
import os

import numpy as np
import pytest

import matgrad as mg
import matgrad.checkpoint as ckpt
import matgrad.nn as nn
import matgrad.optim as optim
from matgrad.cli import main

X = np.random.default_rng(0).standard_normal((7, 4))


def mlp(dtype=np.float64, seed=0, sizes=(4, 8, 3), **kw):
    return nn.MLP(list(sizes), activation="tanh", seed=seed, dtype=dtype, **kw)


def out(model, x=X):
    parameter = model.parameters()[0]
    return model(mg.tensor(x.astype(parameter.dtype))).data


def assert_same_weights(a, b):
    assert [name for name, _ in a.named_parameters()] == [name for name, _ in b.named_parameters()]
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert p.dtype == q.dtype, name
        assert p.data.tobytes() == q.data.tobytes(), name  # bit-exact


def only_file(folder, name):
    assert sorted(p.name for p in folder.iterdir()) == [name]  # no temporary file left behind


class TwoLayer(nn.Module):
    """A model of the user's own: its code is not in the file."""

    def __init__(self, sizes=(4, 5, 2), seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.hidden = nn.Linear(sizes[0], sizes[1], rng=rng, dtype=np.float64)
        self.head = nn.Linear(sizes[1], sizes[2], rng=rng, dtype=np.float64)

    def forward(self, x):
        return self.head(mg.tanh(self.hidden(x)))


# ----- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_mlp_round_trips_bit_exactly(tmp_path, dtype):
    model = mlp(dtype, output_activation="softmax")
    path = mg.save(model, tmp_path / "model.npz")
    assert path == tmp_path / "model.npz"
    loaded = mg.load(path)
    assert type(loaded) is nn.MLP and loaded.config() == model.config()
    assert_same_weights(loaded, model)
    assert np.array_equal(out(loaded), out(model))
    only_file(tmp_path, "model.npz")


def sequential(dtype=np.float64):
    rng = np.random.default_rng(1)
    return nn.Sequential(
        nn.Linear(4, 8, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.Dropout(0.5, rng=rng.spawn(1)[0]),
        nn.Linear(8, 6, init="he", rng=rng, dtype=dtype),
        nn.LeakyReLU(),
        nn.Linear(6, 3, bias=False, rng=rng, dtype=dtype),
        nn.LogSoftmax(),
    )


def test_a_sequential_with_dropout_and_activations_round_trips(tmp_path):
    model = sequential()
    out(model)  # draw one set of dropout masks, so the generator has moved on
    path = model.save(tmp_path / "seq.npz")
    loaded = nn.Sequential.load(path)
    assert loaded.config() == model.config()
    assert_same_weights(loaded, model)
    assert np.array_equal(out(loaded), out(model))  # training mode: the same masks continue
    assert np.array_equal(out(loaded.eval()), out(model.eval()))


def test_a_convolutional_sequential_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, rng=rng, dtype=np.float64),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(2 * 5 * 5, 3, rng=rng, dtype=np.float64),
    )
    images = np.random.default_rng(3).standard_normal((2, 1, 5, 5))
    loaded = mg.load(mg.save(model, tmp_path / "conv.npz"))
    assert_same_weights(loaded, model)
    assert np.array_equal(out(loaded, images), out(model, images))


def test_module_methods_save_and_load(tmp_path):
    model = mlp()
    path = model.save(tmp_path / "m.npz")
    assert_same_weights(nn.MLP.load(path), model)
    assert_same_weights(nn.Module.load(path), model)  # whatever built-in model the file holds
    with pytest.raises(mg.CheckpointError, match=r"m\.npz: holds a MLP, not a Sequential"):
        nn.Sequential.load(path)
    other = mlp(seed=9)
    with pytest.raises(TypeError, match=r"leaves this one unchanged.*model\.load_weights\(path\)"):
        other.load(path)  # on an instance: would return a new model and leave `other` as it was
    assert other.load_weights(path) is other
    assert_same_weights(other, model)


def test_state_only_loading_the_pytorch_way(tmp_path):
    model = mlp(np.float32)
    path = mg.save(model, tmp_path / "m.npz")
    state = mg.load_state(path)
    assert list(state) == [name for name, _ in model.named_parameters()]
    fresh = mlp(np.float32, seed=5)
    fresh.load_state_dict(state)
    assert_same_weights(fresh, model)


def test_loss_optimizer_schedule_and_extra_come_back(tmp_path):
    model = mlp()
    loss = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=0.01)
    schedule = optim.make_schedule("cosine", opt, total_steps=10)
    y = np.array([0, 1, 2, 0, 1, 2, 0])

    def step(net, optimizer, sched):
        optimizer.zero_grad()
        value = loss(net(mg.tensor(X)), y)
        value.backward()
        optimizer.step()
        sched.step()

    step(model, opt, schedule)
    extra = {"note": "epoch 1", "scores": [0.5, 1], "nested": {"ok": True, "none": None}}
    path = mg.save(model, tmp_path / "m.npz", loss=loss, optimizer=opt, schedule=schedule, extra=extra)
    back = mg.load_checkpoint(path)
    assert type(back.loss) is nn.CrossEntropyLoss and back.extra == extra
    assert type(back.optimizer) is optim.Adam and back.optimizer.params == back.model.parameters()
    assert back.schedule.state_dict() == schedule.state_dict()
    assert back.checkpoint.meta["model_class"] == "matgrad.nn.mlp.MLP"
    step(model, opt, schedule)  # one more step on each: the restored run continues identically
    step(back.model, back.optimizer, back.schedule)
    assert_same_weights(back.model, model)


# ----- the CLI's format, both ways ---------------------------------------------------------------


def test_a_model_saved_from_python_opens_with_the_cli(tmp_path, capsys):
    model = nn.MLP([2, 6, 2], activation="tanh", seed=0)
    path = mg.save(model, tmp_path / "model.npz", loss=nn.CrossEntropyLoss())
    saved = ckpt.load(path)
    assert_same_weights(ckpt.restore_model(saved), model)
    assert type(ckpt.restore_loss(saved)) is nn.CrossEntropyLoss
    assert main(["evaluate", str(path), "--data", "moons"]) == 0
    assert "test" in capsys.readouterr().out
    rows = tmp_path / "rows.csv"
    rows.write_text("0.5,0.25\n-1,0.5\n")
    assert main(["predict", str(path), "--input", str(rows), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "row,label,predicted,p0,p1" and len(lines) == 3


def test_a_checkpoint_of_matgrad_train_loads_from_python(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--data", "moons", "--layers", "2,4,2", "--loss", "cross-entropy", "--optimizer", "adam"]
    assert main(["train", *args, "--schedule", "cosine", "--epochs", "1", "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    path = run / "model.npz"
    model = mg.load(path)
    reference = ckpt.restore_model(ckpt.load(path))
    assert_same_weights(model, reference)
    assert np.array_equal(out(model, X[:, :2]), out(reference, X[:, :2]))
    back = mg.load_checkpoint(path)
    assert type(back.loss) is nn.CrossEntropyLoss and type(back.optimizer) is optim.Adam
    assert back.optimizer.step_count > 0 and type(back.schedule).__name__ == "CosineLR"
    assert back.extra["settings"]["data"] == "moons"
    assert_same_weights(nn.MLP.load(path), reference)


# ----- atomic saves ------------------------------------------------------------------------------


@pytest.mark.parametrize("unnamed_temporary", [True, False], ids=["O_TMPFILE", "named-temporary"])
def test_a_failed_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch, unnamed_temporary):
    path = mg.save(mlp(), tmp_path / "model.npz")
    before = path.read_bytes()
    if not unnamed_temporary:
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)

    def crash(file, **entries):
        file.write(b"PK\x03\x04 half an archive")
        temporaries = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert len(temporaries) == (0 if unnamed_temporary else 1), temporaries
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="No space left"):
        mlp(seed=1).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert_same_weights(mg.load(path), mlp())
    only_file(tmp_path, "model.npz")


def test_saving_again_replaces_the_file(tmp_path):
    path = mg.save(mlp(), tmp_path / "model.npz")
    mg.save(mlp(seed=4), path)
    assert_same_weights(mg.load(path), mlp(seed=4))
    only_file(tmp_path, "model.npz")


# ----- a Module class of the user's own: weights only ---------------------------------------------


def test_a_module_of_your_own_saves_its_weights_and_loads_into_a_new_one(tmp_path):
    model = TwoLayer(seed=0)
    path = model.save(tmp_path / "mine.npz")
    assert "architecture" not in ckpt.load(path).meta
    with pytest.raises(mg.CheckpointError, match=r"mine\.npz: holds the weights of .*TwoLayer.*load_weights") as info:
        mg.load(path)
    assert "mg.load_state(path)" in str(info.value)
    with pytest.raises(mg.CheckpointError, match="TwoLayer"):
        TwoLayer.load(path)
    fresh = TwoLayer(seed=1)
    fresh.load_state_dict(mg.load_state(path))
    assert_same_weights(fresh, model)
    again = TwoLayer(seed=2).load_weights(path)
    assert np.array_equal(out(again), out(model))


def test_a_subclass_of_mlp_is_not_rebuilt_as_a_plain_mlp(tmp_path):
    class Scaled(nn.MLP):
        def forward(self, x):
            return super().forward(x) * 2.0

    model = Scaled([4, 3, 2], seed=0, dtype=np.float64)
    path = mg.save(model, tmp_path / "scaled.npz")
    with pytest.raises(mg.CheckpointError, match="Scaled"):
        mg.load(path)  # a plain MLP would compute something else
    assert_same_weights(Scaled([4, 3, 2], seed=3, dtype=np.float64).load_weights(path), model)


def test_load_checkpoint_into_a_model_of_your_own_with_its_optimizer(tmp_path):
    model = TwoLayer()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    mse = nn.MSELoss()
    mse(model(mg.tensor(X)), np.zeros((7, 2))).backward()
    opt.step()
    path = mg.save(model, tmp_path / "mine.npz", loss=mse, optimizer=opt)
    back = mg.load_checkpoint(path, model=TwoLayer(seed=7))
    assert_same_weights(back.model, model)
    assert back.optimizer.state_dict()["step"] == opt.state_dict()["step"]
    assert type(back.loss) is nn.MSELoss


# ----- errors: one clear exception naming the file -------------------------------------------------


def test_a_folder_is_refused_for_saving_and_loading(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    with pytest.raises(mg.CheckpointError, match=r"runs: is a folder; name a file such as .*model\.npz"):
        mg.save(mlp(), folder)
    for load in (mg.load, mg.load_state, mg.load_checkpoint, nn.MLP.load, mlp().load_weights):
        with pytest.raises(mg.CheckpointError, match=r"runs: is a folder"):
            load(folder)


@pytest.mark.parametrize("load", [mg.load, mg.load_state, mg.load_checkpoint])
def test_a_missing_file_is_named(tmp_path, load):
    with pytest.raises(mg.CheckpointError, match=r"nothing\.npz: no such file"):
        load(tmp_path / "nothing.npz")


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda p: np.savez(p, W=np.ones((2, 2))), "not written by matgrad"),
        (lambda p: p.write_bytes(b"just some text"), "not a readable .npz"),
        (lambda p: np.savez(p, __meta__=np.frombuffer(b'{"format": "keras"}', np.uint8)), "format is 'keras'"),
        (lambda p: np.savez(p, __meta__=np.frombuffer(b"[1]", np.uint8)), "expected a JSON object"),
    ],
    ids=["plain-npz", "not-a-zip", "foreign-format", "json-list"],
)
def test_a_file_matgrad_did_not_write_is_refused(tmp_path, write, message):
    path = tmp_path / "other.npz"
    write(path)
    for load in (mg.load, mg.load_state, nn.Module.load):
        with pytest.raises(mg.CheckpointError, match=rf"other\.npz: .*{message}"):
            load(path)


def test_an_object_array_is_never_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    meta = np.frombuffer(json.dumps({"format": "matgrad-checkpoint", "format_version": 1}).encode(), np.uint8)
    np.savez(path, __meta__=meta, **{"model/layers.0.W": np.array([object()], dtype=object)})
    with pytest.raises(mg.CheckpointError, match="numbers only"):
        mg.load_state(path)


def test_weights_of_another_architecture_name_the_parameter_and_both_shapes(tmp_path):
    path = mg.save(mlp(sizes=(4, 8, 3)), tmp_path / "big.npz")
    small = mlp(sizes=(4, 5, 3), seed=1)
    before = small.state_dict()
    pattern = r"big\.npz: its weights do not fit this MLP: .*layers\.0\.W: expected shape \(4, 5\), got \(4, 8\)"
    with pytest.raises(mg.CheckpointError, match=pattern) as info:
        small.load_weights(path)
    assert "holds matgrad.nn.mlp.MLP with sizes [4, 8, 3]; rebuild it with mg.load(path)" in str(info.value)
    assert all(np.array_equal(before[k], v) for k, v in small.state_dict().items())  # nothing changed
    with pytest.raises(ValueError, match=r"layers\.0\.W: expected shape \(4, 5\), got \(4, 8\)"):
        small.load_state_dict(mg.load_state(path))
    with pytest.raises(mg.CheckpointError, match=r"big\.npz: .*missing parameters: hidden\.W"):
        TwoLayer().load_weights(path)


def test_a_file_without_a_model_is_refused(tmp_path):
    path = ckpt.save(tmp_path / "empty.npz", {}, {"extra": {"x": np.zeros(2)}})
    with pytest.raises(mg.CheckpointError, match=r"empty\.npz: holds no model"):
        mg.load(path)
    with pytest.raises(mg.CheckpointError, match=r"empty\.npz: holds no model weights"):
        mg.load_state(path)


def test_a_forged_model_class_is_refused_and_never_imported(tmp_path):
    path = mg.save(TwoLayer(), tmp_path / "mine.npz")
    saved = ckpt.load(path)
    meta = {**saved.meta, "model_class": 42}
    ckpt.save(path, meta, saved.arrays)
    with pytest.raises(mg.CheckpointError, match="'model_class' is an integer, expected a string"):
        mg.load(path)


class NotALoss:
    def __call__(self, prediction, target):
        return (prediction - target).sum()


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda p, m: mg.save(m.state_dict(), p), TypeError, "expected a matgrad nn.Module, got dict"),
        (lambda p, m: mg.save(m, p, loss=NotALoss()), TypeError, "cannot save the loss NotALoss"),
        (lambda p, m: mg.save(m, p, optimizer=optim.SGD(mlp().parameters(), lr=1)), ValueError, "does not hold"),
        (lambda p, m: mg.save(m, p, extra={"loss": float("nan")}), ValueError, "JSON values"),
        (lambda p, m: mg.save(m, p, extra={"w": np.ones(2)}), ValueError, "no arrays"),
        (lambda p, m: mg.save(m, p, extra=[1, 2]), TypeError, "extra must be a dict"),
    ],
    ids=["not-a-module", "custom-loss", "foreign-optimizer", "nan-extra", "array-extra", "list-extra"],
)
def test_bad_arguments_to_save_raise_and_keep_the_previous_file(tmp_path, call, error, message):
    model = mlp()
    path = mg.save(model, tmp_path / "model.npz")
    before = path.read_bytes()
    with pytest.raises(error, match=message):
        call(path, model)
    assert path.read_bytes() == before
    only_file(tmp_path, "model.npz")
