"""Random malformed feeds, end to end: every physical line of the feed is accounted for in the
report, and no shop value changes except from a valid row (seeded, so a failure replays)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from connectors.prestashop import create_demo_shop
from tests.helpers import import_config, make_heartbeat, raw

PRODUCTS = 40
SEEDS = range(12)


def shop_values(shop_url: str) -> dict[str, tuple[Decimal, int]]:
    rows = raw(shop_url, "SELECT p.reference, ps.price, st.quantity FROM ps_product p "
                         "JOIN ps_product_shop ps ON ps.id_product = p.id_product AND ps.id_shop = 1 "
                         "JOIN ps_stock_available st ON st.id_product = p.id_product "
                         "AND st.id_product_attribute = 0 AND st.id_shop = 1")
    return {ref: (Decimal(str(price)).quantize(Decimal("0.01")), int(qty)) for ref, price, qty in rows}


def malformed_feed(rng: random.Random, refs: list[str]):
    """Feed lines (header first); per data line (kind, reference), kind "valid", "unknown" (a key
    no product has), "blank" or a malformation; and the values the valid rows must leave."""
    lines, kinds, wanted = ["reference;price;quantity"], [], {}
    for ref in rng.sample(refs, len(refs)):  # each product at most once: no duplicates to reason about
        price, qty = f"{rng.randint(100, 99999) / 100:.2f}", str(rng.randint(0, 500))
        kind = rng.choice(["valid"] * 4 + ["unknown", "negative", "garbage", "extra", "missing",
                                            "quote", "blank"])
        if kind == "valid":
            lines.append(f"{ref};{price};{qty}")
        elif kind == "unknown":
            lines.append(f"NOPE-{ref};{price};{qty}")
        elif kind == "negative":
            lines.append(f"{ref};-{price};{qty}")
        elif kind == "garbage":
            lines.append(f"{ref};{price[:2]}\"x{price[2:]};{qty}")
        elif kind == "extra":
            lines.append(f"{ref};{price};{qty};{rng.choice(['x', '1', 'extra;cells'])}")
        elif kind == "missing":
            lines.append(f"{ref};{price}")
        elif kind == "quote":
            lines.append(f"\"{ref};{price};{qty}")
        else:
            lines.append(rng.choice(["", ";;", "  "]))
        kinds.append((kind, ref))
        if kind == "valid":
            wanted[ref] = (Decimal(price), int(qty))
    return lines, kinds, wanted


@pytest.mark.parametrize("seed", SEEDS)
def test_every_line_of_a_random_malformed_feed_is_accounted_for(tmp_path, db_url, shop_url, clock, seed):
    create_demo_shop(shop_url, products=PRODUCTS, seed=42)
    before = shop_values(shop_url)
    lines, kinds, wanted = malformed_feed(random.Random(seed), sorted(before))
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    beat = make_heartbeat(import_config(tmp_path, db_url, shop_url, {"path": str(feed)},
                                        fields=["price", "quantity"]), clock)
    task = beat.store.create(beat.config.profile("supplier"), "manual", clock.now(), clock.now())
    beat.run_until_idle()

    done = beat.store.get(task.id)
    items = list(beat.store.items(task.id))
    rows = [(kind, ref) for kind, ref in kinds if kind != "blank"]
    assert done.status == "completed" and done.progress.pending == 0
    assert len(items) == len(rows)  # one item per non-blank physical line, in file order
    for item, (kind, ref) in zip(items, rows, strict=True):
        if kind == "valid":
            assert item.status in ("processed", "skipped") and item.reference == ref, (item, kind)
            assert item.status == "processed" or item.detail == "unchanged"
        elif kind == "unknown":
            assert (item.status, item.detail) == ("skipped", "not found in shop"), item
        else:
            assert item.status == "error" and item.detail, (item, kind)
            assert ref in item.detail or item.reference == ref, item  # findable in the report
    after = shop_values(shop_url)
    assert after == {ref: wanted.get(ref, value) for ref, value in before.items()}
