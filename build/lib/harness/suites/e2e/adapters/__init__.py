"""Storefront adapters (page objects) shipped with qgate: the demo store's."""
