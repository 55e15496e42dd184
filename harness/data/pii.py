"""PII patterns of the Q-commerce domain: what counts as personal data, found in any text.

Detectors for emails, Indian mobile numbers, payment card numbers (Luhn), PAN, Aadhaar
(Verhoeff) and UPI ids. Each match says whether the value is reserved or sandbox by
construction (an example.com email, a published test card, a sandbox UPI id): such values
cannot reach or identify a person. Mobile numbers have no reserved range in India, so a
mobile is never "synthetic" here; where one may appear is decided by the caller.

Matches carry spans, not copies: callers read the value, hash or replace it, and drop it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Domains reserved for documentation (RFC 2606 / 6761): mail sent there reaches nobody.
RESERVED_EMAIL_DOMAINS = frozenset({"example.com", "example.org", "example.net"})
RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost"})
#: Published sandbox card numbers (Stripe/Razorpay test modes; DOMAIN.md) and the test BIN
#: range masked cards are written in (`transforms.mask_card`).
SANDBOX_CARDS = frozenset({"4242424242424242", "4000000000000002", "4000002760003184",
                           "4000000000009995", "4000000000000069", "4000000000000127"})
MASKED_CARD_PREFIX = "400000"
SANDBOX_CARD_PREFIXES = ("424242", MASKED_CARD_PREFIX)
SANDBOX_UPI = frozenset({"success@razorpay", "failure@razorpay"})
#: Handles no payment service provider issues: synthetic UPI ids end in one of these.
RESERVED_UPI_HANDLES = frozenset({"example", "test", "sandbox", "invalid", "localhost"})

KINDS = ("email", "mobile", "card", "pan", "aadhaar", "upi")
#: Regions whose national phone numbers are recognised (besides Indian mobiles and
#: international +CC numbers, recognised everywhere); `set_locale` changes them.
_REGIONS: list[str] = []


def region_of(locale: str) -> str:
    """`en_US` -> `US` (the region of a Faker/POSIX locale), `IN` when it has none."""
    parts = locale.replace("-", "_").split("_")
    return parts[1].upper() if len(parts) > 1 and len(parts[1]) == 2 else "IN"


def set_locale(*locales: str) -> None:
    """Recognise the national phone numbers of these locales' regions too (`en_US`, ...)."""
    _REGIONS[:] = sorted({region_of(locale) for locale in locales} - {"IN"})


def _phone_matches(text: str) -> list[tuple[int, int]]:
    """Spans of valid phone numbers (phonenumbers): +CC anywhere, national numbers of the
    configured regions."""
    try:
        import phonenumbers
    except ImportError:  # the `data` extra brings it; without it only Indian mobiles
        return []
    out = []
    for m in _PHONEISH.finditer(text):
        candidate = m.group(0)
        regions = ["ZZ"] if candidate[0] == "+" or candidate.startswith("00") else _REGIONS
        for region in regions:
            try:
                number = phonenumbers.parse(candidate, None if region == "ZZ" else region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                out.append((m.start(), m.end()))
                break
    return out

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63})"
                    r"(?![\w-])")
# +91 98123 45678, 0091-9812345678, 919812345678, 09812345678, 9812345678
# Numbers inside a larger token are not identifiers: an email's local part, a UUID or hex id
# (`-` or `.` after a letter or digit), a decimal (`280929.8333333333`).
_MOBILE = re.compile(r"(?<![\w+])(?<!\w[.-])(?:(?:\+|00)91[\s-]?|91[\s-]?|0)?([6-9]\d{4})"
                     r"[\s-]?(\d{5})(?!\w|\.\d|@|-\w)")
_CARD = re.compile(r"(?<![\w.])(?<!\w-)(?:\d[ -]?){12,18}\d(?!\w|\.\d|@|-\w)")
# A candidate phone number for phonenumbers: 7+ digits with the usual separators
_PHONEISH = re.compile(r"(?<![\w.+])(?<!\w-)(?:\+|00)?\(?\d[\d\s().\-]{5,18}\d(?![\w@]|\.\d|-\w)")
_PAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{3}[ABCFGHJLPT][A-Z]\d{4}[A-Z](?![A-Za-z0-9])")
_AADHAAR = re.compile(r"(?<![\w.+-])([2-9]\d{3})([ -]?)(\d{4})\2(\d{4})(?!\w|\.\d)")
_AADHAAR_WORD = re.compile(r"(?i)(aadhaa?r|\buid\b)")
# A UPI handle is letters only (okaxis, ybl, paytm, oksbi…); ids such as Playwright's
# "page@e6847ff4…" in HARs and traces are not UPI ids.
_UPI = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._-]{1,255}@([A-Za-z]{2,64})"
                  r"(?![\w.@-])")
# A cheap test that lets most values (names, statuses, SKUs) skip every detector.
_MAYBE = re.compile(r"[@\d]")


@dataclass(frozen=True)
class Match:
    """One PII value found in a text: its kind, span and whether it is reserved/sandbox."""

    kind: str
    start: int
    end: int
    synthetic: bool = False


def digits_of(text: str) -> str:
    """Only the digits of `text`."""
    return "".join(ch for ch in text if ch.isdigit())


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum (payment cards)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8))
_VERHOEFF_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def verhoeff_valid(digits: str) -> bool:
    """Whether a digit string passes the Verhoeff checksum (Aadhaar numbers)."""
    check = 0
    for index, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[index % 8][ord(char) - 48]]
    return check == 0


def verhoeff_check_digit(digits: str) -> str:
    """The digit that makes `digits + digit` pass Verhoeff."""
    check = 0
    for index, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[(index + 1) % 8][ord(char) - 48]]
    return str(_VERHOEFF_INV[check])


def card_network_plausible(digits: str) -> bool:
    """Whether the length and leading digits fit a card network (Visa, Mastercard, RuPay...).

    Keeps epoch-millisecond timestamps and other long numbers from reading as cards.
    """
    n = len(digits)
    if digits[0] == "4":
        return n in (13, 16, 19)
    two, four = int(digits[:2]), int(digits[:4])
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if two in (36, 38) or 300 <= int(digits[:3]) <= 305:
        return n == 14
    if 3528 <= four <= 3589:
        return 16 <= n <= 19
    if digits[0] == "6" or two in (50, 81, 82) or 56 <= two <= 58:  # RuPay, Discover, Maestro
        return 16 <= n <= 19
    return False


def is_sandbox_card(digits: str) -> bool:
    """A published test card or a number in the test range masked cards use."""
    return digits in SANDBOX_CARDS or digits.startswith(SANDBOX_CARD_PREFIXES)


def email_is_reserved(domain: str) -> bool:
    """Whether mail to `domain` can reach nobody (example.com/.org/.net, .test, ...)."""
    domain = domain.lower().rstrip(".")
    if domain in RESERVED_EMAIL_DOMAINS or domain.rsplit(".", 1)[-1] in RESERVED_TLDS:
        return True
    return any(domain.endswith("." + d) for d in RESERVED_EMAIL_DOMAINS)


def normalise_mobile(text: str) -> str | None:
    """The 10-digit national number of an Indian mobile, or None if `text` is not one."""
    digits = digits_of(text)
    if len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    elif len(digits) == 13 and digits.startswith("091"):
        digits = digits[3:]
    if len(digits) == 10 and digits[0] in "6789":
        return digits
    return None


def is_indian_mobile(text: str) -> bool:
    """Whether `text` is a valid Indian mobile number (+91, then 6-9, ten digits)."""
    return normalise_mobile(text) is not None


def is_pincode(text: str) -> bool:
    """Whether `text` is an Indian pincode: six digits, the first 1-9."""
    return len(text) == 6 and text.isdigit() and text[0] != "0"


def find_pii(text: str, *, aadhaar_context: bool = False) -> list[Match]:
    """Every PII value in `text`, overlaps resolved (card > Aadhaar > mobile).

    A 12-digit number without separators counts as Aadhaar only next to the word
    "aadhaar"/"uid" or when `aadhaar_context` says the column holds Aadhaar numbers:
    traces and logs are full of long numbers, and Verhoeff alone lets 1 in 10 through.
    """
    if not text or not _MAYBE.search(text):
        return []
    found: list[Match] = []
    if "@" in text:
        for m in _EMAIL.finditer(text):
            found.append(Match("email", m.start(), m.end(), email_is_reserved(m.group(1))))
        for m in _UPI.finditer(text):
            value = m.group(0).lower()
            found.append(Match("upi", m.start(), m.end(),
                               value in SANDBOX_UPI or m.group(1).lower() in
                               RESERVED_UPI_HANDLES))
    numeric: list[Match] = []
    for m in _CARD.finditer(text):
        digits = digits_of(m.group(0))
        if 13 <= len(digits) <= 19 and card_network_plausible(digits) and luhn_valid(digits):
            numeric.append(Match("card", m.start(), m.end(), is_sandbox_card(digits)))
    for m in _AADHAAR.finditer(text):
        digits = m.group(1) + m.group(3) + m.group(4)
        if not verhoeff_valid(digits):
            continue
        if m.group(2) or aadhaar_context or _AADHAAR_WORD.search(text, max(0, m.start() - 24),
                                                                 m.start()):
            numeric.append(Match("aadhaar", m.start(), m.end()))
    for m in _MOBILE.finditer(text):
        numeric.append(Match("mobile", m.start(), m.end()))
    if (_REGIONS or "+" in text) and _PHONEISH.search(text):
        for start, end in _phone_matches(text):
            numeric.append(Match("mobile", start, end))
    for m in _PAN.finditer(text):
        found.append(Match("pan", m.start(), m.end()))
    taken: list[tuple[int, int]] = []
    for match in numeric:  # in priority order: cards, then Aadhaar, then mobiles
        if any(match.start < end and start < match.end for start, end in taken):
            continue
        taken.append((match.start, match.end))
        found.append(match)
    return sorted(found, key=lambda m: (m.start, -m.end))


_NAME_LOCALES = ("en_US", "en_GB", "en_IN", "en_AU", "en_CA", "de_DE", "fr_FR", "es_ES",
                 "it_IT", "nl_NL", "pt_BR")
_FIRST_NAMES: set[str] = set()
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "shri", "smt", "sir"})
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*\.?")


def first_names() -> set[str]:
    """First names (casefolded) of Faker's locales: what a person's name starts with."""
    if not _FIRST_NAMES:
        import importlib

        for locale in _NAME_LOCALES:
            try:
                provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
            except (ImportError, AttributeError):
                continue
            for attr in ("first_names", "first_names_male", "first_names_female"):
                _FIRST_NAMES.update(n.casefold() for n in getattr(provider, attr, ()))
    return _FIRST_NAMES


def find_names(text: str) -> list[tuple[int, int]]:
    """Spans of people's names in free text: a known first name (or a title) followed by one
    or more capitalised words, e.g. `Emily Johnson`, `Mr. Verma`, `PRIYA SHARMA`."""
    if not text or not any(ch.isupper() for ch in text):
        return []
    known = first_names()
    out = []
    run: list[re.Match[str]] = []

    def close() -> None:
        for word in run[:-1]:
            first = word.group(0).rstrip(".").casefold()
            if first in known or first in _TITLES:
                last = run[-1]
                out.append((word.start(), last.end() - last.group(0).endswith(".")))
                break

    for m in _WORD.finditer(text):
        word = m.group(0)
        capital = word[0].isupper()
        joined = bool(run) and not text[run[-1].end():m.start()].strip()
        if capital and (joined or not run):
            run.append(m)
            continue
        close()
        run = [m] if capital else []
    close()
    return out


def looks_like_name(value: object) -> bool:
    """Whether a whole value is a person's name (2-4 words, the first a known first name)."""
    if not isinstance(value, str):
        return False
    words = value.replace(",", " ").split()
    if not 2 <= len(words) <= 4 or not all(w.replace(".", "").replace("'", "").replace(
            "-", "").isalpha() for w in words):
        return False
    first = words[0].rstrip(".").casefold()
    return first in first_names() or (first in _TITLES and len(words) > 1)


def scrub(text: str, *, names: bool = True) -> str:
    """`text` with every PII value replaced by its kind in brackets, e.g. `[mobile]`, and
    people's names by `[name]`.

    Reserved and sandbox values are replaced too: free text should carry no identifiers.
    """
    matches = find_pii(text)
    if names:
        matches = sorted(matches + [Match("name", a, b) for a, b in find_names(text)],
                         key=lambda m: (m.start, -m.end))
    if not matches:
        return text
    out: list[str] = []
    last = 0
    for match in matches:
        if match.start < last:
            continue
        out.append(text[last:match.start])
        out.append(f"[{match.kind}]")
        last = match.end
    out.append(text[last:])
    return "".join(out)


def shape(value: object, limit: int = 40) -> str:
    """A value's shape with its content masked, for showing a sample to a human.

    Keeps the first letter of each word, separators and length; digits become '#'.
    `Priya Sharma` -> `P**** S*****`, `+919812345678` -> `+############`.
    """
    text = str(value)
    out: list[str] = []
    start_of_word = True
    for ch in text[:limit]:
        if ch.isdigit():
            out.append("#")
            start_of_word = False
        elif ch.isalpha():
            out.append(ch if start_of_word else "*")
            start_of_word = False
        else:
            out.append(ch)
            start_of_word = True
    return "".join(out) + ("…" if len(text) > limit else "")
