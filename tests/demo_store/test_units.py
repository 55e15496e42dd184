"""Pure rules that the HTTP tests cannot pin down (they depend on the time of day)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from demostore import catalog, checkout, pricing
from demostore.api import previous_version
from demostore.db import make_engine, prepare_database
from demostore.errors import StoreError
from demostore.models import Coupon, Store
from demostore.money import format_inr, rupees
from demostore.passwords import hash_password, verify_password
from demostore.payments import PaymentDetails, luhn_ok, validate_payment

IST = timedelta(hours=5, minutes=30)


def at_ist(hour: int, minute: int = 0) -> datetime:
    """A naive-UTC instant that is hour:minute in India."""
    return datetime(2026, 3, 10, hour, minute) - IST


@pytest.mark.parametrize(
    ("hour", "minute", "codes"),
    [(12, 0, set()), (18, 0, {"surge"}), (20, 59, {"surge"}), (21, 0, set()),
     (23, 0, {"late_night"}), (2, 30, {"late_night"}), (5, 0, set())],
)
def test_time_of_day_fees(hour: int, minute: int, codes: set[str]) -> None:
    fees = {f.code for f in pricing.compute_fees(50_000, None, at_ist(hour, minute))}
    assert fees & {"surge", "late_night"} == codes


def test_totals_always_add_up() -> None:
    line = pricing.Line("X", "x", "1", "snacks", 3333, 4000, 3)
    coupon = Coupon(code="P", kind="percent", value=15, max_discount_paise=None)
    for hour in range(24):
        quote = pricing.price([line], coupon, at_ist(hour))
        assert quote.payable_paise == (quote.item_total_paise - quote.discount_paise
                                       + sum(f.amount_paise for f in quote.fees))


def test_coupon_window() -> None:
    now = datetime(2026, 3, 10, 12, 0)
    future = Coupon(code="SOON", kind="flat", value=100, min_order_paise=0, usage_limit=None,
                    used_count=0, valid_from=now + timedelta(days=1),
                    valid_until=now + timedelta(days=2))
    with pytest.raises(StoreError) as info:
        pricing.check_coupon(future, "SOON", 10_000, now)
    assert info.value.code == "coupon_not_started"


@pytest.mark.parametrize(("paise", "text"), [(0, "₹0.00"), (2700, "₹27.00"),
                                            (123450, "₹1,234.50"), (12345678, "₹1,23,456.78")])
def test_money(paise: int, text: str) -> None:
    assert format_inr(paise) == text
    assert rupees(paise) == paise / 100


def test_cards_and_passwords() -> None:
    assert luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")
    for number in ("4000000000000002", "4000000000009995", "4000000000000069",
                   "4000000000000127", "4000002760003184"):
        assert luhn_ok(number)
    details = validate_payment(PaymentDetails("card", "4242 4242 4242 4242", "1/34", "123"),
                               datetime(2026, 1, 1))
    assert details.card_expiry == "01/34" and details.instrument == "card •••• 4242"
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored) and not verify_password("wrong", stored)
    assert "correct" not in stored


@pytest.mark.parametrize(("version", "older"), [("1.0.0", "0.9.9"), ("2.3.1", "2.3.0"),
                                                ("1.4.0", "1.3.9"), ("0.0.0", "0.0.0-previous"),
                                                ("main", "main-previous")])
def test_previous_version(version: str, older: str) -> None:
    assert previous_version(version) == older


def test_store_hours_and_slots() -> None:
    engine = make_engine("sqlite://")
    sessions = prepare_database(engine)
    with sessions() as db:
        db.execute(update(Store).where(Store.code == "KOR-01")
                   .values(opens_minute=6 * 60, closes_minute=23 * 60))
        db.commit()
        assert catalog.check_pincode(db, "560001", at_ist(12)).serviceable
        closed = catalog.check_pincode(db, "560001", at_ist(23, 30))
        assert closed.reason == "closed" and "not serviceable" in closed.message
        with pytest.raises(StoreError) as info:
            catalog.require_store(db, "560001", at_ist(3))
        assert info.value.code == "store_closed"
        store = catalog.default_store(db)
        offered = checkout.slots(store, at_ist(22, 40))
        assert [s.id for s in offered] == ["now", "slot-1", "slot-2", "slot-3"]
        assert offered[1].label == "Today 23:00–00:00"
        assert offered[2].label.startswith("Tomorrow 00:00")
    engine.dispose()
