"""matgrad playground in a real headless Chromium (Debian's, driven by Playwright for Python; the
browser is the system's: `.ci/run` installs it with apt, nothing is downloaded by Playwright).

Set MATGRAD_UPDATE_SCREENSHOTS=1 to write docs/images/playground-derive.png from these tests."""

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
        assert shapes == {"δ¹": "16x8", "∂C/∂W¹": "2x8", "δ²": "16x8", "∂C/∂W²": "8x8", "δ³": "16x2", "∂C/∂W³": "8x2"}
        if os.environ.get("MATGRAD_UPDATE_SCREENSHOTS") == "1":
            page.screenshot(path=str(SCREENSHOTS / "playground-train.png"), full_page=True)
    finally:
        context.close()
