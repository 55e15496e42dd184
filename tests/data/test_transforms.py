"""Transformers: deterministic under a key, format-preserving, one-to-one where promised."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from harness.data import pii
from harness.data.providers import Pools
from harness.data.transforms import (
    Keyring,
    PhonePermutation,
    Rule,
    build_transform,
    card_transform,
    date_shift_transform,
    email_transform,
    geo_transform,
    hash_transform,
    partial_transform,
    phone_transform,
)

KEY = Keyring(b"unit-test-key-0123456789")
OTHER = Keyring(b"another-key-0123456789")


@pytest.fixture(scope="module")
def pools() -> Pools:
    return Pools.build("en_IN", 1, names=100, buildings=50)


def test_phone_permutation_is_one_to_one_and_valid() -> None:
    permutation = PhonePermutation(KEY)
    rng = random.Random(5)
    numbers = {rng.randrange(6_000_000_000, 10_000_000_000) for _ in range(20000)}
    images = {permutation.permute(n) for n in numbers}
    assert len(images) == len(numbers)
    assert all(6_000_000_000 <= n < 10_000_000_000 for n in images)
    assert images != numbers


def test_phone_keeps_layout_and_validity() -> None:
    mask = phone_transform(KEY)
    for value in ("+919812345678", "+91 98123 45678", "9812345678", "+91-98123-45678"):
        out = mask(value)
        assert out != value and pii.is_indian_mobile(out)
        assert [c.isdigit() for c in out] == [c.isdigit() for c in value]  # same layout
        assert mask(value) == out  # deterministic
    assert phone_transform(OTHER)("+919812345678") != mask("+919812345678")
    assert pii.is_indian_mobile(mask("not a phone")) and mask(None) is None


def test_card_keeps_last_four_and_passes_luhn() -> None:
    mask = card_transform(KEY)
    out = mask("4111 1111 1111 1111")
    digits = pii.digits_of(out)
    assert out[4] == " " and digits[-4:] == "1111" and pii.luhn_valid(digits)
    assert digits.startswith(pii.MASKED_CARD_PREFIX) and pii.is_sandbox_card(digits)
    assert mask("card •••• 4242") == "card •••• 4242"  # already masked: nothing to do


def test_email_is_unique_and_reserved(pools: Pools) -> None:
    mask = email_transform(KEY, pools)
    sources = [f"user{i}@gmail.com" for i in range(5000)]
    outs = [mask(s) for s in sources]
    assert len(set(outs)) == len(outs)
    assert all(o.endswith("@example.com") and len(o) <= 48 for o in outs)
    assert mask("user1@gmail.com") == outs[1]


def test_hash_is_keyed() -> None:
    assert hash_transform(KEY)("x") == hash_transform(KEY)("x") != hash_transform(OTHER)("x")
    assert len(hash_transform(KEY, length=24, prefix="p_")("x")) == 26


def test_fake_is_consistent(pools: Pools) -> None:
    name = build_transform(Rule("fake", {"value": "name"}), KEY, pools)
    assert name is not None
    assert name("Ravi Kumar") == name("Ravi Kumar") != "Ravi Kumar"
    address = build_transform(Rule("fake", {"value": "address"}), KEY, pools)
    assert address is not None and "Flat" in address("12 MG Road")


def test_date_shift_is_per_entity() -> None:
    shift = date_shift_transform(KEY, days=30)
    a = dt.datetime(2026, 5, 1, 10, 0)
    b = dt.datetime(2026, 5, 3, 12, 0)
    moved_a, moved_b = shift(a, 7), shift(b, 7)
    assert moved_b - moved_a == b - a  # one entity: intervals kept
    assert moved_a != a and abs((moved_a - a).days) <= 30
    assert moved_a.time() == a.time()
    assert shift("2026-05-01 10:00:00.000000", 7) == moved_a.isoformat(" ", "microseconds")


def test_geo_partial_null() -> None:
    geo = geo_transform(decimals=2, keep_digits=3)
    assert geo(12.971598) == 12.97 and geo("560034") == "560000"
    assert geo("12.971598,77.594562") == "12.97,77.59"
    assert partial_transform(keep_first=2, keep_last=2)("ABCDEFG") == "AB***FG"
    null = build_transform(Rule("null"), KEY, Pools((), (), (), (), ()))
    assert null is not None and null("anything") is None
    assert build_transform(Rule("keep"), KEY, Pools((), (), (), (), ())) is None
