"""The e2e suite: critical shopper journeys in a real browser, through a storefront adapter."""
