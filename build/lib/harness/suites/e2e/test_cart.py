"""Journey 3: cart: add, change quantity, max per order and stock, remove."""

from __future__ import annotations

import pytest

from harness.e2e.journey import Journey

pytestmark = pytest.mark.journey("3 cart")


def test_add_change_quantity_and_remove(journey: Journey) -> None:
    """Cart lines follow quantity changes and empty out on remove."""
    sku = str(journey.catalog.sku)
    journey.arrive()
    with journey.step("open product"):
        price = journey.store.open_product(sku).price
    cart = journey.add(sku)
    with journey.check("line"):
        line = cart.line(sku)
        assert line is not None and line.line_total == price, (
            f"one {sku} at {price} is shown as {line}")
    with journey.step("change quantity"):
        raised = journey.store.change_quantity(sku, +1)
        assert raised.accepted, f"raising {sku} to 2 was refused: {raised.message!r}"
        line = journey.store.cart().line(sku)
        assert line is not None and line.quantity == 2, f"after raising to 2 the line is {line}"
        assert line.line_total == 2 * price, f"2 × {price} is shown as {line.line_total}"
        lowered = journey.store.change_quantity(sku, -1)
        assert lowered.accepted, f"lowering {sku} to 1 was refused: {lowered.message!r}"
    with journey.step("remove from cart"):
        cart = journey.store.remove_from_cart(sku)
    with journey.check("cart"):
        assert cart.line(sku) is None and not cart.lines, (
            f"the cart is not empty after removing {sku}: {cart.lines}")


def test_max_per_order_is_enforced(journey: Journey) -> None:
    """Cart refuses more than the max per order and keeps the quantity."""
    sku = str(journey.catalog.max_per_order_sku)
    journey.arrive()
    with journey.step("open product"):
        limit = journey.store.open_product(sku).max_per_order
        assert limit, f"{sku} shows no max per order"
    journey.add(sku, quantity=limit)
    with journey.step("exceed max per order"):
        change = journey.store.change_quantity(sku, +1)
        line = journey.store.cart().line(sku)
    with journey.check("refusal"):
        assert not change.accepted, f"{sku} went past its max of {limit} per order"
        assert change.reason == "max_per_order", (
            f"going past the max of {limit} should be refused for that reason; the shop said "
            f"{change.message!r} ({change.reason or 'no reason'})")
        assert line is not None and line.quantity == limit, (
            f"after the refusal the cart holds {line.quantity if line else 0}, not {limit}")


def test_out_of_stock_is_flagged_and_refused(journey: Journey) -> None:
    """Out-of-stock product is flagged and cannot be added."""
    sku = str(journey.catalog.out_of_stock_sku)
    journey.arrive()
    with journey.step("open product"):
        product = journey.store.open_product(sku)
    with journey.check("product"):
        assert not product.in_stock, f"{sku}, which is out of stock, is shown in stock"
        if journey.shows_stock:
            assert not product.available, f"{sku} shows {product.available} units available"
    with journey.step("add to cart"):
        change = journey.store.add_to_cart(sku)
        cart = journey.store.cart()
    with journey.check("refusal"):
        assert not change.accepted and cart.line(sku) is None, (
            f"{sku}, which is out of stock, was added to the cart")
        assert change.reason in ("out_of_stock", "insufficient_stock"), (
            f"adding {sku} should be refused as out of stock; the shop said "
            f"{change.message!r} ({change.reason or 'no reason'})")
