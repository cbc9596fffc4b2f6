"""tests/notebooks/tour.ipynb executed in a real kernel (nbclient), its outputs checked one by one,
then converted to HTML by nbconvert to check that each formula reaches MathJax whole.

nbclient, nbformat, ipykernel and nbconvert are in the test extra: nothing here is skipped.
"""

from __future__ import annotations

import html
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

NOTEBOOKS = Path(__file__).parent / "notebooks"


def _make_tour():
    spec = importlib.util.spec_from_file_location("make_tour", NOTEBOOKS / "make_tour.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_tour = _make_tour()


def execute(notebook, workdir):
    resources = {"metadata": {"path": str(workdir)}}
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources=resources).execute()
    return notebook


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    return execute(nbformat.read(NOTEBOOKS / "tour.ipynb", as_version=4), tmp_path_factory.mktemp("tour"))


@pytest.fixture(scope="module")
def without_widgets(tmp_path_factory):
    """The tour's training cells in a kernel where ipywidgets cannot be imported, as in CI (the
    test extra has no ipywidgets): the bars are tqdm's text on stderr."""
    keep = ("imports", "data", "fit-1")
    notebook = nbformat.read(NOTEBOOKS / "tour.ipynb", as_version=4)
    notebook.cells = [c for c in notebook.cells if set(c.get("metadata", {}).get("tags", [])) & set(keep)]
    notebook.cells.insert(0, nbformat.v4.new_code_cell("import sys\nsys.modules['ipywidgets'] = None"))
    return execute(notebook, tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="module")
def page(executed):
    body, _ = HTMLExporter().from_notebook_node(executed)
    return body


def cell(notebook, tag):
    (found,) = [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]
    return found


def results(notebook, tag):
    """The cell's execute_result bundle (mimetype → text)."""
    (bundle,) = [o["data"] for o in cell(notebook, tag).outputs if o["output_type"] == "execute_result"]
    return {kind: "".join(value) if isinstance(value, list) else value for kind, value in bundle.items()}


def stream(notebook, tag, name):
    return "".join(o["text"] for o in cell(notebook, tag).outputs if o["output_type"] == "stream" and o["name"] == name)


def local_explanation():
    """The notebook's Explanation, computed here from the same cells."""
    sources = dict((tag, source) for tag, source in make_tour.CELLS)
    namespace: dict = {}
    exec(sources["imports"] + "\n" + sources["explain"], namespace)
    return namespace["e"]


def test_the_notebook_is_what_make_tour_writes():
    on_disk = nbformat.read(NOTEBOOKS / "tour.ipynb", as_version=4)
    written = make_tour.tour()
    shape = lambda nb: [(c.cell_type, c.source, c.get("metadata", {})) for c in nb.cells]
    assert shape(on_disk) == shape(written), "run python tests/notebooks/make_tour.py"
    assert all(not c.get("outputs") for c in on_disk.cells if c.cell_type == "code"), "keep it without outputs"


def test_no_cell_errs_and_nothing_shows_as_an_object_address(executed):
    for each in executed.cells:
        for output in each.get("outputs", []):
            assert output["output_type"] != "error", output
            assert "object at 0x" not in json.dumps(output.get("data", {})) + output.get("text", "")


def test_the_explanation_shows_its_formulas(executed):
    shown, e = results(executed, "explain"), local_explanation()
    assert shown["text/latex"] == "$$" + e.to_latex() + "$$"
    assert shown["text/latex"].startswith("$$\\begin{aligned}") and shown["text/latex"].endswith("\\end{aligned}$$")
    gradient = e.formula("∂C/∂w", latex=True)
    assert gradient in shown["text/latex"] and gradient in shown["text/markdown"] and gradient in shown["text/html"]
    assert shown["text/plain"].startswith("<Explanation 'matgrad explain: f(X, w)': 2 lines, ✓")
    assert "print(e)" in results(executed, "explain-repr")["text/plain"]


def test_jacobians_show_as_text_not_a_quoted_string(executed):
    text = results(executed, "jacobians")["text/plain"]
    assert text.startswith("Explicit Jacobians") and "\n" in text and "\\n" not in text
    assert text == str(local_explanation().jacobians())


def test_claim_reports_start_with_their_verdict(executed):
    right, wrong = results(executed, "claim"), results(executed, "claim-wrong")
    assert right["text/plain"].startswith("✓ correct") and right["text/markdown"].startswith("**✓ correct")
    assert wrong["text/plain"].startswith("✗ ") and wrong["text/markdown"].startswith("**✗ ")
    assert "kind='factor'" in wrong["text/plain"] and "```text\n  a missing 2" in wrong["text/markdown"]


EPOCH = re.compile(r"^epoch (\d+)/(\d+) - loss \d\.\d{4} - accuracy \d\.\d{4}")


def epoch_lines(notebook, tag):
    lines = stream(notebook, tag, "stdout").splitlines()
    assert all(EPOCH.match(line) for line in lines), lines
    return [EPOCH.match(line).groups() for line in lines]


def test_verbose_1_leaves_a_bar_and_a_line_per_epoch(executed):
    assert epoch_lines(executed, "fit-1") == [("1", "3"), ("2", "3"), ("3", "3")]
    assert all("val_loss" in line and "lr 0.5" in line for line in stream(executed, "fit-1", "stdout").splitlines())
    bars = [o for o in cell(executed, "fit-1").outputs if o["output_type"] == "display_data"]
    if bars:  # ipywidgets is installed: a tqdm widget per epoch, kept (and saved) at 4 of 4 batches
        assert len(bars) == 3 and not stream(executed, "fit-1", "stderr")
        state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
        progress = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
        assert len(progress) == 3 and all(p["value"] == p["max"] == 4 for p in progress)
    else:
        assert_text_bars_stay(executed)


def assert_text_bars_stay(notebook):
    """tqdm's text bars on stderr, each ending on a newline at 4/4 (not erased), no warning."""
    text = stream(notebook, "fit-1", "stderr")
    for k in (1, 2, 3):
        assert re.search(rf"epoch {k}/3: 100%\|[^\r\n]*4/4[^\r\n]*\n", text), text
    assert "Warning" not in text and "IProgress" not in text


def test_verbose_1_without_ipywidgets_leaves_text_bars_and_lines(without_widgets):
    assert epoch_lines(without_widgets, "fit-1") == [("1", "3"), ("2", "3"), ("3", "3")]
    assert not [o for o in cell(without_widgets, "fit-1").outputs if o["output_type"] == "display_data"]
    assert_text_bars_stay(without_widgets)


def test_verbose_2_prints_a_line_per_epoch_and_no_bar(executed):
    outputs = cell(executed, "fit-2").outputs
    assert epoch_lines(executed, "fit-2") == [("4", "5"), ("5", "5")]
    assert not [o for o in outputs if o["output_type"] == "display_data"] and not stream(executed, "fit-2", "stderr")
    shown = results(executed, "fit-2")
    assert shown["text/plain"].startswith("History(5 epochs; last: epoch 5, loss ")
    assert shown["text/html"].count("<tr>") == 6  # a header and 5 epochs


def test_a_picture_shows_as_an_image(executed):
    shown = results(executed, "curves")
    assert "image/png" in shown and shown["text/plain"].startswith("<Picture 10×4 in, 2 axes")


def math_blocks(text: str) -> list[str]:
    """What MathJax typesets (nbconvert's config: $…$, $$…$$, \\(…\\), \\[…\\]), left to right."""
    pattern = r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)"
    return [next(g for g in m.groups() if g is not None) for m in re.finditer(pattern, text, re.S)]


def test_nbconvert_html_gives_each_formula_to_mathjax_whole(page):
    e = local_explanation()
    start = page.index('<div class="matgrad-explanation">')
    part = page[start : page.index("</div>", start)]
    blocks = [html.unescape(b) for b in math_blocks(part)]
    for line in e.lines:
        formula = e.formula(line.name, latex=True)
        assert sum(formula in block for block in blocks) == 1, (formula, blocks)
    assert any("\\left|X \\, w\\right|" in block for block in blocks)  # the | that splits a Markdown table cell
    assert "| gradient |" not in page  # the Markdown rendering is not the one shown
    texts = re.sub(r"<[^>]+>", "", part)
    assert not re.search(r"\\[a-z]+", "".join(re.split(r"\$\$.+?\$\$|\$.+?\$", html.unescape(texts), flags=re.S)))


def test_nbconvert_html_shows_the_verdict_as_text(page):
    assert "✓ correct: the claim equals ∂f/∂w (max relative error" in page
    assert "<strong>✗ the claim is right up to a constant factor: it equals ½ × ∂f/∂w</strong>" in page

