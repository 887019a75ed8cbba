"""The suspicious-feed guard: before an import writes anything, compare its feed with the profile's
last completed import and refuse one that looks broken (the seed's "No available items to grab",
generalised).

Two checks (thresholds are profile options, docs/configuration.md):
- rows: fewer than `min_rows_ratio` times the rows of the last completed import (a truncated
  download, a supplier's half-exported file);
- prices: more than `max_changed_ratio` of the products the feed matches would change price by
  more than `max_price_change` (relative to the shop's price; from 0 counts as a change), e.g. a
  feed whose price column now holds cents, or a shifted column.
The guard watches the queue as it is built (no second read of the feed) and looks the prices up
in chunks, read-only; `verdict()` then says why the task must stop, or None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from tasks.models import QueueEntry

LOOKUP_CHUNK = 1000
Prices = Callable[[list[str]], dict[str, Decimal]]  # keys -> the shop's current price (matches only)


@dataclass(frozen=True)
class Thresholds:
    min_rows_ratio: float = 0.5
    max_changed_ratio: float = 0.2
    max_price_change: float = 0.5

    @classmethod
    def of(cls, options: dict) -> Thresholds:
        return cls(**{k: options[k] for k in ("min_rows_ratio", "max_changed_ratio", "max_price_change")
                      if options.get(k) is not None})


class FeedGuard:
    """Watches the queue of an import whose profile last imported with task `previous_task`, of
    `previous_rows` rows (None: not known, no row check). `price_of(entry)` is the entry's new
    price (None: no valid price, or a row the guard ignores); `prices` looks the shop's current
    ones up."""

    def __init__(self, thresholds: Thresholds, previous_task: int | None, previous_rows: int | None,
                 price_of: Callable[[QueueEntry], Decimal | None], prices: Prices | None):
        self.thresholds, self.previous_task, self.previous_rows = thresholds, previous_task, previous_rows
        self._price_of, self._prices = price_of, prices
        self.rows = self.matched = self.changed = 0
        self._pending: dict[str, Decimal] = {}

    def watch(self, entries: Iterable[QueueEntry]) -> Iterator[QueueEntry]:
        """The entries, unchanged, counted and priced on the way."""
        for entry in entries:
            self.rows += 1
            if self._prices is not None and entry.reference:
                price = self._price_of(entry)
                if price is not None:
                    self._pending.setdefault(entry.reference, price)
                    if len(self._pending) >= LOOKUP_CHUNK:
                        self._compare()
            yield entry
        self._compare()

    def _compare(self) -> None:
        if not self._pending:
            return
        current = self._prices(list(self._pending))
        limit = Decimal(str(self.thresholds.max_price_change))
        for key, new in self._pending.items():
            old = current.get(key)
            if old is None:
                continue
            self.matched += 1
            if old == 0 and new != 0 or old != 0 and abs(new - old) / abs(old) > limit:
                self.changed += 1
        self._pending.clear()

    def verdict(self) -> str | None:
        """Why this feed must not be imported, or None."""
        t, previous = self.thresholds, f"task #{self.previous_task}"
        if self.previous_rows is not None and self.rows < t.min_rows_ratio * self.previous_rows:
            return (f"suspicious feed: {self.rows} rows, fewer than {t.min_rows_ratio:g} (min_rows_ratio) "
                    f"of the {self.previous_rows} rows of {previous}, the last completed import")
        if self.matched and self.changed > t.max_changed_ratio * self.matched:
            share = 100 * self.changed / self.matched
            return (f"suspicious feed: {self.changed} of {self.matched} matched products ({share:.0f}%) "
                    f"would change price by more than {100 * t.max_price_change:g}% (max_price_change), "
                    f"more than {t.max_changed_ratio:g} of them (max_changed_ratio)")
        return None
