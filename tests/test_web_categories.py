"""The Categories page's JSON API over HTTP, in process (Starlette's TestClient), on SQLite and
MariaDB (docs/categories.md, "The Categories page"): the table with versions, one-row edits with
If-Match (412 with the row as it is now, never overwriting it), a value not in the taxonomy refused
with the reason, taxonomy search, unmapped first, suggestions accepted, the CSV import listing every
bad line, overrides, rules, columns; and every route's answer to each way in: the API token, a
logged-in session (with and without its CSRF token), nobody."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest
from starlette.testclient import TestClient

from connectors.prestashop import create_demo_shop
from core.config import CategoryRule
from core.errors import Refused
from heartbeat.services.categories import SAMPLE_TAXONOMY, CategoryManager
from heartbeat.services.tasks import TaskManager
from tests.helpers import make_config, make_heartbeat
from tests.web import PASSWORD, TOKEN, csrf_of, make_app

BEARER = {"Authorization": f"Bearer {TOKEN}"}
OPTIONS = {"entity": "products", "full": False, "allow_empty": False, "category_column": "google",
           "category_required": True}
BAGS, STATIONERY, ELECTRONICS, LAPTOPS = 6, 12, 16, 30  # the demo shop's categories


def build(tmp_path, db_url, clock) -> TaskManager:
    shop = f"sqlite:///{tmp_path / 'demo-shop.db'}"
    create_demo_shop(shop, products=120, seed=42)
    config = make_config(tmp_path, db_url, shop, name="catalogue", batch_size=200, options=dict(OPTIONS))
    rule = CategoryRule(index=1, column="google", category="922", reference_prefix="NOPE-")
    config = dataclasses.replace(config, category_rules=(rule,))
    beat = make_heartbeat(config, clock)
    manager = TaskManager(config, beat.store, clock)
    manager.beat = beat
    CategoryManager(config, beat.store, clock).load_taxonomy("google", SAMPLE_TAXONOMY)
    return manager


@pytest.fixture
def tasks(tmp_path, db_url, clock):
    return build(tmp_path, db_url, clock)


@pytest.fixture
def client(tasks, clock):
    with TestClient(make_app(tasks, clock), follow_redirects=False) as c:
        yield c


def log_in(client) -> str:
    page = client.get("/login")
    client.post("/login", data={"csrf": csrf_of(page.text), "password": PASSWORD, "next": "/"})
    return csrf_of(client.get("/categories").text)


def new_row(client, **cells) -> dict:
    answer = client.post("/api/categories/rows", json={"cells": cells}, headers=BEARER)
    assert answer.status_code == 201, answer.text
    return answer.json()


def put(client, row_id: int, cells: dict, version: int):
    return client.put(f"/api/categories/rows/{row_id}", json={"cells": cells},
                      headers={**BEARER, "If-Match": str(version)})


def unmapped(client) -> dict[int, int]:
    answer = client.get("/api/categories/unmapped?profile=catalogue", headers=BEARER)
    return {u["id_category"]: u["products"] for u in answer.json()}


# -- the table and one-row edits --------------------------------------------------------------------

def test_the_table_has_columns_rows_with_paths_and_a_version(client):
    empty = client.get("/api/categories", headers=BEARER).json()
    assert {c["name"] for c in empty["columns"]} == {"google"} and empty["rows"] == []
    row = new_row(client, shop="Home > Electronics", google="Electronics > Computers")
    assert row["cells"] == {"shop": str(ELECTRONICS), "google": "278"}  # paths are stored as ids
    table = client.get("/api/categories", headers=BEARER).json()
    assert table["version"] == row["version"] >= 1
    assert table["rows"] == [{"id": row["id"], "version": row["version"], "cells": row["cells"],
                              "paths": {"shop": "Home > Electronics", "google": "Electronics > Computers"}}]


def test_branches_inherit_and_say_from_where(client):
    new_row(client, shop=str(ELECTRONICS), google="222")
    new_row(client, shop=str(LAPTOPS), google="328")
    tree = {t["id_category"]: t for t in client.get("/api/categories", headers=BEARER).json()["tree"]}
    assert tree[ELECTRONICS]["cells"]["google"]["from"] is None  # its own row
    computers = tree[29]["cells"]["google"]
    assert (computers["id"], computers["from"]) == ("222", ELECTRONICS)
    assert computers["from_path"] == "Home > Electronics"
    assert tree[LAPTOPS]["cells"]["google"] == {"id": "328", "path": "Electronics > Computers > Laptops",
                                                "from": None, "from_path": None}
    assert "google" not in tree[BAGS]["cells"] and tree[BAGS]["row"] is None


def test_an_edit_against_the_version_read_is_saved(client):
    row = new_row(client, shop=str(BAGS), google="5181")
    answer = put(client, row["id"], {"shop": str(BAGS), "google": "6551"}, row["version"])
    assert answer.status_code == 200 and answer.json()["cells"]["google"] == "6551"
    assert answer.json()["version"] > row["version"]
    assert answer.headers["etag"] == str(answer.json()["version"])


def test_a_stale_edit_is_412_with_the_row_as_it_is_and_writes_nothing(client):
    row = new_row(client, shop=str(BAGS), google="5181")
    first = put(client, row["id"], {"shop": str(BAGS), "google": "6551"}, row["version"])
    second = put(client, row["id"], {"shop": str(BAGS), "google": "166"}, row["version"])
    assert second.status_code == 412
    assert second.json()["row"] == {"id": row["id"], "version": first.json()["version"],
                                    "cells": {"shop": str(BAGS), "google": "6551"}}
    assert "changed since you read it" in second.json()["error"]
    stored = client.get("/api/categories", headers=BEARER).json()["rows"][0]
    assert stored["cells"]["google"] == "6551"


def test_an_edit_made_against_the_tables_version_is_refused_only_if_its_row_moved(client):
    one = new_row(client, shop=str(BAGS), google="5181")
    two = new_row(client, shop=str(STATIONERY), google="922")
    version = client.get("/api/categories", headers=BEARER).json()["version"]
    put(client, one["id"], {"shop": str(BAGS), "google": "6551"}, version)
    other = put(client, two["id"], {"shop": str(STATIONERY), "google": "956"}, version)
    assert other.status_code == 200


@pytest.mark.parametrize("cells, status, message", [
    ({"shop": str(BAGS), "google": "424242"}, 400,
     "column google: unknown category '424242' (not an id or path of the google taxonomy)"),
    ({"shop": "Home > Nowhere", "google": "5181"}, 400, "column shop: unknown category 'Home > Nowhere'"),
    ({"shop": str(STATIONERY), "google": "5181"}, 409, "shop category 12 is mapped in row"),
    ({"bad name": "1"}, 400, "invalid column name 'bad name'"),
])
def test_a_bad_value_is_refused_with_the_reason_and_nothing_changes(client, cells, status, message):
    new_row(client, shop=str(STATIONERY), google="922")
    row = new_row(client, shop=str(BAGS), google="5181")
    answer = client.put(f"/api/categories/rows/{row['id']}", json={"cells": cells},
                        headers={**BEARER, "If-Match": str(row["version"])})
    assert answer.status_code == status and message in answer.json()["error"]
    assert client.get("/api/categories", headers=BEARER).json()["rows"][1]["cells"] == row["cells"]


def test_if_match_is_required_and_unknown_rows_are_404(client):
    row = new_row(client, shop=str(BAGS), google="5181")
    url = f"/api/categories/rows/{row['id']}"
    assert client.put(url, json={"cells": {}}, headers=BEARER).status_code == 428
    assert client.put(url, json={"cells": {}}, headers={**BEARER, "If-Match": "x"}).status_code == 400
    assert client.put("/api/categories/rows/999", json={"cells": {"google": "1"}},
                      headers={**BEARER, "If-Match": "1"}).status_code == 404
    assert client.put(url, content=b"{nope", headers={**BEARER, "If-Match": "1"}).status_code == 400


def test_a_removed_row_is_gone_and_a_stale_removal_is_412(client):
    row = new_row(client, shop=str(BAGS), google="5181")
    url = f"/api/categories/rows/{row['id']}"
    assert client.delete(url, headers={**BEARER, "If-Match": str(row["version"])}).status_code == 204
    assert client.get("/api/categories", headers=BEARER).json()["rows"] == []
    again = put(client, row["id"], {"google": "1"}, row["version"])
    assert again.status_code == 412 and again.json()["row"] is None


# -- taxonomy search --------------------------------------------------------------------------------

def test_taxonomy_search_finds_by_words_and_id(client):
    found = client.get("/api/categories/taxonomy/google?q=laptops&limit=5", headers=BEARER).json()
    assert found[0] == {"id": "328", "path": "Electronics > Computers > Laptops"}
    assert client.get("/api/categories/taxonomy/google?q=1604", headers=BEARER).json()[0]["id"] == "1604"
    words = client.get("/api/categories/taxonomy/google?q=clothing+shirts", headers=BEARER).json()
    assert {"id": "212", "path": "Apparel & Accessories > Clothing > Shirts & Tops"} in words
    assert len(client.get("/api/categories/taxonomy/google?q=a&limit=3", headers=BEARER).json()) == 3
    shop = client.get("/api/categories/taxonomy/shop?q=laptops", headers=BEARER).json()
    assert shop == [{"id": str(LAPTOPS), "path": "Home > Electronics > Computers > Laptops"}]
    assert client.get("/api/categories/taxonomy/nope?q=x", headers=BEARER).status_code == 404


# -- unmapped first, suggestions ---------------------------------------------------------------------

def test_unmapped_lists_the_skipped_categories_and_mapping_one_removes_it(client):
    before = unmapped(client)
    assert BAGS in before and sum(before.values()) == 120
    answer = client.post("/api/categories/suggestions/accept", headers=BEARER,
                         json={"profile": "catalogue",
                               "accept": [{"category": BAGS, "target": "Luggage & Bags"}]})
    assert answer.json() == {"rows": 1, "products": before[BAGS]}
    assert BAGS not in unmapped(client)
    url = f"/api/categories/products?profile=catalogue&category={STATIONERY}"
    products = client.get(url, headers=BEARER).json()
    assert len(products) == before[STATIONERY] and {"id_product", "reference", "name"} <= set(products[0])


def test_suggestions_have_scores_and_accepting_several_says_how_many_products(client):
    found = client.get("/api/categories/suggestions?profile=catalogue&limit=2", headers=BEARER).json()
    assert found["column"] == "google" and found["connection"] == "shop"
    by_category = {s["id_category"]: s for s in found["suggestions"]}
    best = by_category[BAGS]["candidates"][0]
    assert best["id"] == "5181" and 0 < best["score"] <= 100
    assert len(by_category[BAGS]["candidates"]) == 2
    before = unmapped(client)
    pairs = [{"category": c, "target": by_category[c]["candidates"][0]["id"]} for c in (BAGS, ELECTRONICS)]
    answer = client.post("/api/categories/suggestions/accept", json={"profile": "catalogue", "accept": pairs},
                         headers=BEARER).json()
    electronics_branch = sum(n for c, n in before.items() if c in (ELECTRONICS, 28, 29, LAPTOPS))
    assert answer == {"rows": 2, "products": before[BAGS] + electronics_branch}


def test_accepting_a_bad_pair_writes_none(client):
    answer = client.post("/api/categories/suggestions/accept", headers=BEARER, json={
        "profile": "catalogue",
        "accept": [{"category": BAGS, "target": "5181"}, {"category": 99, "target": "1"}]})
    assert answer.status_code == 400 and "no category 99 in shop shop" in answer.json()["error"]
    assert client.get("/api/categories", headers=BEARER).json()["rows"] == []
    assert client.post("/api/categories/suggestions/accept", json={"profile": "catalogue", "accept": []},
                       headers=BEARER).status_code == 400
    assert client.get("/api/categories/unmapped?profile=nope", headers=BEARER).status_code == 404


# -- CSV, columns, rules, overrides -------------------------------------------------------------------

def test_a_csv_import_is_all_or_nothing_and_lists_every_bad_line(client):
    new_row(client, shop=str(BAGS), google="5181")
    bad = "shop,google\n12,922\n99,1604\n6,424242\n12,166\n"
    answer = client.post("/api/categories/import?name=mapping.csv", content=bad.encode(), headers=BEARER)
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        "mapping.csv line 3, column shop: unknown category '99' (no category 99 in shop shop)",
        "mapping.csv line 4, column google: unknown category '424242' (not an id or path of the google "
        "taxonomy)",
        "mapping.csv line 5, column shop: category 12 is mapped on line 2 already (a shop category goes to "
        "one row)",
    ]
    assert [r["cells"] for r in client.get("/api/categories", headers=BEARER).json()["rows"]] == [
        {"shop": str(BAGS), "google": "5181"}]
    good = client.post("/api/categories/import", content=b"shop,google\n12,922\n6,5181\n", headers=BEARER)
    assert good.json() == {"rows": 2}
    exported = client.get("/api/categories/export", headers=BEARER)
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines() == ["google,shop,google path,shop path",
                                          "922,12,Office Supplies,Home > Stationery",
                                          "5181,6,Luggage & Bags,Home > Bags"]
    assert client.post("/api/categories/import", content=b"\xff\xfe", headers=BEARER).status_code == 400


def test_a_csv_import_makes_edits_read_before_it_stale(client):
    row = new_row(client, shop=str(BAGS), google="5181")
    client.post("/api/categories/import", content=b"shop,google\n6,6551\n", headers=BEARER)
    stale = client.put(f"/api/categories/rows/{row['id']}", json={"cells": {"google": "166"}},
                       headers={**BEARER, "If-Match": str(row["version"])})
    assert stale.status_code == 412


def test_adding_a_column_is_explicit(client):
    answer = client.post("/api/categories/columns", json={"name": "mercadolibre"}, headers=BEARER)
    assert answer.status_code == 201 and answer.json()["name"] == "mercadolibre"
    again = client.post("/api/categories/columns", json={"name": "mercadolibre"}, headers=BEARER)
    assert again.status_code == 400 and again.json()["error"] == "column mercadolibre exists already"
    assert client.post("/api/categories/columns", json={"name": "a b"}, headers=BEARER).status_code == 400
    names = [c["name"] for c in client.get("/api/categories", headers=BEARER).json()["columns"]]
    assert names == ["google", "mercadolibre"]


def test_rules_are_listed_in_order_config_first_then_the_pages(client):
    answer = client.put("/api/categories/rules", headers=BEARER, json={"rules": [
        {"column": "google", "category": "Luggage & Bags", "reference_prefix": "DEMO-00000"},
        {"column": "google", "category": "222", "shop_category": ELECTRONICS, "connection": "shop"}]})
    assert answer.status_code == 200, answer.text
    assert client.get("/api/categories/rules", headers=BEARER).json() == [
        {"index": 1, "source": "config", "column": "google", "category": "922", "path": "Office Supplies",
         "criteria": {"reference_prefix": "NOPE-"}, "problem": None},
        {"index": 2, "source": "page", "column": "google", "category": "5181", "path": "Luggage & Bags",
         "criteria": {"reference_prefix": "DEMO-00000"}, "problem": None},
        {"index": 3, "source": "page", "column": "google", "category": "222", "path": "Electronics",
         "criteria": {"shop_category": ELECTRONICS, "connection": "shop"}, "problem": None}]


def test_the_pages_rules_decide_before_the_table(client, tasks):
    before = sum(unmapped(client).values())
    client.put("/api/categories/rules", headers=BEARER, json={"rules": [
        {"column": "google", "category": "5181", "reference_prefix": "DEMO-00000"}]})
    assert sum(unmapped(client).values()) == before - 9  # DEMO-000001 .. DEMO-000009
    task = tasks.queue("catalogue")
    tasks.beat.run_until_idle()
    document = json.loads(b"".join(tasks.export_file(task.id)))
    first = next(p for p in document["products"] if p["id_product"] == 1)
    assert first["platform_category"] == {"column": "google", "id": "5181", "path": "Luggage & Bags"}
    assert "rule 2" not in json.dumps(document)  # the source is for the report, not the platform


@pytest.mark.parametrize("rule, message", [
    ({"column": "google", "category": "5181"},
     "category_rules[0]: a rule needs at least one criterion: reference_prefix, name_contains, "
     "manufacturer_contains, shop_category"),
    ({"column": "google", "category": "424242", "name_contains": "x"},
     "category_rules[0].category: unknown category '424242' (not an id or path of the google taxonomy)"),
    ({"column": "google", "category": "5181", "shop_category": 0}, "category_rules[0].shop_category:"),
    ({"column": "google", "category": "5181", "name_contains": "x", "connection": "nope"},
     "category_rules[0].connection:"),
    ({"column": "google", "category": "5181", "name_contains": "x", "colour": "red"}, "category_rules[0]"),
])
def test_a_bad_rule_is_refused_as_the_config_file_would_be_and_none_are_written(client, rule, message):
    good = {"column": "google", "category": "5181", "name_contains": "Wool"}
    client.put("/api/categories/rules", headers=BEARER, json={"rules": [good]})
    answer = client.put("/api/categories/rules", headers=BEARER, json={"rules": [rule, good]})
    assert answer.status_code == 400 and answer.json()["error"].startswith(message), answer.json()
    listed = client.get("/api/categories/rules", headers=BEARER).json()
    assert [r["source"] for r in listed] == ["config", "page"]


def test_a_taxonomy_without_a_page_rules_category_is_refused(client, tasks, tmp_path):
    client.put("/api/categories/rules", headers=BEARER, json={"rules": [
        {"column": "google", "category": "5181", "name_contains": "Wool"}]})
    smaller = tmp_path / "smaller.txt"
    smaller.write_text("# Google_Product_Taxonomy_Version: 2\n1 - Animals & Pet Supplies\n")
    verbs = CategoryManager(tasks.config, tasks.store, tasks.clock)
    with pytest.raises(Refused, match="not in it \\(first: 5181\\)"):
        verbs.load_taxonomy("google", smaller)


def test_overrides_are_set_listed_and_removed_with_the_clis_checks(client):
    answer = client.put("/api/products/2/categories/google", headers=BEARER,
                        json={"category": "Apparel & Accessories > Clothing"})
    assert answer.json() == {"id_product": 2, "column": "google", "category": "1604",
                             "path": "Apparel & Accessories > Clothing"}
    assert client.get("/api/categories/overrides", headers=BEARER).json() == [
        {"connection": "shop", "id_product": 2, "column": "google", "category": "1604",
         "path": "Apparel & Accessories > Clothing"}]
    bad = client.put("/api/products/2/categories/google", json={"category": "424242"}, headers=BEARER)
    assert bad.status_code == 400 and "unknown category '424242'" in bad.json()["error"]
    missing = client.put("/api/products/99999/categories/google", json={"category": "1"}, headers=BEARER)
    assert missing.status_code == 400 and missing.json()["error"] == "no product 99999 in shop"
    assert client.delete("/api/products/2/categories/google", headers=BEARER).status_code == 204
    assert client.delete("/api/products/2/categories/google", headers=BEARER).status_code == 400
    assert client.get("/api/categories/overrides", headers=BEARER).json() == []


# -- the audit trail ----------------------------------------------------------------------------------

def test_every_change_is_in_the_audit_trail_with_who_made_it_and_a_refusal_is_not(client, tasks):
    row = new_row(client, shop=str(BAGS), google="5181")
    edited = put(client, row["id"], {"shop": str(BAGS), "google": "6551"}, row["version"]).json()
    assert put(client, row["id"], {"google": "166"}, row["version"]).status_code == 412  # stale: not recorded
    client.post("/api/categories/suggestions/accept", headers=BEARER, json={
        "profile": "catalogue", "accept": [{"category": STATIONERY, "target": "922"}]})
    client.post("/api/categories/columns", json={"name": "mercadolibre"}, headers=BEARER)
    client.put("/api/categories/rules", headers=BEARER, json={"rules": [
        {"column": "google", "category": "922", "name_contains": "Pen"}]})
    client.put("/api/products/2/categories/google", json={"category": "1604"}, headers=BEARER)
    client.delete("/api/products/2/categories/google", headers=BEARER)
    client.post("/api/categories/import?name=map.csv", content=b"shop,google\n6,5181\n", headers=BEARER)
    csrf = log_in(client)  # the [web] password's admin, on the page
    (fresh,) = client.get("/api/categories").json()["rows"]
    removed = client.delete(f"/api/categories/rows/{fresh['id']}",
                            headers={"X-CSRF-Token": csrf, "If-Match": str(fresh["version"])})
    assert removed.status_code == 204
    entries = [(e.actor, e.via, e.action, e.target, e.detail) for e in tasks.audit.list()[::-1]
               if e.action != "categories.taxonomy"]  # build()'s, at the command line
    token = ("HEARTBEAT_API_TOKEN", "api")
    assert entries == [
        (*token, "categories.row_add", f"row:{row['id']}",
         f"version {row['version']}: google 5181, shop {BAGS}"),
        (*token, "categories.row_edit", f"row:{row['id']}",
         f"version {edited['version']}: google 6551, shop {BAGS}"),
        (*token, "categories.accept", "profile:catalogue", f"1 category: shop {STATIONERY} -> google 922"),
        (*token, "categories.column", "column:mercadolibre", "added"),
        (*token, "categories.rules", "categories", "1 page rule: google 922"),
        (*token, "categories.set", "product:2", "google 1604 (shop)"),
        (*token, "categories.unset", "product:2", "google (shop)"),
        (*token, "categories.import", "categories", "1 row from map.csv"),
        ("admin", "web", "categories.row_remove", f"row:{fresh['id']}", f"version {fresh['version'] + 1}"),
    ]
    assert tasks.audit.list(1)[0].address == "testclient"


# -- every route, every way in (the guard does not depend on the backend: SQLite only) --------------

@pytest.fixture
def guarded(tmp_path, clock):
    tasks = build(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", clock)
    with TestClient(make_app(tasks, clock), follow_redirects=False) as c:
        yield c


READS = ["/api/categories", "/api/categories/export", "/api/categories/unmapped?profile=catalogue",
         f"/api/categories/products?profile=catalogue&category={BAGS}",
         "/api/categories/suggestions?profile=catalogue",
         "/api/categories/taxonomy/google?q=bags", "/api/categories/rules", "/api/categories/overrides",
         "/categories", f"/categories/products?profile=catalogue&category={BAGS}"]
CHANGES = [("POST", "/api/categories/rows", {"cells": {"google": "1"}}),
           ("PUT", "/api/categories/rows/1", {"cells": {"google": "1"}}),
           ("DELETE", "/api/categories/rows/1", None),
           ("POST", "/api/categories/import", "shop,google\n"),
           ("POST", "/api/categories/suggestions/accept", {"profile": "catalogue", "accept": []}),
           ("POST", "/api/categories/columns", {"name": "x"}),
           ("PUT", "/api/categories/rules", {"rules": []}),
           ("PUT", "/api/products/2/categories/google", {"category": "1"}),
           ("DELETE", "/api/products/2/categories/google", None)]


def _send(client, method, url, body, headers):
    content = None if body is None else body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return client.request(method, url, content=content, headers={"If-Match": "1", **headers})


@pytest.mark.parametrize("url", READS)
def test_every_read_needs_a_login_or_the_token(guarded, url):
    client = guarded
    nobody = client.get(url)
    assert nobody.status_code in (401, 303)  # API: 401; pages: to the login page
    assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    if url.startswith("/api/"):
        assert client.get(url, headers=BEARER).status_code == 200
    log_in(client)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("method, url, body", CHANGES)
def test_every_change_needs_the_token_or_a_session_with_its_csrf_token(guarded, method, url, body):
    client = guarded
    assert _send(client, method, url, body, {}).status_code == 401
    assert _send(client, method, url, body, {"Authorization": "Bearer wrong"}).status_code == 401
    assert _send(client, method, url, body, BEARER).status_code not in (401, 403)
    csrf = log_in(client)
    assert _send(client, method, url, body, {}).status_code == 403  # a session without its CSRF token
    cross = _send(client, method, url, body, {"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert _send(client, method, url, body, {"X-CSRF-Token": csrf}).status_code not in (401, 403)


def test_the_page_shows_unmapped_first_suggestions_and_the_table(client):
    log_in(client)
    new_row(client, shop=str(ELECTRONICS), google="222")
    page = client.get("/categories").text
    assert page.index('id="unmapped"') < page.index('id="suggestions"') < page.index('id="mapping"')
    assert "Home &gt; Bags" in page and "inherited from Home &gt; Electronics" in page
    assert 'href="/categories"' in client.get("/").text  # the nav link
    products = client.get(f"/categories/products?profile=catalogue&category={BAGS}").text
    assert "Home &gt; Bags" in products


def test_rows_mapped_before_the_page_existed_start_at_version_1(db_url):
    from tasks.database import create_state_engine, ensure_schema
    from tasks.stores.categories import CategoryStore
    from tests.helpers import execute, upgrade_to

    engine = create_state_engine(db_url)
    upgrade_to(engine, "0014")
    execute(db_url, "INSERT INTO hb_category_map (row_id, column_name, category_id) VALUES "
                    "(1, 'shop', '6'), (1, 'google', '5181'), (2, 'shop', '12')")
    ensure_schema(engine)  # 0015
    rows, version = CategoryStore(engine).rows()
    assert [(r.id, r.version, r.cells) for r in rows] == [(1, 1, {"shop": "6", "google": "5181"}),
                                                         (2, 1, {"shop": "12"})]
    assert version == 1
    assert CategoryStore(engine).write_row(None, {"shop": "3"}, None, datetime(2026, 1, 1)).id == 3
