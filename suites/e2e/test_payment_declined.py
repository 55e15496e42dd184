"""Journey 6: a declined payment is reported as declined, places no order, keeps the stock;
a retry then succeeds."""

from __future__ import annotations

import pytest

from harness.e2e.adapter import Upi
from harness.e2e.journey import Journey

pytestmark = pytest.mark.journey("6 payment declined")


def test_declined_card_then_retry_succeeds(journey: Journey) -> None:
    """Declined card places no order and keeps the stock; a retry succeeds."""
    sku = journey.own_sku(journey.settings.orders.decline_skus)
    journey.start_session()
    orders_before = journey.orders_before()
    journey.arrive(journey.location.decline_pincode)
    stock_before = journey.available(sku)
    journey.add(sku)
    with journey.step("checkout"):
        journey.store.checkout()
    with journey.step("declined payment"):
        outcome = journey.store.pay(journey.declined_card, address=journey.address)
    with journey.check("decline"):
        assert outcome.order_id is None, f"a declined card placed order {outcome.order_id}"
        # A gateway error also shows an error, but it is not the decline this journey expects.
        assert outcome.reason == "declined", (
            f"the payment should be reported as declined; the shop said {outcome.error!r} "
            f"({outcome.reason or 'no reason'})")
    with journey.step("order history"):
        history = journey.store.order_history()
        assert history == orders_before, f"a declined payment left orders: {history}"
    if stock_before is not None:
        after = journey.available(sku)
        with journey.check("stock"):
            assert after == stock_before, (
                f"the declined order held stock: {stock_before} before, {after} after")
    with journey.step("read cart"):
        assert journey.store.cart().line(sku) is not None, "the decline emptied the cart"
    journey.place_order(journey.payment_for("card"))
    if stock_before is not None:
        after = journey.available(sku)
        with journey.check("stock"):
            assert after == stock_before - 1, (
                f"the paid order did not reserve one unit: {stock_before} before, {after} after")


def test_upi_failure_places_no_order(journey: Journey) -> None:
    """Failed UPI payment is reported as declined and places no order."""
    journey.start_session()
    orders_before = journey.orders_before()
    journey.arrive()
    journey.add(str(journey.catalog.sku))
    with journey.step("checkout"):
        journey.store.checkout()
    with journey.step("declined payment"):
        failure = Upi(str(journey.settings.payment.upi_failure))
        outcome = journey.store.pay(failure, address=journey.address)
    with journey.check("decline"):
        assert outcome.order_id is None, f"a failed UPI payment placed order {outcome.order_id}"
        assert outcome.reason == "declined", (
            f"the UPI payment should be reported as declined; the shop said {outcome.error!r} "
            f"({outcome.reason or 'no reason'})")
    with journey.step("order history"):
        history = journey.store.order_history()
        assert history == orders_before, f"a failed UPI payment left orders: {history}"
