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
from connectors.prestashop.integrity.orders import OrderChecker
from connectors.prestashop.integrity.products import ProductChecker
from connectors.prestashop.integrity.rows import Drifted, Rows

CHECKERS: dict[str, type[Checker]] = {PRODUCTS: ProductChecker, ORDERS: OrderChecker}  # scope -> its checker

__all__ = ["CHECKERS", "OPERATIONS", "ORDERS", "PRODUCTS", "WHAT", "Change", "Checked", "Checker", "Drifted",
           "Finding", "Record", "Rows"]
