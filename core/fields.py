"""The product fields Heartbeat moves between feeds and shops: one vocabulary for the feed readers,
the shop writer and the configuration's checks."""

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
