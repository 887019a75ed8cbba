"""The contract of the maintenance jobs (the seed's "data integrity error detection and sanity
correction"): what a Checker of one scope (products or orders) gives a maintenance task.

A maintenance task checks records: the products (or orders) of the connection's shop, then the rows
found while its queue is built whose parent is gone (orphans). For a batch of records a Checker says
what is wrong with each (findings) and, for a fix, which rows to write (changes with whole before
and after images, so a fix can be undone exactly and replayed after a crash). Analyses never write;
a fix writes only the tables its operation declares (`Checker.writes`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

PRODUCTS, ORDERS = "products", "orders"
ANALYZE_INTEGRITY, ANALYZE_REPEATED_IDS = "analyze-integrity", "analyze-repeated-ids"
FIX_INTEGRITY, FIX_ORPHANS, FIX_LINKEDS = "fix-integrity", "fix-orphans", "fix-linkeds"
FIX_STATS, FIX_REPEATED_IDS = "fix-stats", "fix-repeated-ids"
OPERATIONS = {  # the seed's names, per scope, in the order `heartbeat maintenance list` shows them
    PRODUCTS: (ANALYZE_INTEGRITY, ANALYZE_REPEATED_IDS, FIX_INTEGRITY, FIX_ORPHANS, FIX_LINKEDS, FIX_STATS,
               FIX_REPEATED_IDS),
    ORDERS: (ANALYZE_INTEGRITY, FIX_INTEGRITY, FIX_ORPHANS, FIX_STATS),
}

WHAT = {  # (scope, operation) -> one line for `heartbeat maintenance list`
    (PRODUCTS, ANALYZE_INTEGRITY): "find broken product records (missing shop, language or stock rows, "
                                   "orphans, price drift, bad codes and text); writes nothing",
    (PRODUCTS, ANALYZE_REPEATED_IDS): "find references and EAN-13 codes shared by several products; "
                                      "writes nothing",
    (PRODUCTS, FIX_INTEGRITY): "repair values where the right one is certain (trim references, strip control "
                               "characters, price from the default shop, one default combination)",
    (PRODUCTS, FIX_ORPHANS): "delete catalogue rows whose product, combination, category or attribute "
                             "is gone",
    (PRODUCTS, FIX_LINKEDS): "create missing linked rows: shop, language, stock and default-category rows",
    (PRODUCTS, FIX_STATS): "rebuild Heartbeat's change tracking of the connection's export profiles",
    (PRODUCTS, FIX_REPEATED_IDS): "make Heartbeat's own records of products one to one",
    (ORDERS, ANALYZE_INTEGRITY): "find broken sales orders (no lines, orphans, totals, missing customer, "
                                 "address, currency or state, bad dates); writes nothing",
    (ORDERS, FIX_INTEGRITY): "trim order references; wrong totals, dates, quantities and missing links stay "
                             "findings (only a person knows which side is wrong)",
    (ORDERS, FIX_ORPHANS): "delete order lines, history and carrier rows of missing orders, and empty "
                           "orders with zero totals",
    (ORDERS, FIX_STATS): "rebuild Heartbeat's change tracking of the connection's order exports",
}


@dataclass(frozen=True)
class Record:
    """One thing a task checks. `kind` "product" or "order" (`id` its id_product / id_order), or
    the table (without prefix) of an orphan row, with `key` the columns that identify that row,
    `id` its own id if it has one (else 0) and `pattern` the orphan pattern that found it.
    `label` is what the report shows: a reference, or e.g. "ps_stock_available 900001"."""

    kind: str
    id: int
    label: str
    key: dict[str, Any] | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class Finding:
    """A bad pattern found on a record: `pattern` a stable snake_case name (a key of the result's
    dictionary), `detail` one line naming the values ("ps_product.price 11.00, shop 1 10.00"),
    `fixed` when this task's changes repair it."""

    pattern: str
    detail: str
    fixed: bool = False


@dataclass(frozen=True)
class Change:
    """One row a fix writes: `table` its real name (prefix included), `key` the columns that
    identify it, and the whole row before and after (None: the row does not exist). Values are as
    integrity.rows reads them (JSON-able: see rows.encode)."""

    table: str
    key: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass
class Checked:
    """What `Checker.check` gives for a batch: per record, in order, its findings and the changes
    that fix them (always empty for an analysis)."""

    findings: list[list[Finding]]
    changes: list[list[Change]] = field(default_factory=list)


class Checker(ABC):
    """The checks and fixes of one scope on one shop (a connectors.prestashop.PrestaShop)."""

    scope: ClassVar[str]
    # operation -> every pattern it can report (present with 0 in the result when none is found)
    patterns: ClassVar[dict[str, tuple[str, ...]]]
    # operation -> the tables (without prefix) it may write; analyses: none
    writes: ClassVar[dict[str, tuple[str, ...]]]

    def __init__(self, shop: Any):
        self.shop = shop

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(self.patterns)

    def not_checked(self) -> list[str]:
        """What this shop lacks to be fully checked, one line each ("ps_image: table not found"):
        optional tables that do not exist are not checked, never an error."""
        return []

    @abstractmethod
    def records(self, operation: str) -> Iterator[Record]:
        """Every record `operation` checks, in a stable order: the scope's own records by id, then
        the orphan rows it looks for. Streamed: memory does not grow with the shop."""

    @abstractmethod
    def check(self, operation: str, records: list[Record]) -> Checked:
        """Findings (and, for a fix, changes) for a batch of records; reads only, one query per
        table per batch. A record that is clean has no finding."""
