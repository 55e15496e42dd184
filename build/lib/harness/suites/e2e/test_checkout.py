"""Journey 5: checkout, pay with the success card, see the order id, track the states."""

from __future__ import annotations

import pytest

from harness.e2e.journey import HAPPY_PATH, Journey

pytestmark = pytest.mark.journey("5 checkout and tracking")

def test_card_checkout_and_tracking(journey: Journey) -> None:
    """Card checkout places an order that moves through the states."""
    journey.sign_up()
    journey.deliver_to(journey.facts.pincode)
    cart = journey.add(journey.facts.sku)
    journey.check_totals(cart)
    order = journey.place_order(journey.success_card)
    assert order.order_id, "no order id on the confirmation page"
    assert order.status in HAPPY_PATH, f"new order is {order.status}"
    moved = journey.wait_for_progress(order.order_id, past=order.status)
    assert HAPPY_PATH.index(moved.status) > HAPPY_PATH.index(order.status), (
        f"order went from {order.status} to {moved.status}"
    )
    # The tracking steps are the happy path's prefix, in order.
    assert moved.states == HAPPY_PATH[: len(moved.states)], moved.states
    assert moved.states[-1] == moved.status, (moved.states, moved.status)


def test_upi_checkout_places_order(journey: Journey) -> None:
    """UPI checkout with the sandbox success id places an order."""
    journey.sign_up()
    journey.deliver_to(journey.facts.pincode)
    journey.add(journey.facts.sku)
    order = journey.place_order(journey.success_upi)
    with journey.step("order history"):
        history = journey.store.order_history()
    assert order.order_id in [row.order_id for row in history], history
