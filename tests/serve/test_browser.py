"""The page in a real browser: headless Chromium (Debian's package, which `make test`
installs) driven by Playwright. A digit of the test set is drawn stroke by stroke and
read right; a training is started, its loss chart gains points, it is stopped and shows
in the runs. Screenshots of each page go to the test's temporary folder."""

import os
import shutil

import pytest
from playwright import sync_api
from serve_helpers import CONV, MLP, ServerThread, drawable_digit, strokes

from layerwise.serve.app import create_app

# A missing browser fails the test (make test installs it): it is never skipped.
CHROMIUM = os.environ.get("LAYERWISE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.slow


@pytest.fixture
def browser_page():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
        assert errors == [], f"the page raised: {errors}"


def draw(page, digit):
    """Draws ``digit`` (8x8) on the canvas, stroke by stroke, as a person with a mouse would."""
    canvas = page.get_by_test_id("draw-canvas")
    for (x0, y0), (x1, y1) in strokes(digit):
        box = canvas.bounding_box()  # where the canvas is now
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        page.mouse.move(box["x"] + x1, box["y"] + y1, steps=5)
        page.mouse.up()


def test_draw_a_digit_train_and_see_the_runs(runs_folder, tmp_path, digits, browser_page):
    expect = sync_api.expect
    page = browser_page
    app = create_app([runs_folder], runs_folder=tmp_path / "live")
    served = app.state.served.registry.get(MLP)
    index = drawable_digit(served, digits.X_test, digits.y_test)
    label = str(digits.y_test[index])
    with ServerThread(app) as server:
        # Draw: the digit, stroke by stroke, read right
        page.goto(server.url + "#draw")
        picker = page.get_by_test_id("model-picker")
        expect(picker.locator(f'option[value="{MLP}"]')).to_have_count(1)
        picker.select_option(MLP)
        expect(page.locator("#weights canvas")).to_have_count(32)  # the first layer's 32 units
        draw(page, digits.X_test[index])
        expect(page.get_by_test_id("predicted-label")).to_have_text(label, timeout=15_000)
        expect(page.get_by_test_id("probabilities").locator(".track")).to_have_count(10)
        expect(page.locator("#layers .layer")).to_have_count(4)  # the input and the three layers
        page.screenshot(path=tmp_path / "draw.png", full_page=True)

        # a convolutional network: its channel maps
        picker.select_option(CONV)
        expect(page.locator("#layers .maps canvas").first).to_be_visible(timeout=15_000)
        page.screenshot(path=tmp_path / "draw-conv.png", full_page=True)
        page.get_by_test_id("clear").click()
        expect(page.get_by_test_id("predicted-label")).to_have_text("–")

        # Train live: the tutorial's network, long enough to be watched and stopped
        page.goto(server.url + "#train")
        page.locator("#setting-epochs").fill("100000")
        page.get_by_test_id("train-start").click()
        chart = page.get_by_test_id("loss-chart")
        page.wait_for_function(
            "() => Number(document.querySelector('[data-testid=loss-chart]').dataset.points) >= 3"
        )
        seen = int(chart.get_attribute("data-points"))
        page.wait_for_function(
            f"() => Number(document.querySelector('[data-testid=loss-chart]').dataset.points) > {seen}"
        )
        assert page.locator("#loss-chart path.line").count() == 2  # training and validation
        page.screenshot(path=tmp_path / "train.png", full_page=True)
        page.get_by_test_id("train-stop").click()
        expect(page.locator("#train-state")).to_have_text("stopped", timeout=15_000)
        expect(page.locator("#train-resume")).to_be_visible()

        # Runs: the stopped run among them, its curves overlaid with the others'
        page.goto(server.url + "#runs")
        expect(page.locator("#runs-table tbody tr")).to_have_count(5)
        expect(page.locator("#runs-table .badge.interrupted")).to_have_count(1)
        expect(page.locator("#compare-loss path.line").first).to_be_visible()
        page.screenshot(path=tmp_path / "runs.png", full_page=True)
    for name in ("draw.png", "draw-conv.png", "train.png", "runs.png"):
        assert (tmp_path / name).stat().st_size > 10_000
