"""Column transformers for masked copies: deterministic under one secret key.

Same key and input, same output, so foreign keys line up and a re-run gives the same copy;
without the key nothing can be reversed or linked. Formats are preserved where it matters:
a phone stays a valid +91 mobile (a keyed permutation: distinct numbers stay distinct), a card
keeps its last four digits and passes Luhn (in the test range `pii.MASKED_CARD_PREFIX`), an
email becomes a unique address on example.com.

| kind         | does                                                   | one-to-one |
|--------------|--------------------------------------------------------|------------|
| `keep`       | copies the value                                       | yes        |
| `null`       | writes NULL                                            | -          |
| `fixed`      | writes one value for every row (NULL stays NULL)       | no         |
| `hash`       | keyed HMAC-SHA256 pseudonym, hex (`length`, `prefix`)  | yes        |
| `fake`       | consistent fake: name, first_name, last_name, address, city, upi, text | no |
| `email`      | `first.<keyed tag>@example.com`                        | yes        |
| `phone`      | format-preserving Indian mobile                        | yes        |
| `card`       | keeps the last 4, test-range prefix, passes Luhn       | no         |
| `partial`    | keeps `keep_first`/`keep_last` characters, masks the rest | no      |
| `date_shift` | moves dates by whole days, the same for one entity (`days`, `by`) | no |
| `geo`        | rounds coordinates (`decimals`), cuts pincodes (`keep_digits`) | no |
| `scrub`      | replaces PII patterns in free text with `[kind]`       | no         |
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.data import pii
from harness.data.providers import CITIES, DELIVERY_INSTRUCTIONS, Pools, ascii_slug, ordinal

KINDS = ("keep", "null", "fixed", "hash", "fake", "email", "phone", "card", "partial",
         "date_shift", "geo", "scrub", "json")
ONE_TO_ONE = frozenset({"keep", "hash", "email", "phone"})
FAKE_KINDS = ("name", "first_name", "last_name", "address", "city", "upi", "text")
_PHONE_SPACE = 4_000_000_000  # national numbers 6000000000..9999999999


@dataclass(frozen=True)
class Rule:
    """One column's rule: a transformer kind and its options."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The rule as it would be written in the rules file."""
        if not self.options:
            return self.kind
        if self.kind == "json":
            inner = ", ".join(f"{_yaml_key(k)}: {v.describe()}" for k, v in self.options.items())
            return f"{{json: {{{inner}}}}}"
        if set(self.options) == {"value"}:
            value = self.options["value"]
            if isinstance(value, str) and (not value or not value.replace("_", "").isalnum()):
                import json

                value = json.dumps(value)
            return f"{{{self.kind}: {value}}}"
        inner = ", ".join(f"{k}: {v}" for k, v in self.options.items())
        return f"{{{self.kind}: {{{inner}}}}}"


def _yaml_key(key: str) -> str:
    import re

    plain = re.fullmatch(r"[A-Za-z_][\w-]*", key) and key.lower() not in (
        "y", "n", "yes", "no", "on", "off", "true", "false", "null")  # YAML would read these
    return key if plain else '"' + key.replace('"', '\\"') + '"'


class Keyring:
    """Derives one sub-key per purpose from the masking key; every transformer uses its own."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def subkey(self, purpose: str) -> bytes:
        """A 32-byte key for `purpose`."""
        return hmac.digest(self._key, purpose.encode(), "sha256")

    def fingerprint(self) -> str:
        """A short, non-reversible id of the key (a changed key means a different copy)."""
        return self.subkey("fingerprint").hex()[:16]


def _mac(key: bytes, size: int = 8) -> Callable[[bytes], bytes]:
    """Keyed BLAKE2b of bytes (a MAC in one pass); the keyed state is built once and copied,
    which saves hashing the key block on every value."""
    base = hashlib.blake2b(digest_size=size, key=key)

    def mac(data: bytes) -> bytes:
        state = base.copy()
        state.update(data)
        return state.digest()

    return mac


def _prf(key: bytes, size: int = 8) -> Callable[[str], int]:
    """A keyed pseudo-random function str -> int."""
    mac = _mac(key, size)
    from_bytes = int.from_bytes

    def prf(text: str) -> int:
        return from_bytes(mac(text.encode()), "big")

    return prf


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# --- one-to-one ---------------------------------------------------------------------------

def hash_transform(keyring: Keyring, *, length: int = 16, prefix: str = "") -> Callable[[Any], Any]:
    """Keyed HMAC-SHA256 pseudonym, `length` hex characters (64-bit+ keeps it one-to-one)."""
    key = keyring.subkey("hash")
    digest = hmac.digest

    def transform(value: Any) -> Any:
        if value is None:
            return None
        return prefix + digest(key, _text(value).encode(), "sha256").hex()[:length]

    return transform


def email_transform(keyring: Keyring, pools: Pools) -> Callable[[Any], Any]:
    """`first.<80-bit keyed tag>@example.com`: unique (collisions ~2^-40 at a billion rows).

    The tag is keyed BLAKE2b (a MAC in one call, several times cheaper than HMAC-SHA256).
    """
    mac = _mac(keyring.subkey("email"), 14)
    first_names = [ascii_slug(n) or "user" for n in pools.first_names]
    count = len(first_names)

    def transform(value: Any) -> Any:
        if value is None:
            return None
        text = value if value.__class__ is str else str(value)
        tag = mac(text.encode())
        return f"{first_names[int.from_bytes(tag[10:], 'big') % count]}.{tag[:10].hex()}" \
               "@example.com"

    return transform


class PhonePermutation:
    """A keyed permutation of the Indian mobile numbers (format-preserving encryption).

    A 4-round Feistel network on 32 bits with cycle walking into [0, 4e9), then +6e9: every
    valid mobile maps to a distinct valid mobile. Each round function is a table of 65536
    16-bit values read from SHAKE-256 of the key and the round number (one call per round),
    so each number costs a few table lookups.
    """

    def __init__(self, keyring: Keyring) -> None:
        key = keyring.subkey("phone")
        self.rounds = []
        for r in range(4):
            table = array("H")
            table.frombytes(hashlib.shake_256(key + bytes([r])).digest(2 * 65536))
            self.rounds.append(table)

    def permute(self, number: int) -> int:
        """The image of a national number 6000000000..9999999999."""
        x = number - 6_000_000_000
        f0, f1, f2, f3 = self.rounds
        while True:
            left, right = x >> 16, x & 0xFFFF
            left, right = right, left ^ f0[right]
            left, right = right, left ^ f1[right]
            left, right = right, left ^ f2[right]
            left, right = right, left ^ f3[right]
            x = (left << 16) | right
            if x < _PHONE_SPACE:
                return x + 6_000_000_000


def _digit_feistel(key: bytes) -> Callable[[str, str], str]:
    """A keyed permutation of the digit strings of one length (per prefix): a 4-round
    Feistel network on the two decimal halves."""
    base = hashlib.blake2b(digest_size=8, key=key)

    def permute(prefix: str, digits: str) -> str:
        a = len(digits) // 2
        sizes = [a, len(digits) - a]
        left, right = int(digits[:a] or "0"), int(digits[a:])
        for r in range(4):
            state = base.copy()
            state.update(f"{r}|{prefix}|{len(digits)}|{right}".encode())
            f = int.from_bytes(state.digest(), "big")
            left, right = right, (left + f) % 10 ** sizes[0]
            sizes.reverse()
        return f"{left:0{sizes[0]}d}{right:0{sizes[1]}d}" if sizes[0] else f"{right:0{sizes[1]}d}"

    return permute


def _world_phone(keyring: Keyring, regions: tuple[str, ...]) -> Callable[[str], str | None]:
    """A valid phone number of the same country, type and layout (phonenumbers), for
    numbers outside the Indian mobile fast path; None when `text` is no valid number.

    The national destination code (area code, mobile prefix) is kept, the rest permuted
    (cycle-walking to a valid number), so distinct numbers stay distinct."""
    try:
        import phonenumbers
    except ImportError:
        return lambda text: None
    permute = _digit_feistel(keyring.subkey("phone-world"))

    def transform(text: str) -> str | None:
        number = None
        for region in (("ZZ",) if text.lstrip().startswith("+") else regions):
            try:
                parsed = phonenumbers.parse(text, None if region == "ZZ" else region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(parsed):
                number = parsed
                break
        if number is None:
            return None
        nsn = phonenumbers.national_significant_number(number)
        keep = min(max(phonenumbers.length_of_national_destination_code(number), 1),
                   len(nsn) - 4)
        head, tail = nsn[:keep], nsn[keep:]
        new = tail
        for _ in range(100):
            new = permute(f"{number.country_code}{head}", new)
            candidate = phonenumbers.parse(f"+{number.country_code}{head}{new}")
            if phonenumbers.is_valid_number(candidate):
                break
        digits = head + new
        positions = [i for i, ch in enumerate(text) if ch.isdigit()][-len(digits):]
        out = list(text)
        for position, digit in zip(positions, digits, strict=True):
            out[position] = digit
        return "".join(out)

    return transform


def phone_transform(keyring: Keyring, regions: tuple[str, ...] = ("IN",)
                    ) -> Callable[[Any], Any]:
    """A valid phone number in the same layout (country code, spaces, dashes kept);
    one-to-one. Indian mobiles take a fast keyed permutation; other numbers (recognised by
    phonenumbers in `regions`, or by their +country code) keep their country, type and area
    code. A value that is no phone number at all becomes a keyed-hash mobile in +91 form.
    """
    permutation = PhonePermutation(keyring)
    fallback = _prf(keyring.subkey("phone-fallback"))
    world = _world_phone(keyring, regions)
    india_first = regions[:1] == ("IN",)

    permute = permutation.permute

    def transform(value: Any) -> Any:
        if value is None:
            return None
        text = value if value.__class__ is str else str(value)
        if len(text) == 13 and text[:3] == "+91" and text[3] in "6789" and text.isascii() \
                and text[3:].isdigit():  # the common +91XXXXXXXXXX layout, fast
            return f"+91{permute(int(text[3:]))}"
        stripped = text.lstrip()
        if not india_first and not stripped.startswith(("+91", "0091")) or \
                stripped.startswith("+") and not stripped.startswith("+91"):
            other = world(text)
            if other is not None:
                return int(other) if isinstance(value, int) else other
        national = pii.normalise_mobile(text)
        if national is None:
            if not text.strip():
                return value
            return f"+91{6_000_000_000 + fallback(text) % _PHONE_SPACE}"
        digits = str(permutation.permute(int(national)))
        positions = [i for i, ch in enumerate(text) if ch.isdigit()][-10:]
        out = list(text)
        for position, digit in zip(positions, digits, strict=True):
            out[position] = digit
        result = "".join(out)
        return int(result) if isinstance(value, int) else result

    return transform


# --- format-preserving, many-to-one -------------------------------------------------------

def card_transform(keyring: Keyring) -> Callable[[Any], Any]:
    """Same length and layout, the last 4 kept, test-range prefix, Luhn-valid.

    Values with fewer than 12 digits (already masked, like `card •••• 4242`) are kept.
    """
    prf = _prf(keyring.subkey("card"), 16)

    def transform(value: Any) -> Any:
        if value is None:
            return None
        text = _text(value)
        digits = pii.digits_of(text)
        if len(digits) < 12:
            return value
        prefix = pii.MASKED_CARD_PREFIX
        middle_len = len(digits) - len(prefix) - 4
        middle = f"{prf(digits) % 10 ** middle_len:0{middle_len}d}"
        last4 = digits[-4:]
        for fix in "0123456789":  # the last middle digit makes the whole number pass Luhn
            candidate = prefix + middle[:-1] + fix + last4
            if pii.luhn_valid(candidate):
                break
        positions = [i for i, ch in enumerate(text) if ch.isdigit()]
        out = list(text)
        for position, digit in zip(positions, candidate, strict=True):
            out[position] = digit
        return "".join(out)

    return transform


def partial_transform(*, keep_first: int = 0, keep_last: int = 4, char: str = "*"
                      ) -> Callable[[Any], Any]:
    """Keeps the first/last characters, masks the rest (separators kept)."""

    def transform(value: Any) -> Any:
        if value is None:
            return None
        text = _text(value)
        n = len(text)
        return "".join(ch if i < keep_first or i >= n - keep_last or not ch.isalnum() else char
                       for i, ch in enumerate(text))

    return transform


def fake_transform(keyring: Keyring, pools: Pools, kind: str) -> Callable[[Any], Any]:
    """A consistent fake from the pools: the same input always gives the same output."""
    first, last = pools.first_names, pools.last_names
    buildings = pools.buildings
    cities = list(CITIES)

    def name(h: int) -> str:
        return f"{first[h % len(first)]} {last[(h >> 20) % len(last)]}"

    flats = [f"Flat {n}{letter}" for n in range(1, 20) for letter in "ABCDEFGH"]
    streets = [f"{ordinal(n)} Main Road" for n in range(1, 25)]
    # "Locality, City 560" (the pincode's postal circle), one entry per locality
    places = [f"{locality}, {city} {prefix}" for city, (prefix, localities) in CITIES.items()
              for locality in localities]

    def address(h: int) -> str:
        return (f"{flats[h % 152]}, {buildings[(h >> 8) % len(buildings)]}, "
                f"{streets[(h >> 24) % 24]}, {places[(h >> 29) % len(places)]}"
                f"{(h >> 40) % 1000:03d}")

    if pools.streets and pools.places:  # the locale's own layout (Faker)
        local_streets, local_places = pools.streets, pools.places

        def address(h: int) -> str:
            return (f"{local_streets[h % len(local_streets)]}, "
                    f"{local_places[(h >> 24) % len(local_places)]}")

    makers: dict[str, Callable[[int], str]] = {
        "name": name,
        "first_name": lambda h: first[h % len(first)],
        "last_name": lambda h: last[h % len(last)],
        "address": address,
        "city": lambda h: cities[h % len(cities)],
        "upi": lambda h: f"{ascii_slug(first[h % len(first)])}{(h >> 24) % 1000}@example",
        "text": lambda h: DELIVERY_INSTRUCTIONS[h % len(DELIVERY_INSTRUCTIONS)],
    }
    make = makers[kind]
    base = hashlib.blake2b(digest_size=8, key=keyring.subkey(f"fake:{kind}"))
    copy, from_bytes = base.copy, int.from_bytes
    if kind in ("address", "upi", "text"):  # rarely repeat: a cache would only cost

        def uncached(value: Any) -> Any:
            if value is None:
                return None
            state = copy()
            state.update((value if value.__class__ is str else str(value)).encode())
            return make(from_bytes(state.digest(), "big"))

        return uncached
    cache: dict[str, str] = {}  # names and cities repeat; bounded so memory stays flat
    get = cache.get

    def transform(value: Any) -> Any:
        if value is None:
            return None
        text = value if value.__class__ is str else str(value)
        out = get(text)
        if out is None:
            state = copy()
            state.update(text.encode())
            out = make(from_bytes(state.digest(), "big"))
            if len(cache) < 200_000:
                cache[text] = out
        return out

    return transform


def date_shift_transform(keyring: Keyring, *, days: int = 30) -> Callable[[Any, Any], Any]:
    """Moves a date by whole days in [-days, +days], the same offset for one entity.

    Called with (value, entity key); works on date/datetime objects and ISO strings (SQLite).
    Whole days keep the time of day, so only the date part of a string changes.
    """
    copy = hashlib.blake2b(digest_size=8, key=keyring.subkey("date_shift")).copy
    from_bytes = int.from_bytes
    span = 2 * days + 1
    moved: dict[tuple[str, int], str] = {}  # (day, shift) -> day: few distinct dates
    get = moved.get
    one = dt.timedelta(days=1)

    def transform(value: Any, entity: Any) -> Any:
        if value is None:
            return None
        state = copy()
        state.update(str(entity).encode())
        shift = from_bytes(state.digest(), "big") % span - days or (1 if days else 0)
        if value.__class__ is str:
            key = (value[:10], shift)
            day = get(key)
            if day is None:
                try:
                    day = (dt.date.fromisoformat(key[0]) + shift * one).isoformat()
                except ValueError:
                    return value
                if len(moved) < 500_000:
                    moved[key] = day
            return day + value[10:]
        if isinstance(value, (dt.datetime, dt.date)):
            return value + shift * one
        return value

    return transform


def geo_transform(*, decimals: int = 2, keep_digits: int = 3) -> Callable[[Any], Any]:
    """Generalises a location: coordinates rounded (2 decimals ~ 1 km), pincodes cut."""

    def transform(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, float):
            return round(value, decimals)
        if isinstance(value, decimal.Decimal):
            return round(value, decimals)
        if isinstance(value, int):
            text = str(value)
            if 4 <= len(text) <= 6:  # a postcode stored as a number
                return int(text[:keep_digits].ljust(len(text), "0"))
            return value
        text = _text(value).strip()
        if text.isdigit() and 3 <= len(text) <= 10:  # a ZIP, pincode, PLZ: digits stay digits
            return text[:keep_digits].ljust(len(text), "0")
        if _POSTCODE.fullmatch(text):  # NW1 6XE -> NW1 0AA: the postcode's own layout
            kept = 0
            out = []
            for ch in text:
                if ch.isalnum() and kept < keep_digits:
                    kept += 1
                    out.append(ch)
                else:
                    out.append("0" if ch.isdigit() else "A" if ch.isalpha() else ch)
            return "".join(out)
        parts = text.split(",")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            return value
        return ",".join(f"{round(n, decimals):.{decimals}f}" for n in numbers)

    return transform


_POSTCODE = __import__("re").compile(r"(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]{2,4}[ -]?[A-Za-z0-9]{3}")


def scrub_transform() -> Callable[[Any], Any]:
    """Free text with every PII pattern and name replaced by `[kind]`; JSON documents
    (parsed, or text that is one) are walked and only their string values scrubbed."""

    def transform(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            return walk_json(value, {}, scrub_value)
        text = _text(value)
        if text[:1] in ("{", "[") or text.strip()[:1] in ("{", "["):
            document = _load_json(text)
            if document is not None:
                return _dump_json(walk_json(document, {}, scrub_value))
        return pii.scrub(text)

    return transform


def scrub_value(value: Any) -> Any:
    """One JSON scalar scrubbed (strings only)."""
    return pii.scrub(value) if isinstance(value, str) else value


_MISSING = object()


def _load_json(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return None


def _dump_json(document: Any) -> str:
    import json

    return json.dumps(document, ensure_ascii=False)


def walk_json(node: Any, by_key: dict[str, Callable[[Any], Any] | None],
              default: Callable[[Any], Any] | None) -> Any:
    """A JSON document with `by_key[key]` applied to the value of every `key` (at any depth;
    None keeps it) and `default` to every other scalar (strings and numbers)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            fn = by_key.get(key, _MISSING)
            if fn is _MISSING:
                out[key] = walk_json(value, by_key, default)
            elif fn is None:
                out[key] = value
            elif isinstance(value, (dict, list)):
                out[key] = walk_json(value, {}, fn)  # type: ignore[arg-type]
            else:
                out[key] = fn(value) if value is not None else None  # type: ignore[operator]
        return out
    if isinstance(node, list):
        return [walk_json(item, by_key, default) for item in node]
    if default is None or node is None or isinstance(node, bool):
        return node
    return default(node)


def json_transform(by_key: dict[str, Callable[[Any], Any] | None],
                   default: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """Per-key rules inside a JSON column (`{json: {contact: email, "*": scrub}}`); text
    that is no JSON document gets the `*` rule as a whole."""
    scalar_default = default

    def transform(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            return walk_json(value, by_key, scalar_default)
        document = _load_json(_text(value))
        if document is None:
            return scalar_default(value) if scalar_default is not None else value
        return _dump_json(walk_json(document, by_key, scalar_default))

    return transform


def build_transform(rule: Rule, keyring: Keyring, pools: Pools,
                    regions: tuple[str, ...] = ("IN",)) -> Callable[..., Any] | None:
    """The function for `rule` (None for `keep`); `date_shift` takes (value, entity).

    `regions` (from the rules' locale) say whose national phone numbers to recognise."""
    kind, options = rule.kind, rule.options
    if kind == "json":
        by_key = {key: build_transform(sub, keyring, pools, regions)
                  for key, sub in options.items() if key != "*"}
        star = options.get("*")
        default = build_transform(star, keyring, pools, regions) if star is not None \
            else scrub_value
        if star is not None and star.kind == "scrub":
            default = scrub_value
        return json_transform(by_key, default)
    if kind == "keep":
        return None
    if kind == "null":
        return lambda value: None
    if kind == "fixed":
        constant = options.get("value")
        return lambda value: None if value is None else constant
    if kind == "hash":
        return hash_transform(keyring, length=int(options.get("length", 16)),
                              prefix=str(options.get("prefix", "")))
    if kind == "email":
        return email_transform(keyring, pools)
    if kind == "phone":
        return phone_transform(keyring, regions)
    if kind == "card":
        return card_transform(keyring)
    if kind == "partial":
        return partial_transform(keep_first=int(options.get("keep_first", 0)),
                                 keep_last=int(options.get("keep_last", 4)),
                                 char=str(options.get("char", "*")))
    if kind == "fake":
        return fake_transform(keyring, pools, str(options.get("value", "name")))
    if kind == "date_shift":
        return date_shift_transform(keyring, days=int(options.get("days", 30)))
    if kind == "geo":
        return geo_transform(decimals=int(options.get("decimals", 2)),
                             keep_digits=int(options.get("keep_digits", 3)))
    if kind == "scrub":
        return scrub_transform()
    raise ValueError(f"unknown transformer {kind!r}")
