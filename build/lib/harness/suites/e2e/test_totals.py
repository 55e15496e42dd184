"""Journey 4: fees and coupons are shown and the totals add up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from harness.e2e.journey import Journey

pytestmark = pytest.mark.journey("4 fees and coupons")

def test_small_cart_totals_add_up(journey: Journey) -> None:
    """Small cart shows its fees and item_total − discount + Σfees = payable."""
    journey.deliver_to(journey.facts.pincode)
    cart = journey.add(journey.facts.sku)
    assert cart.fees, "a small cart shows no fee lines"
    assert cart.discount == 0
    journey.check_totals(cart)


def test_flat_coupon_discounts_and_totals_add_up(journey: Journey) -> None:
    """Flat coupon above its minimum order takes its amount off the payable."""
    facts = journey.facts
    journey.deliver_to(facts.pincode)
    before = journey.add(facts.coupon_sku)
    with journey.step("apply coupon"):
        result = journey.store.apply_coupon(facts.flat_coupon)
        cart = journey.store.cart()
    assert result.applied, f"{facts.flat_coupon} refused: {result.message!r}"
    assert cart.discount == Decimal(facts.flat_coupon_amount), cart.discount
    journey.check_totals(cart)
    assert cart.payable == before.payable - cart.discount + (
        sum(cart.fees.values()) - sum(before.fees.values())
    )


def test_coupon_below_minimum_order_is_refused(journey: Journey) -> None:
    """Flat coupon is refused while the cart is below its minimum order value."""
    facts = journey.facts
    journey.deliver_to(facts.pincode)
    cart = journey.add(facts.sku)
    assert cart.item_total < Decimal(facts.flat_coupon_min_order)
    with journey.step("apply coupon"):
        result = journey.store.apply_coupon(facts.flat_coupon)
        cart = journey.store.cart()
    assert not result.applied, f"{facts.flat_coupon} applied below its minimum order"
    assert result.message, "the refusal gives no reason"
    assert cart.discount == 0
    journey.check_totals(cart)


def test_expired_coupon_is_refused(journey: Journey) -> None:
    """Expired coupon is refused and says why."""
    facts = journey.facts
    journey.deliver_to(facts.pincode)
    journey.add(facts.coupon_sku)
    with journey.step("apply coupon"):
        result = journey.store.apply_coupon(facts.expired_coupon)
        cart = journey.store.cart()
    assert not result.applied, f"{facts.expired_coupon} (expired) was applied"
    assert "expired" in result.message.lower(), result.message
    assert cart.discount == 0


def test_free_delivery_coupon_waives_delivery_fee(journey: Journey) -> None:
    """Free-delivery coupon removes the delivery fee and the totals still add up."""
    facts = journey.facts
    journey.deliver_to(facts.pincode)
    before = journey.add(facts.sku)
    assert before.fees.get("delivery", Decimal(0)) > 0, f"no delivery fee to waive: {before.fees}"
    with journey.step("apply coupon"):
        result = journey.store.apply_coupon(facts.free_delivery_coupon)
        cart = journey.store.cart()
    assert result.applied, f"{facts.free_delivery_coupon} refused: {result.message!r}"
    assert cart.fees.get("delivery", Decimal(0)) == 0, f"delivery still charged: {cart.fees}"
    journey.check_totals(cart)
