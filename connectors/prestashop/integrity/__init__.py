"""Integrity analyses and fixes of a PrestaShop shop (the seed's maintenance jobs).

`base` is the contract (Record, Finding, Change, Checker); `rows` reads and writes whole-row images
(fixes and their undo); `products` and `orders` are the two scopes' checkers.
"""
