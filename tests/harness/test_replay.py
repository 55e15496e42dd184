"""What a replayed (or load-tested) shopper sends as their own: the fields a shop may require
unique per shopper are found by name and shape, and drawn anew in the recorded shape."""

from __future__ import annotations

import re

import phonenumbers
import pytest

from harness.replay import fresh_name, fresh_phone, phone_keep, unique_field


@pytest.mark.parametrize(("key", "value", "kind"), [
    ("phone", "+91 98765 43210", "phone"),
    ("customer.mobileNumber", "9876543210", "phone"),
    ("contact_no", 9876543210, "phone"),
    ("msisdn", "447911123456", "phone"),
    ("phone", "call me", ""),          # not a number
    ("phone", "1234", ""),             # too short to be one
    ("phone_verified", True, ""),
    ("username", "ravi_k", "name"),
    ("user.login", "ravi", "name"),
    ("username", "ravi@example.com", ""),  # an email: swapped as one already
    ("password", "secret-1", ""),
    ("qty", 2, ""),
    ("address.line1", "12 Park Street", ""),
])
def test_unique_fields_by_name_and_shape(key: str, value: object, kind: str) -> None:
    assert unique_field(key, value) == kind


@pytest.mark.parametrize("recorded", ["+91 98765 43210", "+1 415 555 2671", "+44 7911 123456",
                                      "+6591234567", "9876543210", "098765-43210"])
def test_a_fresh_phone_number_keeps_the_recorded_shape(recorded: str) -> None:
    keep = phone_keep(recorded)
    drawn = {fresh_phone(recorded, keep) for _ in range(20)}
    assert len(drawn) > 15 and recorded not in drawn
    shape = re.sub(r"\d", "9", recorded)
    digits = re.sub(r"\D", "", recorded)
    for number in drawn:
        assert re.sub(r"\d", "9", number) == shape  # the format and length
        assert re.sub(r"\D", "", number)[:keep] == digits[:keep]  # country code and prefix
        if recorded.startswith("+"):
            assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number


def test_a_fresh_user_name_keeps_the_recorded_letters() -> None:
    names = {fresh_name("ravi_k42") for _ in range(5)}
    assert len(names) == 5 and all(re.fullmatch(r"ravik[0-9a-f]{8}", n) for n in names)
