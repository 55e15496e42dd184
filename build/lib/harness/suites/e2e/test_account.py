"""Journey 7: sign up and log in; order history; cancel before dispatch refunds and restocks."""

from __future__ import annotations

import dataclasses

import pytest

from harness.e2e.adapter import StorefrontError
from harness.e2e.journey import Journey

pytestmark = pytest.mark.journey("7 account and cancel")

def test_sign_up_log_out_and_log_in(journey: Journey) -> None:
    """New shopper can sign up, log out and log back in."""
    journey.sign_up()
    with journey.step("log out"):
        journey.store.log_out()
    with journey.step("log in"):
        journey.store.log_in(journey.shopper)


def test_wrong_password_is_refused(journey: Journey) -> None:
    """Login with a wrong password is refused."""
    journey.sign_up()
    with journey.step("log out"):
        journey.store.log_out()
    wrong = dataclasses.replace(journey.shopper, password=journey.shopper.password + "x")
    with journey.step("log in with a wrong password"), pytest.raises(StorefrontError):
        journey.store.log_in(wrong)


def test_cancel_before_dispatch_refunds_and_restocks(journey: Journey) -> None:
    """Cancel before dispatch refunds the order and releases its stock."""
    facts = journey.facts
    sku = journey.own_sku(facts.cancel_skus)
    journey.sign_up()
    journey.deliver_to(facts.cancel_pincode)
    stock_before = journey.available(sku)
    journey.add(sku)
    order = journey.place_order(journey.success_card)
    with journey.step("order history"):
        history = journey.store.order_history()
    assert [row.order_id for row in history] == [order.order_id], history
    with journey.step("cancel order"):
        cancelled = journey.store.cancel_order(order.order_id)
    assert cancelled.status == "CANCELLED", cancelled.status
    assert cancelled.refund_status in ("REFUND_INITIATED", "REFUNDED"), cancelled.refund_status
    assert journey.available(sku) == stock_before, "cancelling did not release the stock"
    with journey.step("order history"):
        rows = {row.order_id: row.status for row in journey.store.order_history()}
    assert rows.get(order.order_id) == "CANCELLED", rows
