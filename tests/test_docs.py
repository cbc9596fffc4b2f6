"""The tutorials in docs/ run: every ```python block of each docs/*.md file, in order, in one
namespace per file (as a reader pasting them into one session would), like a doctest."""

import importlib
import re
import traceback
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))
TUTORIALS = ("transpose.md", "hadamard.md", "frobenius.md")
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, source) of every ```python block."""
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in FENCE.finditer(text)]


def test_every_tutorial_is_there_and_indexed():
    names = {page.name for page in PAGES}
    assert set(TUTORIALS) <= names, f"missing in docs/: {set(TUTORIALS) - names}"
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in PAGES:
        if page.name != "README.md":
            assert f"({page.name})" in index, f"docs/README.md does not link {page.name}"


def test_the_fence_pattern_finds_blocks_in_order():
    text = "x\n```python\na = 1\n```\n```text\nb\n```\n```python\nb = a + 1\n```\n"
    assert python_blocks(text) == [(3, "a = 1\n"), (9, "b = a + 1\n")]


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_the_python_blocks_run(page: Path):
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    if page.name in TUTORIALS:
        assert blocks, f"{page.name} has no ```python block"
    namespace: dict = {"__name__": f"docs.{page.stem}"}
    for number, (line, source) in enumerate(blocks, start=1):
        padded = "\n" * (line - 1) + source  # so that tracebacks give the line in the .md file
        try:
            exec(compile(padded, f"docs/{page.name}", "exec"), namespace)
        except Exception:
            failure = traceback.format_exc()
        else:
            continue
        pytest.fail(f"docs/{page.name}: python block {number} (line {line}) failed:\n{failure}", pytrace=False)


def test_the_functions_page_is_generated_from_the_table():
    """docs/functions.md lists the table as it is: regenerate it after adding a row."""
    from matgrad.primitives import catalog

    page = (DOCS / "functions.md").read_text(encoding="utf-8")
    stale = "docs/functions.md is stale: python -m matgrad.primitives.catalog > docs/functions.md"
    assert page == catalog.markdown(), stale


def test_the_readme_limits_table_names_the_constants_in_force():
    """Each cap in README's Limits table is the value of the constant it names."""
    text = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| [^|]+ \| ([\d,]+) (\w+)?[^|]*\| `([\w.]+)` \|$", text, flags=re.M)
    assert len(rows) >= 8
    units = {"GiB": 1024**3, "entries": 1, "primitives": 1, None: 1, "": 1}
    for number, unit, constant in rows:
        module_name, name = constant.rsplit(".", 1)
        value = getattr(importlib.import_module(f"matgrad.{module_name}"), name)
        assert value == int(number.replace(",", "")) * units.get(unit, 1), (constant, value, number, unit)
