"""MkDocs hooks for the matgrad site (mkdocs.yml names this file under ``hooks:``).

- ``docs/README.md`` indexes the tutorials on GitHub.  MkDocs would serve it at ``/`` and drop it
  for ``index.md`` with a warning, so mkdocs.yml excludes it and this hook adds it back at
  ``/tutorials/``; links to ``README.md`` from the other pages still resolve to it.
- ``functions.md`` is written from ``matgrad.TABLE`` at every build (the same text as
  ``python -m matgrad.primitives.catalog``), so the site cannot show a stale table even when the
  committed copy is; ``tests/test_docs.py`` keeps that copy in step for GitHub readers.
- Math renders in the browser with MathJax, copied into the site from the ``django-static-mathjax``
  package (the ``docs`` extra): nothing is fetched at build time or when a page is read.
- Docstrings are written with Sphinx roles (``:func:`grad```); the HTML keeps the code and drops
  the role's name, which Markdown would otherwise print as text.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel

log = get_plugin_logger("matgrad-docs")

TUTORIALS_INDEX = "README.md"
FUNCTIONS_PAGE = "functions.md"
MATHJAX_URI = "assets/mathjax/tex-svg.js"  # mkdocs.yml's extra_javascript names this path
MATHJAX_IN_PACKAGE = ("static", "mathjax", "es5", "tex-svg.js")  # one file: SVG output needs no font files
SPHINX_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|data|attr|mod|exc|obj|const):(?=<code>)")
LITERAL_BLOCK_INTRO = re.compile(r"::</p>(?=\s*<div class=\"highlight\"|\s*<pre)")


def on_files(files: Files, config: Any) -> Files:
    _serve_tutorials_index(files, config)
    _add_mathjax(files, config)
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """The supported-functions page comes from the primitive table as it is now."""
    if page.file.src_uri != FUNCTIONS_PAGE:
        return markdown
    from matgrad.primitives import catalog  # imported at build time only, from the installed package

    return catalog.markdown()


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    """Tidy what Sphinx markup becomes in Markdown: roles before code, ``::`` before a code block."""
    return LITERAL_BLOCK_INTRO.sub(":</p>", SPHINX_ROLE.sub("", html))


def _serve_tutorials_index(files: Files, config: Any) -> None:
    """Serve docs/README.md at /tutorials/ instead of letting it clash with index.md at /."""
    if not (Path(config["docs_dir"]) / TUTORIALS_INDEX).is_file() or files.get_file_from_path(TUTORIALS_INDEX):
        return
    dest = "tutorials/index.html" if config["use_directory_urls"] else "tutorials.html"
    files.append(File(TUTORIALS_INDEX, config["docs_dir"], config["site_dir"], config["use_directory_urls"],
                      dest_uri=dest, inclusion=InclusionLevel.INCLUDED))


def _add_mathjax(files: Files, config: Any) -> None:
    spec = importlib.util.find_spec("mathjax")
    folders = list(spec.submodule_search_locations or []) if spec else []
    script = next((Path(f, *MATHJAX_IN_PACKAGE) for f in folders if Path(f, *MATHJAX_IN_PACKAGE).is_file()), None)
    if script is None:
        log.warning("MathJax not found, formulas would show as TeX source: pip install -e '.[docs]' "
                    "(it brings django-static-mathjax, a packaged copy of MathJax 3)")
        return
    files.append(File.generated(config, MATHJAX_URI, abs_src_path=str(script)))
