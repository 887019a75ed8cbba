"""Named users in a real headless Chromium (as tests/test_web_browser.py): what each role sees, a
viewer refused an operator's action, retry of failed items from the page, the Audit page after a
kill and a fix, the timeline's bars. Screenshots go to build/test-artifacts/web/ (and docs/images/web/
with HEARTBEAT_DOCS_SCREENSHOTS=1). The set-up mirrors tests/test_web_browser.py's (test modules do
not import each other)."""

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
from heartbeat.services.users import hash_password
from heartbeat.web import server
from tests.helpers import execute, make_store
from tests.processes import HEARTBEAT, ROOT
from tests.web import make_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                                             "(pip install -e '.[dev]')")
NO_CHROMIUM = "no Chromium on this machine (apt-get install chromium)"
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
[[profiles]]
name = "demo-export"
kind = "export"
source = "shop"
batch_size = 60
[[profiles]]
name = "nightly-export"
kind = "export"
source = "shop"
schedule = "30 2 * * *"
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
    subprocess.run([*HEARTBEAT, "--config", str(tmp_path / "heartbeat.toml"), "demo", "init", "--products",
                    "300", "--connection", "shop"], capture_output=True, text=True, check=True)
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


pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)]
expect = sync_api.expect
SECRET = "a long enough password"
SECRET_HASH = hash_password(SECRET)
PEOPLE = {"viewer": "vera", "operator": "otto", "admin": "ada"}


@pytest.fixture
def people(tasks):
    for role, name in PEOPLE.items():
        tasks.store.users.add(name, role, SECRET_HASH, tasks.clock.now())
    return PEOPLE


@pytest.fixture
def login(browser, base, people):
    """login(role) -> a page logged in as that role's user."""
    contexts = []

    def open_as(role: str):
        context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 720})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/")
        page.fill("#name", people[role])
        page.fill("#password", SECRET)
        page.click("button:text('Log in')")
        expect(page).to_have_url(base + "/")
        expect(page.locator(".who")).to_have_text(f"{people[role]} · {role}")
        return page

    yield open_as
    for context in contexts:
        context.close()


def row(page, task_id: int):
    return page.locator(f"#task-{task_id}")


def test_each_role_sees_the_actions_it_may_take(login, tasks):
    running, finished = tasks.queue("demo-export"), None
    tasks.beat.tick()
    for role in ("viewer", "operator", "admin"):
        page = login(role)
        actions = row(page, running.id)
        expect(actions.locator("a:text('Report')")).to_be_visible()  # everybody reads
        expect(actions.locator("button:text('Kill Task')")).to_have_count(0 if role == "viewer" else 1)
        expect(actions.locator("a:text('Delete')")).to_have_count(1 if role == "admin" else 0)
        expect(page.locator("nav a:text('Audit')")).to_have_count(1)
        expect(page.locator("nav a:text('Users')")).to_have_count(1 if role == "admin" else 0)
        shoot(page, f"tasks-as-{role}")
        page.goto("/profiles")
        expect(page.locator("button:text('Run now')")).to_have_count(0 if role == "viewer" else 2)
        page.goto("/users")
        if role != "admin":
            expect(page.locator("body")).to_contain_text(f"{PEOPLE[role]} is a")
            expect(page.locator("body")).to_contain_text("this needs the admin role")
        else:
            expect(page.locator("#user-vera")).to_be_visible()
            shoot(page, "users")
    assert finished is None


def test_a_viewer_is_refused_an_operators_action_with_the_reason(login, tasks):
    task = tasks.queue("demo-export")
    page = login("viewer")
    answer = page.evaluate("""async (id) => {
        const csrf = document.body.dataset.csrf;
        const r = await fetch(`/tasks/${id}/kill`, {method: "POST", headers: {"X-CSRF-Token": csrf}});
        return [r.status, await r.text()];
    }""", task.id)
    assert answer[0] == 403 and "vera is a viewer; this needs the operator role" in answer[1]
    assert tasks.show(task.id).status == "pending"


def test_retry_the_failed_items_from_the_page(login, tasks, project):
    shop = f"sqlite:///{project}/data/demo-shop.db"
    execute(shop, "UPDATE ps_product_shop SET price = -5 WHERE id_product = 9")
    first = tasks.queue("demo-export")
    tasks.beat.run_until_idle()
    execute(shop, "UPDATE ps_product_shop SET price = 9 WHERE id_product = 9")
    page = login("operator")
    page.goto(f"/tasks/{first.id}")
    page.click("button:text('Retry failed')")
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    retry_id = int(page.url.rsplit("/", 1)[1])
    flash = f"Task {retry_id} queued: a retry of task {first.id}'s error items."
    expect(page.locator(".flash.ok")).to_have_text(flash)
    expect(page.locator("#live a.retry-of")).to_have_text(f"task {first.id}")
    tasks.beat.run_until_idle()
    expect(page.locator("#live .badge")).to_have_text("Completed")
    expect(page.locator("#live .n-total")).to_have_text("1")
    shoot(page, "task-retry")
    assert tasks.show(retry_id).retry_of == first.id and tasks.show(retry_id).progress.processed == 1


def test_the_audit_page_after_a_kill_and_a_fix(login, tasks, project):
    task = tasks.queue("demo-export")
    tasks.beat.tick()
    page = login("operator")
    row(page, task.id).locator("button:text('Kill Task')").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"Task {task.id} killed")
    fix = subprocess.run([*HEARTBEAT, "--config", str(project / "heartbeat.toml"), "maintenance", "run",
                          "shop", "fix-orphans"], capture_output=True, text=True, cwd=project, check=True)
    fix_id = int(fix.stdout.split()[-1])
    tasks.beat.run_until_idle()
    page.click("nav a:text('Audit')")
    rows = page.locator("#audit tbody tr")
    expect(rows.first.locator("td[data-label='Action']")).to_have_text("maintenance.run")
    expect(rows.first.locator("td[data-label='Via']")).to_have_text("cli")
    expect(rows.first.locator("td[data-label='Detail']")).to_have_text(f"task {fix_id}: products fix-orphans")
    killed = rows.nth(1)
    expect(killed.locator("td[data-label='Who']")).to_have_text("otto")
    expect(killed.locator("td[data-label='From']")).to_have_text("127.0.0.1")
    expect(killed.locator("td[data-label='Action']")).to_have_text("task.kill")
    expect(killed.locator("td[data-label='On'] a")).to_have_text(f"task:{task.id}")
    shoot(page, "audit")
    assert "killed by otto (web, 127.0.0.1)" in "".join(tasks.log(task.id))


def test_the_timeline_shows_each_task_as_a_bar_with_its_counters(login, tasks):
    task = tasks.queue("demo-export")
    tasks.beat.run_until_idle()
    page = login("viewer")
    bar = page.locator(f"svg.tl rect[data-task='{task.id}']")
    expect(bar).to_have_class(re.compile("s-completed"))
    expect(bar.locator("title")).to_contain_text("Processed 300")
    expect(page.locator("svg.tl .lane-label")).to_have_text(["demo-export", "nightly-export"])
    shoot(page, "timeline")
