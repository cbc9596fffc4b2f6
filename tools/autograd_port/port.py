"""Run HIPS autograd's own test suite against matgrad, with only its import lines changed.

    python tools/autograd_port/port.py                      # the focus files, sdist in /tmp/agsd
    python tools/autograd_port/port.py --all                # every tests/test_*.py of the sdist
    python tools/autograd_port/port.py test_numpy.py -k dot # some files, pytest's -k

autograd's code is never copied into this repository: the tests are unpacked at run time from
autograd's source distribution (``--sdist``; ``pip download autograd==1.9.1 --no-binary :all:
--no-deps -d /tmp/agsd`` fetches it) into ``--out`` (default ``/tmp/autograd_port``).  Only the
import statements are rewritten (each keeps its line span, so tracebacks keep autograd's line
numbers):

- ``import autograd.numpy as np`` → ``import matgrad.numpy as np``;
- ``import autograd.numpy.random as npr`` → ``import numpy.random as npr`` (data, not traced);
- ``from autograd… import …`` (``grad``, ``check_grads``, ``primitive`` …) → ``from _autograd_shim
  import …``: our :mod:`shim`, where the names matgrad can express are written on its API and the
  others raise ``Unsupported`` when used.

pytest then runs the ported files with our ``report_plugin``, and every failure is classified:

- **unsupported** (a): matgrad said clearly that it has no rule (or NumPy/matgrad lacks the name),
  or the test needs autograd internals (``Unsupported`` from the shim: vspace, primitive/defvjp,
  complex numbers, …);
- **WRONG NUMBER** (b): a derivative or value check compared numbers and they differed
  (``GradcheckError``, an ``assert`` of the test, ``check_equivalent``);
- **crash** (c): any other exception;
- **design** (d): a failure listed in ``DESIGN`` below, a defensible difference from autograd,
  with its reason.  An entry applies only when the failure's text contains its marker, so a new,
  different failure of the same test is never hidden.

The summary (``summary.md``) and the raw records (``results.json``) go to ``--out``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SDIST = Path("/tmp/agsd/autograd-1.9.1.tar.gz")
DEFAULT_OUT = Path("/tmp/autograd_port")
SHIM_MODULE = "_autograd_shim"
PLUGIN_MODULE = "_port_report"

FOCUS = [
    "test_numpy.py", "test_linalg.py", "test_systematic.py", "test_scalar_ops.py", "test_binary_ops.py",
    "test_jacobian.py", "test_logic.py", "test_truediv.py", "test_direct.py", "test_wrappers.py", "test_core.py",
]

#: ``from autograd.<module> import <name>`` whose shim name differs from ``<name>``.
RENAMED = {("autograd.core", "make_vjp"): "core_make_vjp", ("autograd.core", "make_jvp"): "core_make_jvp"}

#: Defensible differences from autograd: test id → (marker the failure text must contain, reason).
_WHERE = ("assert <class 'numpy.", "autograd's where returns Python's own int/float/list for Python inputs "
          "(its numpy/__init__.py overrides where 'to preserve native Python types'); matgrad's is NumPy's: an ndarray")
DESIGN: dict[str, tuple[str, str]] = {
    "test_wrappers.py::test_custom_where_dtypes[int-True-1-2]": _WHERE,
    "test_wrappers.py::test_custom_where_dtypes[float-True-3.0-4.0]": _WHERE,
    "test_wrappers.py::test_custom_where_dtypes[float-False-1-2.0]": _WHERE,
    "test_wrappers.py::test_custom_where_dtypes[list-True-x3-y3]": _WHERE,
    "test_wrappers.py::test_wrapped_name_and_docs": (
        "'NoneType' object has no attribute 'startswith'",
        "checks the wording of autograd's own docstrings for grad and its wrappers, which the shim does not copy"),
}

CLASSES = ("passed", "unsupported", "WRONG NUMBER", "crash", "design")


# ----- unpacking and rewriting ---------------------------------------------------------------------
def unpack(sdist: Path, out: Path) -> Path:
    """The sdist's ``tests/`` directory, extracted to ``out/tests`` (replacing an earlier port)."""
    target = out / "tests"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            parts = Path(member.name).parts
            if len(parts) >= 3 and parts[1] == "tests" and member.isfile():
                data = archive.extractfile(member).read()
                dest = target.joinpath(*parts[2:])
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
    return target


def _module_import(module: str, alias: str | None) -> str:
    """``import <module> as <alias>`` for an autograd module."""
    bound = alias or module.split(".")[0]
    if module == "autograd.numpy.random":
        return f"import numpy.random as {bound}" if alias else "import numpy.random"
    if module == "autograd.numpy":
        return f"import matgrad.numpy as {bound}"
    if module.startswith("autograd.numpy."):
        return f"from matgrad.numpy import {module.split('.')[2]} as {bound}"
    if module == "autograd":
        return f"import {SHIM_MODULE} as {bound}"
    return f"from {SHIM_MODULE} import {module.replace('.', '_')} as {bound}"


def _from_import(module: str, names: list[ast.alias]) -> str:
    if module == "autograd.numpy.random":
        target = "numpy.random"
    elif module == "autograd.numpy" or module.startswith("autograd.numpy."):
        target = "matgrad" + module[len("autograd"):]
        if module.count(".") > 1 and module != "autograd.numpy.linalg":
            target = "matgrad.numpy"  # autograd.numpy.fft etc.: NumPy's own, through matgrad.numpy
    else:
        target = SHIM_MODULE
    parts = []
    for alias in names:
        source = RENAMED.get((module, alias.name), alias.name) if target == SHIM_MODULE else alias.name
        bound = alias.asname or alias.name
        parts.append(source if source == bound else f"{source} as {bound}")
    return f"from {target} import {', '.join(parts)}"


def rewrite_imports(source: str) -> tuple[str, list[tuple[int, int]]]:
    """The source with each autograd import statement rewritten in place, and the statements'
    line spans (1-based, inclusive): nothing outside them changes."""
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "autograd" for a in node.names):
            if len(node.names) != 1:
                raise ValueError(f"line {node.lineno}: several modules in one autograd import")
            statement = _module_import(node.names[0].name, node.names[0].asname)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "autograd" and node.level == 0:
            statement = _from_import(node.module, node.names)
        else:
            continue
        edits.append((node.lineno, node.end_lineno, node.col_offset, statement))
    for start, end, col, statement in sorted(edits, reverse=True):
        indent = lines[start - 1][:col]
        tail = lines[end - 1][len(lines[end - 1].rstrip("\r\n")):] or "\n"
        comment = re.search(r"\s*#.*$", lines[end - 1].rstrip("\r\n"))
        kept = comment.group(0) if comment and end == start else ""
        lines[start - 1 : end] = [indent + statement + kept + tail] + ["\n"] * (end - start)
    return "".join(lines), [(start, end) for start, end, _, _ in edits]


def port(sdist: Path, out: Path) -> Path:
    tests = unpack(sdist, out)
    rewritten = {}
    for path in sorted(tests.glob("*.py")):
        original = path.read_text()
        new, spans = rewrite_imports(original)
        old_lines, new_lines = original.splitlines(), new.splitlines()
        inside = {line for start, end in spans for line in range(start, end + 1)}
        changed = {i + 1 for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b}
        if len(old_lines) != len(new_lines) or not changed <= inside:
            raise AssertionError(f"{path.name}: the rewrite touched lines outside import statements")
        path.write_text(new)
        rewritten[path.name] = {"import statements": len(spans), "lines changed": len(changed)}
    shutil.copy(HERE / "shim.py", tests / f"{SHIM_MODULE}.py")
    shutil.copy(HERE / "report_plugin.py", tests / f"{PLUGIN_MODULE}.py")
    (tests / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (out / "rewrites.json").write_text(json.dumps(rewritten, indent=1))
    return tests


# ----- running and classifying -----------------------------------------------------------------------
def run_pytest(tests: Path, files: list[str], extra: list[str], results: Path, strict: bool = False,
               tol: str | None = None) -> int:
    env = dict(os.environ, AUTOGRAD_PORT_RESULTS=str(results), AUTOGRAD_PORT_STRICT="1" if strict else "0",
               AUTOGRAD_PORT_TOL=tol or "",
               PYTHONPATH=os.pathsep.join([str(tests), *filter(None, [os.environ.get("PYTHONPATH")])]))
    command = [sys.executable, "-m", "pytest", "-p", PLUGIN_MODULE, "-q", "--tb=no", "-rN",
               "--rootdir", str(tests), "-W", "ignore", "--continue-on-collection-errors", *files, *extra]
    return subprocess.run(command, cwd=tests, env=env).returncode


def classify(record: dict) -> tuple[str, str]:
    """(class, one-line reason) for one test record."""
    if record["outcome"] in ("passed", "skipped"):
        return record["outcome"] if record["outcome"] == "passed" else "passed", ""
    kinds, message = set(record.get("mro", [])), record.get("message", "")
    first = message.strip().splitlines()[0] if message.strip() else record.get("type", "")
    design = DESIGN.get(record["nodeid"])
    if design and design[0] in message:
        return "design", design[1]
    if "Unsupported" in kinds or "Unsupported:" in message:
        return "unsupported", _short(message[message.find("autograd's") :] if "autograd's" in message else first)
    if "GradcheckError" in kinds:
        return "WRONG NUMBER", _short(_gradcheck_worst(message))
    if "TypeError" in kinds and "has no derivative rule in matgrad" in message:
        return "unsupported", _short(first.split(" has no derivative rule")[0] + ": no derivative rule in matgrad")
    if "TypeError" in kinds and "numpy read the values of a Tensor that requires grad" in message:
        inside = _matgrad_frames(record)
        if inside:  # a matgrad function itself let NumPy read a Tensor: its bug, not a missing rule
            return "crash", _short(f"{inside[-1]} passed a Tensor to NumPy (refused: it would leave the graph)")
        return "unsupported", "a NumPy function outside matgrad's dispatch read a Tensor's values (refused)"
    missing = re.search(r"module '(matgrad\.numpy[.\w]*|numpy[.\w]*)' has no attribute", message)
    if "AttributeError" in kinds and missing:
        return "unsupported", _short(first)
    if "AssertionError" in kinds:
        return "WRONG NUMBER", _short(first or "assertion failed")
    return "crash", _short(f"{record.get('type')}: {first}")


def _matgrad_frames(record: dict) -> list[str]:
    """The traceback's matgrad frames below the innermost frame of the ported tests (or the shim),
    leaving out the refusal in tensor.py itself: the matgrad functions the test called."""
    frames = record.get("frames", [])
    ported = [i for i, f in enumerate(frames) if f.startswith(record.get("tests_dir", "//"))]
    below = frames[ported[-1] + 1 :] if ported else frames
    return [f.split("/matgrad/", 1)[1] for f in below if "/matgrad/" in f and "/matgrad/tensor.py" not in f]


def _gradcheck_worst(message: str) -> str:
    fails = [line for line in message.splitlines() if line.startswith("FAIL")]
    case = [line for line in message.splitlines() if line.startswith("combo_check case")]
    return "; ".join([*(fails[:1] or ["gradcheck FAILED"]), *case[:1]])


def _short(text: str, limit: int = 230) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize(records: list[dict]) -> tuple[str, dict]:
    per_file: dict[str, Counter] = defaultdict(Counter)
    details = []
    for record in records:
        cls, reason = classify(record)
        record["class"], record["reason"] = cls, reason
        per_file[record["file"]][cls] += 1
        if cls != "passed":
            details.append(record)
    header = "| file | tests | passed | unsupported (a) | WRONG NUMBER (b) | crash (c) | design (d) |"
    rows = [header, "|" + "---|" * 7]
    total = Counter()
    for file in sorted(per_file):
        c = per_file[file]
        total.update(c)
        rows.append(f"| {file} | {sum(c.values())} | " + " | ".join(str(c[k]) for k in CLASSES) + " |")
    rows.append(f"| **total** | {sum(total.values())} | " + " | ".join(str(total[k]) for k in CLASSES) + " |")
    lines = ["# autograd's tests on matgrad", "", *rows, ""]
    for cls in CLASSES[2:] + (CLASSES[1],):
        chosen = [r for r in details if r["class"] == cls]
        if chosen:
            lines += [f"## {cls} ({len(chosen)})", ""]
            lines += [f"- `{r['nodeid']}`: {r['reason']}" for r in chosen]
            lines.append("")
    return "\n".join(lines), {"per_file": {f: dict(c) for f, c in per_file.items()}, "total": dict(total)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="test files of autograd's tests/ (default: the focus files)")
    parser.add_argument("--all", action="store_true", help="every tests/test_*.py of the sdist")
    parser.add_argument("--sdist", type=Path, default=DEFAULT_SDIST)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("-k", dest="keyword", help="pytest's -k expression")
    parser.add_argument("--no-run", action="store_true", help="only unpack and rewrite")
    parser.add_argument("--strict", action="store_true",
                        help="check_grads in both modes whatever the test asks")
    parser.add_argument("--tol", metavar="ATOL,RTOL", help="gradcheck's tolerances (default: its own, 1e-5,1e-4)")
    args = parser.parse_args(argv)
    if not args.sdist.exists():
        parser.error(f"{args.sdist} not found; pip download autograd==1.9.1 --no-binary :all: --no-deps -d /tmp/agsd")
    tests = port(args.sdist, args.out)
    if args.no_run:
        print(f"ported to {tests}")
        return 0
    files = sorted(p.name for p in tests.glob("test_*.py")) if args.all else (args.files or FOCUS)
    results = args.out / "results.json"
    run_pytest(tests, files, ["-k", args.keyword] if args.keyword else [], results, args.strict, args.tol)
    records = json.loads(results.read_text())
    for record in records:
        record["tests_dir"] = str(tests)
    text, counts = summarize(records)
    options = [*(["--strict: both modes"] if args.strict else []), *([f"--tol {args.tol}"] if args.tol else [])]
    if options:
        text = text.replace("# autograd's tests on matgrad", f"# autograd's tests on matgrad ({'; '.join(options)})", 1)
    (args.out / "summary.md").write_text(text)
    results.write_text(json.dumps(records, indent=1))
    print(text)
    print(f"\nwritten: {args.out / 'summary.md'}, {results}")
    return 1 if counts["total"].get("WRONG NUMBER") or counts["total"].get("crash") else 0


if __name__ == "__main__":
    sys.exit(main())
