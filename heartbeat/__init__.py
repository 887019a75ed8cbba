"""Heartbeat: scheduled import/export tasks between a PrestaShop shop and a product-sync platform."""

__version__ = "0.1.0"
