"""The browser tests' set-up (Debian's chromium driven by Playwright, no browser download): a project
with a 300-product demo shop, the task verbs over it on a frozen clock, a real uvicorn server on
127.0.0.1 in a thread, one Chromium per module and a logged-in page; `shoot` saves screenshots
(build/test-artifacts/web/, and docs/images/web/ with HEARTBEAT_DOCS_SCREENSHOTS=1). The same
set-up as tests/test_web_browser.py, for the browser tests of other pages (tests/test_screens_browser.py)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import threading

import pytest

from heartbeat.config import loader as config_module
from heartbeat.engine.beat import Heartbeat
from heartbeat.services.tasks import TaskManager
from heartbeat.web import server
from tests.helpers import make_store
from tests.processes import HEARTBEAT, ROOT
from tests.web import PASSWORD, make_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                                             "(pip install -e '.[dev]')")
NO_CHROMIUM = "no Chromium on this machine (apt-get install chromium)"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)]
expect = sync_api.expect

ARTIFACTS = ROOT / "build" / "test-artifacts" / "web"
DOCS = ROOT / "docs" / "images" / "web"
CONFIG = """
[heartbeat]
data_dir = "data"
[database]
url = "sqlite:///data/state.db"
[connections.shop]
type = "prestashop"
url = "sqlite:///data/demo-shop.db"
[connections.exports]
type = "directory"
path = "data/exports"
[[profiles]]
name = "demo-export"
kind = "export"
source = "shop"
target = "exports"
batch_size = 60
[[profiles]]
name = "nightly-export"
kind = "export"
source = "shop"
target = "exports"
schedule = "30 2 * * *"
timezone = "Europe/Paris"
batch_size = 500
"""


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if os.environ.get("HEARTBEAT_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS / f"{name}.png")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "heartbeat.toml").write_text(CONFIG)
    out = subprocess.run([*HEARTBEAT, "--config", str(tmp_path / "heartbeat.toml"), "demo", "init",
                          "--products", "300", "--connection", "shop"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return tmp_path


@pytest.fixture
def tasks(project, clock):
    """The task verbs over the project's config file, with `.beat` ticking on the frozen clock."""
    config = config_module.load(project / "heartbeat.toml")
    store = make_store(config.database_url)
    manager = TaskManager(config, store, clock)
    manager.beat = Heartbeat(config, store, clock=clock, owner="web-test:1:1")
    return manager


@pytest.fixture
def base(tasks, clock):
    """A real uvicorn server on 127.0.0.1 in a thread, refreshing pages every 0.3 s."""
    srv = server.server(make_app(tasks, clock, refresh_seconds=0.3))
    sock = server.bind("127.0.0.1", 0)
    thread = threading.Thread(target=lambda: asyncio.run(srv.serve(sockets=[sock])), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    srv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, base):
    """A logged-in page, in Paris time, its downloads accepted."""
    context = browser.new_context(base_url=base, timezone_id="Europe/Paris", locale="en-GB",
                                  viewport={"width": 1280, "height": 720}, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.fill("#password", PASSWORD)
    page.click("button:text('Log in')")
    expect(page).to_have_url(base + "/")
    yield page
    context.close()
