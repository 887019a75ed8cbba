"""The set-up every browser test shares (Debian's chromium driven by Playwright, no browser download):
a project with a 300-product demo shop, the task verbs over it on a frozen clock, a real uvicorn server
on 127.0.0.1 in a thread, one Chromium per module, `login` (a page logged in, on the way to a path, as
whom and in what window a test says) and `page` (the default one); `shoot` saves screenshots
(build/test-artifacts/web/, and docs/images/web/ with HEARTBEAT_DOCS_SCREENSHOTS=1).

A test module imports the fixtures it uses by name, with those they depend on (pytest finds a fixture
in the module's namespace). A module that needs another project builds it with `make_project` and
`make_tasks` in fixtures of its own (tests/test_web_categories_browser.py). Without Chromium or
Playwright, every test of a module importing this one is skipped with the reason."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

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
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}  # login(**PHONE)
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


def shoot(page, name: str, *, full_page: bool = True, docs: bool = True) -> None:
    """The page into the test artifacts (the whole page, or what the window shows); with `docs`, also
    into docs/images/web/ when HEARTBEAT_DOCS_SCREENSHOTS=1."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)
    if docs and os.environ.get("HEARTBEAT_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS / f"{name}.png")


def row(page, task_id: int):
    """A task's row in the tasks table."""
    return page.locator(f"#task-{task_id}")


def make_project(folder: Path, config: str = CONFIG, products: int = 300) -> Path:
    """`folder` with `config` as heartbeat.toml and a demo shop of `products` products on connection shop."""
    toml = folder / "heartbeat.toml"
    toml.write_text(config)
    out = subprocess.run([*HEARTBEAT, "--config", str(toml), "demo", "init", "--products", str(products),
                          "--connection", "shop"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return folder


def make_tasks(project: Path, clock) -> TaskManager:
    """The task verbs over the project's config file, with `.beat` ticking on the frozen clock."""
    config = config_module.load(project / "heartbeat.toml")
    store = make_store(config.database_url)
    manager = TaskManager(config, store, clock)
    manager.beat = Heartbeat(config, store, clock=clock, owner="web-test:1:1")
    return manager


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


@pytest.fixture
def tasks(project, clock):
    return make_tasks(project, clock)


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
def login(browser, base):
    """login(path="/", name=None, password=PASSWORD, **options) -> a page in a new browser context made
    with `options` (1280x720 unless told), sent to the login page on its way to `path`, logged in, and
    on `path`. The contexts are closed after the test."""
    contexts = []

    def log_in(path: str = "/", name: str | None = None, password: str = PASSWORD, **options):
        options = {"viewport": {"width": 1280, "height": 720}, **options}
        context = browser.new_context(base_url=base, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(path)
        expect(page).to_have_url(re.compile(rf"/login\?next={re.escape(path)}$"))
        if name is not None:
            page.fill("#name", name)
        page.fill("#password", password)
        page.click("button:text('Log in')")
        expect(page).to_have_url(base + path)
        return page

    yield log_in
    for context in contexts:
        context.close()


@pytest.fixture
def page(login):
    """A logged-in page on /, in Paris time, its downloads accepted."""
    return login(timezone_id="Europe/Paris", locale="en-GB", accept_downloads=True)
