"""The export guard: a shop that suddenly looks empty must not announce its catalogue deleted.

An emptied product table, or a typo such as `id_shop = 3`, makes the shop offer few or none of the
products an export profile has sent; without a guard the next export would tell the platform that
each of them was deleted. So before anything is written, the queue (the shop's products, then the
tracked ones it no longer has) is compared with the profile's change tracking, the products it
currently tracks as sent (not the last task's records):
- the shop offers fewer than `min_products_ratio` (default 0.5) times the tracked products, or
- more than `max_deleted_ratio` (default 0.25) of the tracked products would be announced deleted:
then the task ends in error with the threshold and the numbers, nothing is written, nothing is sent.
`heartbeat profiles run NAME --force` overrides it once. A profile that tracks nothing yet (its first
export) is never stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExportThresholds:
    min_products_ratio: float = 0.5
    max_deleted_ratio: float = 0.25

    @classmethod
    def of(cls, options: dict[str, Any]) -> ExportThresholds:
        return cls(**{k: options[k] for k in ("min_products_ratio", "max_deleted_ratio")
                      if options.get(k) is not None})


def verdict(t: ExportThresholds, tracked: int, offered: int, deleted: int) -> str | None:
    """Why an export must stop (None: it may go on): `tracked` products the profile tracks as sent,
    `offered` products the shop offers now, `deleted` tracked products the shop no longer has."""
    if not tracked:
        return None
    if offered < t.min_products_ratio * tracked:
        return (f"the shop offers {offered} products, fewer than {t.min_products_ratio:g} "
                f"(min_products_ratio) of the {tracked} this profile tracks as sent")
    if deleted > t.max_deleted_ratio * tracked:
        return (f"{deleted} of the {tracked} products this profile tracks as sent "
                f"({100 * deleted / tracked:.0f}%) would be announced deleted, more than "
                f"{t.max_deleted_ratio:g} of them (max_deleted_ratio)")
    return None


def refusal(why: str, profile: str, deleted: int) -> str:
    """The task's error message."""
    return (f"export stopped: {why}; {deleted} deletions would have been announced, nothing was sent. "
            f"Check the shop (emptied tables? the connection's id_shop and id_lang?), or run "
            f"`heartbeat profiles run {profile} --force` to export once anyway")
