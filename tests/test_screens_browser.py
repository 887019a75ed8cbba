"""The seeds' screens in a real headless Chromium (Debian's chromium, driven by Playwright; issue 25):
connections and their stats, the maintenance tab from analysis to fix to undo, pausing and resuming a
profile, the Configure page, CSRF on every new form, and a phone's width. Screenshots go to
build/test-artifacts/web/ (and docs/images/web/ with HEARTBEAT_DOCS_SCREENSHOTS=1); the set-up is
tests/browser.py's."""

# ruff: noqa: F811 (the fixtures of tests/browser.py are imported by name)
from __future__ import annotations

import sqlalchemy as sa

from tests.browser import (  # noqa: F401 (fixtures)
    PHONE,
    base,
    browser,
    expect,
    login,
    page,
    project,
    pytestmark,
    shoot,
    tasks,
)


def shop_sql(project, sql: str):
    engine = sa.create_engine(f"sqlite:///{project / 'data' / 'demo-shop.db'}")
    with engine.begin() as conn:
        rows = conn.execute(sa.text(sql)).all() if sql.lstrip().lower().startswith("select") else \
            conn.execute(sa.text(sql))
    engine.dispose()
    return rows


def test_connections_and_the_number_in_red(page, tasks, project):
    tasks.queue("demo-export")
    tasks.beat.run_until_idle()
    shop_sql(project, "UPDATE ps_product SET price = price + 1 WHERE id_product <= 7")
    shop_sql(project, "UPDATE ps_product_shop SET price = price + 1 WHERE id_product <= 7")
    page.goto("/")
    page.click("nav >> text=Connections")
    expect(page.locator("#connection-shop td[data-label='Type']")).to_have_text("prestashop")
    page.locator("#connection-shop button:text('Check')").click()
    expect(page.locator(".flash.ok")).to_contain_text("shop: reachable (")
    shoot(page, "connections")
    page.locator("#connection-shop a:text('Stats')").click()
    expect(page.locator("#stats-demo-export .n-changed .red")).to_have_text("7")
    expect(page.locator("#stats-demo-export .n-unchanged")).to_have_text("293")
    expect(page.locator("#stats-nightly-export .n-new .red")).to_have_text("300")
    shoot(page, "connection-stats")


def test_maintenance_tab_from_analysis_to_fix_to_undo(page, tasks, project):
    shop_sql(project, "UPDATE ps_product SET reference = ' ' || reference || ' ' WHERE id_product = 3")
    page.goto("/connections/shop/maintenance")
    expect(page.locator("#scope-products h2")).to_have_text("Products")
    expect(page.locator("#scope-orders h2")).to_have_text("Sales Orders")
    page.locator("#scope-products button:text('Analyze integrity')").click()
    analysis = tasks.list(limit=1)[0]
    expect(page.locator(".flash.ok")).to_have_text(
        f"Maintenance products analyze-integrity on shop: queued task {analysis.id}.")
    tasks.beat.run_until_idle()
    page.reload()
    row = page.locator("#result tbody tr", has_text="untrimmed_reference")
    expect(row.locator("td[data-label='Count']")).to_have_text("1")
    expect(row.locator("td[data-label='Fixed']")).to_have_text("0")
    shoot(page, "maintenance-analysis")
    row.locator("td[data-label='Examples'] a").first.click()  # the product's row of the task's report
    expect(page.locator("table.items tbody tr td[data-label='Product']")).to_have_text("3")
    page.go_back()

    page.locator("#scope-products button:text('Fix integrity')").click()  # asks first
    expect(page.locator("h1")).to_have_text("Fix integrity of Products on shop?")
    expect(page.locator(".confirm")).to_contain_text("can be undone")
    assert tasks.list(limit=1)[0].id == analysis.id  # nothing queued yet
    shoot(page, "maintenance-fix-confirm")
    page.click("button:text('Queue the fix')")
    fix = tasks.list(limit=1)[0]
    queued = f"Maintenance products fix-integrity on shop: queued task {fix.id}."
    expect(page.locator(".flash.ok")).to_have_text(queued)
    tasks.beat.run_until_idle()
    page.reload()
    assert shop_sql(project, "SELECT reference FROM ps_product WHERE id_product = 3")[0][0] == "DEMO-000003"
    expect(page.locator("#result tbody tr", has_text="untrimmed_reference").locator("td[data-label='Fixed']")
           ).to_have_text("1")
    with page.expect_download() as download:
        page.locator("#result a:text('Download JSON')").click()
    assert download.value.suggested_filename == f"task-{fix.id}-result.json"

    page.locator(f"#maintenance-{fix.id} a:text('Undo')").click()
    expect(page.locator("h1")).to_contain_text(f"Undo task {fix.id}?")
    changes = page.locator("table.changes tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.locator("td[data-label='Restored to']")).to_contain_text('reference=" DEMO-000003 "')
    shoot(page, "maintenance-undo-confirm")
    page.click(f"button:text('Undo task {fix.id}')")
    expect(page.locator(".flash.ok")).to_have_text(f"Task {fix.id} undone: 1 row restored.")
    assert shop_sql(project, "SELECT reference FROM ps_product WHERE id_product = 3")[0][0] == " DEMO-000003 "
    page.goto(f"/tasks/{fix.id}/undo")  # a second undo: the CLI's refusal, no button
    expect(page.locator(".flash.error")).to_have_text(f"task {fix.id} was undone already")
    expect(page.locator("button:text('Undo task')")).to_have_count(0)


def test_pause_and_resume_a_profile(page, tasks):
    tasks.beat.tick()
    page.goto("/profiles")
    runs = page.locator("#profile-nightly-export ol.runs li")
    expect(runs).to_have_count(4)  # the next run, then four more
    page.locator("#profile-nightly-export button:text('Pause')").click()
    expect(page.locator(".flash.ok")).to_have_text(
        "Profile nightly-export paused: its schedule creates no tasks until resumed.")
    expect(page.locator("#profile-nightly-export .tag.paused")).to_have_text("paused")
    expect(page.locator("#profile-nightly-export td[data-label='Next run']")).to_have_text("paused")
    assert tasks.profile("nightly-export")["paused"] is True
    shoot(page, "profiles-paused")
    page.locator("#profile-nightly-export button:text('Run now')").click()  # still works
    expect(page.locator(".flash.ok")).to_contain_text("Export profile nightly-export: queued task")
    page.goto("/profiles")
    page.locator("#profile-nightly-export button:text('Resume')").click()
    expect(page.locator(".flash.ok")).to_contain_text("Profile nightly-export resumed.")
    assert tasks.profile("nightly-export")["paused"] is False


def test_the_configure_page(page, tasks):
    page.goto("/")
    page.click("nav >> text=Configure")
    expect(page.locator("#check .flash.ok")).to_contain_text("heartbeat.toml: OK (2 connections, 2 profiles)")
    expect(page.locator("#effective")).to_contain_text("nightly-export")
    expect(page.locator("#deliveries tr.empty")).to_be_visible()
    shoot(page, "configure")


def test_every_new_form_is_refused_without_its_csrf_token(page, tasks):
    tasks.queue("demo-export")
    tasks.beat.run_until_idle()
    forms = [("/connections", "#connection-shop form"),
             ("/profiles", "#profile-nightly-export form[action$='/pause']"),
             ("/connections/shop/maintenance", "#scope-products form")]
    for path, selector in forms:
        page.goto(path)
        form = page.locator(selector).first
        form.evaluate("f => f.querySelector('input[name=csrf]').remove()")
        form.locator("button").click()
        expect(page.locator("body")).to_contain_text("missing or wrong CSRF token")
    assert tasks.profile("nightly-export")["paused"] is False and len(tasks.list()) == 1


def test_the_new_pages_fit_a_phone(login, tasks):
    page = login(**PHONE, timezone_id="UTC")
    for path, name in (("/connections", "connections-phone"), ("/connections/shop", None),
                       ("/connections/shop/maintenance", "maintenance-phone"), ("/configure", None),
                       ("/profiles", None)):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
        if name:
            shoot(page, name)
