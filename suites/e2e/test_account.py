"""Journey 7: sign up and log in; order history; cancel before dispatch refunds and restocks."""

from __future__ import annotations

import dataclasses

import pytest

from harness.e2e.journey import Journey, limited_login

pytestmark = pytest.mark.journey("7 account and cancel")


def test_sign_up_log_out_and_log_in(journey: Journey) -> None:
    """New shopper signs up, logs out and logs back in, and is shown as themself."""
    email = journey.shopper.email
    journey.sign_up()  # checks the shop then shows this shopper logged in
    with journey.step("log out"):
        journey.store.log_out()
    with journey.check("signed out"):
        shown = journey.store.signed_in_as()
        assert not shown, f"after logging out the shop still shows {shown} logged in"
    with journey.step("log in"):
        result = limited_login(journey.store.log_in(journey.shopper))
        assert result.accepted, f"logging back in was refused: {result.message!r}"
    with journey.check("signed in"):
        shown = journey.store.signed_in_as()
        assert shown == email, f"after logging in the shop shows {shown or 'nobody'}, not {email}"


def test_wrong_password_is_refused(journey: Journey) -> None:
    """A wrong password is refused as wrong, and the right one still works."""
    email = journey.shopper.email
    if journey.account is not None:  # [e2e.accounts]: the worker's test account
        journey.start_session()
    else:
        journey.sign_up()
    with journey.step("log out"):
        journey.store.log_out()
    wrong = dataclasses.replace(journey.shopper, password=journey.shopper.password + "x")
    with journey.step("log in with a wrong password"):
        refused = limited_login(journey.store.log_in(wrong))
    with journey.check("refusal"):
        assert not refused.accepted, "the shop let the shopper in with a wrong password"
        assert refused.reason == "wrong_credentials", (
            f"the login should be refused for wrong credentials; the shop said "
            f"{refused.message!r} ({refused.reason or 'no reason'})")
        shown = journey.store.signed_in_as()
        assert not shown, f"after a refused login the shop shows {shown} logged in"
    # The same page still lets the right password in: the refusal was not a broken page.
    with journey.step("log in"):
        result = limited_login(journey.store.log_in(journey.shopper))
        assert result.accepted, f"the right password was refused: {result.message!r}"
    with journey.check("signed in"):
        shown = journey.store.signed_in_as()
        assert shown == email, f"after logging in the shop shows {shown or 'nobody'}, not {email}"
    if journey.account is not None:  # the worker's next journeys reuse this new login
        journey.account.save()


def test_cancel_before_dispatch_refunds_and_restocks(journey: Journey) -> None:
    """Cancel before dispatch cancels (and refunds) the order and releases its stock.

    A refund is expected only where paying captured the money (card, UPI): a cash-on-delivery
    order has nothing to refund."""
    sku = journey.own_sku(journey.settings.orders.cancel_skus)
    journey.start_session()
    journey.arrive(journey.location.cancel_pincode)
    stock_before = journey.available(sku)
    journey.add(sku)
    order = journey.place_order()
    with journey.step("order history"):
        history = journey.store.order_history()
    with journey.check("history"):
        ids = [row.order_id for row in history]
        if journey.fresh_shopper:
            assert ids == [order.order_id], (
                f"the order history should list just order {order.order_id}: {history}")
        else:  # a reused test account has older orders: this one comes first, once
            assert ids[:1] == [order.order_id] and ids.count(order.order_id) == 1, (
                f"the order history should list order {order.order_id} first, once: {history}")
    with journey.step("cancel order"):
        cancelled = journey.store.cancel_order(order.order_id)
    with journey.check("cancellation"):
        assert cancelled.state in ("cancelled", "refunded"), (
            f"after cancelling, order {order.order_id} is {cancelled.status!r} "
            f"({cancelled.state})")
        if journey.captures(journey.success_payment):
            assert cancelled.refund in ("initiated", "refunded") or (
                cancelled.state == "refunded"), (
                f"cancelling a paid order started no refund ({cancelled.refund or 'none'})")
    if stock_before is not None:
        after = journey.available(sku)
        with journey.check("stock"):
            assert after == stock_before, (
                f"cancelling did not release the stock: {stock_before} before, {after} after")
    with journey.step("order history"):
        rows = {row.order_id: row for row in journey.store.order_history()}
        row = rows.get(order.order_id)
        assert row is not None, f"order {order.order_id} vanished from the history"
        assert row.state in ("", "cancelled", "refunded"), (
            f"the history shows order {order.order_id} as {row.status!r} ({row.state})")
