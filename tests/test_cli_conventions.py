"""The ``matgrad`` command follows Python CLI conventions (issue #15, item 3): ``--version``, a
top-level help with one line per command, "did you mean" for mistyped flags, defaults in every
help, one exit-status policy for every command, choices checked at parse time, ``predict`` for
people and scripts, and no run folder clobbered without ``--overwrite``. In-process, on moons."""

import argparse
import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

import matgrad as mg
from matgrad import cli
from matgrad.cli import main, parser
from matgrad.runs import class_probabilities

MOONS = ["--data", "moons", "--layers", "2,6,2", "--loss", "cross-entropy", "--activation", "tanh",
         "--optimizer", "adam", "--lr", "0.05", "--batch-size", "16", "--quiet"]
COMMANDS = ("train", "evaluate", "predict", "explain", "check", "demo", "plot", "export", "playground")
README = Path(__file__).resolve().parent.parent / "README.md"


def run(capsys, *args):
    """``matgrad ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        status = main([str(a) for a in args])
    except SystemExit as stop:  # argparse: --help, --version, usage errors
        status = stop.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def usage_error(capsys, *args):
    """Exit 2, one line on stderr, no traceback: the line."""
    status, out, err = run(capsys, *args)
    assert status == 2, (status, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 3-epoch moons run: its folder."""
    out = tmp_path_factory.mktemp("conventions") / "run"
    assert main(["train", *MOONS, "--epochs", "3", "--out", str(out)]) == 0
    return out


def command_paths(p, path=()):
    yield path, p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, (*path, name))


# ----- --version and the top-level help --------------------------------------------------------


def test_version(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"matgrad {mg.__version__}"


def test_top_level_help_lists_every_command_on_one_line(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "``" not in out
    lines = out.splitlines()
    for command in COMMANDS:
        line = next(line for line in lines if re.match(rf"\s+{command}\s", line))
        about = line.split(command, 1)[1].strip()
        following = lines[lines.index(line) + 1]
        assert about and (following.strip() == "" or re.match(rf"\s+({'|'.join(COMMANDS)})\s", following)), line
    assert "--version" in out and "Exit status" in out


def test_no_help_text_is_rst():
    for path, p in command_paths(parser()):
        assert "``" not in p.format_help(), f"matgrad {' '.join(path)} --help has RST backticks"


# ----- "did you mean" ----------------------------------------------------------------------------


@pytest.mark.parametrize("args, hint", [
    (["train", "--learning-rate", "0.1"], "did you mean --lr?"),
    (["train", "--learning_rate=0.1"], "did you mean --lr?"),
    (["train", "--batch_size", "3"], "did you mean --batch-size?"),
    (["train", "--output-dir", "x"], "did you mean --out?"),
    (["train", "--optimiser", "adam"], "did you mean --optimizer?"),
    (["predict", "m.npz", "--fromat", "csv"], "did you mean --format?"),
    (["check", "sum(x)", "--claim", "1", "--wrt", "x", "--tolerence", "1e-3"], "did you mean --tolerance?"),
    (["plot", "curves", "--dpii", "50"], "did you mean --dpi?"),
    (["trian"], "did you mean train?"),
    (["plot", "surfce"], "did you mean surface?"),
    (["train", "--loss", "cross_entropy"], "did you mean cross-entropy?"),
    (["train", "--activation", "rleu"], "did you mean relu?"),
    (["train", "--init", "he_norml"], "did you mean he_normal?"),
    (["train", "--data", "moon"], "did you mean moons?"),
    (["train", "--data", "table.csv"], "did you mean csv:table.csv?"),
])
def test_a_mistyped_flag_command_or_choice_gets_a_suggestion(capsys, args, hint):
    err = usage_error(capsys, *args)
    assert hint in err


def test_an_unknown_flag_the_command_does_not_have_is_named_without_a_guess(capsys):
    err = usage_error(capsys, "train", "--frobnicate")
    assert "unrecognized arguments: --frobnicate" in err and "did you mean" not in err
    err = usage_error(capsys, "evaluate", "m.npz", "--lr", "3")  # a flag of another command: not suggested
    assert "--lr" in err and "did you mean" not in err and err.startswith("matgrad evaluate: error:")


# ----- defaults in every help ----------------------------------------------------------------------


def test_every_option_has_help_and_every_default_is_shown():
    for path, p in command_paths(parser()):
        formatter = p._get_formatter()
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
                continue
            where = f"matgrad {' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{where} has no help"
            default = action.default
            if default not in (None, False, [], argparse.SUPPRESS):
                assert "default" in formatter._get_help_string(action), f"{where}: its default is not shown"


def test_train_help_shows_its_defaults(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    status, out, _ = run(capsys, "train", "--help")
    assert status == 0
    for option, default in [("--epochs", "30"), ("--batch-size", "10"), ("--activation", "sigmoid"),
                            ("--loss", "mse"), ("--out", "runs/default"), ("--seed", "0"), ("--data", "digits")]:
        entries = re.split(r"\n(?=  -)", out)  # one per option, its help wrapped or not
        entry = " ".join(next(e for e in entries if e.strip().startswith(option + " ")).split())
        assert f"(default: {default})" in entry, entry


# ----- the exit-status policy, across every command ------------------------------------------------


def test_the_policy_is_written_once_in_cli_and_in_the_readme():
    for text in (cli.__doc__, README.read_text(encoding="utf-8")):
        assert "Exit status" in text
        for words in ("0", "1: the answer is no", "2: a usage or input error", "130"):
            assert words in " ".join(text.replace("**", "").replace("`", "").split()), words


def broken_sigmoid(monkeypatch):
    """A wrong rule in the table: sigmoid's VJP forgets its (1 − σ), so derivations show ✗."""
    monkeypatch.setattr(mg.TABLE["sigmoid"], "vjp", (lambda g, out, x: g * out,))


def test_train_exit_statuses(tmp_path, capsys, trained):
    assert trained.is_dir()  # 0: the fixture's run
    status, _, err = run(capsys, "train", *MOONS, "--activation", "relu", "--optimizer", "sgd", "--lr", "1e300",
                         "--epochs", "3", "--out", tmp_path / "diverged")
    assert status == 1 and "the run diverged" in err and "smaller --lr" in err
    assert len(err.strip().splitlines()) == 1, err
    usage_error(capsys, "train", "--epochs", "x", "--out", tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_evaluate_and_predict_exit_statuses(capsys, trained):
    assert run(capsys, "evaluate", trained / "model.npz")[0] == 0
    assert run(capsys, "predict", trained / "model.npz")[0] == 0
    usage_error(capsys, "evaluate", trained / "missing.npz")
    usage_error(capsys, "predict", trained / "model.npz", "--format", "xml")


def test_explain_exit_statuses(capsys, monkeypatch):
    status, out, _ = run(capsys, "explain")
    assert status == 0 and "✗" not in out
    usage_error(capsys, "explain", "sum(x", "--shape", "x=3x1")
    broken_sigmoid(monkeypatch)
    status, out, _ = run(capsys, "explain")
    assert status == 1 and "✗" in out


def test_check_exit_statuses(capsys):
    shapes = ["--shape", "X=6x3", "--shape", "w=3x1", "--shape", "y=6x1", "--wrt", "w"]
    assert run(capsys, "check", "sum((y - X@w)**2)", "--claim", "2*X.T@(X@w - y)", *shapes)[0] == 0
    status, out, _ = run(capsys, "check", "sum((y - X@w)**2)", "--claim", "X.T@(X@w - y)", *shapes)
    assert status == 1 and out.startswith("✗")
    usage_error(capsys, "check", "sum((y - X@w)**2)", *shapes)  # no --claim


def test_demo_exit_statuses(capsys, monkeypatch):
    assert run(capsys, "demo")[0] == 0
    assert "three positive sizes" in usage_error(capsys, "demo", "--sizes", "4,3")
    broken_sigmoid(monkeypatch)
    assert run(capsys, "demo")[0] == 1


def test_plot_exit_statuses(tmp_path, capsys, trained):
    status, _, err = run(capsys, "plot", "curves", "--checkpoint", trained / "model.npz",
                           "--out", tmp_path / "c.png")
    assert status == 0 and (tmp_path / "c.png").is_file(), err
    usage_error(capsys, "plot", "curves", "--dpi", "100000", "--out", tmp_path / "big.png")


def test_top_level_exit_statuses(capsys):
    assert run(capsys, "--help")[0] == 0
    assert run(capsys, "--version")[0] == 0
    assert run(capsys)[0] == 2  # no command
    usage_error(capsys, "--bogus")


# ----- choices validated at parse time ---------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--activation", "softmax"], "softmax is not for hidden layers"),
    (["--activation", "log_softmax"], "log_softmax is not for hidden layers"),
    (["--output-activation", "softmax", "--loss", "cross-entropy"], "would squash them first"),
    (["--output-activation", "sigmoid", "--loss", "bce"], "applies the sigmoid itself"),
    (["--output-activation", "sofmax"], "did you mean softmax?"),
    (["--data", "mnist"], "--data mnist needs --data-dir FOLDER"),
])
def test_train_refuses_nonsense_before_any_work(tmp_path, capsys, args, message):
    err = usage_error(capsys, "train", *args, "--epochs", "1", "--out", tmp_path / "run")
    assert message in err and "load_dataset" not in err
    assert not (tmp_path / "run").exists()


def test_evaluate_mnist_without_a_folder_is_a_usage_line(capsys, trained):
    err = usage_error(capsys, "evaluate", trained / "model.npz", "--data", "mnist")
    assert "--data-dir" in err and "load_dataset" not in err


def test_the_mnist_message_of_the_library_names_both_spellings():
    with pytest.raises(mg.data.DataError, match=r"needs data_dir \(--data-dir FOLDER on the command line\)"):
        mg.data.load_dataset("mnist")


def test_the_output_activation_still_defaults_by_loss(tmp_path, capsys):
    status, out, err = run(capsys, "train", *MOONS, "--loss", "mse", "--output-activation", "none",
                           "--epochs", "1", "--out", tmp_path / "run")
    assert status == 0 and "output logits" in out, err


# ----- evaluate on other data ----------------------------------------------------------------------


@pytest.mark.parametrize("data, message", [
    ("digits", "takes 2 features but digits has 64"),
    ("spirals", "has 2 outputs but spirals has 3 classes"),
])
def test_evaluate_on_data_the_network_cannot_take_is_one_line(capsys, trained, data, message):
    err = usage_error(capsys, "evaluate", trained / "model.npz", "--data", data)
    assert message in err and "Standardizer" not in err


def test_evaluate_on_other_data_of_the_same_kind_works(capsys, trained):
    status, out, err = run(capsys, "evaluate", trained / "model.npz", "--data", "circles")
    assert status == 0 and "on circles" in out, err


# ----- predict ------------------------------------------------------------------------------------------


def test_predict_text_has_a_header_the_true_label_and_probabilities(capsys, trained):
    status, out, _ = run(capsys, "predict", trained / "model.npz", "--limit", "3")
    assert status == 0
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "label" in line)
    assert lines[header].split() == ["row", "label", "predicted", "p(0)", "p(1)"]
    rows = [line.split() for line in lines[header + 1:header + 4]]
    assert [row[0] for row in rows] == ["0", "1", "2"]
    for row in rows:
        assert row[1] in ("0", "1") and abs(float(row[3]) + float(row[4]) - 1) < 1e-3
    assert "... 37 more rows (--limit)" in out and re.search(r"accuracy \d+\.\d\d% \(\d+ of 40 rows\)", out)


def test_predict_csv_and_json_for_scripts(capsys, trained):
    status, out, _ = run(capsys, "predict", trained / "model.npz", "--format", "csv")
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 40 and list(rows[0]) == ["row", "label", "predicted", "p0", "p1"]  # every row
    for row in rows:
        p = np.array([float(row["p0"]), float(row["p1"])])
        assert abs(p.sum() - 1) < 1e-5 and int(row["predicted"]) == int(p.argmax())
    status, out, _ = run(capsys, "predict", trained / "model.npz", "--format", "json", "--limit", "5")
    document = json.loads(out)
    assert status == 0 and document["classes"] == 2 and len(document["rows"]) == 5
    first = document["rows"][0]
    assert set(first) == {"row", "label", "predicted", "probabilities"} and first["label"] in (0, 1)
    by_csv = rows[0]
    assert first["predicted"] == int(by_csv["predicted"]) and first["label"] == int(by_csv["label"])


def test_predict_rows_of_a_csv_file_have_no_label(tmp_path, capsys, trained):
    rows = tmp_path / "rows.csv"
    rows.write_text("0.5,0.2\n-1.0,1.5\n")
    status, out, _ = run(capsys, "predict", trained / "model.npz", "--input", rows, "--format", "csv")
    assert status == 0
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert len(parsed) == 2 and all(row["label"] == "" for row in parsed)
    status, out, _ = run(capsys, "predict", trained / "model.npz", "--input", rows, "--format", "json")
    assert status == 0 and [row["label"] for row in json.loads(out)["rows"]] == [None, None]
    status, out, _ = run(capsys, "predict", trained / "model.npz", "--input", rows)
    assert status == 0 and "accuracy" not in out


def test_class_probabilities_by_loss():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    p = class_probabilities(logits, "CrossEntropyLoss")
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], 1 / 3)
    assert p[0].argmax() == 0
    bce = class_probabilities(np.array([[0.0], [10.0]]), "BCEWithLogitsLoss")
    np.testing.assert_allclose(bce[0], [0.5, 0.5])
    assert bce[1, 1] > 0.99
    mse = class_probabilities(np.array([[0.9, 0.1], [0.0, 0.0]]), "MSELoss")
    np.testing.assert_allclose(mse, [[0.9, 0.1], [0.5, 0.5]])


# ----- a run folder is not clobbered ------------------------------------------------------------------


def test_an_earlier_run_is_not_replaced_without_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(capsys, "train", *MOONS, "--epochs", "2", "--out", out)[0] == 0
    before = (out / "model.npz").read_bytes()
    err = usage_error(capsys, "train", *MOONS, "--epochs", "1", "--out", out)
    assert "holds an earlier run (model.npz trained for 2 epochs)" in err and "--overwrite" in err
    assert "--resume" in err and (out / "model.npz").read_bytes() == before
    status, _, err = run(capsys, "train", *MOONS, "--epochs", "1", "--out", out, "--overwrite")
    assert status == 0, err
    assert json.loads((out / "history.json").read_text())["epochs"][-1]["epoch"] == 1
    status, _, err = run(capsys, "train", "--resume", "--epochs", "2", "--out", out, "--quiet")
    assert status == 0, err


def test_a_history_of_an_earlier_run_is_not_replaced_either(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "history.json").write_text('{"epochs": []}')
    err = usage_error(capsys, "train", *MOONS, "--epochs", "1", "--out", out)
    assert "holds an earlier run (history.json)" in err


def _train_in_a_terminal(tmp_path, *extra):
    """``matgrad train`` with stdout and stderr a terminal (a pseudo-terminal): what a person sees."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    args = [sys.executable, "-m", "matgrad", "train", *MOONS[:-1], "--epochs", "3", "--out", str(tmp_path / "run"),
            *extra]
    process = subprocess.Popen(args, stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_train_in_a_terminal_prints_one_line_per_epoch_and_quiet_none(tmp_path):
    screen = _train_in_a_terminal(tmp_path)
    epoch_lines = [line for line in screen.splitlines() if line.lstrip("\r").startswith("epoch")]
    assert len(epoch_lines) == 3, screen  # not fit's own line and bar beside the command's
    assert "batch/s" not in screen and "it/s" not in screen
    quiet = _train_in_a_terminal(tmp_path, "--quiet", "--overwrite")
    assert not [line for line in quiet.splitlines() if line.startswith("epoch")]
    assert "test" in quiet  # the summary stays
