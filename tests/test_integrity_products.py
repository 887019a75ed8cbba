"""The products maintenance checker on SQLite and MariaDB: a fresh demo shop is clean, the seeded
corruptor's damage is found exactly, each fix repairs exactly what it can and writes only the
tables it declares, and its changes undone restore every table byte for byte."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field

import pytest
import sqlalchemy as sa

from connectors.prestashop import PrestaShop
from connectors.prestashop.integrity.base import (
    ANALYZE_INTEGRITY,
    ANALYZE_REPEATED_IDS,
    FIX_INTEGRITY,
    FIX_LINKEDS,
    FIX_ORPHANS,
    Change,
    Record,
)
from connectors.prestashop.integrity.products import LINKED, ORPHANS, VALUES, ProductChecker
from connectors.prestashop.integrity.rows import Rows
from connectors.prestashop.integrity.values import ean13_problem
from tests.corruptor_products import add_language, corrupt
from tests.helpers import execute, raw

N = 120
BATCH = 25
FIXES = {FIX_ORPHANS: ORPHANS, FIX_LINKEDS: LINKED, FIX_INTEGRITY: VALUES}


@pytest.fixture
def demo_products():
    return N


@dataclass
class Run:
    """What a task would get from the checker: counts per pattern, fixed per pattern, the findings'
    details, and each batch's changes (as the undo file keeps them: through JSON)."""

    counts: Counter = field(default_factory=Counter)
    fixed: Counter = field(default_factory=Counter)
    details: list[str] = field(default_factory=list)
    batches: list[list[Change]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)


def run(url: str, operation: str, *, apply: bool = True, **options) -> Run:
    """Check every record in batches of BATCH, as a maintenance task does, applying each batch's
    changes in a transaction of its own before the next batch is checked."""
    out = Run()
    engine = sa.create_engine(url)
    with PrestaShop(url, **options) as shop:
        checker = ProductChecker(shop)
        out.records = [Record(**json.loads(json.dumps(asdict(r)))) for r in checker.records(operation)]
        for start in range(0, len(out.records), BATCH):
            batch = out.records[start:start + BATCH]
            checked = checker.check(operation, batch)
            assert len(checked.findings) == len(batch)
            assert not checked.changes or len(checked.changes) == len(batch)
            for record, found in zip(batch, checked.findings, strict=True):
                assert len({f.pattern for f in found}) == len(found), found  # one finding per pattern
                for f in found:
                    assert f.pattern in checker.patterns[operation] and "\n" not in f.detail
                    out.counts[f.pattern] += 1
                    out.fixed[f.pattern] += f.fixed
                    out.details.append(f"{record.label}: {f.pattern}: {f.detail}")
            changes = [_through_json(c) for cs in checked.changes for c in cs]
            if changes:
                with engine.begin() as conn:
                    rows = Rows(conn)
                    for change in changes:  # whole-row images, exactly as Rows reads them
                        assert change.before == rows.one(change.table, change.key)
                    if apply:
                        rows.apply(changes)
                out.batches.append(changes)
    engine.dispose()
    return out


def _through_json(change: Change) -> Change:
    return Change(**json.loads(json.dumps(asdict(change))))


def undo(url: str, batches: list[list[Change]]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for changes in reversed(batches):
            Rows(conn).undo(changes)
    engine.dispose()


def dump(url: str) -> dict[str, list[str]]:
    """Every row of every table, SQLite text as its bytes."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        driver = conn.connection.driver_connection
        if hasattr(driver, "text_factory"):
            driver.text_factory = bytes
        quote = conn.dialect.identifier_preparer.quote
        out = {t: sorted(repr(tuple(r)) for r in conn.exec_driver_sql(f"SELECT * FROM {quote(t)}"))
               for t in tables}
    engine.dispose()
    return out


def found(counts: Counter) -> dict[str, int]:
    return {k: n for k, n in counts.items() if n}


# -- a fresh shop ---------------------------------------------------------------------------------


@pytest.mark.parametrize("languages", [2, 3])
@pytest.mark.parametrize("operation", list(ProductChecker.patterns))
def test_a_fresh_demo_shop_has_no_finding(demo_url, operation, languages):
    if languages == 3:  # the demo shop has English and French
        add_language(demo_url, 3, "de")
    before = dump(demo_url)
    result = run(demo_url, operation)
    assert found(result.counts) == {} and result.batches == []
    assert dump(demo_url) == before
    expected = 0 if operation == ANALYZE_REPEATED_IDS else N if operation != FIX_ORPHANS else 0
    assert len(result.records) == expected


def test_the_demo_shop_links_every_product_as_prestashop_does(demo_url):
    assert raw(demo_url, "SELECT id_lang, iso_code, active FROM ps_lang ORDER BY id_lang") == [(1, "en", 1),
                                                                                          (2, "fr", 1)]
    assert raw(demo_url, "SELECT id_lang, id_shop FROM ps_lang_shop ORDER BY id_lang") == [(1, 1), (2, 1)]
    assert raw(demo_url, "SELECT id_lang, COUNT(*) FROM ps_product_lang GROUP BY id_lang") == [(1, N), (2, N)]
    home = raw(demo_url, "SELECT id_product, position FROM ps_category_product WHERE id_category = 2 "
                         "ORDER BY id_product")
    assert home == [(pid, pid - 1) for pid in range(1, N + 1)]
    defaults = raw(demo_url, "SELECT COUNT(*) FROM ps_category_product cp JOIN ps_product p "
                             "ON p.id_product = cp.id_product AND p.id_category_default = cp.id_category")
    assert defaults[0][0] == N
    positions = raw(demo_url, "SELECT id_category, MIN(position), MAX(position), COUNT(*) "
                              "FROM ps_category_product WHERE id_category <> 2 GROUP BY id_category")
    assert all(low == 0 and high == count - 1 for _, low, high, count in positions)
    varied = raw(demo_url, "SELECT COUNT(DISTINCT id_product) FROM ps_product_attribute")[0][0]
    assert raw(demo_url, "SELECT COUNT(*), SUM(cover) FROM ps_image")[0] == (N + varied, N)  # one cover each
    assert raw(demo_url, "SELECT COUNT(*) FROM ps_image_shop s JOIN ps_image i ON i.id_image = s.id_image "
                         "AND i.id_product = s.id_product AND s.id_shop = 1")[0][0] == N + varied
    assert raw(demo_url, "SELECT COUNT(*) FROM ps_image_lang")[0][0] == 2 * (N + varied)


# -- a corrupted shop -----------------------------------------------------------------------------


@pytest.fixture
def corrupted(demo_url):
    add_language(demo_url)
    return corrupt(demo_url)


def test_the_analysis_counts_exactly_what_was_broken(demo_url, corrupted):
    result = run(demo_url, ANALYZE_INTEGRITY)
    assert found(result.counts) == found(corrupted.integrity)
    assert result.batches == [] and not any(result.fixed.values())
    orphans = [r for r in result.records if r.kind != "product"]
    order = ["stock_available", "product_lang", "product_shop", "category_product",
             "product_attribute_combination", "product_attribute"]
    assert [r.kind for r in orphans] == sorted((r.kind for r in orphans), key=order.index)
    assert "ps_stock_available" in orphans[0].label and orphans[0].pattern == "orphan_stock_row"


def test_details_name_the_values(demo_url, corrupted):
    details = "\n".join(run(demo_url, ANALYZE_INTEGRITY).details)
    assert "id_product 999001 is not in ps_product" in details
    assert "id_lang 77 is not in ps_lang" in details
    assert "id_product_attribute 888888 of id_product" in details
    assert "ean13 '12345' of the product: 5 digits (8, 12 or 13 expected)" in details
    assert "has control characters" in details and "id_category_default 9999 is not in ps_category" in details
    assert "(none in language 1 to copy)" in details
    assert "0 default_on among combinations" in details


def test_repeated_ids_are_counted_once_per_value_with_their_products(demo_url, corrupted):
    result = run(demo_url, ANALYZE_REPEATED_IDS)
    assert found(result.counts) == found(corrupted.repeated)
    for record in result.records:
        assert record.key[record.kind] == record.label and len(record.key["ids"]) == 2
    assert any("(combination " in d for d in result.details)


@pytest.mark.parametrize("operation", list(FIXES))
def test_a_fix_repairs_its_patterns_writes_only_its_tables_and_undoes_exactly(demo_url, corrupted, operation):
    before = dump(demo_url)
    result = run(demo_url, operation)
    wanted = {p: n for p, n in corrupted.integrity.items() if p in FIXES[operation]}
    assert found(result.counts) == wanted
    fixed = {p: n - corrupted.left[p] for p, n in wanted.items()}
    assert found(result.fixed) == found(Counter(fixed))
    after = dump(demo_url)
    changed = {t for t in before if before[t] != after[t]}
    assert changed and changed <= {f"ps_{t}" for t in ProductChecker.writes[operation]}
    assert changed == {c.table for cs in result.batches for c in cs}
    left = run(demo_url, operation, apply=False)
    assert found(left.counts) == {p: n for p, n in corrupted.left.items() if p in FIXES[operation]}
    assert not any(left.fixed.values())  # what is left needs a human
    undo(demo_url, result.batches)
    assert dump(demo_url) == before


def test_all_fixes_leave_only_what_needs_a_human(demo_url, corrupted):
    for operation in (FIX_ORPHANS, FIX_LINKEDS, FIX_INTEGRITY):
        run(demo_url, operation)
    assert found(run(demo_url, ANALYZE_INTEGRITY).counts) == found(corrupted.left)


def test_fixes_repair_as_prestashop_would(demo_url, corrupted):
    def rows(sql: str, products: tuple[int, ...]) -> list[tuple]:
        return [tuple(r) for r in raw(demo_url, sql.format(", ".join(map(str, products))))]

    names = "SELECT * FROM ps_product_lang WHERE id_product IN ({}) AND id_lang = {} ORDER BY id_product"
    b1, b2, b3 = corrupted.products["product_without_lang_row"]
    english = rows(names.format("{}", 1), (b1, b2))
    run(demo_url, FIX_LINKEDS)
    run(demo_url, FIX_INTEGRITY)
    french = rows(names.format("{}", 2), (b1, b2))
    assert [r[:2] + r[3:] for r in french] == [r[:2] + r[3:] for r in english]
    assert {r[2] for r in french} == {2}
    assert rows(names.format("{}", 1), (b3,)) == []  # nothing to copy it from
    shops = rows("SELECT p.id_product, p.id_category_default, p.price, p.wholesale_price, p.active, "
                 "p.date_add, s.id_category_default, s.price, s.wholesale_price, s.active, s.date_add "
                 "FROM ps_product p JOIN ps_product_shop s ON s.id_product = p.id_product AND s.id_shop = 1 "
                 "WHERE p.id_product IN ({}) ORDER BY p.id_product",
                 corrupted.products["product_without_shop_row"])
    assert len(shops) == 2 and all(r[1:6] == r[6:] for r in shops)  # copied from the product
    drift = raw(demo_url, "SELECT COUNT(*) FROM ps_product p JOIN ps_product_shop s "
                          "ON s.id_product = p.id_product AND s.id_shop = 1 WHERE p.price <> s.price")
    assert drift[0][0] == 0
    assert raw(demo_url, "SELECT COUNT(*) FROM ps_product WHERE reference <> TRIM(reference)")[0][0] == 0
    per_product = raw(demo_url, "SELECT id_product, COUNT(*) FROM ps_product_attribute WHERE default_on = 1 "
                                "GROUP BY id_product")
    assert {n for _, n in per_product} == {1}
    stock = raw(demo_url, "SELECT quantity, physical_quantity, reserved_quantity, id_shop, id_shop_group "
                          "FROM ps_stock_available WHERE id_stock_available > "
                          "(SELECT MAX(id_stock_available) - 2 FROM ps_stock_available)")
    assert [tuple(r) for r in stock] == [(0, 0, 0, 1, 0)] * 2


def test_one_default_combination_is_also_the_products_cached_default(demo_url):
    (pid, first), = raw(demo_url, "SELECT id_product, MIN(id_product_attribute) FROM ps_product_attribute "
                                  "GROUP BY id_product ORDER BY id_product LIMIT 1")
    execute(demo_url,  # the demo has PrestaShop's cache_default_attribute columns
            f"UPDATE ps_product_attribute SET default_on = NULL WHERE id_product = {pid}",
            f"UPDATE ps_product_attribute_shop SET default_on = NULL WHERE id_product = {pid}")
    before = dump(demo_url)
    result = run(demo_url, FIX_INTEGRITY)
    assert found(result.fixed) == {"default_combination_count": 1}
    cached = [raw(demo_url, f"SELECT cache_default_attribute FROM ps_{t} WHERE id_product = {pid}")
              for t in ("product", "product_shop")]
    assert cached == [[(first,)], [(first,)]]
    assert {c.table for cs in result.batches for c in cs} == {
        "ps_product", "ps_product_shop", "ps_product_attribute", "ps_product_attribute_shop"}
    undo(demo_url, result.batches)
    assert dump(demo_url) == before


# -- shops that differ from the demo ------------------------------------------------------------


def test_a_shop_sharing_stock_gets_the_groups_stock_rows(demo_url):
    execute(demo_url, "UPDATE ps_shop_group SET share_stock = 1 WHERE id_shop_group = 1",
            "UPDATE ps_stock_available SET id_shop = 0, id_shop_group = 1",
            "DELETE FROM ps_stock_available WHERE id_product = 5")
    result = run(demo_url, FIX_LINKEDS)
    assert found(result.counts) == found(result.fixed) == {"stock_row_missing": 1}
    assert "shop group 1 (shared stock)" in result.details[0]
    assert raw(demo_url, "SELECT id_shop, id_shop_group, quantity FROM ps_stock_available "
                         "WHERE id_product = 5 AND id_product_attribute = 0") == [(0, 1, 0)]


def test_a_created_row_gets_the_defaults_of_columns_heartbeat_does_not_know(demo_url, backend):
    # the demo has 8.1's location and out_of_stock; a module's columns come on top
    execute(demo_url, "ALTER TABLE ps_stock_available ADD COLUMN module_flag INT NOT NULL DEFAULT '2'",
            "ALTER TABLE ps_stock_available ADD COLUMN ecotax DECIMAL(17,6) NOT NULL DEFAULT '0.000000'",
            "ALTER TABLE ps_stock_available ADD COLUMN note VARCHAR(8) NULL",
            "DELETE FROM ps_stock_available WHERE id_product = 5")
    before = dump(demo_url)
    result = run(demo_url, FIX_LINKEDS)
    assert found(result.fixed) == {"stock_row_missing": 1}
    (change,) = [c for cs in result.batches for c in cs]
    assert {k: change.after[k] for k in ("location", "out_of_stock", "module_flag", "note")} == {
        "location": "", "out_of_stock": 0, "module_flag": 2, "note": None}
    undo(demo_url, result.batches)  # what was planned is what was written: no drift
    assert dump(demo_url) == before


def test_a_shop_without_the_optional_tables_is_checked_without_them(demo_url):
    execute(demo_url, "DROP TABLE ps_lang_shop", "DROP TABLE ps_lang", "DROP TABLE ps_category_product",
            "DELETE FROM ps_product_lang WHERE id_product = 3")
    with PrestaShop(demo_url) as shop:
        lines = ProductChecker(shop).not_checked()
    assert [line.split(":")[0] for line in lines] == ["ps_lang", "ps_lang_shop", "ps_category_product"]
    assert found(run(demo_url, ANALYZE_INTEGRITY).counts) == {"product_without_lang_row": 1}


def test_not_checked_names_the_missing_table_exactly(demo_url):
    execute(demo_url, "DROP TABLE ps_lang_shop")
    with PrestaShop(demo_url) as shop:
        (line,) = ProductChecker(shop).not_checked()
    assert line.startswith("ps_lang_shop: table not found (product_without_lang_row checked in language 1")


def test_a_shop_without_combination_attributes_deletes_orphan_combinations_without_them(demo_url):
    execute(demo_url, "INSERT INTO ps_product_attribute (id_product_attribute, id_product, reference, "
                      "default_on) VALUES (900001, 999006, 'GONE-1', 1)",
            "DROP TABLE ps_product_attribute_combination")
    with PrestaShop(demo_url) as shop:
        lines = ProductChecker(shop).not_checked()
    assert lines == ["ps_product_attribute_combination: table not found "
                     "(orphan_combination_attribute not checked)"]
    before = dump(demo_url)
    result = run(demo_url, FIX_ORPHANS)
    assert found(result.counts) == found(result.fixed) == {"orphan_combination": 1}
    undo(demo_url, result.batches)
    assert dump(demo_url) == before


def test_a_shop_without_attributes_says_attribute_rows_are_not_checked(demo_url):
    execute(demo_url, "INSERT INTO ps_product_attribute_combination (id_attribute, id_product_attribute) "
                      "SELECT 999, MIN(id_product_attribute) FROM ps_product_attribute",
            "DROP TABLE ps_attribute")
    with PrestaShop(demo_url) as shop:
        lines = ProductChecker(shop).not_checked()
    assert [line.split(" (")[0] for line in lines] == ["ps_attribute: table not found"]
    assert "orphan_combination_attribute not checked for missing attributes" in lines[0]
    assert found(run(demo_url, ANALYZE_INTEGRITY).counts) == {}


def test_repeated_broken_utf8_references_are_paged_on_their_bytes(demo_url, backend):
    if backend != "sqlite":
        pytest.skip("MariaDB refuses text that is not UTF-8")
    broken = ["X'41C001'", "X'41C002'", "X'41C003'", "X'41C004'"]  # each below U+FFFD's bytes
    execute(demo_url, *(f"UPDATE ps_product SET reference = CAST({value} AS TEXT) WHERE id_product IN "
                        f"({2 * n + 1}, {2 * n + 2})" for n, value in enumerate(broken)))
    with PrestaShop(demo_url) as shop:
        shop.queue_page = 2
        checker = ProductChecker(shop)
        records = [Record(**json.loads(json.dumps(asdict(r)))) for r in checker.records(ANALYZE_REPEATED_IDS)]
        checked = checker.check(ANALYZE_REPEATED_IDS, records)
    assert [r.key["ids"] for r in records] == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert [[f.pattern for f in found] for found in checked.findings] == [["repeated_reference"]] * 4


def test_records_are_read_in_pages(demo_url):
    corrupt_free = run(demo_url, ANALYZE_INTEGRITY).records
    with PrestaShop(demo_url) as shop:
        shop.queue_page = 7
        assert list(ProductChecker(shop).records(ANALYZE_INTEGRITY)) == corrupt_free
    assert [r.id for r in corrupt_free] == list(range(1, N + 1))


def test_a_batch_reads_each_table_once(demo_url, corrupted):
    with PrestaShop(demo_url) as shop:
        checker = ProductChecker(shop)
        records = [r for r in checker.records(ANALYZE_INTEGRITY) if r.kind == "product"]
        checker.check(ANALYZE_INTEGRITY, records[:5])  # reads the languages and table list once
        statements: list[str] = []
        engine = shop._engine
        sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        checker.check(ANALYZE_INTEGRITY, records)
    assert len(statements) <= 9  # product, product_shop, product_lang, stock, combinations, their shop rows,
    #                              categories, category links (+1 re-read of undecodable text on SQLite)


@pytest.mark.parametrize("code, problem", [
    ("", None), ("2000000000015", None), ("96385074", None), ("036000291452", None),
    ("2000000000016", "wrong check digit 6 (5 expected)"), ("12345", "5 digits (8, 12 or 13 expected)"),
    ("20000000001X", "not only digits"), ("２０００", "not only digits"),
])
def test_ean13_check_digit(code, problem):
    assert ean13_problem(code) == problem


# -- multistore -----------------------------------------------------------------------------------


def _second_shop(url: str, pid: int) -> None:
    """Shop 2 in shop 1's group, and product `pid` created there and not shared with shop 1."""
    execute(url, "INSERT INTO ps_shop (id_shop, id_shop_group, name, id_category, theme_name) "
                 "VALUES (2, 1, 'Second', 2, 'classic')",
            f"UPDATE ps_product SET id_shop_default = 2 WHERE id_product = {pid}",
            f"UPDATE ps_product_shop SET id_shop = 2 WHERE id_product = {pid}",
            f"UPDATE ps_product_lang SET id_shop = 2 WHERE id_product = {pid}",
            f"UPDATE ps_stock_available SET id_shop = 2 WHERE id_product = {pid}")


def test_a_product_of_another_shop_only_is_not_missing_here(demo_url):
    _second_shop(demo_url, 7)
    execute(demo_url, "DELETE FROM ps_product_shop WHERE id_product = 8 AND id_shop = 1")  # lost here
    before = dump(demo_url)
    assert found(run(demo_url, ANALYZE_INTEGRITY).counts) == {"product_without_shop_row": 1}
    result = run(demo_url, FIX_LINKEDS)
    assert [d.split(":")[1].strip() for d in result.details] == ["product_without_shop_row"]
    here = raw(demo_url, "SELECT id_product FROM ps_product_shop WHERE id_shop = 1 AND id_product IN (7, 8)")
    assert here == [(8,)]
    undo(demo_url, result.batches)
    assert dump(demo_url) == before
