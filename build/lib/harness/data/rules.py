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
    """A rule from its YAML form: `email`, `{fake: name}`, `{hash: {length: 24}}`."""
    if isinstance(raw, str):
        kind, options = raw, {}
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
    unknown = set(raw) - {"key_env", "tables", "batch_size"}
    if unknown:
        raise ConfigError(file, sorted(unknown)[0], "unknown key",
                          hint="the keys are key_env, tables, batch_size")
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
                        digest)


# --- suggestions ----------------------------------------------------------------------------

_PEOPLE_TABLE = re.compile(r"(user|customer|member|account|person|people|profile|contact|"
                           r"rider|driver|employee|shopper|recipient|kyc)", re.I)
_DELIVERY_TABLE = re.compile(r"(order|address|delivery|shipment|location)", re.I)
_BY_NAME: tuple[tuple[re.Pattern[str], Rule, str], ...] = (
    (re.compile(r"e_?mail", re.I), Rule("email"), "an email address"),
    (re.compile(r"(phone|mobile|msisdn|contact_?(no|number))", re.I), Rule("phone"),
     "a phone number"),
    (re.compile(r"aadhaa?r", re.I), Rule("null"), "an Aadhaar number"),
    (re.compile(r"(^|_)pan(_?(no|number))?$", re.I), Rule("null"), "a PAN"),
    (re.compile(r"(card_?(no|num|number)?$|^pan_|cc_?num)", re.I), Rule("card"),
     "a card number"),
    (re.compile(r"(upi|vpa)", re.I), Rule("fake", {"value": "upi"}), "a UPI id"),
    (re.compile(r"(password|passwd|secret|token|otp|api_?key|salt)", re.I), Rule("hash"),
     "a credential"),
    (re.compile(r"(^|_)(dob|birth|birthday|date_of_birth)", re.I),
     Rule("date_shift", {"days": 180}), "a date of birth"),
    (re.compile(r"(^|_)(lat|latitude|lng|lon|longitude|geo|coords?)($|_)", re.I),
     Rule("geo", {"decimals": 2}), "a location"),
    (re.compile(r"(^|_)(ip|ip_?address)$", re.I), Rule("partial", {"keep_first": 3,
                                                                    "keep_last": 0}),
     "an IP address"),
    (re.compile(r"(first|given)_?name", re.I), Rule("fake", {"value": "first_name"}),
     "a first name"),
    (re.compile(r"(last|sur|family)_?name", re.I), Rule("fake", {"value": "last_name"}),
     "a last name"),
    (re.compile(r"(address|street|line_?[12]|landmark|house|flat)", re.I),
     Rule("fake", {"value": "address"}), "an address"),
    (re.compile(r"(instruction|note|comment|remark|message|response|payload|body|json)",
                re.I), Rule("scrub"), "free text"),
)
_PEOPLE_ONLY: tuple[tuple[re.Pattern[str], Rule, str], ...] = (
    (re.compile(r"^(full_?|display_?|customer_?|contact_?)?name$", re.I),
     Rule("fake", {"value": "name"}), "a person's name"),
)
_DELIVERY_ONLY: tuple[tuple[re.Pattern[str], Rule, str], ...] = (
    (re.compile(r"(pincode|pin_?code|zip|postal|postcode)", re.I),
     Rule("geo", {"keep_digits": 3}), "a delivery pincode"),
)


@dataclass(frozen=True)
class Suggestion:
    """A proposed rule for one column and why."""

    rule: Rule
    reason: str


def suggest_rule(table: str, column: str, type_name: str, *, key: bool = False,
                 unique: bool = False, nullable: bool = True,
                 samples: Sequence[Any] = ()) -> Suggestion:
    """A rule for a column from its name, type and sample values (for a human to review)."""
    if key and not unique:
        return Suggestion(Rule("keep"), "a key column")
    texty = any(t in type_name.upper() for t in ("CHAR", "TEXT", "CLOB", "STRING", "JSON"))
    candidates = list(_BY_NAME)
    if _PEOPLE_TABLE.search(table):
        candidates += list(_PEOPLE_ONLY) + list(_DELIVERY_ONLY)
    elif _DELIVERY_TABLE.search(table):
        candidates += list(_DELIVERY_ONLY)
    for pattern, rule, what in candidates:
        if pattern.search(column) and (texty or rule.kind in ("date_shift", "geo", "null")):
            return _fit(rule, f"its name says {what}", unique, nullable)
    kinds: dict[str, int] = {}
    for value in samples:
        if isinstance(value, str):
            for match in pii.find_pii(value):
                if not match.synthetic or match.kind == "mobile":
                    kinds[match.kind] = kinds.get(match.kind, 0) + 1
    if kinds:
        kind = max(kinds, key=lambda k: kinds[k])
        by_value = {"email": Rule("email"), "mobile": Rule("phone"), "card": Rule("card"),
                    "upi": Rule("fake", {"value": "upi"}), "pan": Rule("null"),
                    "aadhaar": Rule("null")}
        whole = all(len(pii.find_pii(v)) == 1 and len(v.strip()) < 40
                    for v in samples if isinstance(v, str) and pii.find_pii(v))
        rule = by_value[kind] if whole else Rule("scrub")
        return _fit(rule, f"its values hold {kind} data", unique, nullable)
    if key:
        return Suggestion(Rule("keep"), "a key column")
    return Suggestion(Rule("keep"), "no PII in its name or sample")


def _fit(rule: Rule, reason: str, unique: bool, nullable: bool) -> Suggestion:
    """Make the suggestion legal for the column: one-to-one if unique, no NULL if required."""
    if rule.kind == "null" and not nullable:
        return Suggestion(Rule("hash"), reason + " (NOT NULL, so hashed)")
    if unique and rule.kind not in ONE_TO_ONE:
        return Suggestion(Rule("hash"), reason + " (unique, so a one-to-one hash)")
    return Suggestion(rule, reason)


def render_rules_file(tables: dict[str, list[tuple[str, Suggestion]]], *, source: str,
                      key_env: str = DEFAULT_KEY_ENV) -> str:
    """A rules file (YAML) with one suggested rule per column and the reason as a comment."""
    lines = [
        "# Masking rules suggested by `qgate data mask --init` from the source schema's",
        f"# column names and a sample of values ({source}).",
        "# REVIEW EVERY LINE before the first copy: a `keep` on a personal column leaks it.",
        "# Transformers: keep, null, fixed, hash, fake, email, phone, card, partial,",
        "# date_shift, geo, scrub; `table: skip` creates the table empty. Foreign-key columns",
        "# may be left out: they inherit their parent column's rule.",
        f"key_env: {key_env}",
        "tables:",
    ]
    for table, columns in tables.items():
        lines.append(f"  {table}:")
        width = max((len(c) for c, _ in columns), default=0)
        for column, suggestion in columns:
            rule = suggestion.rule.describe()
            lines.append(f"    {column + ':':<{width + 1}} {rule:<32} # {suggestion.reason}")
    return "\n".join(lines) + "\n"
