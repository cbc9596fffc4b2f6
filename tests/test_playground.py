"""matgrad playground: the engine adapters, and the server on a real socket on 127.0.0.1
(good questions answered as `matgrad explain` / `matgrad check` answer them; hostile ones refused
in one line while the server keeps answering)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from matgrad.explain import render
from matgrad.explain.command import formula_explanation
from matgrad.formula.guards import MAX_INTERMEDIATE_ELEMENTS
from matgrad.playground import create_app, running
from matgrad.playground.engine import MAX_FORMULA_CHARS, answer
from matgrad.playground.server import MAX_BODY_BYTES
from playground_http import get, post

NETWORK = {"formula": "0.5*sum((sigmoid(W@x + b) - y)**2)", "shapes": "W=3x4, x=4x1, b=3x1, y=3x1"}
LINEAR = {"formula": "0.5*sum((W@x - y)**2)", "shapes": "W=3x4, x=4x1, y=3x1", "wrt": "W"}
TRANSPOSED = {**LINEAR, "claim": "x @ (W@x - y).T"}  # (W x − y) xᵀ written the other way round
RIGHT = {**LINEAR, "claim": "(W@x - y) @ x.T"}
SLOW = {"formula": "sum(inv(A) @ inv(A) @ inv(A))", "shapes": "A=1000x1000"}  # ~12 s of work here: overruns 1.5 s


@pytest.fixture(scope="module")
def server():
    with running(create_app(workers=2, time_limit=30.0)) as url:
        yield url


# --- the engine, called directly -------------------------------------------------------------

def test_derive_gives_the_lines_of_matgrad_explain_in_three_notations_with_latex():
    result = answer("derive", {**NETWORK, "wrt": "W, b"})["result"]
    reference = formula_explanation(NETWORK["formula"], NETWORK["shapes"].split(", "), ["W", "b"], 0)
    assert [line["name"] for line in result["lines"]] == [line.name for line in reference.lines]
    assert result["ok"] and all(line["ok"] and line["error"] < 1e-9 for line in result["lines"])
    weight = next(line for line in result["lines"] if line["name"] == "∂f/∂W")
    assert weight["shape"] == [3, 4] and r"x^{\top}" in weight["latex"] and r"\odot" in weight["latex"]
    assert weight["notations"]["jacobian"].startswith("∂f/∂W = ")
    assert "δ_" in weight["notations"]["index"] and ": dW" in weight["notations"]["differential"]
    assert "every line agrees" in result["summary"] and "reverse sweep of VJPs" in result["cost"]


def test_derive_reads_lines_and_summary_through_the_public_names_of_render():
    result = answer("derive", {**NETWORK, "wrt": "W"})["result"]
    derivation = formula_explanation(NETWORK["formula"], NETWORK["shapes"].split(", "), ["W"], 0).derivation
    (line,) = derivation.lines
    for notation in render.NOTATIONS:
        assert result["lines"][0]["notations"][notation] == render.backward_line(derivation, line, notation)
    assert result["summary"] == render.check_summary(derivation) and result["summary"].startswith("Checked 1 of 1")
    assert render._reading is render.backward_line and render._summary is render.check_summary  # old names kept


def test_derive_in_the_other_layout_keeps_only_the_jacobian_notation():
    result = answer("derive", {"formula": "sum((X@w - y)**2)", "shapes": "X=5x3, w=3x1, y=5x1", "wrt": "w",
                               "layout": "column"})["result"]
    (line,) = result["lines"]
    assert line["ok"] and line["shape"] == [1, 3]  # the gradient of w, transposed with everything else
    assert line["notations"]["index"] is None and line["notations"]["differential"] is None


def test_check_diagnoses_a_transposed_answer_and_accepts_the_right_one():
    wrong = answer("check", TRANSPOSED)["result"]
    assert not wrong["ok"] and "layout" in wrong["kinds"] and "transpose is correct" in wrong["verdict"]
    right = answer("check", RIGHT)["result"]
    assert right["ok"] and right["verdict"].startswith("✓ correct") and right["kinds"] == []


@pytest.mark.parametrize("request_, words", [
    ({"formula": "sum(W@x)", "shapes": "W=1000000x1000000, x=1000000x1"}, "more than the cap of 1,000,000"),
    ({"formula": "sum(W@@x", "shapes": "W=3x3, x=3x1"}, "syntax error at column"),
    ({"formula": "sum(x + y.T)", "shapes": "x=400000x1, y=400000x1"}, f"{MAX_INTERMEDIATE_ELEMENTS:,}"),
    ({"formula": "x" * (MAX_FORMULA_CHARS + 1)}, "more than the cap"),
    ({"formula": "sum(x)", "shapes": "x=3", "wrt": "q"}, "not in the formula"),
    ({"formula": "sum(x)", "shapes": "x=3", "layout": "diagonal"}, "layout must be one of"),
    ({"formula": "__import__('os').system('true')", "shapes": ""}, "__import__"),
    (["not", "an", "object"], "expected a JSON object"),
])
def test_bad_questions_get_one_line_errors(request_, words):
    reply = answer("derive", request_)
    assert set(reply) == {"error"} and words in reply["error"] and "\n" not in reply["error"]


# --- the server, on a real socket --------------------------------------------------------------

def test_the_page_and_its_vendored_katex_are_served_locally(server):
    assert server.startswith("http://127.0.0.1:")
    status, page = get(server, "/")
    assert status == 200 and b"/static/vendor/katex/katex.min.js" in page
    assert not re.search(rb"""(src|href)=["']https?://""", page)  # nothing fetched from elsewhere
    status, script = get(server, "/static/vendor/katex/katex.min.js")
    assert status == 200 and b"katex" in script[:2000].lower()
    css = get(server, "/static/vendor/katex/katex.min.css")[1].decode()
    for font in sorted(set(re.findall(r"url\((fonts/[\w-]+\.woff2)\)", css)))[:3]:
        assert get(server, f"/static/vendor/katex/{font}")[0] == 200


def test_derive_and_check_over_http(server):
    status, body = post(server, "/api/derive", NETWORK)
    assert status == 200 and body["result"]["ok"] and len(body["result"]["lines"]) == 4  # W, x, b, y
    status, body = post(server, "/api/check", TRANSPOSED)
    assert status == 200 and "layout" in body["result"]["kinds"]


@pytest.mark.parametrize("payload, status_, words", [
    (b"{not json", 400, "not JSON"),
    (json.dumps({"formula": "x" * MAX_BODY_BYTES}).encode(), 413, "larger than the cap"),
    ({"formula": "sum(W@x)", "shapes": "W=1000000x1000000, x=1000000x1"}, 400, "cap of 1,000,000"),
])
def test_hostile_requests_get_clear_statuses(server, payload, status_, words):
    status, body = post(server, "/api/derive", payload)
    assert status == status_ and words in body["error"]


def _mixed_requests() -> list[tuple[str, object, int, str]]:
    """(path, body, expected status, words expected in the answer), good and hostile, 100 in all."""
    kinds = [
        ("/api/derive", NETWORK, 200, "every line agrees"),
        ("/api/check", TRANSPOSED, 200, "transpose is correct"),
        ("/api/derive", {"formula": "sum(W@x)", "shapes": "W=1000000x1000000, x=1000000x1"}, 400, "cap"),
        ("/api/derive", {"formula": "sum((W@x -", "shapes": "W=3x3, x=3x1"}, 400, "syntax error"),
        ("/api/derive", {"formula": "sum(x + y.T)", "shapes": "x=400000x1, y=400000x1"}, 400, "entries"),
        ("/api/derive", {"formula": "-" * 1500 + "x", "shapes": "x=3"}, 400, "deep"),
        ("/api/check", {**LINEAR, "claim": "W @@ x"}, 400, "syntax error"),
        ("/api/derive", b"\xff\xfe garbage", 400, "not JSON"),
        ("/api/derive", {"formula": "x" * MAX_BODY_BYTES}, 413, "larger than the cap"),
        ("/api/check", RIGHT, 200, "✓ correct"),
    ]
    return [kinds[i % len(kinds)] for i in range(100)]


def _summary(body: dict) -> str:
    result = body.get("result")
    if result is None:
        return body["error"]
    return result.get("summary") or result["verdict"]


def test_100_parallel_requests_good_and_hostile_are_all_answered(server):
    cases = _mixed_requests()
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        replies = list(pool.map(lambda case: post(server, case[0], case[1]), cases))
    for (path, _, status, words), (got, body) in zip(cases, replies):
        assert got == status and words in _summary(body), (path, got, body)
    assert time.monotonic() - start < 90
    assert post(server, "/api/derive", NETWORK)[0] == 200  # and it answers afterwards
    health = json.loads(get(server, "/api/health")[1])
    assert health["ok"] and health["running"] == 0 and health["waiting"] == 0


def test_an_overrunning_question_is_stopped_and_the_waiting_line_is_bounded():
    with running(create_app(workers=1, time_limit=1.5, max_waiting=2)) as url:
        with ThreadPoolExecutor(max_workers=6) as pool:
            slow = pool.submit(post, url, "/api/derive", SLOW)
            deadline = time.monotonic() + 30
            while json.loads(get(url, "/api/health")[1])["running"] == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            waiting = [pool.submit(post, url, "/api/derive", NETWORK) for _ in range(5)]
            statuses = sorted(future.result()[0] for future in waiting)
            status, body = slow.result()
        assert status == 504 and "time limit of 1.5 s" in body["error"]
        assert statuses == [200, 200, 503, 503, 503]  # two wait for the worker, three are told it is busy
        health = json.loads(get(url, "/api/health")[1])
        assert health["replaced"] == 1  # the overrunning worker was killed and a fresh one started
        status, body = post(url, "/api/derive", NETWORK)
        assert status == 200 and body["result"]["ok"]


def test_a_failed_request_leaves_the_answers_unchanged(server):
    first = post(server, "/api/derive", {**NETWORK, "seed": 3})[1]["result"]
    assert post(server, "/api/derive", {"formula": "sum(inv(", "shapes": "A=3x3"})[0] == 400
    assert post(server, "/api/derive", {**NETWORK, "seed": -1})[0] == 400
    again = post(server, "/api/derive", {**NETWORK, "seed": 3})[1]["result"]
    assert again == first
    errors = [line["error"] for line in again["lines"]]
    assert all(np.isfinite(errors))


def test_the_command_prints_its_url_and_serves_until_stopped():
    process = subprocess.Popen(
        [sys.executable, "-m", "matgrad", "playground", "--no-browser", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()  # the command prints its URL first, then serves
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        deadline, status = time.monotonic() + 60, None
        while status is None and time.monotonic() < deadline:
            try:
                status = post(match.group(0), "/api/check", RIGHT, timeout=30)[0]
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert status == 200
    finally:
        process.terminate()
        process.wait(30)
    assert process.returncode is not None


def test_the_command_refuses_a_bad_port():
    result = subprocess.run([sys.executable, "-m", "matgrad", "playground", "--port", "70000"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "a port from 0 to 65535" in result.stderr


def test_without_the_extra_the_command_says_how_to_install_it():
    code = ("import sys; sys.modules['starlette'] = None; from matgrad.cli import main; "
            "raise SystemExit(main(['playground', '--no-browser']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and 'pip install "matgrad[playground]"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
