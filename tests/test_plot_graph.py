"""The computation graph drawn without Graphviz: laid out in Python (graph_layout), drawn with
matplotlib — the default engine, so that ``matgrad plot graph`` works on a fresh machine."""

import itertools
import os
import shutil
import xml.etree.ElementTree as ET

import matplotlib.image
import numpy as np
import pytest

import matgrad as mg
from matgrad.cli import main
from matgrad.explain.command import seed_network
from matgrad.explain.graph import Graph
from matgrad.plot.command import _seed_cost
from matgrad.plot.graph_figure import _box_size
from matgrad.plot.graph_layout import layers, layout

MAX_PIXELS = 1600  # the width bound at the default 100 dpi
SVG = "{http://www.w3.org/2000/svg}"
_which = shutil.which


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A machine without Graphviz: ``dot`` is on no PATH and ``shutil.which`` does not find it."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "dot" else _which(name, *a, **k))
    assert shutil.which("dot") is None


def digits_mlp(loss, examples):
    train, _ = mg.data.load_dataset("digits")
    net = mg.nn.MLP([64, 32, 16, 10], activation="relu", seed=0, dtype=np.float64)
    return mg.plot.graph(net, loss=loss, x=train.X[:examples].astype(np.float64), y=train.y[:examples])


def svg_texts(path):
    root = ET.parse(path).getroot()  # XML, or this raises
    assert root.tag == f"{SVG}svg"
    return [element.text for element in root.iter(f"{SVG}text") if element.text]


def png_width(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = matplotlib.image.imread(path).shape[:2]
    return width, height


def test_the_seed_network_is_drawn_without_dot_as_svg_with_explains_names(no_dot, tmp_path):
    drawing = mg.plot.graph(_seed_cost([4, 3, 2], 1, 0))
    texts = svg_texts(drawing.save(tmp_path / "seed.svg"))
    for name in ("W¹", "b¹", "W²", "b²", "x", "y"):
        assert name in texts
    for formula in ("z¹ = W¹ x + b¹", "a¹ = σ(z¹)", "z² = W² a¹ + b²", "a² = σ(z²)", "C = ½ Σ (a² − y)²"):
        assert formula in texts
    assert not any(text.startswith("C = div") for text in texts)


def test_the_seed_network_is_the_one_explain_explains_in_column_layout():
    explained = seed_network("column", 0.0, 0)  # matgrad explain's default
    text = str(explained)
    drawing = mg.plot.graph(_seed_cost([4, 3, 2], 1, 0))
    headings = [box.rows[0] for box in drawing.picture.boxes]
    for heading in ("z¹ = W¹ x + b¹", "a¹ = σ(z¹)", "z² = W² a¹ + b²", "C = ½ Σ (a² − y)²"):
        assert heading in headings and heading in text
    explained_leaves = {q.name: q.value for q in explained.derivation.graph.quantities if q.is_leaf}
    drawn = _seed_cost([4, 3, 2], 1, 0)
    drawn_leaves = {q.name: q.value for q in Graph(drawn).quantities if q.is_leaf}
    assert explained_leaves.keys() == drawn_leaves.keys() == {"W¹", "b¹", "W²", "b²"}
    for name, value in explained_leaves.items():  # the same draws: the very same network
        np.testing.assert_array_equal(drawn_leaves[name], value)
    assert explained_leaves["W¹"].shape == (3, 4)  # W is (out, in): z = Wx + b


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_a_three_layer_mlp_on_digits_is_drawn_without_dot_within_the_width(no_dot, tmp_path, suffix):
    path = digits_mlp(mg.nn.CrossEntropyLoss(), 5).save(tmp_path / f"mlp.{suffix}")
    if suffix == "png":
        width, height = png_width(path)
        assert 300 < width <= MAX_PIXELS and height > width  # top to bottom, not a 3000-pixel row
    elif suffix == "svg":
        texts = svg_texts(path)
        assert {"W¹", "W²", "W³", "z³ = a² W³ + b³"} <= set(texts)  # an nn network: row layout, as explain
        width = float(ET.parse(path).getroot().get("width").removesuffix("pt"))
        assert width <= MAX_PIXELS * 72 / 100
    else:
        assert path.read_bytes()[:5] == b"%PDF-"


def test_the_seed_picture_is_within_the_width(no_dot, tmp_path):
    width, height = png_width(mg.plot.graph(_seed_cost([4, 3, 2], 1, 0)).save(tmp_path / "seed.png"))
    assert 300 < width <= MAX_PIXELS and height > width


@pytest.mark.parametrize("examples", [1, 5])
def test_a_division_by_one_is_folded_away_and_other_numbers_are_shown_in_the_formula(examples):
    drawing = digits_mlp(mg.nn.MSELoss(), examples)  # a mean over the batch: ÷ 1 for one example
    boxes = drawing.picture.boxes
    assert not any(box.rows[0].startswith("C = div") or box.rows[0] in ("1", "div") for box in boxes)
    assert all(box.kind != "data" or box.rows[0] in ("x", "y") for box in boxes)  # numbers are not boxes
    (output,) = [box for box in boxes if box.output]
    if examples == 1:
        assert output.rows[:2] == ["C = ½ Σ (z³ − y)²", "mul → scalar"]  # the ÷ 1 is gone, C moved onto ½ Σ
        assert "div" not in drawing.source
    else:
        assert output.rows[:2] == ["C = 0.1 Σ (z³ − y)²", "div → scalar"]  # ÷ 5 shown as its value
    assert output.rows[2].startswith("value ")


def test_operations_that_change_nothing_are_folded():
    a = mg.tensor(np.arange(3.0), requires_grad=True, name="a")
    drawing = mg.plot.graph(1 * ((a * a).sum() / 1) + 0)
    assert [box.rows[:2] for box in drawing.picture.boxes] == [
        ["a", "(3,)"], ["a ⊙ a", "mul → (3,)"], ["C = Σ a ⊙ a", "sum → scalar"]
    ]
    assert drawing.picture.edges == [("q0", "q1"), ("q1", "q2")]


def test_layers_are_a_topological_order_and_sources_sit_above_their_use():
    drawing = digits_mlp(mg.nn.CrossEntropyLoss(), 3)
    picture = drawing.picture
    keys = [box.key for box in picture.boxes]
    layer = layers(keys, picture.edges)
    assert all(layer[u] < layer[v] for u, v in picture.edges)
    placed = layout(keys, picture.edges, {box.key: _box_size(box) for box in picture.boxes}, max_width=1000)
    assert all(placed.row[u] < placed.row[v] for u, v in picture.edges)
    assert all(placed.y[u] < placed.y[v] for u, v in picture.edges)  # drawn downwards, inputs to the loss
    for u in {a for a, _ in picture.edges} - {b for _, b in picture.edges}:  # sources: one layer above first use
        assert layer[u] == min(layer[v] for a, v in picture.edges if a == u) - 1
    by_heading = {box.rows[0]: box.key for box in picture.boxes}
    assert layer[by_heading["b²"]] == layer[by_heading["z² = a¹ W² + b²"]] - 1  # beside a¹ W², not at the top


def test_a_wide_layer_wraps_within_the_width_and_boxes_do_not_overlap():
    inputs = [mg.tensor(np.ones(2), requires_grad=True, name=f"x{i}") for i in range(40)]
    picture = mg.plot.graph(mg.stack(inputs).sum()).picture
    keys = [box.key for box in picture.boxes]
    sizes = {box.key: _box_size(box) for box in picture.boxes}
    placed = layout(keys, picture.edges, sizes, max_width=1000)
    assert len(placed.rows) > 3 and placed.width <= 1000
    for row in placed.rows:
        spans = sorted((placed.x[k] - sizes[k][0] / 2, placed.x[k] + sizes[k][0] / 2) for k in row)
        assert all(left_end <= right_start for (_, left_end), (right_start, _) in itertools.pairwise(spans))


def test_the_barycentre_sweeps_uncross_two_chains():
    # a → c, b → d; listed so that the first guess crosses them: c under b, d under a
    nodes, edges = ["a", "b", "d", "c"], [("a", "c"), ("b", "d")]
    placed = layout(nodes, edges, dict.fromkeys(nodes, (40.0, 20.0)), max_width=500)
    assert (placed.x["a"] < placed.x["b"]) == (placed.x["c"] < placed.x["d"])


def test_a_cycle_is_refused():
    with pytest.raises(ValueError, match="cycle"):
        layers(["a", "b"], [("a", "b"), ("b", "a")])


def test_the_cli_draws_the_graph_without_dot(no_dot, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["plot", "graph", "--out", "g.svg"]) == 0
    assert "drew g.svg with matplotlib" in capsys.readouterr().out
    assert "z¹ = W¹ x + b¹" in svg_texts(tmp_path / "g.svg")
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph matgrad {")
    assert main(["plot", "graph", "--layers", "64,32,16,10", "--examples", "5", "--out", "mlp.png"]) == 0
    assert png_width(tmp_path / "mlp.png")[0] <= MAX_PIXELS
    assert main(["plot", "graph", "--engine", "dot", "--out", "d.svg"]) == 1
    assert "apt-get install graphviz" in capsys.readouterr().err and not (tmp_path / "d.svg").exists()


def test_jupyter_shows_the_matplotlib_svg_without_dot(no_dot):
    drawing = mg.plot.graph(_seed_cost([4, 3, 2], 1, 0))
    assert "<svg" in drawing._repr_svg_() and drawing._repr_markdown_() is None


def test_dot_draws_the_same_labels_when_installed(tmp_path):
    if shutil.which("dot") is None:
        if os.environ.get("CI"):  # .ci/run installs Graphviz: a missing dot there is a failure, not a pass
            pytest.fail("Graphviz's dot is not installed, and CI must render the graph (apt-get install graphviz)")
        pytest.skip("Graphviz's dot is not installed")
    drawing = mg.plot.graph(_seed_cost([4, 3, 2], 1, 0))
    svg = drawing.save(tmp_path / "dot.svg", engine="dot").read_text(encoding="utf-8")
    for heading in (box.rows[0] for box in drawing.picture.boxes):
        assert heading.replace("&", "&amp;") in svg
    width, _ = png_width(drawing.save(tmp_path / "dot.png", engine="dot"))
    assert width <= MAX_PIXELS  # top to bottom, the legend wrapped
