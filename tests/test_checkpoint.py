"""Checkpoints: round trips, rejection of bad files with clear errors, atomic saves."""

import itertools
import json
import os
import stat
import zipfile

import numpy as np
import pytest

import matgrad.checkpoint as ckpt
import matgrad.nn as nn
import matgrad.optim as optim
from matgrad.train import History


def small_model(seed=0, sizes=(4, 3, 2)):
    return nn.MLP(list(sizes), activation="tanh", seed=seed, dtype=np.float64)


def saved(tmp_path, model=None, name="model.npz"):
    model = model or small_model()
    return ckpt.save_training(tmp_path / name, model, nn.MSELoss(), epoch=3), model


def test_round_trip_restores_architecture_weights_and_metadata(tmp_path):
    path, model = saved(tmp_path)
    loaded = ckpt.load(path)
    assert loaded.meta["epoch"] == 3 and loaded.meta["format"] == "matgrad-checkpoint"
    assert "matgrad_version" in loaded.meta
    restored = ckpt.restore_model(loaded)
    assert [n for n, _ in restored.named_parameters()] == [n for n, _ in model.named_parameters()]
    for (_, a), (_, b) in zip(restored.named_parameters(), model.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data)
        assert a.dtype == b.dtype
    assert type(ckpt.restore_loss(loaded)).__name__ == "MSELoss"


def test_optimizer_state_and_random_state_survive(tmp_path):
    model = small_model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = np.random.default_rng(0).standard_normal((5, 4))
    loss = (model(nn_input(x)) ** 2).sum()
    loss.backward()
    opt.step()
    rng = np.random.default_rng(7)
    rng.random(3)
    path = ckpt.save_training(tmp_path / "m.npz", model, nn.MSELoss(), opt, rng=rng)
    loaded = ckpt.load(path)
    state = loaded.state("optimizer")
    for key, value in opt.state_dict().items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(state[key], value)
        else:
            assert state[key] == value
    assert ckpt.restore_rng(loaded).random() == rng.random()


def nn_input(x):
    import matgrad as mg

    return mg.tensor(x)


def test_loading_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    meta = np.frombuffer(json.dumps({"format": "matgrad-checkpoint"}).encode(), np.uint8)
    np.savez(path, **{"__meta__": meta, "model/x": np.array([object()], dtype=object)})
    with pytest.raises(ckpt.CheckpointError, match="not a readable"):
        ckpt.load(path)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(b"not a zip file at all"), "not a readable"),
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "not a readable"),
        (lambda p: np.savez(p, weights=np.ones(3)), "not written by matgrad"),
        (lambda p: np.savez(p, __meta__=np.frombuffer(b"{oops", np.uint8)), "not valid JSON"),
        (lambda p: np.savez(p, __meta__=np.frombuffer(b'{"format": "other"}', np.uint8)), "format is 'other'"),
    ],
    ids=["garbage", "truncated", "no-metadata", "bad-json", "foreign-format"],
)
def test_bad_files_are_rejected_with_a_clear_error(tmp_path, damage, message):
    path, _ = saved(tmp_path)
    damage(path)
    with pytest.raises(ckpt.CheckpointError, match=message):
        ckpt.load(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="no such file"):
        ckpt.load(tmp_path / "nothing.npz")


def test_newer_format_asks_for_an_upgrade(tmp_path):
    path, _ = saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        entries = {name[:-4]: np.load(archive.open(name)) for name in archive.namelist()}
    meta = json.loads(entries["__meta__"].tobytes())
    meta["format_version"] = 99
    entries["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **entries)
    with pytest.raises(ckpt.CheckpointError, match="upgrade matgrad"):
        ckpt.load(path)


def test_weights_that_do_not_fit_the_architecture_name_the_parameter(tmp_path):
    path, _ = saved(tmp_path)
    loaded = ckpt.load(path)
    loaded.arrays["model"]["layers.0.W"] = np.zeros((5, 3))
    with pytest.raises(ckpt.CheckpointError, match=r"layers\.0\.W"):
        ckpt.restore_model(loaded)
    del loaded.arrays["model"]["layers.0.W"]
    with pytest.raises(ckpt.CheckpointError, match=r"layers\.0\.W"):
        ckpt.restore_model(loaded)


def test_a_crash_during_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path, _ = saved(tmp_path)
    before = path.read_bytes()

    def crash(file, **entries):
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_training(path, small_model(seed=1), nn.MSELoss())
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert ckpt.restore_model(ckpt.load(path)) is not None
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left behind


def test_saving_replaces_the_old_file_in_one_step(tmp_path):
    path, _ = saved(tmp_path)
    ckpt.save_training(path, small_model(seed=5), nn.MSELoss(), epoch=9)
    assert ckpt.load(path).meta["epoch"] == 9


def test_dropout_masks_continue_after_a_restore(tmp_path):
    import matgrad as mg

    model = nn.MLP([4, 8, 2], activation="relu", dropout=0.5, seed=3, dtype=np.float64)
    x = mg.tensor(np.ones((6, 4)))
    model(x)  # draw one set of masks, so the generators have moved on
    path = ckpt.save_training(tmp_path / "m.npz", model, nn.MSELoss())
    expected = model(x).data
    restored = ckpt.restore_model(ckpt.load(path))
    np.testing.assert_array_equal(restored(x).data, expected)


def test_an_archive_bigger_than_max_bytes_is_refused_from_its_headers(tmp_path):
    path = ckpt.save(tmp_path / "big.npz", {}, {"extra": {"ballast": np.zeros(200_000)}})
    assert ckpt.load(path).section("extra")["ballast"].shape == (200_000,)
    with pytest.raises(ckpt.CheckpointError, match="1,600,.* bytes decompressed, more than the cap of 1,000,000"):
        ckpt.load(path, max_bytes=1_000_000)


def test_an_architecture_far_bigger_than_its_weights_is_never_built(tmp_path, monkeypatch):
    path, _ = saved(tmp_path)
    loaded = ckpt.load(path)
    sizes = [4, 100_000, 100_000, 2]
    loaded.meta["architecture"]["sizes"] = sizes
    monkeypatch.setattr(nn, "from_config", lambda config: pytest.fail("built before checking the weights"))
    weights = sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))
    with pytest.raises(ckpt.CheckpointError, match=f"declares 6 weight arrays of {weights:,} numbers"):
        ckpt.restore_model(loaded)


def test_a_missing_weight_is_still_named(tmp_path):
    path, _ = saved(tmp_path)
    loaded = ckpt.load(path)
    del loaded.arrays["model"]["layers.2.b"]
    with pytest.raises(ckpt.CheckpointError, match=r"missing parameters: layers\.2\.b"):
        ckpt.restore_model(loaded)


def test_saved_files_follow_the_umask(tmp_path):
    previous = os.umask(0o077)
    try:
        path, _ = saved(tmp_path)
        History([{"epoch": 1, "loss": 0.5}]).to_json(tmp_path / "history.json")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "history.json").stat().st_mode) == 0o600
    path, _ = saved(tmp_path)  # and under the umask the tests run with
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~previous


def test_history_json_is_replaced_atomically(tmp_path, monkeypatch):
    target = tmp_path / "history.json"
    History([{"epoch": 1, "loss": 0.5}]).to_json(target)
    before = target.read_text()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(json, "dumps", crash)
    with pytest.raises(KeyboardInterrupt):
        History([{"epoch": 2, "loss": 0.1}]).to_json(target)
    monkeypatch.undo()
    assert target.read_text() == before and json.loads(before)["epochs"][0]["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_an_unwritable_folder_raises_before_any_temporary_file(tmp_path):
    with pytest.raises(OSError):
        ckpt.save("/proc/self/model.npz", {}, {})
