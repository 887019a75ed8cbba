"""Named users in a real headless Chromium (as tests/test_web_browser.py): what each role sees, a
viewer refused an operator's action, retry of failed items from the page, the Audit page after a
kill and a fix, the timeline's bars. Screenshots go to build/test-artifacts/web/ (and docs/images/web/
with HEARTBEAT_DOCS_SCREENSHOTS=1). The set-up is tests/browser.py's."""

# ruff: noqa: F811 (the fixtures of tests/browser.py are imported by name)
from __future__ import annotations

import re
import subprocess

import pytest

from heartbeat.services.users import hash_password
from tests.browser import (  # noqa: F401 (fixtures)
    base,
    browser,
    expect,
    login,
    project,
    pytestmark,
    row,
    shoot,
    tasks,
)
from tests.helpers import execute
from tests.processes import HEARTBEAT

SECRET = "a long enough password"
SECRET_HASH = hash_password(SECRET)
PEOPLE = {"viewer": "vera", "operator": "otto", "admin": "ada"}


@pytest.fixture
def people(tasks):
    for role, name in PEOPLE.items():
        tasks.store.users.add(name, role, SECRET_HASH, tasks.clock.now())
    return PEOPLE


@pytest.fixture
def login_as(login, people):
    """login_as(role) -> a page logged in as that role's user."""

    def as_role(role: str):
        page = login(name=people[role], password=SECRET)
        expect(page.locator(".who")).to_have_text(f"{people[role]} · {role}")
        return page

    return as_role


def test_each_role_sees_the_actions_it_may_take(login_as, tasks):
    running, finished = tasks.queue("demo-export"), None
    tasks.beat.tick()
    for role in ("viewer", "operator", "admin"):
        page = login_as(role)
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


def test_a_viewer_is_refused_an_operators_action_with_the_reason(login_as, tasks):
    task = tasks.queue("demo-export")
    page = login_as("viewer")
    answer = page.evaluate("""async (id) => {
        const csrf = document.body.dataset.csrf;
        const r = await fetch(`/tasks/${id}/kill`, {method: "POST", headers: {"X-CSRF-Token": csrf}});
        return [r.status, await r.text()];
    }""", task.id)
    assert answer[0] == 403 and "vera is a viewer; this needs the operator role" in answer[1]
    assert tasks.show(task.id).status == "pending"


def test_retry_the_failed_items_from_the_page(login_as, tasks, project):
    shop = f"sqlite:///{project}/data/demo-shop.db"
    execute(shop, "UPDATE ps_product_shop SET price = -5 WHERE id_product = 9")
    first = tasks.queue("demo-export")
    tasks.beat.run_until_idle()
    execute(shop, "UPDATE ps_product_shop SET price = 9 WHERE id_product = 9")
    page = login_as("operator")
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


def test_the_audit_page_after_a_kill_and_a_fix(login_as, tasks, project):
    task = tasks.queue("demo-export")
    tasks.beat.tick()
    page = login_as("operator")
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


def test_the_timeline_shows_each_task_as_a_bar_with_its_counters(login_as, tasks):
    task = tasks.queue("demo-export")
    tasks.beat.run_until_idle()
    page = login_as("viewer")
    bar = page.locator(f"svg.tl rect[data-task='{task.id}']")
    expect(bar).to_have_class(re.compile("s-completed"))
    expect(bar.locator("title")).to_contain_text("Processed 300")
    expect(page.locator("svg.tl .lane-label")).to_have_text(["demo-export", "nightly-export"])
    shoot(page, "timeline")
