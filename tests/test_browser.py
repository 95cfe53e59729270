"""End to end: Voilà serves notebooks/08_playground.ipynb, headless Chromium drives it like a person."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

# Skipped on a machine without Chromium, but never in CI, which installs it (.ci/run): there it must run.
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="needs Debian's chromium (apt-get install chromium)",
)


@pytest.fixture
def voila(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "voila.log", "w")  # noqa: SIM115 -- the server writes to it until the fixture ends
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            str(ROOT / "notebooks" / "08_playground.ipynb"),
            f"--port={port}",
            "--no-browser",
            "--Voila.ip=127.0.0.1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env={**os.environ, "TORCH_HOME": str(tmp_path)},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("voila did not start: " + (tmp_path / "voila.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def set_slider(scope, label, value):
    """Types into an ipywidgets slider's editable readout, as a person can."""
    readout = scope.locator(f".widget-slider:has(label:text-is('{label}')) .widget-readout").first
    page = scope.page if hasattr(scope, "page") else scope
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def wait_for_change(page, element, before, timeout):
    """Waits until ``element``'s src differs from ``before``; an error shown in the page fails at once."""
    page.wait_for_function(
        """([el, before]) => (el.getAttribute('src') && el.getAttribute('src') !== before)
            || [...document.querySelectorAll('.stylekit-status, .stylekit-instant-status')]
                   .some(s => s.innerText.includes('Error:'))""",
        arg=[element.element_handle(), before],
        timeout=timeout,
    )
    shown = [s.inner_text() for s in page.locator(".stylekit-status, .stylekit-instant-status").all()]
    assert not any("Error:" in text for text in shown), shown


def test_playground_in_voila_run_and_stop(voila):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(voila, timeout=120_000)
            # The first tab: a shipped fast model restyles the photo as soon as the page opens.
            instant = page.locator(".stylekit-instant").first
            instant.wait_for(state="visible", timeout=180_000)
            page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=True)
            first_tab = page.locator(".stylekit-tab-0").first
            assert "px in" in page.locator(".stylekit-instant-status").first.inner_text()
            assert first_tab.locator("img").count() >= 3  # photo and style thumbnails, the result
            before = instant.get_attribute("src")
            set_slider(first_tab, "strength", 0.3)
            wait_for_change(page, instant, before, 30_000)
            # The optimisation tab, essentials in view.
            page.locator(".lm-TabBar-tab", has_text="Style transfer").first.click()
            tab = page.locator(".stylekit-tab-1").first
            run = tab.locator(".stylekit-run").first
            run.wait_for(state="visible", timeout=60_000)
            set_slider(tab, "size", 48)
            set_slider(tab, "steps", 1000)
            preview = page.locator(".stylekit-preview").first
            before = preview.get_attribute("src")
            run.click()
            wait_for_change(page, preview, before, 120_000)
            # The preview is a real picture of the size asked for (48 px on its longest side).
            size = preview.evaluate("el => el.decode().then(() => [el.naturalWidth, el.naturalHeight])")
            running = page.locator(".stylekit-status").first.inner_text()
            page.locator(".stylekit-stop").first.click()
            status = page.locator(".stylekit-status").first
            status.filter(has_text="Stopped at step").wait_for(timeout=60_000)
            text = status.inner_text()
            page.screenshot(path=str(ARTIFACTS / "playground-transfer.png"), full_page=True)
        finally:
            browser.close()
    assert errors == [], errors
    assert max(size) == 48 and min(size) > 0, size
    assert "/1000 " in running, running  # the status counts towards the steps asked for
    assert "the latest image is kept" in text
    steps = int(text.split("Stopped at step ")[1].split(";")[0])
    assert 1 <= steps < 1000
