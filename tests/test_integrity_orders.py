"""The orders scope of the maintenance jobs (connectors/prestashop/integrity/orders.py), on SQLite and
MariaDB: the demo shop as created is clean; a seeded corruption is found exactly; each fix repairs
exactly what it says, writes only the tables it declares, and its changes undo byte for byte.

Operations are run here as a task runs them: batch by batch, a fix's changes applied per batch in
one transaction (integrity.rows.Rows.apply), before the next batch is checked.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from connectors.prestashop.integrity import orders as orders_scope
from connectors.prestashop.integrity.base import ANALYZE_INTEGRITY, FIX_INTEGRITY, FIX_ORPHANS, Change
from connectors.prestashop.integrity.orders import OrderChecker
from connectors.prestashop.integrity.rows import Rows
from tests.corruptor_orders import PATTERNS, corrupt
from tests.helpers import execute

N = 1000  # products: 100 orders


@pytest.fixture
def demo_products():
    return N


@pytest.fixture
def checker(shop):
    return OrderChecker(shop)


@dataclass
class Run:
    counts: Counter = field(default_factory=Counter)
    fixed: Counter = field(default_factory=Counter)
    details: dict[str, list[str]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)


def run(checker: OrderChecker, operation: str, url: str, size: int = 25) -> Run:
    records, out = list(checker.records(operation)), Run()
    engine = sa.create_engine(url)
    try:
        for start in range(0, len(records), size):
            batch = records[start:start + size]
            checked = checker.check(operation, batch)
            assert len(checked.findings) == len(batch)
            for finding in (f for found in checked.findings for f in found):
                out.counts[finding.pattern] += 1
                out.fixed[finding.pattern] += finding.fixed
                out.details.setdefault(finding.pattern, []).append(finding.detail)
            changes = [c for written in checked.changes for c in written]
            if changes:
                with engine.begin() as conn:
                    Rows(conn).apply(changes)
            out.changes += changes
    finally:
        engine.dispose()
    return out


def undo(url: str, changes: list[Change]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            Rows(conn).undo(changes)
    finally:
        engine.dispose()


def dump(url: str) -> dict[str, list[str]]:
    """Every table's rows as the driver returns them (no conversion), sorted."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            quote = conn.dialect.identifier_preparer.quote
            return {t: sorted(map(repr, conn.exec_driver_sql(f"SELECT * FROM {quote(t)}").fetchall()))
                    for t in sa.inspect(conn).get_table_names()}
    finally:
        engine.dispose()


def differences(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """table -> (rows gone, rows new), for the tables that differ."""
    out = {}
    for table in before.keys() | after.keys():
        old, new = Counter(before.get(table, [])), Counter(after.get(table, []))
        if old != new:
            out[table] = (sum((old - new).values()), sum((new - old).values()))
    return out


def test_the_demo_shop_as_created_has_no_finding(checker, demo_url):
    for operation in checker.operations:
        result = run(checker, operation, demo_url)
        assert result.counts == Counter() and result.changes == [], operation
    assert checker.not_checked() == []
    assert len([r for r in checker.records(ANALYZE_INTEGRITY)]) == N // 10


def test_analysis_finds_exactly_what_was_broken_and_writes_nothing(checker, demo_url):
    expected = corrupt(demo_url, seed=3)
    before = dump(demo_url)
    result = run(checker, ANALYZE_INTEGRITY, demo_url)
    assert {p: result.counts[p] for p in PATTERNS} == expected.counts
    assert set(result.counts) <= set(checker.patterns[ANALYZE_INTEGRITY]) == set(PATTERNS)
    assert result.fixed == Counter() and result.changes == []
    assert dump(demo_url) == before


def test_every_finding_is_one_line_naming_its_values(checker, demo_url):
    corrupt(demo_url, seed=4)
    details = run(checker, ANALYZE_INTEGRITY, demo_url).details
    assert all(d and "\n" not in d for found in details.values() for d in found)
    assert set(details["order_missing_currency"]) == {"id_currency 99 not in ps_currency"}
    assert set(details["order_state_missing"]) == {"current_state 99 not in ps_order_state"}
    assert "id_address_delivery 9999997 and id_address_invoice 9999996 not in ps_address" in \
        details["order_missing_address"]
    assert "date_upd 2020-01-01 00:00:00 is before date_add" in " ".join(details["invalid_order_date"])
    assert all(d.startswith("total_products ") and "details' total_price_tax_excl add up to" in d
               for d in details["order_total_mismatch"])
    assert any(d.startswith("ps_order_detail ") and ": id_order 999019 not in ps_orders" in d
               for d in details["orphan_order_detail"])


def test_fix_orphans_deletes_exactly_the_orphans_and_undo_restores_them(checker, demo_url):
    expected = corrupt(demo_url, seed=5)
    before = dump(demo_url)
    result = run(checker, FIX_ORPHANS, demo_url)
    assert {p: n for p, n in result.fixed.items() if n} == expected.fixable[FIX_ORPHANS]
    assert result.counts["order_without_details"] == expected.counts["order_without_details"]
    kept = [d for d in result.details["order_without_details"] if "kept" in d]
    assert len(kept) == 1 and kept[0].endswith("; kept: its totals are not zero")
    assert all(c.after is None and c.before is not None for c in result.changes)

    after = dump(demo_url)
    declared = {f"ps_{t}" for t in checker.writes[FIX_ORPHANS]}
    assert differences(before, after) == {f"ps_{t}": (n, 0) for t, n in expected.deleted.items()}
    assert {t: rows for t, rows in after.items() if t not in declared} == \
        {t: rows for t, rows in before.items() if t not in declared}

    again = run(checker, ANALYZE_INTEGRITY, demo_url).counts
    assert {p: again[p] for p in expected.fixable[FIX_ORPHANS]} == {"order_without_details": 1} | \
        {p: 0 for p in expected.fixable[FIX_ORPHANS] if p != "order_without_details"}

    undo(demo_url, result.changes)
    assert dump(demo_url) == before


def test_fix_integrity_trims_references_only_and_undo_restores_them(checker, demo_url):
    expected = corrupt(demo_url, seed=6)
    before = dump(demo_url)
    result = run(checker, FIX_INTEGRITY, demo_url)
    assert {p: n for p, n in result.fixed.items() if n} == expected.fixable[FIX_INTEGRITY]
    assert {p: result.counts[p] for p in checker.patterns[FIX_INTEGRITY]} == \
        {p: expected.counts[p] for p in checker.patterns[FIX_INTEGRITY]}
    assert {c.table for c in result.changes} == {"ps_orders"}
    assert all({k for k in c.after if c.after[k] != c.before[k]} == {"reference"} for c in result.changes)
    assert all(c.after["reference"] == c.before["reference"].strip() for c in result.changes)
    assert differences(before, dump(demo_url)) == {"ps_orders": (3, 3)}

    again = run(checker, ANALYZE_INTEGRITY, demo_url).counts
    assert again["untrimmed_reference"] == 0
    assert {p: again[p] for p in PATTERNS if p != "untrimmed_reference"} == \
        {p: n for p, n in expected.counts.items() if p != "untrimmed_reference"}

    undo(demo_url, result.changes)
    assert dump(demo_url) == before


def test_an_empty_order_a_table_the_fix_does_not_write_names_is_kept(checker, demo_url):
    execute(demo_url,
            "CREATE TABLE ps_order_invoice (id_order_invoice INTEGER PRIMARY KEY, id_order INTEGER NOT NULL)",
            "INSERT INTO ps_order_invoice VALUES (1, 5)",
            "DELETE FROM ps_order_detail WHERE id_order IN (5, 6)",
            "UPDATE ps_orders SET total_products = 0, total_paid_tax_incl = 0 WHERE id_order IN (5, 6)")
    result = run(checker, FIX_ORPHANS, demo_url)
    assert result.counts == Counter(order_without_details=2) and result.fixed["order_without_details"] == 1
    assert [d for d in result.details["order_without_details"] if "kept" in d] == [
        "no ps_order_detail rows; total_products 0.000000, total_paid_tax_incl 0.000000; "
        "kept: ps_order_invoice names it"]
    assert {c.key.get("id_order") for c in result.changes if c.table == "ps_orders"} == {6}


def test_a_missing_optional_table_is_not_checked_and_said(checker, demo_url):
    execute(demo_url, "DROP TABLE ps_order_history", "DROP TABLE ps_address",
            "UPDATE ps_orders SET id_address_delivery = 424242 WHERE id_order = 3")
    assert checker.not_checked() == [
        "ps_address: table not found (order_missing_address not checked)",
        "ps_order_history: table not found (orphan_order_history not checked)",
    ]
    assert run(checker, ANALYZE_INTEGRITY, demo_url).counts == Counter()
    assert run(checker, FIX_ORPHANS, demo_url).changes == []


def test_a_batch_reads_each_table_once_whatever_its_size(checker, shop, demo_url):
    corrupt(demo_url, seed=7)
    records = list(checker.records(ANALYZE_INTEGRITY))
    statements: list[str] = []
    sa.event.listen(shop._engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    counts = []
    for size in (5, 60):
        statements.clear()
        orders = [r for r in records if r.kind == "order"][:size]
        checker.check(ANALYZE_INTEGRITY, orders + [r for r in records if r.kind != "order"])
        counts.append(len(statements))
    # ps_orders, ps_order_detail, the 4 tables orders name, the 3 orphan tables
    assert counts == [9, 9], statements


def test_records_are_orders_by_id_then_orphans_table_by_table_in_pages(checker, demo_url, monkeypatch):
    corrupt(demo_url, seed=8)
    execute(demo_url, "UPDATE ps_orders SET id_shop = 2 WHERE id_order = 7")  # another shop's order
    records = list(checker.records(ANALYZE_INTEGRITY))
    monkeypatch.setattr(orders_scope, "PAGE", 3)
    assert list(checker.records(ANALYZE_INTEGRITY)) == records
    kinds = [r.kind for r in records]
    assert kinds == sorted(kinds, key=["order", "order_detail", "order_history", "order_carrier"].index)
    ids = [r.id for r in records if r.kind == "order"]
    assert ids == sorted(ids) and 7 not in ids
    history = [r for r in records if r.kind == "order_history"]
    assert [r.id for r in history] == sorted(r.id for r in history)
    assert all(r.key == {"id_order_history": r.id} and r.pattern == "orphan_order_history"
               and r.label == f"ps_order_history {r.id}" for r in history)
    assert [r.kind for r in checker.records(FIX_INTEGRITY)] == ["order"] * len(ids)
