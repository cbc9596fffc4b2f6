"""Pictures: each one rendered to PNG and checked (size, not blank); the cost surface and its
arrows checked against the network itself and ``mg.grad``; the ``matgrad plot`` command."""

import os
import shutil
import subprocess
import sys
import time

import matplotlib.image
import numpy as np
import pytest
from matplotlib.quiver import Quiver

import matgrad as mg
from matgrad.cli import main
from matgrad.plot.landscape import LossSlice
from matgrad.plot.weights import resolve_weights

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_pixels(path, width, height):
    """The image at ``path``, checked to be a PNG of ``width × height`` with a picture in it."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(path)[..., :3]
    assert pixels.shape[:2] == (height, width)
    assert np.mean(np.any(pixels < 0.95, axis=-1)) > 0.03, "the image is (nearly) all white"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20, "the image has almost no colours"
    return pixels


def rendered(figure, tmp_path, dpi=40):
    """Save ``figure`` as PNG and check it; size follows the figure's inches."""
    path = tmp_path / "figure.png"
    figure.savefig(path, dpi=dpi)
    width, height = (round(inches * dpi) for inches in figure.get_size_inches())
    return png_pixels(path, width, height)


# ----- a small seed network, and the same network written out as a function ---------------------

ACTIVATIONS = {"sigmoid": mg.sigmoid, None: lambda z: z}


@pytest.fixture(scope="module")
def digits():
    train, _ = mg.data.load_dataset("digits")
    return mg.data.Dataset(train.X[:60].astype(np.float64), train.y[:60], "digits", train.classes)


def seed_network(output_activation="sigmoid", hidden=5):
    return mg.nn.MLP([64, hidden, 10], "sigmoid", output_activation, seed=1, dtype=np.float64)


def by_hand(net, loss, data):
    """C(W¹, b¹, W², b²) written out, independently of nn and of the plot module."""
    output = ACTIVATIONS[net.output_activation]

    def C(W1, b1, W2, b2):
        return loss(output(mg.sigmoid(data.X @ W1 + b1) @ W2 + b2), data.y)

    return C


def gradient_by_hand(net, loss, data, weights, point):
    """∂C/∂(w₁, w₂) at ``point`` by ``mg.grad`` of the written-out network."""
    arrays = [p.data.copy() for p in net.parameters()]
    for weight, value in zip(weights, point):
        arrays[[id(p) for p in net.parameters()].index(id(weight.tensor))][weight.index] = value
    grads = mg.grad(by_hand(net, loss, data), argnums=(0, 1, 2, 3))(*arrays)
    ids = [id(p) for p in net.parameters()]
    return np.array([grads[ids.index(id(w.tensor))][w.index] for w in weights])


def loss_by_hand(net, loss, data, weights, point):
    arrays = [p.data.copy() for p in net.parameters()]
    ids = [id(p) for p in net.parameters()]
    for weight, value in zip(weights, point):
        arrays[ids.index(id(weight.tensor))][weight.index] = value
    return float(by_hand(net, loss, data)(*[mg.tensor(a) for a in arrays]).data)


def plain_mse(prediction, target):  # a loss that is just a function: evaluated one grid point at a time
    return 0.5 * ((prediction - np.eye(10)[target]) ** 2).sum() / len(target)


LOSSES = {
    "mse": (mg.nn.MSELoss(), "sigmoid"),
    "mse-sum": (mg.nn.MSELoss(reduction="sum"), "sigmoid"),
    "cross-entropy": (mg.nn.CrossEntropyLoss(), None),
    "plain function": (plain_mse, "sigmoid"),
}


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize(
    "params", [("W2[0,1]", "W2[1,2]"), ("W1[5,3]", "b2[4]"), ("b1[2]", "W1[7,2]"), (("layers.2.W", (3, 0)), "W²[4,0]")]
)
def test_the_batched_slice_equals_the_network_point_by_point(digits, params, loss_name):
    loss, output_activation = LOSSES[loss_name]
    net = seed_network(output_activation)
    weights = resolve_weights(net, params)
    points = np.random.default_rng(0).normal(size=(7, 2)) * 2
    values, gradients = LossSlice(net, loss, digits, weights).gradient(points)
    for point, value, gradient in zip(points, values, gradients):
        assert value == pytest.approx(loss_by_hand(net, loss, digits, weights, point), rel=1e-10)
        np.testing.assert_allclose(gradient, gradient_by_hand(net, loss, digits, weights, point), rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(LossSlice(net, loss, digits, weights)(points), values, rtol=1e-12)
    assert [w.value for w in weights] == [float(w.tensor.data[w.index]) for w in weights]  # the network is untouched


def test_cost_surface_draws_minus_the_gradient_as_arrows(digits, tmp_path):
    net, loss = seed_network(), mg.nn.MSELoss()
    weights = resolve_weights(net, ["W2[0,1]", "W1[3,1]"])
    figure = mg.plot.cost_surface(net, loss, digits, ["W2[0,1]", "W1[3,1]"], resolution=12, arrows=4)
    rendered(figure, tmp_path)
    (arrows,) = [c for axes in figure.axes for c in axes.collections if isinstance(c, Quiver)]
    assert len(arrows.U) == 16
    for (x, y), u, v in zip(arrows.XY, arrows.U, arrows.V):
        minus_gradient = -gradient_by_hand(net, loss, digits, weights, (x, y))
        cosine = (u * minus_gradient[0] + v * minus_gradient[1]) / np.hypot(u, v) / np.linalg.norm(minus_gradient)
        assert cosine == pytest.approx(1.0, abs=1e-9)


def test_surface_numbers_follow_the_grid_and_the_network(digits):
    net, loss = seed_network(), mg.nn.MSELoss()
    surface = mg.plot.compute_surface(net, loss, digits, ["W2[0,1]", "W2[1,2]"], span=1.5, resolution=6, arrows=3)
    assert surface.loss.shape == surface.w1.shape == (6, 6) and surface.gradient.shape == (9, 2)
    centre = [net.layers[2].W.data[0, 1], net.layers[2].W.data[1, 2]]
    np.testing.assert_allclose(surface.centre, centre)
    np.testing.assert_allclose([surface.w1.min(), surface.w1.max()], [centre[0] - 1.5, centre[0] + 1.5])
    weights = resolve_weights(net, ["W2[0,1]", "W2[1,2]"])
    corner = (surface.w1[-1, 0], surface.w2[-1, 0])
    assert surface.loss[-1, 0] == pytest.approx(loss_by_hand(net, loss, digits, weights, corner), rel=1e-10)
    assert surface.path.shape == (0, 2)


def test_descent_from_an_optimizer_goes_downhill_on_the_slice(digits, tmp_path):
    net, loss = seed_network(), mg.nn.MSELoss()
    optimizer = mg.optim.SGD(net.parameters(), lr=3.0)
    surface = mg.plot.compute_surface(net, loss, digits, optimizer=optimizer, steps=30, start=(-3.0, 2.0), resolution=8)
    assert surface.path.shape == (31, 2) and tuple(surface.path[0]) == (-3.0, 2.0)
    assert np.all(np.diff(surface.path_loss) <= 1e-12) and surface.path_loss[-1] < surface.path_loss[0]
    assert surface.w1.min() <= -3.0 and surface.w2.max() >= 2.0  # the grid holds the path
    rendered(mg.plot.draw_surface(surface), tmp_path)
    by_factory = mg.plot.compute_surface(
        net, loss, digits, optimizer=lambda p: mg.optim.SGD(p, lr=3.0), steps=30, start=(-3.0, 2.0), resolution=8
    )
    np.testing.assert_array_equal(by_factory.path, surface.path)


OPTIMIZERS = {
    "sgd": lambda p: mg.optim.SGD(p, lr=0.5),
    "nesterov": lambda p: mg.optim.SGD(p, lr=2.0, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: mg.optim.Adam(p, lr=0.05, betas=(0.8, 0.99)),
    "adamw": lambda p: mg.optim.AdamW(p, lr=0.05, weight_decay=0.1),
}


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS)
def test_descent_reuses_the_kind_and_settings_of_the_training_optimizer(digits, make):
    net, loss = seed_network(), mg.nn.MSELoss()
    settings = dict(steps=20, start=(1.0, -1.0), resolution=4, arrows=2)
    by_instance = mg.plot.compute_surface(net, loss, digits, optimizer=make(net.parameters()), **settings)
    by_factory = mg.plot.compute_surface(net, loss, digits, optimizer=make, **settings)
    np.testing.assert_array_equal(by_instance.path, by_factory.path)
    assert by_instance.path_loss[-1] < by_instance.path_loss[0]


def test_descent_steps_the_weights_themselves_so_weight_decay_pulls_them_to_zero(digits):
    net, loss = seed_network(), mg.nn.MSELoss()
    flat = mg.plot.compute_surface(net, loss, digits, optimizer=lambda p: mg.optim.SGD(p, lr=0.0), start=(2.0, 3.0))
    np.testing.assert_array_equal(flat.path[-1], [2.0, 3.0])
    decayed = mg.plot.compute_surface(
        net, loss, digits, optimizer=lambda p: mg.optim.SGD(p, lr=1e-3, weight_decay=100.0), start=(2.0, 3.0), steps=50
    )
    assert np.all(np.abs(decayed.path[-1]) < 0.1 * np.abs(decayed.path[0]))


def test_training_path_from_a_tracked_history(digits, tmp_path):
    net, loss = seed_network(), mg.nn.MSELoss()
    params = [("W2", (0, 1)), ("W2", (1, 2))]
    tracker = mg.plot.TrackWeights(net, params)
    history = mg.fit(net, loss, mg.optim.SGD(net.parameters(), lr=3.0), digits, 4, 10, callbacks=[tracker])
    assert history.last()["W2[0,1]"] == net.layers[2].W.data[0, 1]
    figure = mg.plot.cost_surface(net, loss, digits, params, path=history, resolution=10, arrows=3)
    rendered(figure, tmp_path)
    surface = mg.plot.compute_surface(net, loss, digits, params, path=history, resolution=4, arrows=2)
    np.testing.assert_array_equal(surface.path, np.column_stack([history["W2[0,1]"], history["W2[1,2]"]]))
    with pytest.raises(ValueError, match=r"TrackWeights"):
        mg.plot.compute_surface(net, loss, digits, ["W1[0,0]", "W2[0,0]"], path=history)


def test_a_50_by_50_grid_on_all_of_digits_takes_seconds():
    train, _ = mg.data.load_dataset("digits")
    net = mg.nn.MLP([64, 30, 10], "sigmoid", "sigmoid", seed=0)
    started = time.perf_counter()
    surface = mg.plot.compute_surface(net, mg.nn.MSELoss(), train, resolution=50, arrows=15)
    assert time.perf_counter() - started < 15
    assert surface.loss.shape == (50, 50) and np.all(np.isfinite(surface.loss))


@pytest.mark.parametrize(
    "params, message",
    [
        (["W3[0,0]", "W2[0,0]"], r"no parameter 'W3'.*W1 \(64, 5\).*b2 \(10,\)"),
        (["W2[5,0]", "W2[0,0]"], r"out of range for W2 of shape \(5, 10\): axis 0 runs from 0 to 4"),
        (["W2[0]", "W2[0,0]"], r"W2 has shape \(5, 10\), so it takes 2 indices"),
        (["W2[0,0]", ("W2", (0, 0))], r"names one weight twice"),
        (["W2(0,0)", "W2[0,0]"], r"write NAME\[i,j\]"),
        (["W2[0,1]"], r"needs 2 weights"),
    ],
)
def test_bad_parameter_names_say_what_exists(digits, params, message):
    with pytest.raises(ValueError, match=message):
        mg.plot.compute_surface(seed_network(), mg.nn.MSELoss(), digits, params)


def test_without_matplotlib_the_pictures_say_how_to_install_it():
    script = """
import sys
sys.modules["matplotlib"] = None  # as if it were not installed
from matgrad.cli import main
print("exit", main(["plot", "curves", "--checkpoint", "none.npz"]))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "exit 1" in result.stdout, result.stderr
    assert 'matplotlib, which is not installed: pip install "matgrad[cli]"' in result.stderr


# ----- the computation graph ------------------------------------------------------------------


def seed_cost(W1, W2, x):
    return 0.5 * ((mg.sigmoid(W2 @ mg.sigmoid(W1 @ x)) - np.array([[0.0], [1.0]])) ** 2).sum()


def named_seed_graph():
    """Seed 001's network in column layout, recorded with names; returns C, W¹, W², x."""
    rng = np.random.default_rng(0)
    W1 = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True, name="W¹")
    W2 = mg.tensor(rng.standard_normal((2, 3)), requires_grad=True, name="W²")
    x = mg.tensor(rng.standard_normal((4, 1)), name="x")
    return seed_cost(W1, W2, x), W1, W2, x


def test_graph_shows_every_primitive_with_shape_and_gradient_norm():
    C, W1, W2, x = named_seed_graph()
    source = mg.plot.graph(C).source
    assert source.startswith("digraph matgrad {") and source.rstrip().endswith("}")
    for primitive in ("matmul", "sigmoid", "sub", "power", "sum"):
        assert f"\\n{primitive} → " in source  # under each box's formula: its primitive and shape
    assert 'label="W¹ x\\nmatmul → (3, 1)' in source  # explain's formula for the product
    assert "\\nmul → scalar\\nvalue " in source and "peripheries=2" in source  # the output
    assert 'label="C = ½ Σ (σ(W² σ(W¹ x)) − c₂)²' in source
    expected = mg.grad(seed_cost, argnums=(0, 1))(W1.data, W2.data, x.data)
    assert f"‖∂C/∂W¹‖ = {np.linalg.norm(expected[0]):.3g}" in source
    assert f"‖∂C/∂W²‖ = {np.linalg.norm(expected[1]):.3g}" in source
    assert "W¹\\n(3, 4)" in source and 'fillcolor="#cfe2f3"' in source  # parameters: blue, rounded
    assert 'x\\n(4, 1)", shape=box, style=dashed' in source  # data: dashed
    C.backward()  # drawing kept the graph
    np.testing.assert_allclose(W1.grad, expected[0])


def test_graph_after_backward_explains_what_to_do():
    C, *_ = named_seed_graph()
    C.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        mg.plot.graph(C)


def needs_dot():
    """In CI a missing ``dot`` is a failure, never a pass; elsewhere the test is skipped."""
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz's dot is not installed, and CI must render the graph (apt-get install graphviz)")
        pytest.skip("Graphviz's dot is not installed")


def test_graph_renders_svg_and_png_with_dot(tmp_path):
    needs_dot()
    C, *_ = named_seed_graph()
    drawing = mg.plot.graph(C)
    svg = drawing.save(tmp_path / "graph.svg", engine="dot").read_text()
    assert "<svg" in svg and "matmul" in svg and "W¹" in svg and "Generated by graphviz" in svg
    png = drawing.save(tmp_path / "graph.png", engine="dot")
    height, width = matplotlib.image.imread(png).shape[:2]
    png_pixels(png, width, height)
    assert width > 400


def test_graph_without_dot_draws_with_matplotlib_and_says_how_to_get_dot(monkeypatch, tmp_path):
    C, *_ = named_seed_graph()
    drawing = mg.plot.graph(C)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    svg = drawing.save(tmp_path / "graph.svg").read_text()  # the default engine needs no program
    assert "<svg" in svg and "W¹ x" in svg and "Generated by graphviz" not in svg
    with pytest.raises(mg.plot.GraphvizNotFoundError, match=r"apt-get install graphviz.*brew install graphviz"):
        drawing.save(tmp_path / "dot.svg", engine="dot")
    assert drawing.save(tmp_path / "graph.dot").read_text() == drawing.source
    assert "<svg" in drawing._repr_svg_() and drawing._repr_markdown_() is None
    no_matplotlib = mg.plot.GraphDrawing(drawing.source)  # DOT text alone, and no dot: Jupyter shows the text
    assert "```dot" in no_matplotlib._repr_markdown_() and no_matplotlib._repr_svg_() is None


# ----- curves and decision regions ----------------------------------------------------------------


@pytest.fixture(scope="module")
def moons_run():
    train, test = mg.data.load_dataset("moons")
    net = mg.nn.MLP([2, 16, 2], "tanh", None, seed=0)
    loss = mg.nn.CrossEntropyLoss()
    history = mg.fit(net, loss, mg.optim.Adam(net.parameters(), lr=0.05), train, 30, 16, test)
    return net, loss, train, test, history


def test_training_curves_render(moons_run, tmp_path):
    *_, history = moons_run
    figure = mg.plot.training_curves(history)
    assert rendered(figure, tmp_path).shape[:2] == (160, 400)
    assert figure._repr_png_()[:8] == PNG_SIGNATURE  # what Jupyter shows inline, without pyplot


def test_training_curves_plot_validation_only_where_it_was_recorded():
    from matgrad.train import History

    records = [{"epoch": e, "loss": 1 / e, "accuracy": e / 10} for e in range(1, 7)]
    for record in records[1::2]:  # validation on epochs 2, 4 and 6 only
        record.update(val_loss=record["loss"] + 0.1, val_accuracy=record["accuracy"] - 0.05)
    figure = mg.plot.training_curves(History(records))
    loss_axes = figure.axes[0]
    train_line, val_line = loss_axes.get_lines()
    assert list(train_line.get_xdata()) == [1, 2, 3, 4, 5, 6]
    assert list(val_line.get_xdata()) == [2, 4, 6]
    assert np.allclose(val_line.get_ydata(), [0.6, 0.35, 1 / 6 + 0.1])


def test_decision_regions_colour_the_plane_by_the_networks_classes(moons_run, tmp_path):
    net, loss, train, test, _ = moons_run
    figure = mg.plot.decision_regions(net, train, test=test, loss=loss, resolution=60)
    rendered(figure, tmp_path)
    (mesh,) = [c for c in figure.axes[0].collections if c.get_array() is not None and c.get_array().ndim == 2]
    regions = np.asarray(mesh.get_array())
    assert regions.shape == (60, 60) and set(np.unique(regions)) == {0, 1}
    assert "test accuracy" in figure.axes[0].get_title()


def test_decision_regions_need_two_features(digits):
    with pytest.raises(ValueError, match=r"shape \(N, 2\); got \(60, 64\)"):
        mg.plot.decision_regions(seed_network(), digits)


# ----- matgrad plot --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    args = ["--data", "moons", "--layers", "2,8,2", "--epochs", "3", "--quiet", "--out", out]
    assert main(["train", *map(str, args)]) == 0
    return out / "model.npz"


@pytest.mark.parametrize(
    "picture, options, size",
    [
        (
            "surface",
            ["--params", "W1[0,1]", "W2[1,0]", "--resolution", "8", "--arrows", "3", "--steps", "5"],
            (520, 224),
        ),
        ("curves", [], (400, 160)),
        ("boundary", ["--resolution", "30"], (280, 240)),
    ],
)
def test_plot_command_draws_each_picture_from_a_checkpoint(checkpoint, tmp_path, capsys, picture, options, size):
    out = tmp_path / f"{picture}.png"
    assert main(["plot", picture, "--checkpoint", str(checkpoint), *options, "--dpi", "40", "--out", str(out)]) == 0
    assert f"wrote {out} in" in capsys.readouterr().out
    png_pixels(out, *size)


def test_plot_command_trains_the_seed_network_when_given_no_checkpoint(tmp_path, capsys):
    out = tmp_path / "surface.png"
    options = ["--data", "moons", "--epochs", "1", "--params", "W1[0,1]", "W2[1,0]", "--resolution", "6"]
    assert main(["plot", "surface", *options, "--path", "training", "--dpi", "30", "--out", str(out)]) == 0
    assert "training 2-30-2 on moons for 1 epoch as" in capsys.readouterr().out
    png_pixels(out, 390, 168)


def test_plot_command_errors_are_one_line(checkpoint, tmp_path, capsys):
    assert main(["plot", "surface", "--checkpoint", str(checkpoint), "--params", "W7[0,0]", "W1[0,0]"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no parameter 'W7'" in error and "W1 (2, 8)" in error
    assert main(["plot", "surface", "--checkpoint", str(checkpoint), "--path", "training"]) == 1
    assert "does not record the weights along training" in capsys.readouterr().err


def test_plot_graph_writes_dot_always_and_svg_with_dot(tmp_path, capsys, monkeypatch):
    out = tmp_path / "graph.svg"
    needs_dot()
    assert main(["plot", "graph", "--layers", "4,3,2", "--engine", "dot", "--out", str(out)]) == 0
    assert "Generated by graphviz" in out.read_text() and (tmp_path / "graph.dot").read_text().startswith("digraph")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    missing = tmp_path / "missing.png"
    assert main(["plot", "graph", "--engine", "dot", "--out", str(missing)]) == 1
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert not missing.exists() and (tmp_path / "missing.dot").is_file()
