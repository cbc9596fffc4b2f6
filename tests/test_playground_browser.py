"""matgrad playground in a real headless Chromium (Debian's, driven by Playwright for Python; the
browser is the system's: `.ci/run` installs it with apt, nothing is downloaded by Playwright).

Set MATGRAD_UPDATE_SCREENSHOTS=1 to write docs/images/playground-{derive,train,surface}.png from these tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect, sync_playwright

from matgrad.playground import create_app, running

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "images"
NETWORK = ("0.5*sum((sigmoid(W@x + b) - y)**2)", "W=3x4, x=4x1, b=3x1, y=3x1")
TRANSPOSED = "x @ ((sigmoid(W@x + b) - y) * sigmoid(W@x + b) * (1 - sigmoid(W@x + b))).T"
WAIT_MS = 60_000


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "the browser tests need Debian's chromium: apt-get install -y chromium (.ci/run does it)"
    return path


@pytest.fixture(scope="module")
def browser():
    with running(create_app(workers=2, time_limit=30.0)) as url, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            yield chromium, url
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    chromium, url = browser
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    yield page, url
    context.close()


def _derive(page, formula: str, shapes: str, wrt: str = "") -> None:
    page.fill("#formula", formula)
    page.fill("#shapes", shapes)
    page.fill("#wrt", wrt)
    page.click("#derive")
    page.wait_for_function("document.querySelector('#status').textContent !== 'deriving…'")


def _lines_all_checked(page) -> int:
    rows = page.locator("#backward tbody tr")
    count = rows.count()
    assert count >= 1
    for i in range(count):
        mark = rows.nth(i).locator("td.mark")
        assert mark.inner_text().startswith("✓"), mark.inner_text()
        assert rows.nth(i).locator(".katex").count() == 2  # the gradient's name and its formula, typeset
    header = page.locator("#backward thead tr").bounding_box()
    first, last = rows.first.bounding_box(), rows.last.bounding_box()
    # a table, not a strip: each row below the header and the one before it, as wide as the header
    assert first["y"] >= header["y"] + header["height"] - 1 and last["y"] >= first["y"]
    assert abs(first["width"] - header["width"]) < 2, (header, first)
    return count


def test_a_typed_formula_shows_every_line_checked_with_typeset_math(page):
    page, _ = page
    _derive(page, *NETWORK)
    expect(page.locator("#status")).to_have_text("every line checked ✓")
    assert _lines_all_checked(page) == 4  # ∂f/∂W, ∂f/∂x, ∂f/∂b, ∂f/∂y
    assert page.locator("#forward .katex-html").count() >= 2
    page.select_option("#notation", "differential")
    formulas = page.locator("#backward td.formula").all_inner_texts()
    assert all(text.startswith("df = ") and ": d" in text for text in formulas)


def test_a_transposed_answer_is_diagnosed_and_the_share_link_replays_it(page):
    page, _ = page
    _derive(page, *NETWORK, wrt="W")
    page.fill("#claim-wrt", "W")
    page.fill("#claim", TRANSPOSED)
    page.click("#check")
    verdict = page.locator("#verdict-line")
    expect(verdict).to_contain_text("its transpose is correct")
    assert page.locator("#verdict").get_attribute("data-kinds") == "layout"
    assert "(W x + b)" in page.locator("#verdict-details").inner_text()
    if os.environ.get("MATGRAD_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "playground-derive.png"), full_page=True)

    share = page.locator("#share").get_attribute("href")
    query = parse_qs(urlparse(share).query)
    assert query["formula"] == [NETWORK[0]] and query["claim"] == [TRANSPOSED]
    fresh = page.context.new_page()
    fresh.goto(share)  # the link alone asks the question again: derivation and verdict
    expect(fresh.locator("#verdict-line")).to_contain_text("its transpose is correct")
    assert fresh.input_value("#formula") == NETWORK[0] and _lines_all_checked(fresh) == 1


def test_hostile_input_in_the_page_is_refused_in_one_line(page):
    page, _ = page
    _derive(page, "sum(W@x)", "W=1000000x1000000, x=1000000x1")
    expect(page.locator("#status")).to_have_class("error")
    assert "cap of 1,000,000" in page.locator("#status").inner_text()
    assert page.locator("#result").is_hidden()
    _derive(page, *NETWORK)  # the page and the server go on
    expect(page.locator("#status")).to_have_text("every line checked ✓")


def test_train_page_plays_200_steps_and_the_test_accuracy_rises(browser):
    chromium, url = browser
    context = chromium.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(url.rstrip("/") + "/train")
        page.wait_for_selector("body[data-ready='1']")
        page.select_option("#data", "moons")
        page.click("#reset")
        page.wait_for_selector("body[data-step='0']")
        before = float(page.locator("body").get_attribute("data-test-accuracy"))
        page.click("#play")
        page.wait_for_function("Number(document.body.dataset.step) >= 200")
        page.click("#play")  # now Pause
        page.wait_for_selector("#play[data-playing='0']")
        after = float(page.locator("body").get_attribute("data-test-accuracy"))
        assert after >= 0.9 and after > before, (before, after)
        maps = page.locator("#backward .heatmap")
        shapes = {maps.nth(i).get_attribute("data-name"): maps.nth(i).get_attribute("data-shape")
                  for i in range(maps.count())}
        rows = {shapes.pop(name).split("x")[0] + "x" + str(width) for name, width in (("δ¹", 8), ("δ²", 8), ("δ³", 2))}
        # δ has a row per example of the minibatch: 16, or 12 for the last of an epoch (300 = 18 × 16 + 12)
        assert rows in ({"16x8", "16x2"}, {"12x8", "12x2"}), rows
        assert shapes == {"∂C/∂W¹": "2x8", "∂C/∂W²": "8x8", "∂C/∂W³": "8x2"}
        if os.environ.get("MATGRAD_UPDATE_SCREENSHOTS") == "1":
            page.screenshot(path=str(SCREENSHOTS / "playground-train.png"), full_page=True)
    finally:
        context.close()


def _open(browser, path: str, height: int = 1000):
    chromium, url = browser
    context = chromium.new_context(viewport={"width": 1280, "height": height})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url.rstrip("/") + path)
    page.wait_for_selector("body[data-ready='1']")
    return context, page


def _surface(page) -> dict:
    return page.locator("#surface").evaluate("c => ({...c.dataset})")


def _colours(page) -> int:
    """How many distinct colours the surface's canvas holds (a blank or one-colour canvas has 1 or 2)."""
    return page.locator("#surface").evaluate("""c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, seen = new Set();
        for (let k = 0; k < d.length; k += 4 * 7) seen.add(d[k] << 16 | d[k + 1] << 8 | d[k + 2]);
        return seen.size; }""")


def test_surface_page_draws_the_cost_arrows_and_the_path_as_the_network_trains(browser):
    context, page = _open(browser, "/surface?data=moons&layers=8,8&w1=W3[0,0]&w2=W3[1,1]")
    try:
        expect(page.locator("#status")).to_contain_text("drawn in")
        first = _surface(page)
        assert first["step"] == "0" and int(first["arrows"]) >= 100 and first["path"] == "0" and _colours(page) > 50
        assert "W3 8×2" in page.locator("#parameters").inner_text()
        for steps in ("25", "50", "75"):  # each click trains the session 25 steps and redraws its surface
            page.click("#train")
            page.wait_for_function(f"document.querySelector('#surface').dataset.step === '{steps}' "
                                   "&& document.body.dataset.state === 'done'")
        trained = _surface(page)
        assert int(trained["path"]) >= 10 and int(trained["arrows"]) >= 100
        assert "session=" in page.url and "w1=W3%5B0%2C0%5D" in page.url
        if os.environ.get("MATGRAD_UPDATE_SCREENSHOTS") == "1":
            page.screenshot(path=str(SCREENSHOTS / "playground-surface.png"), full_page=True)

        page.click("#play")  # trains and redraws, round after round, until paused
        page.wait_for_function("Number(document.querySelector('#surface').dataset.step) >= 150")
        page.click("#play")
        page.wait_for_selector("#play[data-playing='0']")
        page.wait_for_function("document.body.dataset.state === 'done'")
        paused = _surface(page)["step"]
        page.wait_for_timeout(400)
        assert _surface(page)["step"] == paused and int(paused) % 25 == 0

        page.fill("#w1", "W9[0,0]")  # hostile or mistaken input: one line, and the picture stays
        page.click("#draw")
        expect(page.locator("#status")).to_have_class("error")
        assert "no parameter 'W9' in this network" in page.locator("#status").inner_text()
        page.fill("#w1", "W3[0,0]")
        page.fill("#resolution", "100000")
        page.click("#draw")
        expect(page.locator("#status")).to_contain_text("resolution must be an integer from 2 to")
        assert _surface(page)["step"] == paused and _colours(page) > 50

        page.click("#train-link")  # the Train page takes the same network over, where it is now
        page.wait_for_selector("body[data-ready='1']")
        expect(page.locator("#status")).to_contain_text("the network of the session you came from")
        assert page.locator("body").get_attribute("data-step") == paused and page.input_value("#layers") == "8,8"
    finally:
        context.close()


def test_train_share_link_replays_digits_with_the_mse_loss(browser):
    context, page = _open(browser, "/train?data=digits&loss=mse&layers=16&lr=0.05")
    try:
        assert page.input_value("#data") == "digits" and page.input_value("#loss") == "mse"
        assert page.locator("#regions-figure").is_hidden()
        assert "64 features" in page.locator("#digits-note").inner_text()
        assert page.locator("#loss-name").inner_text() == "Mean squared error"
        page.click("#step")
        page.wait_for_selector("body[data-step='1']")
        maps = page.locator("#backward .heatmap")
        assert {maps.nth(i).get_attribute("data-shape") for i in range(maps.count())} == {"16x16", "64x16", "16x10"}
        query = parse_qs(urlparse(page.locator("#share").get_attribute("href")).query)
        assert query["data"] == ["digits"] and query["loss"] == ["mse"] and query["lr"] == ["0.05"]
        surface_link = parse_qs(urlparse(page.locator("#surface-link").get_attribute("href")).query)
        assert surface_link["session"][0] and surface_link["layers"] == ["16"]
    finally:
        context.close()
