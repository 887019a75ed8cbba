"""The Task Manager page in a real headless Chromium (Debian's `chromium`, driven by Playwright for
Python; no browser download): log in, watch a running task's progress move as the test ticks the
heartbeat, hover the progress bar, download a report and compare it with the CLI's bytes, kill a
running task, delete a task after confirming, run a profile now, and a phone-width view.

Each page's screenshot is saved under build/test-artifacts/web/; with HEARTBEAT_DOCS_SCREENSHOTS=1
they are also written to docs/images/web/ for docs/web.md. The set-up is tests/browser.py's: skipped,
with the reason, when Chromium or Playwright is missing (`.ci/run` installs Chromium)."""

# ruff: noqa: F811 (the fixtures of tests/browser.py are imported by name)
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.browser import (  # noqa: F401 (fixtures)
    PASSWORD,
    PHONE,
    base,
    browser,
    expect,
    login,
    page,
    project,
    pytestmark,
    row,
    shoot,
    tasks,
)
from tests.processes import HEARTBEAT


def test_log_in_shows_the_login_page_first(browser, base):
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.goto("/profiles")
    expect(page.locator("#password")).to_be_visible()
    shoot(page, "login")
    page.fill("#password", "wrong password!")
    page.click("button:text('Log in')")
    expect(page.locator(".flash.error")).to_have_text("Wrong user name or password.")
    page.fill("#password", PASSWORD)
    page.click("button:text('Log in')")
    expect(page).to_have_url(base + "/profiles")  # back where it was going
    context.close()


def test_watch_a_running_task_move_and_hover_its_progress(page, tasks, clock):
    task = tasks.queue("demo-export")
    page.reload()
    expect(row(page, task.id).locator(".badge")).to_have_text("Pending")
    tasks.beat.tick()  # starts it: the first batch of 60
    expect(row(page, task.id).locator(".count")).to_have_text("60/300 · 20%")
    expect(row(page, task.id).locator(".badge")).to_have_text("Running")
    clock.advance(5)
    tasks.beat.tick()
    expect(row(page, task.id).locator(".count")).to_have_text("120/300 · 40%")
    row(page, task.id).locator(".progress").hover()
    tip = row(page, task.id).locator(".tip")
    expect(tip).to_be_visible()
    expect(tip.locator(".n-pending")).to_have_text("180")
    expect(tip.locator(".n-processed")).to_have_text("120")
    shoot(page, "tasks-progress-hover")
    # times in the viewer's zone (Paris, UTC+1 in November), UTC on hover
    scheduled = row(page, task.id).locator("td[data-label='Scheduled At'] time")
    expect(scheduled).to_have_text("02/11/2026, 10:00")
    expect(scheduled).to_have_attribute("title", "2026-11-02 09:00:30 UTC")
    page.goto(f"/tasks/{task.id}")
    clock.advance(5)
    tasks.beat.tick()
    expect(page.locator("#live .count")).to_have_text("180/300 · 60%")
    shoot(page, "task-running")
    tasks.beat.run_until_idle()
    expect(page.locator("#live .badge")).to_have_text("Completed")
    expect(page.locator("#live")).to_have_attribute("data-active", "0")  # refreshing stops


def test_download_a_report_equal_to_the_cli(page, tasks, project):
    task = tasks.queue("demo-export")
    tasks.beat.run_until_idle()
    page.reload()
    shoot(page, "tasks")
    cli = subprocess.run([*HEARTBEAT, "--config", str(project / "heartbeat.toml"), "tasks", "report",
                          str(task.id)], capture_output=True, cwd=project).stdout
    for link, name, want in (("Report", "report.csv", cli), ("Actions Log", "log.txt", None)):
        with page.expect_download() as download:
            row(page, task.id).locator(f"a:text('{link}')").click()
        assert download.value.suggested_filename == f"task-{task.id}-{name}"
        got = Path(download.value.path()).read_bytes()
        if want is not None:
            assert got == want and got.count(b"\n") == 301


def test_kill_a_running_task(page, tasks):
    task = tasks.queue("demo-export")
    tasks.beat.tick()
    page.reload()
    row(page, task.id).locator("button:text('Kill Task')").click()
    expect(page.locator(".flash.ok")).to_have_text(f"Task {task.id} killed: 240 pending items cancelled.")
    expect(row(page, task.id).locator(".badge")).to_have_text("Killed")
    expect(row(page, task.id).locator("button:text('Kill Task')")).to_have_count(0)
    assert tasks.show(task.id).status == "killed"


def test_delete_a_task_after_confirming(page, tasks):
    task = tasks.queue("demo-export")
    tasks.beat.run_until_idle()
    page.reload()
    row(page, task.id).locator("a:text('Delete')").click()
    expect(page.locator("h1")).to_have_text(f"Delete task {task.id}?")
    shoot(page, "delete-confirm")
    page.click("a:text('Cancel')")
    expect(row(page, task.id)).to_be_visible()  # cancelled: still there
    row(page, task.id).locator("a:text('Delete')").click()
    page.click(f"button:text('Delete task {task.id}')")
    expect(page.locator(".flash.ok")).to_have_text(f"Task {task.id} deleted.")
    expect(row(page, task.id)).to_have_count(0)
    assert tasks.list() == []


def test_run_a_profile_now(page, tasks):
    page.goto("/profiles")
    expect(page.locator("#profile-nightly-export td[data-label='Schedule']")).to_contain_text(
        "every day at 02:30 (Europe/Paris)")
    expect(page.locator("#profile-demo-export .stats")).to_have_text("300 new · 0 changed · 0 deleted")
    shoot(page, "profiles")
    page.locator("#profile-demo-export button:text('Run now')").click()
    task = tasks.list(limit=1)[0]
    expect(page).to_have_url(re.compile(rf"/tasks/{task.id}$"))
    expect(page.locator(".flash.ok")).to_have_text(f"Export profile demo-export: queued task {task.id}.")
    tasks.beat.tick()
    expect(page.locator("#live .count")).to_have_text("60/300 · 20%")


def test_phone_width(login, tasks):
    for _ in range(2):
        tasks.queue("demo-export")
        tasks.beat.run_until_idle()
    tasks.queue("demo-export")
    tasks.beat.tick()
    page = login(**PHONE, timezone_id="UTC")
    expect(page.locator("#task-3 td[data-label='Status']")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    shoot(page, "tasks-phone")
