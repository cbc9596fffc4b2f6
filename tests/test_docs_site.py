"""The documentation site builds with warnings as errors, and shows what a reader should see.

``mkdocs build --strict`` runs the tutorials' code blocks (markdown-exec), renders the API from
the docstrings (mkdocstrings) and writes the supported-functions page from the primitive table
(tools/docs/hooks.py).  The site is built once into a temporary folder; a second build, of a copy
of the sources with one tutorial block broken, must fail.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import matgrad as mg

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ("backprop", "explain-and-check", "training", "transforms", "second-order")
FENCE_EXEC = re.compile(r'^```python exec="on"', re.MULTILINE)


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
               "--site-dir", str(site)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner about its successor
    return subprocess.run(command, cwd=config.parent, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    folder = tmp_path_factory.mktemp("site")
    start = time.perf_counter()
    result = build(ROOT / "mkdocs.yml", folder)
    return SimpleNamespace(folder=folder, result=result, seconds=time.perf_counter() - start)


def article(site: SimpleNamespace, page: str) -> str:
    """The text a reader sees in a page's main column (tags stripped, entities decoded)."""
    path = site.folder / page / "index.html"
    assert path.is_file(), f"{page}/index.html was not built; mkdocs said:\n{site.result.stderr[-3000:]}"
    source = path.read_text(encoding="utf-8")
    body = source[source.index("<article") : source.index("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def test_the_site_builds_with_warnings_as_errors(site):
    assert site.result.returncode == 0, f"mkdocs build --strict failed:\n{site.result.stderr[-5000:]}"
    assert "WARNING" not in site.result.stderr, site.result.stderr[-5000:]
    assert (site.folder / "index.html").is_file()
    print(f"mkdocs build --strict: {site.seconds:.1f} s")


def test_the_home_page_gives_the_two_readme_commands(site):
    text = article(site, "")
    assert 'pip install ".[cli]" && matgrad train' in text
    assert 'pip install -e ".[test]" && python -m pytest' in text


@pytest.mark.parametrize("name", TUTORIALS)
def test_every_tutorial_block_is_executed_at_build(name):
    """Each tutorial's python blocks run at build time (none is shown without running)."""
    source = (ROOT / "docs" / "tutorials" / f"{name}.md").read_text(encoding="utf-8")
    plain = re.findall(r"^```python(?![ \t]+exec=\"on\")", source, flags=re.MULTILINE)
    assert FENCE_EXEC.findall(source), f"docs/tutorials/{name}.md has no executed block"
    assert not plain, f"docs/tutorials/{name}.md has a ```python block that the build does not run"


def test_the_backprop_tutorial_shows_what_its_code_computed(site):
    text = article(site, "tutorials/backprop")
    # the same network, recomputed here: the page must show this cost, printed by its own code
    rng = np.random.default_rng(0)
    W1, b1 = rng.standard_normal((3, 4)), rng.standard_normal((3, 1))
    W2, b2 = rng.standard_normal((2, 3)), rng.standard_normal((2, 1))
    x, y = rng.standard_normal((4, 1)), rng.uniform(size=(2, 1))
    a2 = mg.sigmoid(W2 @ mg.sigmoid(W1 @ x + b1).data + b2).data
    assert f"C = {0.5 * np.sum((a2 - y) ** 2):.6f}" in text
    checks = re.findall(r"∂C/∂(\w+)\s+by hand vs mg\.grad: max \|difference\| = (\S+)\s+✓", text)
    assert [name for name, _ in checks] == ["W1", "b1", "W2", "b2"]
    assert all(float(error) < 1e-12 for _, error in checks)
    assert "gradcheck passed" in text
    assert "∂C/∂W² = δ² (a¹)ᵀ" in text and "δ¹ = ((W²)ᵀ δ²) ⊙ σ'(z¹)" in text


def test_the_explain_and_check_tutorial_shows_both_verdicts(site):
    text = article(site, "tutorials/explain-and-check")
    assert "matgrad explain: MLP with MSELoss" in text
    assert re.search(r"∂C/∂W² = \(a¹\)ᵀ δ².*✓", text)
    assert "∂f/∂w = 2 Xᵀ (X w − y)" in text
    assert "✓ correct: the claim equals ∂f/∂w" in text
    assert "✗ the claim is right up to a constant factor" in text


def test_the_training_tutorial_shows_two_epochs_that_learn(site):
    text = article(site, "tutorials/training")
    epochs = re.findall(r"epoch (\d): loss ([\d.]+), accuracy [\d.]+, test accuracy ([\d.]+)", text)
    assert [e[0] for e in epochs] == ["1", "2"]
    assert float(epochs[1][1]) < float(epochs[0][1])
    after = re.search(r"test accuracy: ([\d.]+) before training, ([\d.]+) after 2 epochs", text)
    assert after and float(after[2]) > 0.5 > float(after[1])
    assert "the loaded network gives the same outputs: True" in text


def test_the_transforms_tutorial_shows_the_dot_product_test(site):
    text = article(site, "tutorials/transforms")
    products = re.search(r"<u, Jv> = (-?[\d.]+)\s+<Jᵀu, v> = (-?[\d.]+)", text)
    assert products and products[1] == products[2]
    assert "per-example gradients, shape (5, 3)" in text
    assert "Hessian is symmetric: True" in text


def test_the_second_order_tutorial_shows_three_hessians_agree_and_each_optimizer_converge(site):
    text = article(site, "tutorials/second-order")
    assert "sweep, closed form and hand formula agree: True" in text
    assert re.search(r"∂²f/∂w² = Xᵀ diag\(.*\) X\s+\(4, 4\)\s+✓", text)
    assert "compiled equals eager, bit for bit: True" in text
    gradients = [float(g) for g in re.findall(r"\|∇f\| after the step (\d\.\de[+-]\d+)", text)]
    assert len(gradients) == 6 and gradients[-1] < 1e-12 and gradients[-2] < gradients[-3] ** 1.5  # quadratic
    assert re.search(r"L-BFGS: x = \[0\.99999\d 0\.99999\d\] after \d+ iterations", text)
    assert "a = 2.500000000, k = -1.300000000, c = 0.400000000" in text


def test_the_api_page_lists_grad_with_its_docstring(site):
    text = article(site, "api/transforms")
    first_line = mg.grad.__doc__.strip().splitlines()[0].replace("``", "")
    assert "matgrad.grad(" in text
    assert first_line in text
    for name in ("value_and_grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "hvp", "per_example_grad"):
        assert f"matgrad.{name}(" in text, name


@pytest.mark.parametrize("module", ["nn", "optim", "data", "export"])
def test_the_api_pages_list_every_public_name(site, module):
    page = (site.folder / "api" / module / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="(matgrad\.[\w.]+)"', page))
    public = importlib.import_module(f"matgrad.{module}").__all__
    missing = [name for name in public if f"matgrad.{module}.{name}" not in anchors
               and not any(a.startswith(f"matgrad.{module}.{name}.") for a in anchors)]
    assert not missing, f"api/{module} does not document {missing}"


def test_the_function_table_has_one_row_per_primitive(site):
    page = (site.folder / "functions" / "index.html").read_text(encoding="utf-8")
    table = page[page.index("The table:") :]
    rows = re.findall(r"<tr>\s*<td><code>(\w+)</code></td>", table)
    assert sorted(rows) == sorted(mg.TABLE), set(rows) ^ set(mg.TABLE)
    assert f"The table: {len(mg.TABLE)} primitives" in article(site, "functions")


def test_math_is_typeset_from_a_local_copy_and_no_page_fetches_fonts(site):
    assert (site.folder / "assets" / "mathjax" / "tex-svg.js").stat().st_size > 100_000
    for page in site.folder.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "fonts.googleapis" not in text and "cdn.jsdelivr" not in text, page


def test_the_hook_writes_the_function_page_from_the_table_not_the_committed_copy():
    from matgrad.primitives import catalog

    spec = importlib.util.spec_from_file_location("matgrad_docs_hooks", ROOT / "tools" / "docs" / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    stale = "# Supported functions\n\n(an old copy)\n"
    functions = SimpleNamespace(file=SimpleNamespace(src_uri="functions.md"))
    other = SimpleNamespace(file=SimpleNamespace(src_uri="check.md"))
    assert hooks.on_page_markdown(stale, functions, {}, None) == catalog.markdown()
    assert hooks.on_page_markdown(stale, other, {}, None) == stale


def test_a_broken_tutorial_block_fails_the_build(tmp_path):
    """A copy of the site sources whose transforms tutorial ends with a block that raises."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "docs", source / "docs")
    shutil.copytree(ROOT / "tools" / "docs", source / "tools" / "docs")
    shutil.copy(ROOT / "mkdocs.yml", source / "mkdocs.yml")
    (source / "src").symlink_to(ROOT / "src")
    tutorial = source / "docs" / "tutorials" / "transforms.md"
    broken = '\n```python exec="on" result="text" session="transforms"\nmg.grad(f)(np.ones(4))\n```\n'
    tutorial.write_text(tutorial.read_text(encoding="utf-8") + broken, encoding="utf-8")

    result = build(source / "mkdocs.yml", tmp_path / "site")
    said = result.stdout + result.stderr
    assert result.returncode != 0, said[-3000:]
    assert "Execution of python code block exited with errors" in said, said[-3000:]
    assert "inner dimensions disagree" in said  # the block's own error, shown in the build log
    assert "Aborted with 1 warnings in strict mode" in said
