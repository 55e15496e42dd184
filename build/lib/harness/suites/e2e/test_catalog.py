"""Journey 2: browse, search and open a product page with availability in the bound store."""

from __future__ import annotations

import pytest

from harness.e2e.journey import Journey

pytestmark = pytest.mark.journey("2 browse and search")

def test_search_and_open_product(journey: Journey) -> None:
    """Search finds the product and its page shows price and availability."""
    facts = journey.facts
    journey.deliver_to(facts.pincode)
    with journey.step("search"):
        results = journey.store.search(facts.search_term)
    skus = [p.sku for p in results]
    assert facts.sku in skus, f"searching {facts.search_term!r} did not list {facts.sku}: {skus}"
    listed = results[skus.index(facts.sku)]
    with journey.step("open product"):
        product = journey.store.open_product(facts.sku)
    assert product.title == listed.name, (product.title, listed.name)
    assert product.price == listed.price, f"listing says {listed.price}, page says {product.price}"
    assert 0 < product.price <= product.mrp, f"price {product.price} above MRP {product.mrp}"
    assert product.in_stock and product.available, f"{facts.sku} should be in stock"
    assert product.max_per_order and product.max_per_order >= 1


def test_search_without_match_is_empty(journey: Journey) -> None:
    """Search for nonsense shows an empty result, not an error."""
    journey.deliver_to(journey.facts.pincode)
    with journey.step("search"):
        results = journey.store.search("zzqx no such product")
    assert results == []


def test_browse_category(journey: Journey) -> None:
    """A category page lists priced products."""
    journey.deliver_to(journey.facts.pincode)
    with journey.step("browse category"):
        products = journey.store.browse_category()
    assert products, "the first category lists no products"
    assert all(p.price > 0 for p in products), products
