"""The PrestaShop connector: reads a shop's MySQL/MariaDB database (or the SQLite demo shop).

Its modules load on first use (`from connectors.prestashop import PrestaShop` still works): a
`heartbeat tick` with nothing to do never opens a shop, and the demo generator is only for those
who make a demo shop.
"""

__all__ = ["PrestaShop", "create_demo_shop"]


def __getattr__(name: str):
    if name == "PrestaShop":
        from connectors.prestashop.shop import PrestaShop

        return PrestaShop
    if name == "create_demo_shop":
        from connectors.prestashop.demo import create_demo_shop

        return create_demo_shop
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
