"""Journey 2: browse, search and open a product page with availability in the bound store."""

from __future__ import annotations

import pytest

from harness.e2e.journey import Journey

pytestmark = pytest.mark.journey("2 browse and search")


def test_search_and_open_product(journey: Journey) -> None:
    """Search finds the product and its page shows price and availability."""
    catalog = journey.catalog
    sku, term = str(catalog.sku), str(catalog.search_term)
    journey.arrive()
    with journey.step("search"):
        results = journey.store.search(term)
    with journey.check("results"):
        skus = [p.sku for p in results]
        assert sku in skus, f"searching {term!r} did not list {sku}; it listed {skus}"
        listed = results[skus.index(sku)]
    with journey.step("open product"):
        product = journey.store.open_product(sku)
    with journey.check("product"):
        assert product.title == listed.name, (
            f"the search lists {listed.name!r} but its page is titled {product.title!r}")
        assert product.price == listed.price, (
            f"the search says {listed.price} but the product page says {product.price}")
        assert product.price > 0, f"{sku} shows no price"
        assert product.in_stock, f"{sku} should be in stock"
        if catalog.mrp:
            assert product.mrp is not None and product.price <= product.mrp, (
                f"{sku} sells for {product.price}, above its MRP {product.mrp}")
        if catalog.stock_levels:
            assert product.available, f"{sku} shows no units available"
        if catalog.max_per_order_sku:
            assert product.max_per_order and product.max_per_order >= 1, (
                f"{sku} shows no max per order")


def test_search_without_match_is_empty(journey: Journey) -> None:
    """Search for nonsense shows an empty result, not an error."""
    journey.arrive()
    with journey.step("search"):
        results = journey.store.search("zzqx no such product")
    with journey.check("results"):
        assert results == [], f"a search for nonsense listed {[p.name for p in results]}"


def test_browse_category(journey: Journey) -> None:
    """A category page lists priced products."""
    journey.arrive()
    with journey.step("browse category"):
        products = journey.store.browse_category()
    with journey.check("products"):
        assert products, "the first category lists no products"
        unpriced = [p.name for p in products if p.price <= 0]
        assert not unpriced, f"products listed without a price: {unpriced}"
