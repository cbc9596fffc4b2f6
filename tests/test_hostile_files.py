"""Hostile and careless files (issue #14): checkpoints, data files and output folders.

Every bad input must end in one line naming the file and the problem (a ``CheckpointError``,
a ``DataError`` or a usage error: exit 2), before anything large is allocated; saves must
never lose the previous checkpoint or leave temporary files behind. The bombs run in a
subprocess under ``RLIMIT_AS`` so a loader that allocated first would fail the test, not the
machine; the property-based cases run in-process with small caps and a bounded example count.
"""

import io
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad.checkpoint as ckpt
import matgrad.data as data
import matgrad.nn as nn
from matgrad.cli import main
from matgrad.runs import saved_settings

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MOONS = ["--data", "moons", "--layers", "2,4,2", "--loss", "cross-entropy", "--quiet"]


def run_cli(capsys, *args):
    """``matgrad ARGS`` in this process: (exit status, standard error)."""
    try:
        status = main([str(a) for a in args])
    except SystemExit as stop:  # argparse's usage errors
        status = stop.code
    return status, capsys.readouterr().err


def one_line_error(capsys, *args, expect):
    status, err = run_cli(capsys, *args)
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert expect in err, err
    return err


def trained_checkpoint(path, sizes=(4, 3, 2), **meta):
    return ckpt.save_training(path, nn.MLP(list(sizes), seed=0, dtype=np.float64), nn.MSELoss(), epoch=1, **meta)


def entries_of(path):
    """The arrays of an archive matgrad wrote (trusted: the test made it)."""
    with zipfile.ZipFile(path) as archive:
        return {name[: -len(".npy")]: np.load(archive.open(name)) for name in archive.namelist()}


def rewrite(path, meta_text=None, arrays=None):
    """The checkpoint at ``path`` with its metadata replaced by ``meta_text`` and/or entries
    replaced or added from ``arrays`` (entry name: array)."""
    entries = entries_of(path)
    if meta_text is not None:
        entries["__meta__"] = np.frombuffer(meta_text.encode(), np.uint8)
    entries.update(arrays or {})
    np.savez(path, **entries)


def edit_meta(path, change):
    meta = json.loads(entries_of(path)["__meta__"].tobytes())
    change(meta)
    rewrite(path, json.dumps(meta))


# ----- corrupt checkpoints: one CheckpointError line each ----------------------------------------


def _set(key, value):
    return lambda meta: meta.__setitem__(key, value)


def _delete(key):
    return lambda meta: meta.pop(key)


METADATA_DAMAGE = {
    "a JSON list": ("[]", "its metadata is a list"),
    "a JSON number": ("5", "its metadata is an integer"),
    "JSON null": ("null", "its metadata is null"),
    "a JSON string": ('"matgrad"', "its metadata is a string"),
    "Infinity": ('{"format": "matgrad-checkpoint", "format_version": 1, "epoch": Infinity}', "Infinity"),
    "NaN": ('{"format": "matgrad-checkpoint", "format_version": 1, "epoch": NaN}', "NaN"),
    "100,000-deep nesting": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "not UTF-8": ("\udcff", "not valid JSON"),
}


@pytest.mark.parametrize("name", METADATA_DAMAGE)
def test_metadata_that_is_not_a_json_object_is_one_checkpoint_error(tmp_path, name):
    text, message = METADATA_DAMAGE[name]
    path = trained_checkpoint(tmp_path / "model.npz")
    entries = entries_of(path)
    entries["__meta__"] = np.frombuffer(text.encode("utf-8", "surrogateescape"), np.uint8)
    np.savez(path, **entries)
    with pytest.raises(ckpt.CheckpointError, match=message) as error:
        ckpt.load(path)
    assert str(path) in str(error.value)


FIELD_DAMAGE = {
    "epoch as a string": (_set("epoch", "3"), "'epoch' is a string, expected an integer"),
    "negative epoch": (_set("epoch", -1), "'epoch' is -1"),
    "format_version as a string": (_set("format_version", "1"), "format_version is '1'"),
    "architecture a list": (_set("architecture", [64, 30, 10]), "'architecture' is a list, expected an object"),
    "loss a number": (_set("loss", 5), "'loss' is an integer, expected an object"),
    "history a dict": (_set("history", {}), "'history' is an object, expected a list"),
    "history of strings": (_set("history", [{"loss": "low"}]), "history record 0 has 'loss' = a string"),
    "history of numbers": (_set("history", [1, 2]), "'history' must be a list of objects"),
    "extra a string": (_set("extra", "x"), "'extra' is a string"),
    "rng_state a list": (_set("rng_state", []), "'rng_state' is a list"),
    "no format": (_delete("format"), "format is None"),
}


@pytest.mark.parametrize("name", FIELD_DAMAGE)
def test_metadata_fields_of_the_wrong_type_are_one_checkpoint_error(tmp_path, name):
    change, message = FIELD_DAMAGE[name]
    path = trained_checkpoint(tmp_path / "model.npz")
    edit_meta(path, change)
    with pytest.raises(ckpt.CheckpointError, match=message):
        ckpt.load(path)


RESTORE_DAMAGE = {
    "no loss": (_delete("loss"), ckpt.restore_loss, "has no 'loss'"),
    "no architecture": (_delete("architecture"), ckpt.restore_model, "has no 'architecture'"),
    "unknown loss": (_set("loss", {"type": "os.system"}), ckpt.restore_loss, "unknown type 'os.system'"),
    "sizes of strings": (
        _set("architecture", {"type": "MLP", "sizes": ["4", "3", "2"]}), ckpt.restore_model, "positive integers"),
    "sizes 10^10 weights": (
        _set("architecture", {"type": "MLP", "sizes": [64, 100000, 100000, 10]}), ckpt.restore_model,
        "declares 6 weight arrays of 10,007,600,010 numbers but the archive holds 4 of 23"),
    "200,000 layers": (
        _set("architecture", {"type": "MLP", "sizes": [1] * 200_000}), ckpt.restore_model, "list of 2 to 10000"),
    "9,000 layers": (
        _set("architecture", {"type": "MLP", "sizes": [1] * 9_000}), ckpt.restore_model, "17,998 weight arrays"),
    "nested Sequentials": (
        _set("architecture", json.loads('{"type": "Sequential", "modules": [' * 40 + "]}" * 40)),
        ckpt.restore_model, "nested more than 32 deep"),
    "unknown argument": (
        _set("architecture", {"type": "MLP", "sizes": [4, 3, 2], "evil": 1}), ckpt.restore_model, "cannot build MLP"),
    "rng state": (_set("rng_state", {"bit_generator": "PCG64", "state": 5}), ckpt.restore_rng, "random generator"),
    "rng of another kind": (_set("rng_state", {"bit_generator": "MT19937"}), ckpt.restore_rng, "random generator"),
}


@pytest.mark.parametrize("name", RESTORE_DAMAGE)
def test_metadata_that_does_not_describe_a_model_is_one_checkpoint_error(tmp_path, name):
    change, restore, message = RESTORE_DAMAGE[name]
    path = trained_checkpoint(tmp_path / "model.npz", rng=np.random.default_rng(0))
    edit_meta(path, change)
    with pytest.raises(ckpt.CheckpointError, match=message) as error:
        restore(ckpt.load(path))
    assert str(path) in str(error.value)


def test_weights_of_another_dtype_or_shape_are_named(tmp_path):
    path = trained_checkpoint(tmp_path / "model.npz")
    rewrite(path, arrays={"model/layers.0.W": np.zeros((4, 3), np.float32)})
    with pytest.raises(ckpt.CheckpointError, match=r"layers\.0\.W: expected dtype float64, got float32"):
        ckpt.restore_model(ckpt.load(path))


def patch_zip(path, central_offset, value, size=2):
    """Overwrite a field of every central-directory record (``PK\\x01\\x02``) of the zip at ``path``."""
    raw = bytearray(path.read_bytes())
    start = 0
    while (start := raw.find(b"PK\x01\x02", start)) != -1:
        raw[start + central_offset : start + central_offset + size] = value.to_bytes(size, "little")
        start += 4
    path.write_bytes(bytes(raw))


ARCHIVE_DAMAGE = {
    "a .npy renamed .npz": (lambda p: np.save(open(p, "wb"), np.ones(3)), "not a readable .npz archive"),
    "an encrypted-flag flip": (lambda p: patch_zip(p, 8, 0x1), "is encrypted or uses compression method"),
    "unknown compression": (lambda p: patch_zip(p, 10, 99), "compression method 99"),
    "flipped data bit": (lambda p: flip_byte(p, 200), "not a readable .npz archive"),
    "an empty file": (lambda p: p.write_bytes(b""), "not a readable .npz archive"),
    "metadata of floats": (lambda p: rewrite(p, arrays={"__meta__": np.zeros(3)}), r"float64 \(3,\), not UTF-8"),
    "a text entry": (lambda p: rewrite(p, arrays={"extra/note": np.array(["hi"])}), "has dtype <U2"),
    "an entry outside the sections": (lambda p: rewrite(p, arrays={"loose": np.ones(2)}), "unexpected entry 'loose'"),
}


def flip_byte(path, offset):
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("name", ARCHIVE_DAMAGE)
def test_damaged_archives_are_one_checkpoint_error(tmp_path, name):
    damage, message = ARCHIVE_DAMAGE[name]
    path = trained_checkpoint(tmp_path / "model.npz")
    damage(path)
    with pytest.raises(ckpt.CheckpointError, match=message) as error:
        ckpt.load(path)
    assert str(path) in str(error.value)


def test_an_npy_header_declaring_a_huge_shape_is_refused_before_reading(tmp_path):
    path = trained_checkpoint(tmp_path / "model.npz")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    entries = {name + ".npy": buffer for name, buffer in npy_members(path).items()}
    entries["model/layers.0.W.npy"] = header.getvalue() + bytes(96)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    with pytest.raises(ckpt.CheckpointError, match=r"declares shape \(1000000000000,\) of float64"):
        ckpt.load(path)


def npy_members(path):
    with zipfile.ZipFile(path) as archive:
        return {name[: -len(".npy")]: archive.read(name) for name in archive.namelist()}


def deflate_bomb(path, members, zeros):
    """A zip whose member ``model/bomb.npy`` inflates to an npy header and ``zeros`` zero bytes
    (its headers written by hand); ``members`` are stored as given."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (zeros,)})
    body, crc = repeated_zeros(header.getvalue(), zeros)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name + ".npy", content)
    raw = bytearray(path.read_bytes())
    directory = raw.index(b"PK\x01\x02")
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), len(header.getvalue()) + zeros,
                        len(b"model/bomb.npy"), 0) + b"model/bomb.npy"
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(body),
                          len(header.getvalue()) + zeros, len(b"model/bomb.npy"), 0, 0, 0, 0, 0, directory)
    end = raw.index(b"PK\x05\x06")
    entries, size, offset = struct.unpack("<2xH2L", raw[end + 8 : end + 20])
    shift = len(local) + len(body)
    tail = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries + 1, entries + 1, size + len(central) + 14,
                       offset + shift, 0)
    path.write_bytes(bytes(raw[:directory]) + local + body + bytes(raw[directory:end]) + central
                     + b"model/bomb.npy" + tail)


def run_limited(code, limit=1 << 30, timeout=60):
    """Python ``code`` in a subprocess whose address space is capped at ``limit`` bytes."""
    prelude = f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))\n"
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)


def test_a_deflated_zeros_bomb_is_refused_from_the_zip_headers_within_bounded_memory(tmp_path):
    path = trained_checkpoint(tmp_path / "model.npz")
    deflate_bomb(path, npy_members(path), zeros=3 << 30)
    assert path.stat().st_size < 4_000_000  # 3 GiB of zeros in 3 MB
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("model/bomb.npy").file_size > 3 << 30
    result = run_limited(f"""
        import matgrad.checkpoint as ckpt
        try:
            ckpt.load({str(path)!r})
        except ckpt.CheckpointError as error:
            print(error)
    """)
    assert result.returncode == 0, result.stderr
    assert "more than the cap of 2,147,483,648" in result.stdout and "decompressed" in result.stdout


def test_a_small_deflated_archive_within_the_cap_still_loads(tmp_path):
    path = trained_checkpoint(tmp_path / "model.npz")
    deflate_bomb(path, npy_members(path), zeros=64 << 20)
    loaded = ckpt.load(path)
    assert loaded.section("model")["bomb"].shape == (64 << 20,) and not loaded.section("model")["bomb"].any()
    with pytest.raises(ckpt.CheckpointError, match="more than the cap of 1,000,000"):
        ckpt.load(path, max_bytes=1_000_000)


def test_a_checkpoint_that_is_not_a_regular_file_is_refused(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="not a regular file"):
        ckpt.load("/dev/zero")
    with pytest.raises(ckpt.CheckpointError, match="is a folder"):
        ckpt.load(tmp_path)


def test_evaluate_refuses_saved_settings_naming_a_device_without_reading_it(tmp_path):
    out = tmp_path / "run"
    assert main(["train", *MOONS, "--epochs", "1", "--out", str(out)]) == 0
    edit_meta(out / "model.npz", lambda meta: meta["extra"]["settings"].__setitem__("data", "csv:/dev/zero"))
    result = subprocess.run([sys.executable, "-m", "matgrad", "evaluate", str(out / "model.npz")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "CSV /dev/zero: not a regular file" in result.stderr


SETTINGS_DAMAGE = {
    "no patience": (lambda s: s.pop("patience"), "run settings have no 'patience'"),
    "no loss": (lambda s: s.pop("loss"), "run settings have no 'loss'"),
    "lr as a string": (lambda s: s.__setitem__("lr", "0.1"), "run setting 'lr' is '0.1', expected a finite number > 0"),
    "epochs negative": (lambda s: s.__setitem__("epochs", -5), "'epochs' is -5"),
    "layers of floats": (lambda s: s.__setitem__("layers", [2.5, 2]), "'layers' is [2.5, 2]"),
    "seed a list": (lambda s: s.__setitem__("seed", [1]), "'seed' is [1]"),
    "unknown activation": (lambda s: s.__setitem__("activation", "evil"), "its run settings do not make a run"),
    "layers for other data": (lambda s: s.__setitem__("layers", [5, 4, 2]), "do not make a run: --layers starts"),
}


@pytest.mark.parametrize("name", SETTINGS_DAMAGE)
def test_resume_refuses_saved_settings_of_the_wrong_shape_in_one_line(tmp_path, capsys, name):
    change, message = SETTINGS_DAMAGE[name]
    out = tmp_path / "run"
    assert main(["train", *MOONS, "--epochs", "1", "--out", str(out)]) == 0
    edit_meta(out / "model.npz", lambda meta: change(meta["extra"]["settings"]))
    one_line_error(capsys, "train", "--resume", "--epochs", "2", "--out", out, "--quiet", expect=message)


def test_a_corrupt_checkpoint_is_one_line_in_every_command(tmp_path, capsys):
    path = trained_checkpoint(tmp_path / "model.npz")
    edit_meta(path, _set("epoch", "three"))
    for command in (["evaluate", path], ["predict", path], ["plot", "curves", "--checkpoint", path]):
        one_line_error(capsys, *command, expect="'epoch' is a string")


# ----- data files ------------------------------------------------------------------------------


def test_a_csv_label_of_a_billion_is_refused_before_one_hot(tmp_path, capsys):
    path = tmp_path / "ids.csv"
    path.write_text("".join(f"{i}.0,{i % 2}\n" for i in range(9)) + "9.0,1000000000\n")
    with pytest.raises(data.DataError, match=r"line 10: label 1000000000 implies 1,000,000,001 classes"):
        data.load_csv(path)
    one_line_error(capsys, "train", "--data", f"csv:{path}", "--out", tmp_path / "run", expect="more than the cap")


def test_an_idx_label_of_2_to_the_31_is_refused(tmp_path):
    images = np.zeros((3, 2, 2), np.uint8)
    for prefix in ("train", "t10k"):
        data.write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images)
        data.write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.array([0, 1, 2**31 - 1], np.int32))
    with pytest.raises(data.DataError, match="label 2147483647 implies 2,147,483,648 classes"):
        data.load_mnist(tmp_path)


@pytest.mark.parametrize("gz", [False, True])
def test_an_idx_header_declaring_a_terabyte_is_refused_before_reading(tmp_path, gz):
    header = bytes([0, 0, 0x08, 2]) + np.array([10**6, 10**6], ">u4").tobytes()
    path = data.write_idx(tmp_path / "x.idx", np.zeros(1, np.uint8))
    path.write_bytes(header + bytes(10))
    if gz:
        path = tmp_path / "x.idx.gz"
        path.write_bytes(zlib.compress(header + bytes(10), wbits=31))
    with pytest.raises(data.DataError, match=r"shape \(1000000, 1000000\) of uint8 needs 1,000,000,000,000 bytes"):
        data.load_idx(path)


def repeated_zeros(prefix, zeros, chunk=64 << 20):
    """Raw deflate of ``prefix`` and ``zeros`` zero bytes, and its CRC-32: after a full flush
    each chunk of zeros deflates to the same bytes, so gigabytes cost milliseconds to make."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(zeros // chunk):
        crc = zlib.crc32(bytes(chunk), crc)
    return start + block * (zeros // chunk) + compressor.flush(), crc


def gzip_bomb(prefix, zeros):
    body, crc = repeated_zeros(prefix, zeros)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + body + struct.pack("<2L", crc, (len(prefix) + zeros) % 2**32)


def test_a_gzip_bomb_idx_stops_at_the_size_its_header_declares(tmp_path):
    header = bytes([0, 0, 0x08, 1]) + np.array([1000], ">u4").tobytes()
    path = tmp_path / "labels.idx.gz"
    path.write_bytes(gzip_bomb(header, zeros=1 << 30))
    result = run_limited(f"""
        import matgrad.data as data
        try:
            data.load_idx({str(path)!r}, max_bytes=1 << 20)
        except data.DataError as error:
            print(error)
    """, limit=512 << 20)
    assert result.returncode == 0, result.stderr
    assert "expected 1000 bytes of data" in result.stdout and "trailing bytes" in result.stdout


@pytest.mark.parametrize("where, message", [
    ("folder", "is a folder, not a file"),
    ("/dev/zero", "not a regular file"),
    ("fifo", "not a regular file"),
    ("missing", "no such file"),
])
def test_data_that_is_not_a_regular_file_is_refused_without_reading(tmp_path, where, message):
    path = {"folder": tmp_path, "/dev/zero": "/dev/zero", "missing": tmp_path / "none.csv"}.get(where)
    if where == "fifo":
        path = tmp_path / "pipe.csv"
        os.mkfifo(path)  # opening it would block forever
    for load in (data.load_csv, data.load_idx):
        with pytest.raises(data.DataError, match=message):
            load(path)


def test_a_binary_file_given_as_csv_is_one_data_error(tmp_path):
    path = tmp_path / "model.csv"
    path.write_bytes(b"\x00\xff\xfe" * 100)
    with pytest.raises(data.DataError, match="not readable as UTF-8 CSV text"):
        data.load_csv(path)


# ----- output folders: checked before training, nothing clobbered ------------------------------


@pytest.mark.parametrize("out, message", [
    ("a-file", "is a file, not a folder"),
    ("/dev/null", "is a file, not a folder"),
    ("/proc/self", "cannot write files there"),  # unwritable even for root
    ("folder-as-model", "model.npz is a folder or device"),
])
def test_a_bad_out_is_refused_before_any_epoch(tmp_path, capsys, out, message):
    if out == "a-file":
        out = tmp_path / "a-file"
        out.write_text("mine")
    elif out == "folder-as-model":
        out = tmp_path / "run"
        (out / "model.npz").mkdir(parents=True)
    status, err = run_cli(capsys, "train", *MOONS, "--epochs", "1", "--out", out)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert "epoch" not in capsys.readouterr().out


def test_files_matgrad_did_not_write_are_not_replaced_without_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.npz").write_bytes(b"someone else's model")
    one_line_error(capsys, "train", *MOONS, "--epochs", "1", "--out", out, expect="pass --overwrite")
    assert (out / "model.npz").read_bytes() == b"someone else's model"
    (out / "model.npz").unlink()
    (out / "history.json").write_text('{"loss": [1, 2]}')
    one_line_error(capsys, "train", *MOONS, "--epochs", "1", "--out", out, expect="history.json exists")
    assert main(["train", *MOONS, "--epochs", "1", "--out", str(out), "--overwrite"]) == 0
    assert json.loads((out / "history.json").read_text())["epochs"][0]["epoch"] == 1


def test_epochs_0_does_not_replace_a_trained_model(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *MOONS, "--epochs", "2", "--out", str(out)]) == 0
    before = (out / "model.npz").read_bytes()
    one_line_error(capsys, "train", *MOONS, "--epochs", "0", "--out", out,
                   expect="--epochs 0 would replace the model trained for 2 epochs")
    assert (out / "model.npz").read_bytes() == before


def test_files_follow_the_umask_and_no_temporary_file_is_left(tmp_path):
    out = tmp_path / "run"
    args = ["train", *MOONS, "--epochs", "1", "--out", str(out)]
    script = f"import os, sys; os.umask(0o027); from matgrad.cli import main; sys.exit(main({args!r}))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert modes == {"model.npz": 0o640, "history.json": 0o640, "curves.png": 0o640}


# ----- saves interrupted by SIGKILL -----------------------------------------------------------------


KILLED_SAVE = """
    import os, signal, sys
    import numpy as np
    import matgrad.checkpoint as ckpt
    import matgrad.nn as nn
    if sys.argv[2] == "named":  # a system without O_TMPFILE: the temporary file has a name
        del os.O_TMPFILE
    def die_half_way(file, **entries):
        file.write(b"PK\\x03\\x04" + bytes(1 << 20))
        os.kill(os.getpid(), signal.SIGKILL)
    np.savez = die_half_way
    ckpt.save_training(sys.argv[1], nn.MLP([4, 3, 2], seed=1, dtype=np.float64), nn.MSELoss(), epoch=2)
"""


@pytest.mark.parametrize("temporary", ["unnamed", "named"])
def test_a_save_killed_half_way_keeps_the_previous_checkpoint_and_leaves_no_temporary_file(tmp_path, temporary):
    path = trained_checkpoint(tmp_path / "model.npz")
    before = path.read_bytes()
    child = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED_SAVE), str(path), temporary],
                           capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert path.read_bytes() == before and ckpt.load(path).meta["epoch"] == 1
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "model.npz")
    if temporary == "unnamed":
        assert leftovers == []  # O_TMPFILE: a killed writer's file never had a name
    else:
        assert len(leftovers) == 1 and leftovers[0].startswith(".model.npz.")
    trained_checkpoint(path)  # the next save removes what a killed one left
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_saves_killed_at_random_moments_always_leave_a_whole_checkpoint(tmp_path):
    path = trained_checkpoint(tmp_path / "model.npz")
    script = textwrap.dedent("""
        import sys
        import numpy as np
        import matgrad.checkpoint as ckpt
        import matgrad.nn as nn
        model = nn.MLP([4, 3, 2], seed=1, dtype=np.float64)
        big = {"ballast": np.ones(4_000_000)}
        print("saving", flush=True)
        for epoch in range(2, 1000):
            ckpt.save_training(sys.argv[1], model, nn.MSELoss(), epoch=epoch, extra_arrays=big)
    """)
    for delay in (0.05, 0.11, 0.17, 0.23):
        child = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE)
        assert child.stdout.readline() == b"saving\n"
        try:
            child.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        loaded = ckpt.load(path)
        assert ckpt.restore_model(loaded) is not None and loaded.meta["epoch"] >= 1
    trained_checkpoint(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_a_temporary_file_of_a_live_writer_is_left_alone(tmp_path):
    path = trained_checkpoint(tmp_path / "model.npz")
    live = tmp_path / f".model.npz.{os.getppid()}.abc.tmp"
    dead = tmp_path / ".model.npz.999999999.abc.tmp"
    old_style = tmp_path / ".model.npz.x7y8z9ab.tmp"
    other = tmp_path / ".history.json.1.abc.tmp"
    for leftover in (live, dead, old_style, other):
        leftover.write_bytes(b"partial")
    trained_checkpoint(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model.npz", live.name, other.name])


# ----- property-based: any damage is a CheckpointError or DataError, never a traceback -----------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A run of ``matgrad train`` (its checkpoint bytes) to damage."""
    out = tmp_path_factory.mktemp("pristine")
    assert main(["train", *MOONS, "--epochs", "1", "--standardize", "--out", str(out)]) == 0
    return (out / "model.npz").read_bytes()


def restore_everything(path):
    """Everything the commands read from a checkpoint; returns normally or raises CheckpointError."""
    loaded = ckpt.load(path, max_bytes=1 << 20)
    ckpt.restore_model(loaded)
    ckpt.restore_loss(loaded)
    ckpt.restore_rng(loaded)
    saved_settings(loaded)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_fuzz_byte_damage_to_a_checkpoint(tmp_path, pristine, edits, cut):
    raw = bytearray(pristine)
    for offset, value in edits:
        raw[offset % len(raw)] = value
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(bytes(raw[:cut]) if cut is not None else bytes(raw))
    try:
        restore_everything(path)
    except ckpt.CheckpointError as error:
        assert "\n" not in str(error) and str(path) in str(error)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KEYS = ["architecture", "loss", "epoch", "history", "rng_state", "dropout_rng_states", "optimizer", "extra",
        "format_version"]


@FUZZ
@given(replacements=st.dictionaries(st.sampled_from(KEYS), JSON, min_size=1, max_size=3),
       setting=st.tuples(st.sampled_from(sorted(["data", "seed", "layers", "lr", "epochs", "dropout", "loss"])), JSON))
def test_fuzz_metadata_values_of_any_json_type(tmp_path, pristine, replacements, setting):
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(pristine)
    meta = json.loads(entries_of(path)["__meta__"].tobytes())
    meta["extra"]["settings"][setting[0]] = setting[1]
    meta.update(replacements)
    rewrite(path, json.dumps(meta))
    try:
        restore_everything(path)
    except ckpt.CheckpointError as error:
        assert "\n" not in str(error)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("0123456789.,-e\n\"ab \tx\r")), max_size=200))
def test_fuzz_csv_text(tmp_path, text):
    path = tmp_path / "fuzzed.csv"
    path.write_text(text)
    try:
        dataset = data.load_csv(path, max_classes=1000)
    except data.DataError as error:
        assert str(path) in str(error)
    else:
        assert dataset.classes <= 1000 and len(dataset.y) == len(dataset.X)


@FUZZ
@given(code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]),
       shape=st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=4),
       body=st.binary(max_size=64), gz=st.booleans())
def test_fuzz_idx_headers_and_bodies(tmp_path, code, shape, body, gz):
    raw = bytes([0, 0, code, len(shape)]) + np.array(shape, ">u4").tobytes() + body
    path = tmp_path / "fuzzed.idx"
    path.write_bytes(zlib.compress(raw, wbits=31) if gz else raw)
    try:
        array = data.load_idx(path, max_bytes=1 << 16)
    except data.DataError as error:
        assert str(path) in str(error)
    else:
        assert array.shape == tuple(shape)
