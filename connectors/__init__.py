"""Connectors: shop databases, feeds and the sync platform's formats."""
