"""matgrad playground, Train page: sessions trained in the server, their backward pass checked
against backpropagation written by hand in NumPy, and the HTTP routes on a real socket."""

from __future__ import annotations

import time

import numpy as np
import pytest

from matgrad.playground import create_app, running
from matgrad.playground.training import MAX_UNITS, TRAIL, SettingsError, TrainSession, settings_of
from playground_http import post


def test_200_steps_on_moons_raise_the_test_accuracy():
    session = TrainSession(settings_of({"data": "moons", "seed": 1}))
    before = session.snapshot()["test_accuracy"]
    session.steps(200)
    after = session.snapshot()
    assert after["step"] == 200 and after["test_accuracy"] >= 0.9 and after["test_accuracy"] > before
    steps, _, test = np.array(after["history"]).T
    assert steps[-1] == 200 and test[-1] < test[0]  # the test loss fell as it trained


def _tanh_backprop(session: TrainSession) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """δˡ and ∂C/∂Wˡ of the minibatch by the δ equations in row layout, NumPy only (the oracle)."""
    X, y = session.batch
    weights = [(layer.W.data, layer.b.data) for layer in session.net.layers if hasattr(layer, "W")]
    activations, pre = [X], []
    for k, (W, b) in enumerate(weights):
        Z = activations[-1] @ W + b
        pre.append(Z)
        activations.append(np.tanh(Z) if k < len(weights) - 1 else Z)
    logits = pre[-1]
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    delta = (softmax - np.eye(logits.shape[1])[y]) / len(y)  # ∂(mean cross-entropy)/∂Z
    deltas, grads = [delta], []
    for k in range(len(weights) - 1, -1, -1):
        grads.insert(0, activations[k].T @ deltas[0])
        if k > 0:
            deltas.insert(0, (deltas[0] @ weights[k][0].T) * (1 - np.tanh(pre[k - 1]) ** 2))
    return deltas, grads


def test_the_backward_pass_shown_is_backpropagation_of_the_current_minibatch():
    session = TrainSession(settings_of({"data": "circles", "layers": "5, 4", "batch": 7, "seed": 2}))
    session.steps(13)
    shown = {m["name"]: np.array(m["values"]) for m in session.snapshot()["backward"]}
    deltas, grads = _tanh_backprop(session)
    names = ["¹", "²", "³"]
    for k, (delta, grad) in enumerate(zip(deltas, grads)):
        assert shown[f"δ{names[k]}"].shape == delta.shape and shown[f"∂C/∂W{names[k]}"].shape == grad.shape
        np.testing.assert_allclose(shown[f"δ{names[k]}"], delta, atol=1e-5)  # rounded to 5 places for the page
        np.testing.assert_allclose(shown[f"∂C/∂W{names[k]}"], grad, atol=1e-5)
    assert [shape for shape in (d.shape for d in deltas)] == [(7, 5), (7, 4), (7, 2)]
    assert all(p.grad is None for p in session.net.parameters())  # the view leaves no gradient behind


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def test_the_mse_loss_trains_sigmoid_outputs_and_its_delta_is_the_quadratic_cost_s():
    session = TrainSession(settings_of({"data": "moons", "layers": "4", "loss": "mse", "batch": 5, "seed": 4}))
    session.steps(7)
    X, y = session.batch
    (W1, b1), (W2, b2) = [(layer.W.data, layer.b.data) for layer in session.net.layers if hasattr(layer, "W")]
    hidden = np.tanh(X @ W1 + b1)
    z = hidden @ W2 + b2
    delta2 = (_sigmoid(z) - np.eye(2)[y]) * _sigmoid(z) * (1 - _sigmoid(z)) / len(y)  # δᴸ = (a − y) ⊙ σ′(z) / N
    delta1 = (delta2 @ W2.T) * (1 - hidden**2)
    shown = {m["name"]: np.array(m["values"]) for m in session.snapshot()["backward"]}
    np.testing.assert_allclose(shown["δ²"], delta2, atol=1e-5)
    np.testing.assert_allclose(shown["δ¹"], delta1, atol=1e-5)
    np.testing.assert_allclose(shown["∂C/∂W²"], hidden.T @ delta2, atol=1e-5)
    regions = session.snapshot()["regions"]
    x0, _, _, y1 = session.bounds()  # the regions' first point is the top-left corner
    corner = _sigmoid(np.tanh(np.array([[x0, y1]]) @ W1 + b1) @ W2 + b2)[0]
    assert regions["class"][0] == corner.argmax() and regions["confidence"][0] == pytest.approx(corner.max(), abs=1e-3)


def test_digits_train_without_decision_regions_and_show_64_wide_gradients():
    session = TrainSession(settings_of({"data": "digits", "layers": "16", "seed": 0}))
    before = session.snapshot()["test_accuracy"]
    session.steps(100)
    state, points = session.snapshot(), session.points()
    assert state["regions"] is None and points["features"] == 64 and "X" not in points["train"]
    assert points["train"]["count"] + points["test"]["count"] == 1797 and points["classes"] == 10
    assert state["test_accuracy"] >= 0.8 and state["test_accuracy"] > before
    shapes = {m["name"]: m["shape"] for m in state["backward"]}
    assert shapes == {"δ¹": [16, 16], "∂C/∂W¹": [64, 16], "δ²": [16, 10], "∂C/∂W²": [16, 10]}


def test_the_trail_of_weights_is_thinned_and_keeps_the_start():
    session = TrainSession(settings_of({"data": "xor", "layers": "3"}))
    first = session.weights().copy()
    session.steps(500)
    session.steps(500)
    steps = [step for step, _ in session.trail]
    assert len(steps) <= TRAIL and steps[0] == 0 and steps == sorted(steps) and steps[-1] == 1000
    np.testing.assert_array_equal(session.trail[0][1], first)
    assert len(first) == 2 * 3 + 3 + 3 * 2 + 2


@pytest.mark.parametrize("request_, words", [
    ({"data": "mnist"}, "data must be one of"),
    ({"loss": "hinge"}, "loss must be one of cross_entropy, mse"),
    ({"layers": "8, 100"}, f"from 1 to {MAX_UNITS}"),
    ({"layers": "1,1,1,1,1,1,1"}, "up to 6 hidden sizes"),
    ({"lr": "fast"}, "lr must be a number"),
    ({"lr": 1e9}, "lr must be a number from"),
    ({"batch": 0}, "batch must be an integer"),
    ({"activation": "softmax"}, "activation must be one of"),
])
def test_settings_out_of_range_are_refused_in_one_line(request_, words):
    with pytest.raises(SettingsError, match="^train: ") as caught:
        settings_of(request_)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_sessions_over_http_play_in_the_background_and_survive_bad_requests():
    with running(create_app(workers=1)) as url:
        status, started = post(url, "/api/train/new", {"data": "xor", "layers": "6", "optimizer": "sgd", "lr": 0.3})
        assert status == 200 and started["state"]["step"] == 0 and started["data"]["classes"] == 2
        key = started["session"]
        assert post(url, "/api/train/control", {"session": key, "action": "step"})[1]["state"]["step"] == 1
        for bad in ({"session": key, "action": "rewind"}, {"session": key, "action": "step", "steps": 10**6},
                    {"session": "nobody", "action": "play"}):
            status, body = post(url, "/api/train/control", bad)
            assert status == 400 and body["error"].startswith("train: ")
        assert post(url, "/api/train/new", {"layers": "9999"})[0] == 400  # refused: the session stays
        assert post(url, f"/api/train/state?session={key}")[1]["state"]["step"] == 1
        taken_over = post(url, f"/api/train/state?session={key}&data=1")[1]  # what a page taking it over needs
        assert taken_over["settings"]["data"] == "xor" and len(taken_over["data"]["train"]["X"]) == 300
        assert post(url, "/api/train/state?session=nobody")[0] == 404

        assert post(url, "/api/train/control", {"session": key, "action": "play"})[1]["state"]["playing"]
        deadline, step = time.monotonic() + 60, 1
        while step < 50 and time.monotonic() < deadline:  # the background task trains on its own
            time.sleep(0.05)
            step = post(url, f"/api/train/state?session={key}")[1]["state"]["step"]
        paused = post(url, "/api/train/control", {"session": key, "action": "pause"})[1]["state"]
        assert paused["step"] >= 50 and not paused["playing"]
        time.sleep(0.3)
        later = post(url, f"/api/train/state?session={key}")[1]["state"]["step"]
        assert later - paused["step"] <= 4  # at most the tick under way when paused
