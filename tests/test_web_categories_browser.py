"""The Categories page in a real headless Chromium (Debian's `chromium`, driven by Playwright): edit a
cell and find it in the next export's `platform_category`; the same cell edited from two tabs (the
second is told what changed, and nothing is overwritten); accept a suggestion; an unmapped category
leaves the top once mapped; type-ahead from the server; a bad CSV's lines listed; a phone's width;
an operator's row, column and override edits in the audit trail under their name; a viewer offered
nothing to edit.

Screenshots go to build/test-artifacts/web/ (and docs/images/web/ with HEARTBEAT_DOCS_SCREENSHOTS=1).
The set-up is tests/browser.py's, on a project of its own: skipped, with the reason, when Chromium or
Playwright is missing."""

# ruff: noqa: F811 (the fixtures of tests/browser.py are imported by name)
from __future__ import annotations

import json
import re

import pytest

from heartbeat.services.categories import SAMPLE_TAXONOMY, CategoryManager
from heartbeat.services.users import hash_password
from tests.browser import (  # noqa: F401 (fixtures)
    PHONE,
    base,
    browser,
    expect,
    login,
    make_project,
    make_tasks,
    pytestmark,
    shoot,
)

BAGS, STATIONERY = 6, 12  # demo shop categories
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


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path, CONFIG, products=120)


@pytest.fixture
def tasks(project, clock):
    """The task verbs, with `.mapping`: the category verbs, Google's sample taxonomy loaded."""
    manager = make_tasks(project, clock)
    manager.mapping = CategoryManager(manager.config, manager.store, clock)
    manager.mapping.load_taxonomy("google", SAMPLE_TAXONOMY)
    return manager


def categories(login, **options):
    """The Categories page, logged in (1280x800 unless told), once its script is ready."""
    page = login("/categories", **{"viewport": {"width": 1280, "height": 800}, **options})
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    return page


@pytest.fixture
def page(login):
    return categories(login)


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
    shoot(page, "categories-edited", docs=False)
    category = exported_category(tasks, a_product_in(tasks, BAGS))
    assert category == {"column": "google", "id": "6551",
                        "path": "Apparel & Accessories > Handbags, Wallets & Cases"}


def test_the_same_cell_from_two_tabs_is_412_and_says_what_changed(login, tasks):
    row = tasks.mapping.store.write_row(None, {"shop": str(BAGS), "google": "5181"}, None, tasks.clock.now())
    first = categories(login)
    second = first.context.new_page()
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
    shoot(second, "categories-412", docs=False)
    rows, _ = tasks.mapping.store.rows()
    assert rows[0].cells["google"] == "6551"


def test_accept_a_suggestion(page, tasks):
    shoot(page, "categories", full_page=False)
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


def test_phone_width(login, tasks):
    tasks.mapping.store.write_row(None, {"shop": str(BAGS), "google": "5181"}, None, tasks.clock.now())
    page = categories(login, **PHONE)
    expect(page.locator("#mapping")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    shoot(page, "categories-phone", docs=False)


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


SECRET = "a long enough password"


def test_an_operators_edits_are_in_the_audit_trail_under_their_name(login, tasks):
    tasks.store.users.add("otto", "operator", hash_password(SECRET), tasks.clock.now())
    first = tasks.mapping.store.write_row(None, {"shop": str(STATIONERY), "google": "922"}, None,
                                          tasks.clock.now())
    page = categories(login, name="otto", password=SECRET)
    page.click("#add-row")
    page.fill("#new-row input[data-column='shop']", str(BAGS))
    page.fill("#new-row input[data-column='google']", "5181")
    page.click("#save-row")
    expect(page.locator("#notice.ok")).to_contain_text("added")
    (row,) = [r for r in tasks.mapping.store.rows()[0] if r.id != first.id]
    page.fill("#new-column", "mercadolibre")
    page.click("#add-column")
    expect(page.locator("#notice.ok")).to_have_text("Column mercadolibre added.")
    product = a_product_in(tasks, BAGS)
    page.fill("#override-product", str(product))
    page.select_option("#override-column", "google")
    page.fill("#override-category", "6551")
    page.click("#set-override")
    expect(page.locator("#notice.ok")).to_contain_text(f"Product {product}: google category 6551")
    page.locator(f"#overrides tr[data-product='{product}'] button.unset-override").click()
    expect(page.locator("#notice.ok")).to_have_text(f"Product {product}: google override removed.")
    page.locator(f"#map-table tr[data-row='{row.id}'] button.remove-row").click()
    expect(page.locator("#notice.ok")).to_have_text(f"Row {row.id} removed.")
    entries = tasks.audit.list()[::-1]
    assert [(e.actor, e.via, e.action, e.target) for e in entries if e.action != "categories.taxonomy"] == [
        ("otto", "web", "categories.row_add", f"row:{row.id}"),
        ("otto", "web", "categories.column", "column:mercadolibre"),
        ("otto", "web", "categories.set", f"product:{product}"),
        ("otto", "web", "categories.unset", f"product:{product}"),
        ("otto", "web", "categories.row_remove", f"row:{row.id}")]
    assert entries[1].detail == f"version {row.version}: google 5181, shop {BAGS}"
    assert all(e.address == "127.0.0.1" for e in entries[1:])


def test_a_viewer_reads_the_mapping_and_is_offered_nothing_to_edit(login, tasks):
    tasks.store.users.add("vera", "viewer", hash_password(SECRET), tasks.clock.now())
    row = tasks.mapping.store.write_row(None, {"shop": str(BAGS), "google": "5181"}, None, tasks.clock.now())
    page = categories(login, name="vera", password=SECRET)
    expect(page.locator("#read-only")).to_be_visible()
    expect(google_cell(page, row.id)).to_contain_text("Luggage & Bags")
    google_cell(page, row.id).click()  # the script makes a cell editable only where the page says it may
    expect(google_cell(page, row.id).locator("input")).to_have_count(0)
    editing = page.locator("#categories input, #categories [data-action], #categories .remove-row")
    expect(editing).to_have_count(0)
    expect(page.locator(f"#suggestions tr[data-category='{STATIONERY}']")).to_contain_text("Office Supplies")
    shoot(page, "categories-as-viewer", docs=False)
    assert tasks.mapping.store.rows()[0] == [row]
