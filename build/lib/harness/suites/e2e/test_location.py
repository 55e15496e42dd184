"""Journey 1: set a location or pincode (serviceable, unserviceable, store paused)."""

from __future__ import annotations

import pytest

from harness.e2e.journey import Journey

pytestmark = pytest.mark.journey("1 location")

def test_serviceable_pincode_shows_delivery_eta(journey: Journey) -> None:
    """Serviceable pincode shows the store and a delivery ETA."""
    with journey.step("set location"):
        result = journey.store.set_location(journey.facts.pincode)
    assert result.serviceable, f"{journey.facts.pincode} refused: {result.message!r}"
    assert result.eta_minutes is not None, f"no ETA in {result.message!r}"
    # Quick commerce promises minutes, not hours.
    assert 0 < result.eta_minutes <= 60, result.message


def test_second_pincode_binds_another_store(journey: Journey) -> None:
    """Changing the pincode re-binds the shopper to the store serving it."""
    with journey.step("set location"):
        first = journey.store.set_location(journey.facts.pincode)
        second = journey.store.set_location(journey.facts.second_store_pincode)
    assert first.serviceable and second.serviceable, (first.message, second.message)
    assert first.message != second.message, f"both pincodes show {first.message!r}"


def test_unserviceable_pincode_is_refused(journey: Journey) -> None:
    """Unserviceable pincode is refused with a clear message."""
    with journey.step("set location"):
        result = journey.store.set_location(journey.facts.unserviceable_pincode)
    assert not result.serviceable, f"{journey.facts.unserviceable_pincode} was accepted"
    assert "not serviceable" in result.message.lower(), result.message


def test_paused_store_is_reported(journey: Journey) -> None:
    """Paused store makes its area unserviceable and says so."""
    with journey.step("set location"):
        result = journey.store.set_location(journey.facts.paused_pincode)
    assert not result.serviceable, f"{journey.facts.paused_pincode} (paused) was accepted"
    assert "paused" in result.message.lower(), result.message
