"""README.md's examples, run as a reader would paste them.

The ```python blocks run top to bottom in one namespace (each sees the names the earlier blocks
defined), in a temporary folder, with matplotlib's Agg backend.  The ```bash blocks' commands run
in order in another temporary folder, as a shell would run them (``matgrad`` as
``python -m matgrad``), each expected to exit with 0, or with 1 where the README shows a ✗ verdict
under it.  ``pip install`` is not run (the ``test`` extra installed what the examples need); what
follows its ``&&`` is.  The few commands that cannot run here are listed in ``SKIPPED`` with the
reason, and that list may only name commands the README holds.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(python|bash)\n(.*?)^```", re.S | re.M)
INSTALL = re.compile(r"^pip install [^&]*(&&\s*|$)")

# Commands of the README's bash blocks (comments stripped) that this test does not run, and why.
SKIPPED = {
    "python -m pytest": "the test suite itself",
    "matgrad train --data mnist --data-dir ~/mnist": "needs the user's folder of MNIST files",
    "matgrad playground": "serves until stopped and opens a browser (tests/test_playground.py serves it)",
    "matgrad playground --no-browser --port 8000 --time-limit 10 --workers 2": "serves until stopped",
    "python -m benchmarks --quick": "minutes of benchmarks (their writing folder is tested in test_benchmarks_outputs)",
    "python -m benchmarks --second-order": "minutes of benchmarks, beside peers CI does not install",
    "python -m benchmarks.memory": "a minute of benchmarks",
    "mkdocs build --strict --site-dir site": "tests/test_docs_site.py builds the site, with warnings as errors",
}
COMMAND_SECONDS = 60  # one command; the slowest (`plot surface` of the 64-256-10 run) takes ~12 s on busy cores


@dataclass
class Block:
    language: str
    line: int  # of the block's first code line in README.md
    code: str

    @property
    def title(self) -> str:
        return f"README.md line {self.line}: {self.code.splitlines()[0].strip()!r}"


@dataclass
class Command:
    line: int
    text: str  # as the README writes it, continuation lines joined, comment stripped
    expected_status: int
    shown_output: list[str]


def readme_blocks(language: str) -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [
        Block(language, text.count("\n", 0, match.start()) + 2, match.group(2))
        for match in FENCE.finditer(text)
        if match.group(1) == language
    ]


def without_comment(line: str) -> tuple[str, str]:
    """Split a shell line at its first ``#`` that starts a word outside quotes: (command, comment)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def readme_commands() -> list[Command]:
    """Every command of the bash blocks, in order, with the output the README shows under it."""
    commands: list[Command] = []
    for block in readme_blocks("bash"):
        lines = block.code.splitlines()
        i = 0
        while i < len(lines):
            start, text = i, lines[i]
            while text.endswith("\\") and i + 1 < len(lines):  # a command continued on the next line
                i += 1
                text = text[:-1].rstrip() + " " + lines[i].strip()
            i += 1
            command, comment = without_comment(text.strip())
            if command:
                commands.append(Command(block.line + start, command, 0, []))
            elif comment and commands and commands[-1].line >= block.line:  # output shown under a command
                commands[-1].shown_output.append(comment)
                if len(commands[-1].shown_output) == 1 and comment.startswith("✗"):
                    commands[-1].expected_status = 1
    return commands


def runnable(command: str) -> str:
    """What the test runs of a README command: without its ``pip install``, with this Python."""
    python = shlex.quote(sys.executable)
    program = re.compile(r"(^|&&\s*|\|\s*)(matgrad|python)(?=\s|$)")  # a program in command position
    replacement = {"matgrad": f"{python} -m matgrad", "python": python}
    return program.sub(lambda m: m.group(1) + replacement[m.group(2)], INSTALL.sub("", command))


# ----- the Python blocks ------------------------------------------------------------------------


def test_python_blocks_run_in_order_in_one_session(tmp_path, monkeypatch):
    blocks = readme_blocks("python")
    assert len(blocks) >= 6, f"found only {len(blocks)} ```python blocks in README.md"
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    for block in blocks:
        started = time.perf_counter()
        try:
            exec(compile(block.code, f"README.md:{block.line}", "exec"), namespace)
        except Exception as error:
            last = "".join(traceback.format_exception(error)[-4:])
            pytest.fail(f"{block.title} failed:\n{last}", pytrace=False)
        print(f"{time.perf_counter() - started:5.1f} s  {block.title}")  # shown by pytest -s
    assert (tmp_path / "net.npz").is_file() and (tmp_path / "surface.png").is_file()


# ----- the bash blocks --------------------------------------------------------------------------


def test_the_skip_list_names_only_commands_the_readme_holds():
    commands = {INSTALL.sub("", c.text) for c in readme_commands()}
    assert set(SKIPPED) <= commands, f"SKIPPED names commands README.md no longer has: {set(SKIPPED) - commands}"


def test_commands_are_read_with_their_continuations_comments_and_verdicts():
    commands = readme_commands()
    texts = [c.text for c in commands]
    assert 'pip install ".[cli]" && matgrad train' in texts
    train = next(c for c in commands if c.text.startswith("matgrad train --layers 64,256,10"))
    assert train.text.endswith("--seed 0 --out runs/a") and "\\" not in train.text
    verdicts = [c for c in commands if c.text.startswith("matgrad check")][:2]  # a right claim, then a wrong one
    assert [c.expected_status for c in verdicts] == [0, 1]
    assert verdicts[0].shown_output[0].startswith("✓") and verdicts[1].shown_output[0].startswith("✗")
    assert runnable('pip install ".[cli]" && matgrad train') == f"{shlex.quote(sys.executable)} -m matgrad train"
    assert runnable('pip install ".[playground]"') == ""


def test_bash_commands_run_in_order(tmp_path):
    commands = [c for c in readme_commands() if INSTALL.sub("", c.text) not in SKIPPED and runnable(c.text)]
    assert any(c.text.startswith("matgrad train --layers 64,256,10") for c in commands)
    assert any(c.text.startswith("matgrad export") for c in commands)
    environment = {**os.environ, "MPLBACKEND": "Agg"}
    failures = []  # every failing command is reported, not only the first
    for command in commands:
        result = subprocess.run(
            runnable(command.text), shell=True, cwd=tmp_path, env=environment,
            capture_output=True, text=True, timeout=COMMAND_SECONDS,
        )
        where = f"README.md line {command.line}: {command.text}"
        if result.returncode != command.expected_status:
            failures.append(
                f"{where}\nexited with {result.returncode}, expected {command.expected_status}\n"
                f"{result.stdout[-1000:]}\n{result.stderr[-1500:]}"
            )
        for shown in command.shown_output[:1]:  # the verdict line the README shows under a command
            if shown.split(":")[0] not in result.stdout:
                failures.append(f"{where}\nshows {shown!r}; printed:\n{result.stdout[-1500:]}")
    assert not failures, "\n\n".join(failures)
    assert (tmp_path / "runs" / "a" / "model.npz").is_file() and (tmp_path / "moons.onnx").is_file()
