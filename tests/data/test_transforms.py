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


def test_postcodes_keep_their_own_format() -> None:
    cut = geo_transform(keep_digits=3)
    assert cut("94105") == "94100"            # a ZIP was "94105.00"
    assert cut(94105) == 94100
    assert cut("560038") == "560000"
    assert cut("NW1 6XE") == "NW1 0AA"
    assert cut("EH2 2AN") == "EH2 0AA"
    assert cut("12.9716,77.5946") == "12.97,77.59"  # coordinates still round


def test_phones_of_any_country_stay_phones_of_that_country() -> None:
    import phonenumbers

    masked = phone_transform(KEY, ("US", "GB", "IN"))
    for given, region in (("+1 415-263-7781", "US"), ("(212) 736-5012", "US"),
                          ("07911 123456", "GB"), ("+44 20 7946 0958", "GB"),
                          ("+91 98765 43210", "IN"), ("9812345678", "IN")):
        out = masked(given)
        assert out != given
        assert [ch for ch in out if not ch.isdigit()] == [ch for ch in given
                                                          if not ch.isdigit()]
        number = phonenumbers.parse(out, region)
        assert phonenumbers.is_valid_number(number), (given, out)
        assert number.country_code == phonenumbers.parse(given, region).country_code
    us = [f"(415) 263-{n:04d}" for n in range(1000, 1600)]
    assert len({masked(v) for v in us}) == len(us)  # one-to-one


def test_json_rules_per_key_and_scrub_walks_documents() -> None:
    import json

    from harness.data.rules import parse_rule

    rule = parse_rule({"json": {"contact": "email", "sms": "phone", "name": {"fake": "name"},
                                "*": "scrub"}}, "rules.yaml", "tables.c.prefs")
    fn = build_transform(rule, KEY, Pools(("Asha",), ("Rao",), ("Tower",), (), ()),
                         ("US", "IN"))
    assert fn is not None
    doc = {"contact": "emily.johnson@gmail.com", "sms": "+1 415-263-7781", "theme": "dark",
           "emergency": {"name": "Emily Johnson", "note": "call emily on 9812345678"}}
    out = json.loads(fn(json.dumps(doc)))
    assert out["contact"].endswith("@example.com") and out["theme"] == "dark"
    assert out["sms"] != doc["sms"] and out["sms"].startswith("+1 415-")
    assert out["emergency"] == {"name": "Asha Rao", "note": "call emily on [mobile]"}
    assert fn(doc) == out  # a parsed document (psycopg2's jsonb) the same
    scrub = build_transform(Rule("scrub"), KEY, Pools((), (), (), (), ()))
    assert scrub is not None
    assert json.loads(scrub('{"to": "Call Oliver Smith at oliver.smith@btinternet.com"}')) == {
        "to": "Call [name] at [email]"}
