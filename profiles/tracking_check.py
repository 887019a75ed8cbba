"""Maintenance of Heartbeat's own change tracking (the seed's "stats" and "repeated ids" of a
connection): the products an export profile tracks as sent that are no longer in the shop.

Each export profile of products keeps one row per product it sent (hb_sync_state: profile and
product id are its key, so one product can never be tracked twice: repeated_sync_state is always
0, by construction). A tracked product deleted from the shop is stale (stale_sync_state): it makes
the profile's pending counts wrong. fix-stats and fix-repeated-ids forget those rows; the next
export would send such a product as new if it came back. Forgetting a row loses nothing the shop
has, so it is not in the undo file.
"""

from __future__ import annotations

from connectors.prestashop import PrestaShop
from connectors.prestashop.integrity import (
    ORDERS,
    PRODUCTS,
    Finding,
    Record,
)
from connectors.prestashop.integrity.base import ANALYZE_REPEATED_IDS, FIX_REPEATED_IDS, FIX_STATS
from core.config import Config

PATTERNS = ("repeated_sync_state", "stale_sync_state")
OPERATIONS = {(PRODUCTS, ANALYZE_REPEATED_IDS), (PRODUCTS, FIX_STATS), (PRODUCTS, FIX_REPEATED_IDS)}
NOTHING_TRACKED = {(ORDERS, FIX_STATS)}  # order exports keep no per-order state: nothing to rebuild
KIND = "sync_state"  # the kind of the records this module checks


def tracking_profiles(config: Config, connection: str) -> list[str]:
    """The export profiles that track the products of `connection` (order exports keep no
    per-record state: they send what changed since their last completed run started)."""
    return [p.name for p in config.profiles if p.kind == "export" and p.source == connection
            and p.options.get("entity", "products") == "products"]


def stale_records(store, config: Config, connection: str, shop: PrestaShop) -> list[Record]:
    """The tracked rows of `connection`'s export profiles whose product the shop no longer has."""
    profiles = tracking_profiles(config, connection)
    if not profiles:
        return []
    in_shop = {pid for pid, *_ in shop.iter_queue()}
    return [Record(KIND, pid, f"{profile}: product {pid}", {"profile": profile, "product_id": pid},
                   "stale_sync_state")
            for profile in profiles for pid in store.sent.tracked(profile) if pid not in in_shop]


def check(records: list[Record], shop: PrestaShop, fixes: bool) -> list[tuple[list[Finding], dict | None]]:
    """Per record: still stale (the product did not come back meanwhile)? Then the finding, and
    for a fix what to forget."""
    present = shop.existing([r.id for r in records])
    out = []
    for record in records:
        if record.id in present:
            out.append(([], None))
            continue
        profile = record.key["profile"]
        finding = Finding("stale_sync_state", f"profile {profile} tracks product {record.id}, which is no "
                                              "longer in the shop", fixed=fixes)
        out.append(([finding], {"forget": [profile, record.id]} if fixes else None))
    return out
