"""Journey 6: a declined payment shows an error, places no order, keeps the stock; a retry wins."""

from __future__ import annotations

import pytest

from harness.e2e.adapter import Upi
from harness.e2e.journey import Journey

pytestmark = pytest.mark.journey("6 payment declined")

def test_declined_card_then_retry_succeeds(journey: Journey) -> None:
    """Declined card places no order and keeps the stock; a retry succeeds."""
    facts = journey.facts
    sku = journey.own_sku(facts.decline_skus)
    journey.sign_up()
    journey.deliver_to(facts.decline_pincode)
    stock_before = journey.available(sku)
    journey.add(sku)
    with journey.step("checkout"):
        journey.store.checkout()
    with journey.step("declined payment"):
        outcome = journey.store.pay(journey.declined_card, address=facts.address)
    assert outcome.order_id is None, f"a declined card placed order {outcome.order_id}"
    # A gateway error also shows an error, but it is not the decline this journey expects.
    assert "declined" in outcome.error.lower(), f"expected a decline, got {outcome.error!r}"
    with journey.step("order history"):
        assert journey.store.order_history() == [], "a declined payment left an order"
    assert journey.available(sku) == stock_before, "the declined order held stock"
    with journey.step("read cart"):
        assert journey.store.cart().line(sku) is not None, "the decline emptied the cart"
    order = journey.place_order(journey.success_card)
    assert order.order_id
    assert journey.available(sku) == stock_before - 1, "the paid order did not reserve stock"


def test_upi_failure_places_no_order(journey: Journey) -> None:
    """Failed UPI payment shows an error and places no order."""
    journey.sign_up()
    journey.deliver_to(journey.facts.pincode)
    journey.add(journey.facts.sku)
    with journey.step("checkout"):
        journey.store.checkout()
    with journey.step("declined payment"):
        outcome = journey.store.pay(Upi(journey.sandbox.upi_failure), address=journey.facts.address)
    assert outcome.order_id is None, f"a failed UPI payment placed order {outcome.order_id}"
    assert "declined" in outcome.error.lower(), f"expected a decline, got {outcome.error!r}"
    with journey.step("order history"):
        assert journey.store.order_history() == []
