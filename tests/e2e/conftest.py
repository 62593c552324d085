"""Real-browser fixtures: the test app served on a free port, Debian's Chromium driven by Playwright.

Playwright cannot download its own browser here, so it drives /usr/bin/chromium (`.ci/run` installs it)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from service.app import RequestHandler

CHROMIUM = "/usr/bin/chromium"
# Runs as root on a closed network: no sandbox, no GPU, nothing that phones home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def live_server(app):
    """The `app` fixture (test database, fixed `clock`) served over HTTP; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=RequestHandler)  # no Werkzeug header
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        # fail, not skip: a run without a browser must not pass silently
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
                    "`playwright install` cannot download a browser here", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _save_screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


@pytest.fixture
def screenshot():
    """`screenshot(page, name)` saves a full-page PNG to artifacts/screenshots/<name>.png."""
    return _save_screenshot
