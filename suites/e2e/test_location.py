"""Journey 1: set a location or pincode (serviceable, another store, unserviceable, paused).

Not applicable where the environment declares no location step (`e2e.location.pincode = ""`).
"""

from __future__ import annotations

import pytest

from harness.e2e.journey import Journey

pytestmark = pytest.mark.journey("1 location")


def test_serviceable_pincode_shows_delivery_eta(journey: Journey) -> None:
    """Serviceable pincode shows the store and a delivery ETA."""
    pincode = str(journey.location.pincode)
    with journey.step("set location"):
        result = journey.store.set_location(pincode)
    with journey.check("eta"):
        assert result.serviceable, f"the shop refused to deliver to {pincode}: {result.message!r}"
        assert result.eta_minutes is not None, (
            f"no delivery time is shown for {pincode}: {result.message!r}")
        # Quick commerce promises minutes, not hours.
        limit = journey.location.max_eta_minutes
        assert 0 < result.eta_minutes <= limit, (
            f"delivery to {pincode} takes {result.eta_minutes} min, more than {limit}")


def test_second_pincode_binds_another_store(journey: Journey) -> None:
    """Changing the pincode re-binds the shopper to the store serving it."""
    first_pin, second_pin = str(journey.location.pincode), str(
        journey.location.second_store_pincode)
    with journey.step("set location"):
        first = journey.store.set_location(first_pin)
        second = journey.store.set_location(second_pin)
    with journey.check("store"):
        assert first.serviceable and second.serviceable, (
            f"both {first_pin} and {second_pin} should be served: "
            f"{first.message!r} / {second.message!r}")
        assert first.message != second.message, (
            f"{first_pin} and {second_pin} show the same store: {first.message!r}")


def test_unserviceable_pincode_is_refused(journey: Journey) -> None:
    """Unserviceable pincode is refused, as unserviceable."""
    pincode = str(journey.location.unserviceable_pincode)
    with journey.step("set location"):
        result = journey.store.set_location(pincode)
    with journey.check("refusal"):
        assert not result.serviceable, f"{pincode}, which no store serves, was accepted"
        assert result.reason == "unserviceable", (
            f"{pincode} should be refused as not served, the shop said {result.message!r} "
            f"({result.reason or 'no reason'})")


def test_paused_store_is_reported(journey: Journey) -> None:
    """Paused store makes its area unserviceable and says it is paused."""
    pincode = str(journey.location.paused_pincode)
    with journey.step("set location"):
        result = journey.store.set_location(pincode)
    with journey.check("refusal"):
        assert not result.serviceable, f"{pincode}, whose store is paused, was accepted"
        assert result.reason == "store_paused", (
            f"{pincode} should be refused because its store is paused, the shop said "
            f"{result.message!r} ({result.reason or 'no reason'})")
