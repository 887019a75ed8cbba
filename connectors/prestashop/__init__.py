"""The PrestaShop connector: reads a shop's MySQL/MariaDB database (or the SQLite demo shop)."""

from connectors.prestashop.demo import create_demo_shop
from connectors.prestashop.shop import PrestaShop

__all__ = ["PrestaShop", "create_demo_shop"]
