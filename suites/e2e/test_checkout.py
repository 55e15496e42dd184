"""Journey 5: checkout, pay, see the order id; the order then moves through the states."""

from __future__ import annotations

import pytest

from harness.e2e.adapter import PROGRESS
from harness.e2e.journey import Journey, moved_on

pytestmark = pytest.mark.journey("5 checkout and tracking")


def test_checkout_places_order(journey: Journey) -> None:
    """Checkout with the first declared payment places an order the shopper can see."""
    journey.start_session()
    journey.arrive()
    cart = journey.add(str(journey.catalog.sku))
    journey.check_totals(cart)
    order = journey.place_order()
    with journey.step("order history"):
        history = journey.store.order_history()
    with journey.check("history"):
        assert order.order_id in [row.order_id for row in history], (
            f"order {order.order_id} is missing from the shopper's order history")


def test_order_moves_through_states(journey: Journey) -> None:
    """A placed order moves forward through the canonical states."""
    journey.start_session()
    journey.arrive()
    journey.add(str(journey.catalog.sku))
    order = journey.place_order()
    seen = [order.state]
    # The shop moves orders itself (one move is enough evidence), or a hook moves them on
    # staging (then all the way to delivered: each call is one dark-store step).
    moves = len(PROGRESS) - 1 if journey.settings.orders.progress == "hook" else 1
    for _ in range(moves):
        moved = journey.advance(order)
        with journey.check("progress"):
            assert moved_on(order.state, moved.state), (
                f"order {order.order_id} went from {order.status!r} ({order.state}) to "
                f"{moved.status!r} ({moved.state}), not forward")
            timeline = [s for s in moved.states if s in PROGRESS]
            assert timeline == sorted(timeline, key=PROGRESS.index), (
                f"the tracking page's timeline goes backwards: {moved.states}")
            assert not moved.states or moved.states[-1] == moved.state, (
                f"the timeline ends at {moved.states[-1]} but the order is {moved.state}")
        seen.append(moved.state)
        order = moved
        if order.state == "delivered":
            break
    with journey.check("progress"):
        assert len(seen) > 1, "the order never moved"


def test_upi_checkout_places_order(journey: Journey) -> None:
    """UPI checkout with the sandbox success id places an order."""
    journey.start_session()
    journey.arrive()
    journey.add(str(journey.catalog.sku))
    order = journey.place_order(journey.payment_for("upi"))
    with journey.step("order history"):
        history = journey.store.order_history()
    with journey.check("history"):
        assert order.order_id in [row.order_id for row in history], (
            f"order {order.order_id} is missing from the shopper's order history")


def test_cash_on_delivery_places_order_with_payment_pending(journey: Journey) -> None:
    """Cash on delivery places an order with its payment pending (nothing captured)."""
    journey.start_session()
    journey.arrive()
    journey.add(str(journey.catalog.sku))
    order = journey.place_order(journey.payment_for("cod"))  # checks the payment is pending
    with journey.step("order history"):
        history = journey.store.order_history()
    with journey.check("history"):
        assert order.order_id in [row.order_id for row in history], (
            f"order {order.order_id} is missing from the shopper's order history")
