"""matgrad playground, Surface page: the cost over two weights of a Train session's network, checked
against a NumPy forward pass written here (the oracle) and its finite differences; the path; bad
requests refused in one line, in the server and in the worker, without touching the session."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from matgrad.playground import create_app, running
from matgrad.playground.engine import answer
from matgrad.playground.surface import (
    MAX_ARROWS,
    MAX_DESCENT_STEPS,
    MAX_RESOLUTION,
    SURFACE_EXAMPLES,
    surface_job,
    surface_options,
)
from matgrad.playground.training import SettingsError, TrainSession, settings_of, split_data
from playground_http import post


def _drawn(session: TrainSession, **options) -> dict:
    """The worker's answer for ``session``, the job passed through JSON as it is between processes."""
    job = json.loads(json.dumps(surface_job(session, surface_options(options))))
    reply = answer("surface", job)
    assert "error" not in reply, reply
    return reply["result"]


def _numpy_cost(session: TrainSession, changes: dict[tuple[int, tuple[int, int]], float]) -> float:
    """Mean cross-entropy of the tanh network over the surface's sample, NumPy only, with the
    weights ``{(layer, (i, j)): value}`` set: what one point of the surface must be."""
    train, _ = split_data(session.settings)
    X, y = train.X[:SURFACE_EXAMPLES], train.y[:SURFACE_EXAMPLES]
    weights = [(layer.W.data.copy(), layer.b.data.copy()) for layer in session.net.layers if hasattr(layer, "W")]
    for (layer, index), value in changes.items():
        weights[layer][0][index] = value
    a = X
    for k, (W, b) in enumerate(weights):
        z = a @ W + b
        a = np.tanh(z) if k < len(weights) - 1 else z
    shifted = a - a.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_softmax[np.arange(len(y)), y].mean())


@pytest.fixture(scope="module")
def trained() -> TrainSession:
    session = TrainSession(settings_of({"data": "moons", "layers": "6, 5", "seed": 3}))
    session.steps(60)
    return session


def test_the_grid_is_the_cost_of_the_current_network_and_the_arrows_its_gradient(trained):
    result = _drawn(trained, params="W2[1,3] W3[4,0]", resolution=9, arrows=3, path="none")
    assert result["labels"] == ["W2[1,3]", "W3[4,0]"] and len(result["loss"]) == 9 == len(result["loss"][0])
    for i, j in [(0, 0), (4, 7), (8, 2)]:  # loss[i][j] is at (w1[j], w2[i])
        expected = _numpy_cost(trained, {(1, (1, 3)): result["w1"][j], (2, (4, 0)): result["w2"][i]})
        assert result["loss"][i][j] == pytest.approx(expected, rel=1e-5)  # 6 significant digits are sent
    h = 1e-6
    for (w1, w2), gradient in zip(result["arrows"]["points"][::4], result["arrows"]["gradient"][::4]):
        def at(d1: float, d2: float, w1: float = w1, w2: float = w2) -> float:
            return _numpy_cost(trained, {(1, (1, 3)): w1 + d1, (2, (4, 0)): w2 + d2})

        numeric = [(at(h, 0) - at(-h, 0)) / (2 * h), (at(0, h) - at(0, -h)) / (2 * h)]
        np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-9)
    centre = [trained.net.layers[2].W.data[1, 3], trained.net.layers[4].W.data[4, 0]]
    np.testing.assert_allclose(result["centre"], centre, rtol=1e-5)
    assert min(map(min, result["loss"])) == result["range"][0] and result["path"] == []


def test_the_training_path_runs_from_the_first_weights_to_the_current_ones(trained):
    result = _drawn(trained, params=["W1[0,2]", "b2[1]"], resolution=6, arrows=2, path="training")
    path, steps = np.array(result["path"]), result["path_steps"]
    assert steps[0] == 0 and steps[-1] == trained.step == result["step"] and steps == sorted(steps)
    first = [trained.trail[0][1][2], trained.trail[0][1][2 * 6 + 6 + 6 * 5 + 1]]  # W1 (2×6), b1, W2 (6×5), b2[1]
    np.testing.assert_allclose(path[0], first, rtol=1e-6)
    np.testing.assert_allclose(path[-1], result["centre"], rtol=1e-5)
    assert result["w1"][0] <= path[:, 0].min() and path[:, 0].max() <= result["w1"][-1]  # the grid holds the path


def test_descent_on_the_slice_goes_downhill_and_the_session_is_untouched(trained):
    before = [p.data.copy() for p in trained.net.parameters()]
    result = _drawn(trained, path="descent", steps=40, resolution=5, arrows=2)
    assert len(result["path"]) == 41 and result["path_loss"][-1] < result["path_loss"][0]
    assert all(np.array_equal(a, p.data) for a, p in zip(before, trained.net.parameters()))
    assert trained.step == 60


def test_a_fresh_network_has_no_training_path_and_says_so():
    result = _drawn(TrainSession(settings_of({"data": "xor", "layers": "4, 4"})), resolution=4, arrows=2)
    assert result["path"] == [] and "train some steps first" in result["path_label"]


def test_digits_and_the_mse_loss_are_drawn_over_a_capped_sample():
    session = TrainSession(settings_of({"data": "digits", "layers": "8", "loss": "mse"}))
    session.steps(5)
    result = _drawn(session, params="W1[20,3] W2[0,9]", resolution=5, arrows=2)
    assert result["examples"] == SURFACE_EXAMPLES and "squared error" in result["loss_name"]
    assert len(result["path"]) >= 2 and all(v is not None for row in result["loss"] for v in row)


@pytest.mark.parametrize("options, words", [
    ({"params": "W2[0,1]"}, "two weights such as"),
    ({"params": ["W2[0,1]", "__import__('os')"]}, "two weights such as"),
    ({"resolution": MAX_RESOLUTION + 1}, f"resolution must be an integer from 2 to {MAX_RESOLUTION}"),
    ({"resolution": 10**9}, "resolution must be"),
    ({"arrows": MAX_ARROWS + 1}, f"arrows must be an integer from 2 to {MAX_ARROWS}"),
    ({"steps": MAX_DESCENT_STEPS + 1}, "steps must be an integer from 0"),
    ({"span": -1}, "span must be a number above 0"),
    ({"span": "wide"}, "span must be a number"),
    ({"path": "sideways"}, "path must be one of training, descent, none"),
])
def test_options_out_of_range_are_refused_in_one_line(options, words):
    with pytest.raises(SettingsError, match="^surface: ") as caught:
        surface_options(options)
    assert words in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("params, words", [
    ("W9[0,0] W2[0,1]", "no parameter 'W9' in this network; it has W1 (2, 6)"),
    ("W2[0,1] W2[99,0]", "W2"),
    ("W2[0,1] W2[0,1]", "names one weight twice"),
])
def test_weights_the_network_lacks_are_refused_naming_what_it_has(trained, params, words):
    with pytest.raises(SettingsError, match="^surface: ") as caught:
        surface_job(trained, surface_options({"params": params}))
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_the_worker_checks_a_tampered_job_again(trained):
    job = json.loads(json.dumps(surface_job(trained, surface_options({"resolution": 4, "arrows": 2}))))
    job["parameters"][0] = [[1.0]]
    assert "a parameter of shape (1, 1) where the network has (2, 6)" in answer("surface", job)["error"]
    job["options"]["resolution"] = 10**6
    assert answer("surface", job)["error"].startswith("surface: resolution must be")
    assert answer("surface", ["not", "a", "job"])["error"].startswith("surface: expected a JSON object")


def test_surface_over_http_starts_or_reads_a_session_and_survives_bad_requests():
    with running(create_app(workers=1, time_limit=30.0)) as url:
        status, fresh = post(url, "/api/surface", {"settings": {"data": "circles", "layers": "5"},
                                                    "params": "W1[0,1] W2[3,1]", "resolution": 8, "arrows": 3})
        assert status == 200 and fresh["result"]["step"] == 0 and fresh["settings"]["layers"] == [5]
        assert {"name": "W2", "shape": [5, 2]} in fresh["parameters"]
        key = fresh["session"]
        assert post(url, "/api/train/control", {"session": key, "action": "step", "steps": 30})[0] == 200
        status, drawn = post(url, "/api/surface", {"session": key, "params": "W1[0,1] W2[3,1]", "resolution": 8,
                                                   "arrows": 3})
        assert status == 200 and drawn["session"] == key and drawn["result"]["step"] == 30
        assert len(drawn["result"]["path"]) >= 2
        for bad, code, words in [
            ({"session": key, "params": "W7[0,0] W1[0,0]"}, 400, "surface: no parameter 'W7'"),
            ({"session": key, "resolution": 10**6}, 400, "resolution must be"),
            ({"session": "nobody"}, 400, "no such session"),
            ({"settings": {"layers": "9999"}}, 400, "train: layers must be"),
            ({"settings": "moons"}, 400, "settings must be a JSON object"),
            (["a", "list"], 400, "expected a JSON object"),
            ({"session": key, "params": "W" * 20_000}, 413, "larger than the cap"),
        ]:
            status, body = post(url, "/api/surface", bad)
            assert status == code and words in body["error"] and "\n" not in body["error"], (bad, body)
        state = json.loads(urllib.request.urlopen(f"{url}api/train/state?session={key}", timeout=60).read())
        assert state["state"]["step"] == 30  # nothing a bad request did reached the session


def test_a_surface_past_the_time_limit_is_stopped_and_the_server_answers_on():
    with running(create_app(workers=1, time_limit=0.6)) as url:
        heavy = {"settings": {"data": "digits", "layers": "32,32,32,32,32,32"}, "params": "W1[10,0] W1[20,1]",
                 "resolution": MAX_RESOLUTION, "arrows": MAX_ARROWS, "path": "descent", "steps": MAX_DESCENT_STEPS}
        started = time.monotonic()
        status, body = post(url, "/api/surface", heavy)
        assert status == 504 and "time limit of 0.6 s; use a smaller grid" in body["error"]
        assert time.monotonic() - started < 30
        status, body = post(url, "/api/surface", {"settings": {"data": "xor", "layers": "3"},
                                                  "params": "W1[0,0] W1[1,2]", "resolution": 3, "arrows": 2,
                                                  "path": "none"}, timeout=120)
        assert status in (200, 504), body  # the replacement worker may still be importing matgrad
        deadline = time.monotonic() + 60
        while status != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            status, body = post(url, "/api/surface", {"settings": {"data": "xor", "layers": "3"},
                                                      "params": "W1[0,0] W1[1,2]", "resolution": 3, "arrows": 2,
                                                      "path": "none"})
        assert status == 200 and body["result"]["grid"] == 3


def test_the_pages_link_each_other_and_fetch_nothing_from_elsewhere():
    with running(create_app(workers=1)) as url:
        for path, script in (("surface", b"/static/surface.js"), ("train", b"/static/train.js"), ("", b"derive.js")):
            with urllib.request.urlopen(url + path, timeout=60) as response:
                page = response.read()
            assert response.status == 200 and script in page and b'href="/surface"' in page
            assert not re.search(rb"""(src|href)=["']https?://""", page)
        with urllib.request.urlopen(url + "static/surface.js", timeout=60) as response:
            assert b"/api/surface" in response.read()


def test_parallel_surface_requests_good_and_bad_all_get_answers_and_leave_the_session_as_it_was():
    good = {"params": "W1[0,0] W2[1,1]", "resolution": 6, "arrows": 2, "path": "descent", "steps": 20}
    with running(create_app(workers=2, time_limit=30.0)) as url:
        status, fresh = post(url, "/api/surface", {**good, "settings": {"data": "moons", "layers": "4"}})
        key = fresh["session"]
        requests = [({**good, "session": key}, 200), ({"session": key, "params": "W1[0,0] W2[9,9]"}, 400),
                    ({"session": key, "arrows": -3}, 400), ({"session": key, "span": 1e300}, 400)] * 6
        with ThreadPoolExecutor(max_workers=24) as pool:
            answers = list(pool.map(lambda r: post(url, "/api/surface", r[0]), requests))
        for (request_, expected), (status, body) in zip(requests, answers):
            assert status == expected, (request_, body)
            assert (status == 200 and body["result"]["step"] == 0) or body["error"].startswith("surface: ")
        first = answers[0][1]["result"]
        assert all(answer["result"] == {**first, "seconds": answer["result"]["seconds"]}  # the same picture each time
                   for (_, expected), (_, answer) in zip(requests, answers) if expected == 200)


def test_a_diverged_network_is_refused_rather_than_drawn_as_nothing():
    session = TrainSession(settings_of({"data": "moons", "layers": "3, 3"}))
    session.net.layers[0].W.data[1, 2] = np.inf  # as if a too large learning rate had blown it up
    with pytest.raises(SettingsError, match="^surface: the network's weights are no longer finite numbers"):
        surface_job(session, surface_options({}))
