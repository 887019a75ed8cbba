"""The product fields Heartbeat moves between feeds and shops: one vocabulary for the feed readers,
the shop writer and the configuration's checks."""

import re

# The fields an importer understands. `price` is tax excluded; for a combination row it is the
# combination's price impact (as in PrestaShop's product_attribute_shop.price).
FEED_FIELDS: tuple[str, ...] = (
    "id_product", "reference", "ean13", "upc", "mpn", "name", "price", "wholesale_price",
    "quantity", "active", "weight", "combination_reference", "combination_ean13",
)
FEED_KEY_FIELDS = ("reference", "ean13", "id_product")  # a feed needs at least one of them

# The fields an import may write into a shop, for a product and for a combination.
UPDATABLE = ("price", "wholesale_price", "quantity", "active", "name", "ean13", "weight")
COMBINATION_UPDATABLE = ("price", "wholesale_price", "quantity", "ean13", "weight")

# Unicode's Cc category: C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F). None of them is
# text a shop should show; a feed's cp1252 bytes 0x81 0x8D 0x8F 0x90 0x9D come out as C1 ones.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
TAB_FIELDS: frozenset[str] = frozenset()  # feed fields whose text may hold a tab (none so far)


def control_character(field: str, text: str) -> str | None:
    """Why `text`, a value of `field`, is refused: its first control character (Unicode Cc; a tab
    only where the field allows one) named as U+XXXX, or None."""
    found = (_CONTROL_BUT_TAB if field in TAB_FIELDS else _CONTROL).search(text)
    if found is None:
        return None
    return f"{field} holds the control character U+{ord(found.group()):04X}"
