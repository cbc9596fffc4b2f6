"""Writes tour.ipynb beside this file: a short tour of matgrad in a notebook, which
tests/test_notebook.py executes with nbclient and checks output by output.

Run ``python tests/notebooks/make_tour.py`` after changing a cell here; the notebook is kept
without outputs, so that a diff of it reads like a diff of this script.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

#: (tag, source) of each cell; a tag names the code cells that the test looks at.
CELLS: list[tuple[str | None, str]] = [
    ("markdown", "# A tour of matgrad in a notebook\n\nEach result below shows itself: derivations as "
                 "formulas, verdicts as text, training as one line per epoch."),
    ("imports", "import numpy as np\n\nimport matgrad as mg\nfrom matgrad import nn, optim"),
    ("explain", "def f(X, w):\n"
                "    return mg.sum(mg.absolute(X @ w)) + 0.5 * mg.sum((X @ w) ** 2)\n\n\n"
                "e = mg.explain(f, np.arange(6.0).reshape(3, 2) / 5, np.ones((2, 1)))\n"
                "e"),
    ("explain-repr", "repr(e)"),
    ("jacobians", "e.jacobians()"),
    ("claim", 'mg.check_gradient("sum((y - X@w)**2)", "2*X.T@(X@w - y)", wrt="w", X="6x3", w="3x1", y="6x1")'),
    ("claim-wrong", 'mg.check_gradient("sum((y - X@w)**2)", "X.T@(X@w - y)", wrt="w", X="6x3", w="3x1", y="6x1")'),
    ("data", "rng = np.random.default_rng(0)\n"
             "X = rng.standard_normal((64, 2)).astype(np.float32)\n"
             "y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)\n"
             "net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))\n"
             "opt = optim.SGD(net.parameters(), lr=0.5)"),
    ("fit-1", "history = mg.fit(net, nn.CrossEntropyLoss(), opt, (X, y), epochs=3, batch_size=16, val=(X, y),\n"
              "                 verbose=1)"),
    ("fit-2", "history = mg.fit(net, nn.CrossEntropyLoss(), opt, (X, y), epochs=2, batch_size=16, val=(X, y),\n"
              "                 history=history, verbose=2)\n"
              "history"),
    ("curves", "mg.plot.training_curves(history)"),
]


def tour() -> nbformat.NotebookNode:
    cells = []
    for tag, source in CELLS:
        if tag == "markdown":
            cells.append(new_markdown_cell(source))
        else:
            cells.append(new_code_cell(source, metadata={"tags": [tag]}))
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def main() -> None:
    nbformat.write(tour(), HERE / "tour.ipynb")


if __name__ == "__main__":
    main()
