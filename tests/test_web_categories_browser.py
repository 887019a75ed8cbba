"""The Categories page in a real headless Chromium (Debian's `chromium`, driven by Playwright): edit a
cell and find it in the next export's `platform_category`; the same cell edited from two tabs (the
second is told what changed, and nothing is overwritten); accept a suggestion; an unmapped category
leaves the top once mapped; type-ahead from the server; a bad CSV's lines listed; a phone's width.

Screenshots go to build/test-artifacts/web/ (and docs/images/web/ with HEARTBEAT_DOCS_SCREENSHOTS=1).
Skipped, with the reason, when Chromium or Playwright is missing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import threading

import pytest

from heartbeat.config import loader as config_module
from heartbeat.engine.beat import Heartbeat
from heartbeat.services.categories import SAMPLE_TAXONOMY, CategoryManager
from heartbeat.services.tasks import TaskManager
from heartbeat.web import server
from tests.helpers import make_store
from tests.processes import HEARTBEAT, ROOT
from tests.web import PASSWORD, make_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                                             "(pip install -e '.[dev]')")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None,
                                 reason="no Chromium on this machine (apt-get install chromium)")]
expect = sync_api.expect

BAGS, STATIONERY = 6, 12  # demo shop categories
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
name = "google-export"
kind = "export"
source = "shop"
target = "exports"
batch_size = 500
category_column = "google"
category_required = true
"""


def shoot(page, name: str, docs: bool = False) -> None:
    """The whole page into the test artifacts; with `docs`, what the window shows into docs/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=not docs)
    if docs and os.environ.get("HEARTBEAT_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS / f"{name}.png")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "heartbeat.toml").write_text(CONFIG)
    out = subprocess.run([*HEARTBEAT, "--config", str(tmp_path / "heartbeat.toml"), "demo", "init",
                          "--products", "120", "--connection", "shop"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return tmp_path


@pytest.fixture
def tasks(project, clock):
    config = config_module.load(project / "heartbeat.toml")
    store = make_store(config.database_url)
    manager = TaskManager(config, store, clock)
    manager.beat = Heartbeat(config, store, clock=clock, owner="web-test:1:1")
    manager.mapping = CategoryManager(config, store, clock)
    manager.mapping.load_taxonomy("google", SAMPLE_TAXONOMY)
    return manager


@pytest.fixture
def base(tasks, clock):
    srv = server.server(make_app(tasks, clock))
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


def logged_in(browser, base, **options):
    context = browser.new_context(base_url=base, **{"viewport": {"width": 1280, "height": 800}, **options})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login?next=/categories")
    page.fill("#password", PASSWORD)
    page.click("button:text('Log in')")
    expect(page).to_have_url(re.compile(r"/categories$"))
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    return context, page


@pytest.fixture
def page(browser, base):
    context, page = logged_in(browser, base)
    yield page
    context.close()


def google_cell(page, row_id: int):
    return page.locator(f"#map-table tr[data-row='{row_id}'] td.cell[data-column='google']")


def edit_cell(page, row_id: int, value: str) -> None:
    google_cell(page, row_id).click()
    field = google_cell(page, row_id).locator("input")
    field.fill(value)
    field.press("Enter")


def exported_category(tasks, id_product: int) -> dict:
    task = tasks.queue("google-export")
    tasks.beat.run_until_idle()
    document = json.loads(b"".join(tasks.export_file(task.id)))
    return next(p["platform_category"] for p in document["products"] if p["id_product"] == id_product)


def a_product_in(tasks, category: int) -> int:
    shop = tasks.mapping._shop("shop")
    with shop as reader:
        return next(f.id_product for f in reader.iter_category_facts() if f.category == category)


def test_edit_a_cell_and_see_it_in_the_next_export(page, tasks):
    row = tasks.mapping.store.write_row(None, {"shop": str(BAGS), "google": "5181"}, None, tasks.clock.now())
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    expect(google_cell(page, row.id)).to_contain_text("Luggage & Bags")
    edit_cell(page, row.id, "Handbags")  # type-ahead text is searched, then the id typed wins
    expect(page.locator("#notice.error")).to_contain_text("unknown category 'Handbags'")  # refused, with why
    google_cell(page, row.id).locator("input").fill("6551")
    google_cell(page, row.id).locator("input").press("Enter")
    expect(page.locator("#notice.ok")).to_contain_text(f"Row {row.id} saved: google = 6551")
    expect(google_cell(page, row.id)).to_contain_text("Apparel & Accessories > Handbags, Wallets & Cases")
    shoot(page, "categories-edited")
    category = exported_category(tasks, a_product_in(tasks, BAGS))
    assert category == {"column": "google", "id": "6551",
                        "path": "Apparel & Accessories > Handbags, Wallets & Cases"}


def test_the_same_cell_from_two_tabs_is_412_and_says_what_changed(browser, base, tasks):
    row = tasks.mapping.store.write_row(None, {"shop": str(BAGS), "google": "5181"}, None, tasks.clock.now())
    context, first = logged_in(browser, base)
    second = context.new_page()
    second.goto("/categories")
    expect(second.locator("body")).to_have_attribute("data-ready", "1")
    edit_cell(first, row.id, "6551")
    expect(first.locator("#notice.ok")).to_contain_text("saved")
    edit_cell(second, row.id, "166")
    notice = second.locator("#notice.error")
    expect(notice).to_contain_text(f"Row {row.id} changed since this page read it: "
                                   "google is now 6551 (was 5181)")
    expect(notice).to_contain_text("(google = 166) was not saved")
    expect(google_cell(second, row.id)).to_contain_text("6551")  # the row shows what is stored
    shoot(second, "categories-412")
    rows, _ = tasks.mapping.store.rows()
    assert rows[0].cells["google"] == "6551"
    context.close()


def test_accept_a_suggestion(page, tasks):
    shoot(page, "categories", docs=True)
    suggestion = page.locator(f"#suggestions tr[data-category='{BAGS}']")
    expect(suggestion.locator("select")).to_contain_text("Luggage & Bags")
    before = int(page.locator(f"#unmapped tr[data-category='{BAGS}'] td.num").inner_text())
    suggestion.locator("button:text('Accept')").click()
    expect(page.locator("#notice.ok")).to_have_text(f"1 row written; {before} products become exportable.")
    expect(page.locator(f"#unmapped tr[data-category='{BAGS}']")).to_have_count(0)
    rows, _ = tasks.mapping.store.rows()
    assert [r.cells for r in rows] == [{"shop": str(BAGS), "google": "5181"}]


def test_an_unmapped_category_leaves_the_top_once_mapped(page, tasks):
    top = page.locator(f"#unmapped tr[data-category='{STATIONERY}']")
    expect(top).to_have_count(1)
    field = top.locator("input")
    field.type("office sup")
    expect(field).to_have_attribute("data-suggested", re.compile(r"[1-9]"))  # the server answered
    field.fill("922")
    top.locator("button:text('Map')").click()
    expect(page.locator("#notice.ok")).to_contain_text("1 row written")
    expect(page.locator(f"#unmapped tr[data-category='{STATIONERY}']")).to_have_count(0)
    expect(page.locator("#tree")).to_contain_text("Office Supplies")


def test_a_bad_csv_lists_its_lines_and_changes_nothing(page, tasks, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("shop,google\n99,1604\n6,424242\n")
    page.set_input_files("#import-file", str(bad))
    errors = page.locator("#import-errors li")
    expect(errors).to_have_count(2)
    expect(errors.first).to_have_text("bad.csv line 2, column shop: unknown category '99' "
                                      "(no category 99 in shop shop)")
    assert tasks.mapping.store.rows()[0] == []


def test_phone_width(browser, base, tasks):
    tasks.mapping.store.write_row(None, {"shop": str(BAGS), "google": "5181"}, None, tasks.clock.now())
    context, page = logged_in(browser, base, viewport={"width": 390, "height": 844}, is_mobile=True,
                              has_touch=True)
    expect(page.locator("#mapping")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    shoot(page, "categories-phone")
    context.close()


def test_add_a_rule_move_it_and_save(page, tasks):
    page.click("#add-rule")
    rule = page.locator("#page-rules tbody tr.rule").last
    rule.locator(".rule-category").fill("5181")
    rule.locator(".rule-name_contains").fill("Wool")
    page.click("#add-rule")
    second = page.locator("#page-rules tbody tr.rule").last
    second.locator(".rule-category").fill("Office Supplies")
    second.locator(".rule-reference_prefix").fill("DEMO-0001")
    second.locator(".rule-up").click()  # tried first now
    page.click("#save-rules")
    expect(page.locator("#notice.ok")).to_have_text("2 rules saved.")
    saved = tasks.mapping.store.rules()
    assert [(r.category, r.reference_prefix, r.name_contains) for r in saved] == [
        ("922", "DEMO-0001", None), ("5181", None, "Wool")]
    page.locator("#page-rules tbody tr.rule").first.locator(".rule-reference_prefix").fill("")
    page.click("#save-rules")  # no criterion left: refused as the config file would be, nothing written
    expect(page.locator("#notice.error")).to_contain_text(
        "category_rules[0]: a rule needs at least one criterion")
    assert len(tasks.mapping.store.rules()) == 2
