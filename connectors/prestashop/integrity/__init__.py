"""Integrity analyses and fixes of a PrestaShop shop (the seed's maintenance jobs).

`base` is the contract (Record, Finding, Change, Checker, the operations); `rows` reads and writes
whole-row images (fixes and their undo); `products` and `orders` are the two scopes' checkers,
registered in CHECKERS by scope.
"""

from connectors.prestashop.integrity.base import (
    OPERATIONS,
    ORDERS,
    PRODUCTS,
    WHAT,
    Change,
    Checked,
    Checker,
    Finding,
    Record,
)


def __getattr__(name: str):
    """The checkers and the row images, loaded on first use: the config and the task manager need
    only `base`, and a `heartbeat tick` should not pay for the analyses at start-up."""
    if name == "CHECKERS":  # scope -> its checker
        from connectors.prestashop.integrity.orders import OrderChecker
        from connectors.prestashop.integrity.products import ProductChecker

        checkers: dict[str, type[Checker]] = {PRODUCTS: ProductChecker, ORDERS: OrderChecker}
        globals()["CHECKERS"] = checkers
        return checkers
    if name in ("Drifted", "Rows"):
        from connectors.prestashop.integrity import rows

        return getattr(rows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CHECKERS", "OPERATIONS", "ORDERS", "PRODUCTS", "WHAT", "Change", "Checked", "Checker", "Drifted",
           "Finding", "Record", "Rows"]
