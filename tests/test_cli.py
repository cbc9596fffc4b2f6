"""The ``matgrad`` command end to end, in subprocesses, on small data."""

import json
import subprocess
import sys

import numpy as np
import pytest

import matgrad.checkpoint as ckpt


def matgrad(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "matgrad", *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def one_clean_line(result):
    lines = result.stderr.strip().splitlines()
    return len(lines) == 1 and "Traceback" not in result.stderr


MOONS = [
    "--data",
    "moons",
    "--loss",
    "cross-entropy",
    "--activation",
    "tanh",
    "--optimizer",
    "adam",
    "--lr",
    "0.05",
    "--batch-size",
    "16",
    "--quiet",
]


def test_train_writes_checkpoint_history_and_curves_then_evaluate_and_predict(tmp_path):
    out = tmp_path / "run"
    result = matgrad("train", *MOONS, "--layers", "2,8,2", "--epochs", "3", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "test" in result.stdout and "accuracy" in result.stdout and "time" in result.stdout
    for name in ("model.npz", "history.json", "curves.png"):
        assert (out / name).is_file()
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history = json.loads((out / "history.json").read_text())["epochs"]
    assert [r["epoch"] for r in history] == [1, 2, 3]

    evaluated = matgrad("evaluate", out / "model.npz")
    assert evaluated.returncode == 0, evaluated.stderr
    test_line = next(line for line in evaluated.stdout.splitlines() if line.startswith("test"))
    assert f"{100 * history[-1]['val_accuracy']:.2f}%" in test_line

    predicted = matgrad("predict", out / "model.npz", "--limit", "5", "--format", "csv")
    assert predicted.returncode == 0, predicted.stderr
    header, *rows = [line.split(",") for line in predicted.stdout.splitlines()]
    assert header == ["row", "label", "predicted", "p0", "p1"]
    assert len(rows) == 5 and all(row[1] in ("0", "1") and row[2] in ("0", "1") for row in rows)


def test_resume_reaches_the_same_weights_as_an_uninterrupted_run(tmp_path):
    assert matgrad("train", *MOONS, "--epochs", "4", "--out", tmp_path / "full").returncode == 0
    assert matgrad("train", *MOONS, "--epochs", "2", "--out", tmp_path / "split").returncode == 0
    resumed = matgrad("train", "--resume", "--epochs", "4", "--out", tmp_path / "split", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    full = ckpt.load(tmp_path / "full" / "model.npz")
    split = ckpt.load(tmp_path / "split" / "model.npz")
    assert split.meta["epoch"] == 4
    for name, array in full.section("model").items():
        np.testing.assert_array_equal(split.section("model")[name], array)


def test_dropout_trains_eagerly_and_resumes_to_the_same_weights(tmp_path):
    dropout = [*MOONS, "--dropout", "0.3", "--layers", "2,16,2"]
    assert matgrad("train", *dropout, "--epochs", "4", "--out", tmp_path / "full").returncode == 0
    assert matgrad("train", *dropout, "--epochs", "2", "--out", tmp_path / "split").returncode == 0
    resumed = matgrad("train", "--resume", "--epochs", "4", "--out", tmp_path / "split", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    full, split = ckpt.load(tmp_path / "full" / "model.npz"), ckpt.load(tmp_path / "split" / "model.npz")
    assert ckpt.restore_model(full).layers[2].__class__.__name__ == "Dropout"
    for name, array in full.section("model").items():
        np.testing.assert_array_equal(split.section("model")[name], array)


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--epochs", "x"], "invalid int value"),
        (["train", "--dropout", "1.5"], "must be in [0, 1)"),
        (["train", "--layers", "64"], "at least two"),
        (["train", "--optimizer", "bfgs"], "invalid choice"),
        (["train", "--layers", "5,3,10", "--epochs", "1"], "starts with 5 inputs"),
        (["train", "--data", "nonsense"], "nonsense"),
        (["train", "--data", "mnist", "--data-dir", "/nonexistent/mnist"], "/nonexistent/mnist"),
        (["evaluate", "/nonexistent/model.npz"], "no such file"),
        (["demo", "--sizes", "4,3"], "three positive sizes"),
    ],
)
def test_bad_input_gives_one_clear_line_and_a_nonzero_exit(args, message, tmp_path):
    result = matgrad(*args, "--out", tmp_path) if args[0] == "train" else matgrad(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_corrupt_checkpoint_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"\x00" * 100)
    result = matgrad("evaluate", bad)
    assert result.returncode == 2 and one_clean_line(result) and "corrupt" in result.stderr


def test_help_for_every_command():
    for command in ("train", "evaluate", "predict", "demo"):
        result = matgrad(command, "--help")
        assert result.returncode == 0 and "usage: matgrad" in result.stdout


def _command_paths(parser, path=()):
    """Every command and subcommand of ``parser``, as the words that select it (``()`` is the top)."""
    import argparse

    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _command_paths(sub, (*path, name))


def test_help_and_readme_never_point_at_texts_users_do_not_have(capsys):
    """The help and the README say "column layout (z = Wx + b)", not "seed 001" or a path outside the repo."""
    from pathlib import Path

    from matgrad.cli import main, parser

    forbidden = ("seed 00", "seeds/", "../shared")
    paths = list(_command_paths(parser()))
    assert ("explain",) in paths and ("plot", "surface") in paths
    for path in paths:
        with pytest.raises(SystemExit) as exited:
            main([*path, "--help"])
        assert exited.value.code == 0
        text = capsys.readouterr().out.lower()
        assert "usage: matgrad" in text
        for words in forbidden:
            assert words not in text, f"matgrad {' '.join(path)} --help mentions {words!r}"
    root = Path(__file__).resolve().parent.parent
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8").lower()
        for words in forbidden:
            assert words not in text, f"{page.name} mentions {words!r}"


def test_demo_agrees_with_the_delta_equations():
    result = matgrad("demo")
    assert result.returncode == 0, result.stderr
    assert "gradcheck passed" in result.stdout and "∂C/∂W¹" in result.stdout


def test_train_on_local_mnist_format_files(tmp_path):
    from matgrad.data import write_idx

    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, n in (("train", 60), ("t10k", 20)):
        labels = np.arange(n) % 10
        images = (rng.random((n, 28, 28)) * 50 + labels[:, None, None] * 20).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels.astype(np.uint8))
    result = matgrad(
        "train", "--data", "mnist", "--data-dir", folder, "--epochs", "2", "--out", tmp_path / "run", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert "784-30-10" in result.stdout and "60 train / 20 test" in result.stdout


def test_explain_the_seed_network_in_both_layouts_and_with_l2():
    column = matgrad("explain")
    assert column.returncode == 0, column.stderr
    for line in ("δ² = (a² − y) ⊙ σ'(z²)", "∂C/∂W² = δ² (a¹)ᵀ", "δ¹ = ((W²)ᵀ δ²) ⊙ σ'(z¹)", "∂C/∂W¹ = δ¹ xᵀ"):
        assert line in column.stdout
    row = matgrad("explain", "--layout", "row", "--l2", "0.1")
    assert row.returncode == 0, row.stderr
    assert "(a¹)ᵀ δ²" in row.stdout and "λ W²" in row.stdout and "λ = 0.1" in row.stdout


def test_explain_re_renders_in_the_other_layout():
    row = matgrad("explain", "--render-layout", "row")
    assert row.returncode == 0, row.stderr
    for line in ("z¹ = x W¹ + b¹", "δ¹ = (δ² (W²)ᵀ) ⊙ σ'(z¹)", "∂C/∂W¹ = xᵀ δ¹"):
        assert line in row.stdout
    closed = matgrad("explain", "--layout", "row", "--inline")
    assert "∂C/∂W² = (a¹)ᵀ ((a² − y) ⊙ σ'(z²))" in closed.stdout  # row layout's Hᵀ((Y − Y*) ⊙ f'(HW + B))
    jacobians = matgrad("explain", "--jacobians")
    assert jacobians.returncode == 0 and "∂a²/∂z²   (2 × 2, diagonal" in jacobians.stdout
    assert "vᵀJ = VJP ✗" not in jacobians.stdout and jacobians.stdout.count("vᵀJ = VJP ✓") == 8
    refused = matgrad("explain", "--render-layout", "row", "--notation", "index")
    assert refused.returncode == 2 and one_clean_line(refused) and "jacobian" in refused.stderr


def test_explain_a_formula_typed_as_text():
    result = matgrad(
        "explain",
        "0.5*sum((sigmoid(W@h+b)-y)**2)",
        "--shape",
        "W=3x4",
        "--shape",
        "h=4x1",
        "--shape",
        "b=3x1",
        "--shape",
        "y=3x1",
        "--wrt",
        "W",
        "--format",
        "markdown",
    )
    assert result.returncode == 0, result.stderr
    assert "| gradient |" in result.stdout and r"\sigma'" in result.stdout


def test_explain_reports_a_shape_conflict_with_its_position():
    result = matgrad("explain", "sum(X@w)", "--shape", "X=6x3", "--shape", "w=4x1")
    assert result.returncode == 2 and one_clean_line(result)
    assert "'X@w' at column 5" in result.stderr


def test_explain_a_matrix_function_draws_an_invertible_matrix():
    """`matgrad explain "sum(inv(X))"` once failed: the shapes were checked on zeros, a singular X."""
    result = matgrad("explain", "sum(inv(X))", "--shape", "X=3x3")
    assert result.returncode == 0, result.stderr
    assert "∂f/∂X = −X⁻ᵀ 𝟏 X⁻ᵀ" in result.stdout and "every line agrees" in result.stdout


def test_explain_constraint_options_reach_the_draws():
    args = ["explain", "sum(cholesky(A + B))", "--shape", "A=3x3", "--shape", "B=3x3"]
    unconstrained = matgrad(*args)  # A + B of N(0, 1) draws is not positive definite
    assert unconstrained.returncode == 2 and one_clean_line(unconstrained)
    assert "not positive definite" in unconstrained.stderr
    spd = matgrad(*args, "--spd", "A", "--spd", "B")
    assert spd.returncode == 0 and "every line agrees" in spd.stdout, spd.stderr
    twice = matgrad(*args, "--spd", "A", "--invertible", "A")
    assert twice.returncode == 2 and "--spd A and --invertible A" in twice.stderr


def test_explain_writes_the_identity_as_i():
    result = matgrad("explain", "sum(inv(X + 2*I))", "--shape", "X=3x3", "--format", "latex")
    assert result.returncode == 0, result.stderr
    assert r"X + 2 I" in result.stdout
    refused = matgrad("explain", "sum(exp(I) * X)", "--shape", "X=3x3")
    assert refused.returncode == 2 and one_clean_line(refused) and "eye(n)" in refused.stderr


# ----- hostile and careless arguments (issue #14): one line, exit 2, before any allocation -----------


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--epochs", "-1"], "argument --epochs: must be 0 or more, got -1"),
        (["train", "--l2", "nan"], "argument --l2: must be a finite number ≥ 0, got nan"),
        (["train", "--l2", "-1"], "argument --l2: must be a finite number ≥ 0, got -1"),
        (["train", "--l1", "inf"], "argument --l1: must be a finite number ≥ 0, got inf"),
        (["train", "--lr", "0"], "argument --lr: must be a finite number > 0, got 0"),
        (["train", "--seed", "-3"], "argument --seed: must be 0 or more"),
        (["train", "--patience", "-1"], "argument --patience: must be 0 or more"),
        (["train", "--max-memory", "lots"], "expected a size such as 4G"),
        (["train", "--layers", "64,100000000,10"], "--layers 64,100000000,10: 7,500,000,010 weights need about"),
        (["predict", "model.npz", "--limit", "-1"], "argument --limit: must be 0 or more, got -1"),
        (["plot", "boundary", "--dpi", "100000"], "--dpi 100000 needs about"),
        (["plot", "curves", "--dpi", "100000"], "--dpi 100000 needs about"),
        (["plot", "boundary", "--resolution", "100000"], "--resolution 100000 needs about"),
        (["plot", "surface", "--resolution", "100000"], "--resolution 100000 needs about"),
        (["plot", "graph", "--examples", "100000000"], "with --examples 100000000 needs about"),
        (["plot", "graph", "--layers", "64,100000000,10"], "--layers 64,100000000,10 with --examples 1 needs"),
        (["plot", "curves", "--out", "curves.v2"], "matplotlib cannot write '.v2' files"),
        (["plot", "surface", "--span", "nan"], "argument --span: must be a finite number > 0"),
    ],
)
def test_careless_arguments_are_one_usage_line_before_any_work(args, message, tmp_path):
    result = matgrad(*args, "--out", tmp_path / "run") if args[0] == "train" else matgrad(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert one_clean_line(result) and message in result.stderr, result.stderr
    assert result.stdout == "" and list(tmp_path.iterdir()) == []  # refused before training or writing


def test_max_memory_is_the_documented_cap_and_can_be_raised(tmp_path):
    layers = ["--layers", "2,20000,2", "--epochs", "1"]
    refused = matgrad("train", *MOONS, *layers, "--max-memory", "1M", "--out", tmp_path / "small")
    assert refused.returncode == 2 and "more than --max-memory" in refused.stderr and one_clean_line(refused)
    allowed = matgrad("train", *MOONS, *layers, "--max-memory", "1G", "--out", tmp_path / "large")
    assert allowed.returncode == 0, allowed.stderr


def test_plot_out_without_a_suffix_reports_the_file_it_writes(tmp_path):
    out = tmp_path / "run"
    assert matgrad("train", *MOONS, "--layers", "2,4,2", "--epochs", "2", "--out", out).returncode == 0
    result = matgrad("plot", "curves", "--checkpoint", out / "model.npz", "--out", tmp_path / "NAME")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "NAME.png").is_file() and not (tmp_path / "NAME").exists()
    assert f"wrote {tmp_path / 'NAME.png'} in" in result.stdout


def test_a_folder_given_as_csv_or_as_checkpoint_is_one_line(tmp_path):
    as_csv = matgrad("train", "--data", f"csv:{tmp_path}", "--out", tmp_path / "run")
    assert as_csv.returncode == 2 and one_clean_line(as_csv) and "is a folder, not a file" in as_csv.stderr
    as_checkpoint = matgrad("evaluate", tmp_path)
    assert as_checkpoint.returncode == 2 and one_clean_line(as_checkpoint) and "is a folder" in as_checkpoint.stderr


def test_explain_a_checkpoint_includes_the_penalty_it_trained_with(tmp_path):
    """A run trained with --l2 λ: each weight's gradient in its derivation ends in λ W, λ's value beside it."""
    out = tmp_path / "run"
    assert matgrad("train", *MOONS, "--layers", "2,4,2", "--epochs", "1", "--l2", "0.01", "--out", out).returncode == 0
    result = matgrad("explain", "--checkpoint", out / "model.npz", "--examples", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    weight_lines = [line for line in result.stdout.splitlines() if line.strip().startswith("∂C/∂W")]
    assert len(weight_lines) == 2
    assert all("+ λ W" in line and "where λ = 0.01" in line for line in weight_lines), weight_lines
    assert "every line agrees" in result.stdout
