"""Journey 3: cart: add, change quantity, max per order and stock, remove."""

from __future__ import annotations

import pytest

from harness.e2e.journey import Journey

pytestmark = pytest.mark.journey("3 cart")

def test_add_change_quantity_and_remove(journey: Journey) -> None:
    """Cart lines follow quantity changes and empty out on remove."""
    sku = journey.facts.sku
    journey.deliver_to(journey.facts.pincode)
    with journey.step("open product"):
        price = journey.store.open_product(sku).price
    cart = journey.add(sku)
    line = cart.line(sku)
    assert line is not None and line.line_total == price, f"1 × {price} shown as {line}"
    with journey.step("change quantity"):
        assert journey.store.change_quantity(sku, +1).accepted
        line = journey.store.cart().line(sku)
        assert line is not None and line.quantity == 2
        assert line.line_total == 2 * price, f"2 × {price} shown as {line.line_total}"
        assert journey.store.change_quantity(sku, -1).accepted
    with journey.step("remove from cart"):
        cart = journey.store.remove_from_cart(sku)
    assert cart.line(sku) is None and not cart.lines, f"cart not empty: {cart.lines}"


def test_max_per_order_is_enforced(journey: Journey) -> None:
    """Cart refuses more than the max per order and keeps the quantity."""
    sku = journey.facts.max_per_order_sku
    journey.deliver_to(journey.facts.pincode)
    with journey.step("open product"):
        limit = journey.store.open_product(sku).max_per_order
    assert limit, f"{sku} shows no max per order"
    journey.add(sku, quantity=limit)
    with journey.step("exceed max per order"):
        change = journey.store.change_quantity(sku, +1)
        line = journey.store.cart().line(sku)
    assert not change.accepted, f"{sku} went past its max of {limit}"
    assert change.message, "the refusal gives no reason"
    assert line is not None and line.quantity == limit


def test_out_of_stock_is_flagged_and_refused(journey: Journey) -> None:
    """Out-of-stock product is flagged and cannot be added."""
    sku = journey.facts.out_of_stock_sku
    journey.deliver_to(journey.facts.pincode)
    with journey.step("open product"):
        product = journey.store.open_product(sku)
    assert not product.in_stock and not product.available, f"{sku} should be out of stock"
    with journey.step("add to cart"):
        change = journey.store.add_to_cart(sku)
        cart = journey.store.cart()
    assert not change.accepted, f"an out-of-stock {sku} was added"
    assert cart.line(sku) is None
