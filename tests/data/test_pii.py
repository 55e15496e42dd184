"""PII patterns: what counts as personal data, and what is reserved or sandbox by design."""

from __future__ import annotations

import pytest

from harness.data import pii


def kinds(text: str, **kw: bool) -> list[tuple[str, str, bool]]:
    return [(m.kind, text[m.start:m.end], m.synthetic) for m in pii.find_pii(text, **kw)]


@pytest.mark.parametrize(("text", "expected"), [
    ("write to ravi.k@gmail.com", [("email", "ravi.k@gmail.com", False)]),
    ("shopper@example.com", [("email", "shopper@example.com", True)]),
    ("a@shop.example.org", [("email", "a@shop.example.org", True)]),
    ("dev@build.test", [("email", "dev@build.test", True)]),
    ("call +91 98123 45678", [("mobile", "+91 98123 45678", False)]),
    ("alt 09812345678.", [("mobile", "09812345678", False)]),
    ("919812345678", [("mobile", "919812345678", False)]),
    ("+91 01234 56789", []),                          # no Indian number starts with 0
    ("+91 51234 56789", [("mobile", "+91 51234 56789", False)]),  # a landline: a phone
    ("US +1 415-263-7781.", [("mobile", "+1 415-263-7781", False)]),  # E.164 anywhere
    ("avg 280929.8333333333 ms", []),                 # a decimal is not a phone
    ("4539578763621486@shop.in", [("email", "4539578763621486@shop.in", False)]),
    ("id 6f1c2d3e-9876543210ab", []),                 # a hex id is not a phone
    ("card 4111 1111 1111 1111", [("card", "4111 1111 1111 1111", False)]),
    ("4242424242424242", [("card", "4242424242424242", True)]),
    ("4111 1111 1111 1112", []),                      # fails Luhn
    ("epoch ms 1764498596123 then", []),              # no card network starts with 1
    ("PAN ABCPE1234F on file", [("pan", "ABCPE1234F", False)]),
    ("ABCDE1234F", []),                               # 4th letter D: not a PAN holder type
    ("aadhaar 2345 6789 0124", [("aadhaar", "2345 6789 0124", False)]),
    ("id 234567890124 here", []),                     # bare 12 digits, no context
    ("pay ravi@okaxis", [("upi", "ravi@okaxis", False)]),
    ("success@razorpay", [("upi", "success@razorpay", True)]),
    ("priya12@example", [("upi", "priya12@example", True)]),
    ("pay_3945827361928374 and scrypt$16384$8$1$ab", []),
])
def test_find_pii(text: str, expected: list[tuple[str, str, bool]]) -> None:
    assert kinds(text) == expected


def test_bare_aadhaar_needs_context() -> None:
    assert kinds("234567890124", aadhaar_context=True) == [("aadhaar", "234567890124", False)]
    assert kinds("Aadhaar: 234567890124")[0][0] == "aadhaar"


def test_checksums() -> None:
    assert pii.luhn_valid("4242424242424242") and not pii.luhn_valid("4242424242424241")
    digits = "23456789012"
    assert pii.verhoeff_valid(digits + pii.verhoeff_check_digit(digits))
    assert not pii.verhoeff_valid(digits + str((int(pii.verhoeff_check_digit(digits)) + 1) % 10))


def test_mobiles_and_pincodes() -> None:
    assert pii.normalise_mobile("+91-98123-45678") == "9812345678"
    assert pii.normalise_mobile("+91 51234 56789") is None  # starts with 5
    assert pii.is_pincode("560034") and not pii.is_pincode("060034")


def test_scrub_replaces_every_identifier() -> None:
    text = "Call 9812345678 or mail ravi@gmail.com, card 4111111111111111, PAN ABCPE1234F"
    assert pii.scrub(text) == "Call [mobile] or mail [email], card [card], PAN [pan]"
    assert pii.scrub("Leave at the door") == "Leave at the door"


def test_shape_masks_content() -> None:
    assert pii.shape("Priya Sharma") == "P**** S*****"
    assert pii.shape("+919812345678") == "+############"
    assert "gmail" not in pii.shape("priya@gmail.com")
