"""Journey 4: fees and coupons are shown and the totals add up.

Coupons are checked against the rules the environment declares (`[[e2e.coupons]]`): each
valid coupon's discount is computed from the cart lines and compared with what the shop
takes off; refusals are checked by their reason (below minimum, expired, unknown), never by
the shop's wording.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

import pytest

from harness.e2e.journey import Journey, discount_matches, expected_discount, money
from harness.e2e.settings import CouponRule

pytestmark = pytest.mark.journey("4 fees and coupons")


def test_small_cart_totals_add_up(journey: Journey) -> None:
    """Small cart shows its fees by role and item_total − discount + Σfees = payable."""
    journey.arrive()
    cart = journey.add(str(journey.catalog.sku))
    with journey.check("fees"):
        declared = set(journey.settings.checkout.fees or ())
        missing = sorted(declared - set(cart.fees))
        assert not missing, f"a one-item cart should show the {', '.join(missing)} fee " \
                            f"(it shows: {', '.join(cart.fees) or 'no fees'})"
        assert cart.discount == 0, f"a cart without a coupon shows a discount of {cart.discount}"
    journey.check_totals(cart)


def test_declared_coupon_gives_its_discount(journey: Journey, coupon: CouponRule) -> None:
    """Each declared coupon takes off what its rule computes from the cart lines."""
    journey.arrive()
    before = journey.qualifying_cart(coupon)
    if coupon.kind == "free_delivery":
        with journey.check("delivery fee"):
            assert before.fees.get("delivery", Decimal(0)) > 0, (
                f"the cart charges no delivery fee for {coupon.code} to waive: {before.fees}")
    with journey.step("apply coupon"):
        result = journey.store.apply_coupon(coupon.code)
        cart = journey.store.cart()
    with journey.check("discount"):
        assert result.applied, (
            f"{coupon.code} was refused on a qualifying cart: {result.message!r} "
            f"({result.reason or 'no reason'})")
        if coupon.kind == "free_item":
            free = cart.line(coupon.free_sku)
            assert free is not None, (
                f"{coupon.code} should give {coupon.free_sku} free; it is not in the cart")
        expected = expected_discount(coupon, cart)
        assert discount_matches(cart.discount, expected, len(cart.lines)), (
            f"{coupon.code} ({coupon.kind} {coupon.value}) should take {expected:.2f} off an "
            f"item total of {cart.item_total}; the cart shows a discount of {cart.discount}")
        if coupon.kind == "free_delivery":
            assert cart.fees.get("delivery", Decimal(0)) == 0, (
                f"{coupon.code} should waive delivery, the cart still charges "
                f"{cart.fees.get('delivery')}")
    journey.check_totals(cart)


def test_coupon_below_minimum_order_is_refused(journey: Journey) -> None:
    """A coupon is refused, as below its minimum, while the cart is under it."""
    coupon = next(c for c in journey.settings.coupons or () if not c.expired
                  and money(c.min_order) > 0)
    journey.arrive()
    cart = journey.add(str(journey.catalog.sku))
    with journey.step("apply coupon"):
        assert cart.item_total < money(coupon.min_order), (
            f"e2e.catalog.sku costs {cart.item_total}, not below {coupon.code}'s minimum "
            f"{coupon.min_order}: choose a cheaper product")
        result = journey.store.apply_coupon(coupon.code)
        cart = journey.store.cart()
    with journey.check("refusal"):
        assert not result.applied, (
            f"{coupon.code} applied to {cart.item_total}, below its minimum {coupon.min_order}")
        assert result.reason == "below_minimum", (
            f"{coupon.code} should be refused as below its minimum order; the shop said "
            f"{result.message!r} ({result.reason or 'no reason'})")
        assert cart.discount == 0, f"the refused coupon still takes {cart.discount} off"
    journey.check_totals(cart)


def test_expired_coupon_is_refused(journey: Journey) -> None:
    """An expired coupon is refused, as expired."""
    coupon = next(c for c in journey.settings.coupons or () if c.expired)
    journey.arrive()
    journey.qualifying_cart(coupon)
    with journey.step("apply coupon"):
        result = journey.store.apply_coupon(coupon.code)
        cart = journey.store.cart()
    with journey.check("refusal"):
        assert not result.applied, f"{coupon.code}, which has expired, was applied"
        assert result.reason == "expired", (
            f"{coupon.code} should be refused as expired; the shop said {result.message!r} "
            f"({result.reason or 'no reason'})")
        assert cart.discount == 0, f"the expired coupon still takes {cart.discount} off"


def test_unknown_coupon_is_refused(journey: Journey) -> None:
    """A code the shop never issued is refused, as unknown."""
    code = f"QGATE{secrets.token_hex(3).upper()}"
    journey.arrive()
    journey.add(str(journey.catalog.sku))
    with journey.step("apply coupon"):
        result = journey.store.apply_coupon(code)
        cart = journey.store.cart()
    with journey.check("refusal"):
        assert not result.applied, f"{code}, a code the shop never issued, was applied"
        assert result.reason == "unknown", (
            f"{code} should be refused as unknown; the shop said {result.message!r} "
            f"({result.reason or 'no reason'})")
        assert cart.discount == 0, f"the unknown code still takes {cart.discount} off"
