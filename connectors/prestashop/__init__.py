"""The PrestaShop connector: reads a shop's MySQL/MariaDB database (or the SQLite demo shop)."""

from connectors.prestashop.shop import PrestaShop

__all__ = ["PrestaShop", "create_demo_shop"]


def __getattr__(name: str):
    if name == "create_demo_shop":  # the demo generator, loaded only by those who make a demo shop
        from connectors.prestashop.demo import create_demo_shop

        return create_demo_shop
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
