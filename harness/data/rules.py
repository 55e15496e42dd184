"""Masking rules (`datasets/masking.yaml`): every column of the source, classified.

```yaml
key_env: QGATE_MASK_KEY        # the secret key comes from this environment variable
tables:
  users:
    id: keep
    name: {fake: name}
    email: email
    phone: phone
    created_at: {date_shift: {days: 30}}
  sessions: skip               # created empty in the copy
```

Privacy by default: a column no rule classifies stops the run before anything is copied.
Foreign-key columns may be left out: they inherit their parent column's rule, so joins still
line up. `suggest_rule` proposes a rule from a column's name, type and a sample of its values
(for `qgate data mask --check` and `--init`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.data import pii
from harness.data.transforms import FAKE_KINDS, KINDS, ONE_TO_ONE, Rule
from harness.errors import ConfigError

DEFAULT_KEY_ENV = "QGATE_MASK_KEY"
MIN_KEY_LENGTH = 16
_OPTIONS: dict[str, set[str]] = {
    "hash": {"length", "prefix"}, "partial": {"keep_first", "keep_last", "char"},
    "date_shift": {"days", "by"}, "geo": {"decimals", "keep_digits"},
}


@dataclass(frozen=True)
class TableRules:
    """The rules of one table: skipped, or one rule per named column."""

    skip: bool = False
    columns: dict[str, Rule] = field(default_factory=dict)


@dataclass(frozen=True)
class MaskingRules:
    """A validated rules file (syntax only; `masking.plan` checks it against a schema)."""

    file: str
    key_env: str
    tables: dict[str, TableRules]
    batch_size: int
    digest: str
    #: Faker/phone locales (`en_US`, `en_GB`, `en_IN`, ...): the first drives fake names,
    #: all of them phone recognition; empty means "en_IN"
    locales: tuple[str, ...] = ()

    def regions(self) -> tuple[str, ...]:
        """The phone regions of the locales (`US`, `GB`, `IN`, ...), the first one first."""
        out: list[str] = []
        for locale in self.locales or ("en_IN",):
            region = pii.region_of(locale)
            if region not in out:
                out.append(region)
        return tuple(out)

    def key(self) -> bytes:
        """The masking key from the environment; unset or short is a ConfigError."""
        import os

        value = os.environ.get(self.key_env, "")
        if not value:
            raise ConfigError(self.file, "key_env", f"variable {self.key_env} is not set",
                              hint=f"export {self.key_env}=<a secret of {MIN_KEY_LENGTH}+ "
                                   "characters>; keep it out of the repository")
        if len(value) < MIN_KEY_LENGTH:
            raise ConfigError(self.file, "key_env", f"{self.key_env} is shorter than "
                              f"{MIN_KEY_LENGTH} characters")
        return value.encode()


def parse_rule(raw: Any, file: str, key: str) -> Rule:
    """A rule from its YAML form: `email`, `{fake: name}`, `{hash: {length: 24}}`,
    `{json: {contact: email, "*": scrub}}` (rules for the keys of a JSON document)."""
    if isinstance(raw, dict) and len(raw) == 1 and next(iter(raw)) == "json":
        inner = raw["json"]
        if not isinstance(inner, dict) or not inner:
            raise ConfigError(file, f"{key}.json", "expected rules per JSON key, e.g. "
                              "{json: {contact: email, \"*\": scrub}}")
        rules = {str(k): parse_rule(v, file, f"{key}.json.{k}") for k, v in inner.items()}
        for k, sub in rules.items():
            if sub.kind in ("date_shift", "json"):
                raise ConfigError(file, f"{key}.json.{k}", f"{sub.kind} is not available "
                                  "inside a JSON document")
        return Rule("json", rules)
    options: dict[str, Any] = {}
    if raw is None:  # `column: null` reads as YAML's null
        kind = "null"
    elif isinstance(raw, str):
        kind = raw
    elif isinstance(raw, dict) and len(raw) == 1:
        kind, value = next(iter(raw.items()))
        if isinstance(value, dict):
            options = dict(value)
        elif value is None:
            options = {}
        else:
            options = {"value": value}
    else:
        raise ConfigError(file, key, f"expected a rule like email or {{fake: name}}, got {raw!r}")
    if kind not in KINDS:
        from harness.schema import suggest
        raise ConfigError(file, key, f"unknown transformer '{kind}'",
                          hint=suggest(str(kind), KINDS) or f"one of {', '.join(KINDS)}")
    if kind == "fake" and options.get("value") not in FAKE_KINDS:
        raise ConfigError(file, key, f"fake needs one of {', '.join(FAKE_KINDS)}")
    if kind == "fixed" and "value" not in options:
        raise ConfigError(file, key, "fixed needs a value, e.g. {fixed: 'x'}")
    allowed = _OPTIONS.get(kind)
    if allowed is not None:
        unknown = set(options) - allowed
        if unknown:
            raise ConfigError(file, f"{key}.{sorted(unknown)[0]}", "unknown option",
                              hint=f"{kind} takes {', '.join(sorted(allowed))}")
    return Rule(str(kind), options)


def load_rules(path: str | Path) -> MaskingRules:
    """Load and validate a rules file."""
    from harness.data.spec import read_yaml

    path = Path(path)
    raw = read_yaml(path)
    file = str(path)
    if not isinstance(raw, dict):
        raise ConfigError(file, "", "expected a mapping with key_env and tables")
    unknown = set(raw) - {"key_env", "tables", "batch_size", "locale"}
    if unknown:
        raise ConfigError(file, sorted(unknown)[0], "unknown key",
                          hint="the keys are key_env, locale, tables, batch_size")
    locale_raw = raw.get("locale") or []
    locales = tuple(str(x) for x in (locale_raw if isinstance(locale_raw, list) else
                                     [locale_raw]))
    for locale in locales:
        if not re.fullmatch(r"[a-z]{2,3}_[A-Z]{2}", locale):
            raise ConfigError(file, "locale", f"'{locale}' is not a locale",
                              hint="write it like en_US, en_GB, en_IN or de_DE")
    tables_raw = raw.get("tables") or {}
    if not isinstance(tables_raw, dict):
        raise ConfigError(file, "tables", "expected a mapping of table -> columns")
    tables: dict[str, TableRules] = {}
    for table, columns in tables_raw.items():
        if columns == "skip":
            tables[str(table)] = TableRules(skip=True)
            continue
        if not isinstance(columns, dict):
            raise ConfigError(file, f"tables.{table}", "expected column rules or skip")
        tables[str(table)] = TableRules(columns={
            str(column): parse_rule(rule, file, f"tables.{table}.{column}")
            for column, rule in columns.items()})
    batch_size = raw.get("batch_size", 10000)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(file, "batch_size", "expected a positive integer")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return MaskingRules(file, str(raw.get("key_env") or DEFAULT_KEY_ENV), tables, batch_size,
                        digest, locales)


# --- suggestions ----------------------------------------------------------------------------

_PEOPLE_TABLE = re.compile(r"(user|customer|member|account|person|people|profile|contact|"
                           r"rider|driver|employee|shopper|recipient|kyc|address)", re.I)
_NAME_RULE = Rule("fake", {"value": "name"})
_BY_NAME: tuple[tuple[re.Pattern[str], Rule, str], ...] = (
    (re.compile(r"e_?mail", re.I), Rule("email"), "an email address"),
    (re.compile(r"(phone|mobile|msisdn|contact_?(no|number)|(^|_)(tel|fax|sms)$)", re.I),
     Rule("phone"), "a phone number"),
    (re.compile(r"aadhaa?r", re.I), Rule("null"), "an Aadhaar number"),
    (re.compile(r"(^|_)pan(_?(no|number))?$", re.I), Rule("null"), "a PAN"),
    (re.compile(r"(card_?(no|num|number)?$|^pan_|cc_?num)", re.I), Rule("card"),
     "a card number"),
    (re.compile(r"(upi|vpa)", re.I), Rule("fake", {"value": "upi"}), "a UPI id"),
    (re.compile(r"(password|passwd|secret|token|otp|api_?key|salt|session|(^|_)sid$|nonce|"
                r"csrf|cookie|auth_?key|access_?key|refresh)", re.I), Rule("hash"),
     "a credential or session id"),
    (re.compile(r"(^|_)(dob|birth|birthday|date_of_birth)", re.I),
     Rule("date_shift", {"days": 180}), "a date of birth"),
    (re.compile(r"(^|_)(lat|latitude|lng|lon|longitude|geo|coords?)($|_)", re.I),
     Rule("geo", {"decimals": 2}), "a location"),
    (re.compile(r"(^|_)(ip|ip_?address|remote_?addr)$", re.I),
     Rule("partial", {"keep_first": 3, "keep_last": 0}), "an IP address"),
    (re.compile(r"(first|given|middle)_?name", re.I), Rule("fake", {"value": "first_name"}),
     "a first name"),
    (re.compile(r"(last|sur|family)_?name", re.I), Rule("fake", {"value": "last_name"}),
     "a last name"),
    (re.compile(r"((full|display|customer|contact|billing|shipping|recipient|receiver|"
                r"consignee|person|holder|owner|account)_?name$|(^|_)(card_?)?holder$|"
                r"^(recipient|consignee|addressee)$)", re.I), _NAME_RULE, "a person's name"),
    (re.compile(r"(address|street|line_?[123]$|landmark|house|flat|apartment)", re.I),
     Rule("fake", {"value": "address"}), "an address"),
    (re.compile(r"(pincode|pin_?code|zip|postal|postcode)", re.I),
     Rule("geo", {"keep_digits": 3}), "a postcode"),
    (re.compile(r"(instruction|note|comment|remark|message|response|payload|body|json|"
                r"description|text)", re.I), Rule("scrub"), "free text"),
)
_PEOPLE_ONLY: tuple[tuple[re.Pattern[str], Rule, str], ...] = (
    (re.compile(r"^(name|username|user_?name|login|nick_?name)$", re.I), _NAME_RULE,
     "a person's name (in a table of people)"),
)
_BY_VALUE = {"email": Rule("email"), "mobile": Rule("phone"), "card": Rule("card"),
             "upi": Rule("fake", {"value": "upi"}), "pan": Rule("null"),
             "aadhaar": Rule("null")}


@dataclass(frozen=True)
class Suggestion:
    """A proposed rule for one column and why."""

    rule: Rule
    reason: str


def category_of(type_name: str) -> str:
    """A column type's family: text, json, array, binary, bool, number, time, uuid, enum."""
    upper = type_name.upper()
    if upper == "SET" or upper.startswith("SET("):
        return "enum"
    for needle, category in (("[]", "array"), ("ARRAY", "array"), ("JSON", "json"),
                             ("BYTEA", "binary"), ("BLOB", "binary"), ("BINARY", "binary"),
                             ("BOOL", "bool"), ("TINYINT(1)", "bool"), ("UUID", "uuid"),
                             ("ENUM", "enum"), ("SET(", "enum"), ("INTERVAL", "number"),
                             ("DATE", "time"), ("TIME", "time"), ("YEAR", "time"),
                             ("INT", "number"), ("NUMERIC", "number"), ("DECIMAL", "number"),
                             ("FLOAT", "number"), ("DOUBLE", "number"), ("REAL", "number"),
                             ("MONEY", "number"), ("SERIAL", "number"), ("CHAR", "text"),
                             ("TEXT", "text"), ("CLOB", "text"), ("STRING", "text")):
        if needle in upper:
            return category
    return "other"


def _json_documents(samples: Sequence[Any]) -> list[Any]:
    import json

    out = []
    for value in samples:
        if isinstance(value, (dict, list)):
            out.append(value)
        elif isinstance(value, (str, bytes)):
            try:
                out.append(json.loads(value))
            except ValueError:
                continue
    return out


def _json_keys(node: Any, into: dict[str, list[Any]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                _json_keys(value, into)
            else:
                into.setdefault(str(key), []).append(value)
    elif isinstance(node, list):
        for item in node:
            _json_keys(item, into)


def _by_name(column: str, table: str) -> tuple[Rule, str] | None:
    candidates = list(_BY_NAME) + (list(_PEOPLE_ONLY) if _PEOPLE_TABLE.search(table) else [])
    for pattern, rule, what in candidates:
        if pattern.search(column):
            return rule, what
    return None


def _by_values(samples: Sequence[Any]) -> tuple[Rule, str] | None:
    """A rule from what the values hold: PII patterns, or people's names."""
    texts = [v if isinstance(v, str) else str(v) for v in samples
             if v is not None and not isinstance(v, bool)]
    kinds: dict[str, int] = {}
    for text in texts:
        for match in pii.find_pii(text):
            if not match.synthetic or match.kind == "mobile":
                kinds[match.kind] = kinds.get(match.kind, 0) + 1
    if set(kinds) == {"mobile"} and kinds["mobile"] < len(texts) and all(
            t.strip().isdigit() for t in texts):
        kinds = {}  # digit codes (hashes, ids), of which a few happen to read as numbers
    if kinds:
        kind = max(kinds, key=lambda k: kinds[k])
        whole = all(len(pii.find_pii(v)) == 1 and len(v.strip()) < 40
                    for v in texts if pii.find_pii(v))
        return (_BY_VALUE[kind] if whole else Rule("scrub")), f"its values hold {kind} data"
    filled = [t for t in texts if t.strip()]
    names = sum(1 for t in filled if pii.looks_like_name(t))
    if filled and names * 2 >= len(filled):
        return _NAME_RULE, f"its values are people's names ({names} of {len(filled)} sampled)"
    if any(pii.find_names(t) for t in filled):
        return Rule("scrub"), "its values mention people's names"
    return None


def suggest_json(samples: Sequence[Any], table: str) -> Suggestion:
    """Per-key rules for a JSON column, from its keys (at any depth) and their values."""
    keys: dict[str, list[Any]] = {}
    for document in _json_documents(samples):
        _json_keys(document, keys)
    rules: dict[str, Rule] = {}
    reasons: list[str] = []
    for key, values in keys.items():
        found = _by_name(key, table) or (_by_values(values) if values else None)
        if found is None or found[0].kind in ("scrub", "date_shift", "geo") and not (
                found[0].kind == "geo" and "keep_digits" in found[0].options):
            continue
        rules[key] = found[0]
        reasons.append(f"{key}: {found[1].removeprefix('its name says ')}")
    rules["*"] = Rule("scrub")
    why = "JSON: " + "; ".join(reasons) + "; other values scrubbed" if reasons else \
        "JSON: every value scrubbed (no personal key found in the sample)"
    return Suggestion(Rule("json", rules), why)


def suggest_rule(table: str, column: str, type_name: str, *, key: bool = False,
                 unique: bool = False, nullable: bool = True,
                 samples: Sequence[Any] = (), category: str = "",
                 length: int | None = None) -> Suggestion:
    """A rule for a column from its name, type and sample values (for a human to review).

    Privacy by default: `keep` only where the type or the sample shows the column is not
    personal (numbers, booleans, timestamps, enums, uuids, a handful of repeated codes);
    text that is not proven harmless is scrubbed, names are faked, session ids hashed.
    """
    suggestion = _suggest(table, column, type_name, key=key, unique=unique, nullable=nullable,
                          samples=samples, category=category)
    if suggestion.rule.kind == "hash" and length and length < 16 + len(str(
            suggestion.rule.options.get("prefix", ""))):
        return Suggestion(Rule("hash", {"length": max(length, 1)}),
                          suggestion.reason + f" (the column holds {length} characters)")
    return suggestion


def _suggest(table: str, column: str, type_name: str, *, key: bool, unique: bool,
             nullable: bool, samples: Sequence[Any], category: str) -> Suggestion:
    category = category or category_of(type_name)
    values = [v for v in samples if v is not None]
    if key and not unique:
        return Suggestion(Rule("keep"), "a key column")
    if category == "json" or category == "text" and values and all(
            isinstance(v, str) and v.lstrip()[:1] in ("{", "[") for v in values) and len(
            _json_documents(values)) == len(values):  # JSON in a text column (MariaDB's JSON)
        return _fit(suggest_json(values, table), unique, nullable)
    texty = category == "text"
    found = _by_name(column, table)
    if found is not None and found[1].endswith("(in a table of people)") and values and sum(
            1 for v in values if pii.looks_like_name(v)) * 2 < len(values):
        found = None  # `name` in a lookup table (countries, titles): its values say so
    if found is not None and (texty or found[0].kind in ("date_shift", "geo", "null")
                              or found[0].kind == "hash" and category != "uuid"
                              and category not in ("number", "bool", "time")):
        return _fit(Suggestion(found[0], f"its name says {found[1]}"), unique, nullable)
    if category in ("array", "binary"):
        flat = [str(v) for v in values]
        leaks = _by_values(flat)
        if leaks is None and category == "array":
            return Suggestion(Rule("keep"), f"an array without personal data in {len(values)} "
                              "sampled values")
        why = leaks[1] if leaks else "binary content cannot be checked"
        if nullable:
            return Suggestion(Rule("null"), why)
        return Suggestion(Rule("keep"), why + " — NOT NULL, REVIEW: keep or fix it by hand")
    if not texty:
        what = {"number": "a number", "bool": "a boolean", "time": "a date or time",
                "uuid": "a random identifier (uuid)", "enum": "an enum"}[category] \
            if category in ("number", "bool", "time", "uuid", "enum") else "not text"
        if category == "number" and found is not None and found[0].kind == "phone":
            return _fit(Suggestion(Rule("phone"), f"its name says {found[1]}"), unique,
                        nullable)
        if category == "other" and found is not None and nullable:
            return Suggestion(Rule("null"), f"its name says {found[1]} ({type_name})")
        return Suggestion(Rule("keep"), what if category != "other" else
                          f"{type_name}, not text — REVIEW")
    by_value = _by_values(values)
    if by_value is not None:
        return _fit(Suggestion(*by_value), unique, nullable)
    if key:
        return Suggestion(Rule("keep"), "a key column")
    if not values:
        return _fit(Suggestion(Rule("scrub"), "no values to prove it harmless"), unique,
                    nullable)
    if unique:
        return Suggestion(Rule("keep"), f"unique codes without personal data in {len(values)} "
                          "sampled values")
    distinct = {str(v) for v in values}
    if len(values) >= 4 and len(distinct) * 2 <= len(values) and all(
            len(v) <= 40 for v in distinct):
        plural = "s" if len(distinct) != 1 else ""
        return Suggestion(Rule("keep"), f"{len(distinct)} distinct value{plural} in {len(values)} "
                          "sampled: a category")
    return Suggestion(Rule("scrub"), f"free text ({len(values)} sampled values): personal "
                      "data in it is replaced")


def _fit(suggestion: Suggestion, unique: bool, nullable: bool) -> Suggestion:
    """Make the suggestion legal for the column: one-to-one if unique, no NULL if required."""
    rule, reason = suggestion.rule, suggestion.reason
    if rule.kind == "null" and not nullable:
        return Suggestion(Rule("hash"), reason + " (NOT NULL, so hashed)")
    if unique and rule.kind not in ONE_TO_ONE:
        return Suggestion(Rule("hash"), reason + " (unique, so a one-to-one hash)")
    return Suggestion(rule, reason)


def render_rules_file(tables: dict[str, list[tuple[str, Suggestion]]], *, source: str,
                      key_env: str = DEFAULT_KEY_ENV, locales: Sequence[str] = ()) -> str:
    """A rules file (YAML) with one suggested rule per column and the reason as a comment."""
    lines = [
        "# Masking rules suggested by `qgate data mask --init` from the source schema's",
        f"# column names and a sample of values ({source}).",
        "# REVIEW EVERY LINE before the first copy: a `keep` on a personal column leaks it.",
        "# Transformers: keep, null, fixed, hash, fake, email, phone, card, partial,",
        "# date_shift, geo, scrub, json; `table: skip` creates the table empty. Foreign-key",
        "# columns may be left out: they inherit their parent column's rule.",
        f"key_env: {key_env}",
        *([f"locale: [{', '.join(locales)}]  # from the data: phones, postcodes, fake names"]
          if locales else []),
        "tables:",
    ]
    for table, columns in tables.items():
        lines.append(f"  {table}:")
        width = max((len(c) for c, _ in columns), default=0)
        for column, suggestion in columns:
            rule = suggestion.rule.describe()
            lines.append(f"    {column + ':':<{width + 1}} {rule:<32} # {suggestion.reason}")
    return "\n".join(lines) + "\n"
