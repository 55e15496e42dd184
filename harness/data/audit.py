"""The PII audit: a database, its source, files and logs, checked for personal data.

In a database (every text column, batch by batch, read-only):
- emails outside reserved domains, card numbers that pass Luhn (outside the test ranges),
  PAN, Aadhaar and UPI ids on real handles are leaks (high);
- a mobile number in a column that is not a phone column is free-text PII (medium: India has
  no reserved mobile range, so a phone column's values cannot be told from real ones here);
- with a source: no source value survives, compared as keyed hashes (a random key per
  audit; plain values are never kept): at the same row for personal columns, anywhere for
  identifiers (emails, mobiles, cards, PAN, Aadhaar, UPI);
- no orphaned foreign keys and no duplicates in unique columns (the target's declarations
  and, with a source, the source's).

In files (the run's artifacts, zip members of traces included, HARs) the same patterns;
reserved and sandbox values are test identities and pass, mobiles are medium. In the target's
own logs every customer identifier is a leak (high), test identity or not: in production the
same line would carry a real customer's.

Findings name `table.column[row key]` or `file:line`, never the value.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zipfile
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from harness.data import pii
from harness.results import Finding

SOURCE = "qgate data audit"
TITLES = {
    "email": "email address on a real domain",
    "mobile": "mobile number",
    "card": "payment card number in the clear",
    "pan": "PAN (Indian tax id)",
    "aadhaar": "Aadhaar number",
    "upi": "UPI id on a real handle",
}
_PHONE_COLUMN = re.compile(r"(phone|mobile|msisdn|contact_?(no|number))", re.I)
_AADHAAR_COLUMN = re.compile(r"aadhaa?r", re.I)
_BINARY_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".woff", ".woff2",
                    ".ttf", ".webm", ".mp4", ".zip", ".gz", ".pdf")
_NO_LOCATION_VALUES = 3


class HashSet64:
    """A set of 64-bit keyed hashes in a sorted array: 8 bytes per value, bisect lookups."""

    def __init__(self) -> None:
        self._items = array("Q")
        self._sorted = True

    def add(self, value: int) -> None:
        """Add one hash."""
        self._items.append(value)
        self._sorted = False

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        if not self._sorted:
            self._items = array("Q", sorted(self._items))
            self._sorted = True
        index = bisect_left(self._items, value)
        return index < len(self._items) and self._items[index] == value


class KeyedHasher:
    """64-bit keyed hashes (BLAKE2b, a random key per audit): comparable, not reversible."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def __call__(self, *parts: str) -> int:
        data = "\x1f".join(parts).encode()
        return int.from_bytes(hashlib.blake2b(data, digest_size=8, key=self._key).digest(),
                              "big")


def normalise(kind: str, text: str) -> str:
    """The comparable form of a PII value (case, spaces and separators removed)."""
    if kind in ("card", "aadhaar"):
        return pii.digits_of(text)
    if kind == "mobile":
        return pii.normalise_mobile(text) or pii.digits_of(text)
    if kind == "pan":
        return text.upper()
    if kind in ("email", "upi"):
        return text.strip().lower()
    return " ".join(text.casefold().split())


@dataclass
class _Tally:
    """Matches of one rule at one place: a count and the first few row keys / lines."""

    count: int = 0
    where: list[str] = field(default_factory=list)

    def add(self, where: str) -> None:
        self.count += 1
        if len(self.where) < _NO_LOCATION_VALUES:
            self.where.append(where)


@dataclass(frozen=True)
class DatabaseAudit:
    """What the database audit checked and found."""

    findings: tuple[Finding, ...]
    tables: tuple[str, ...]
    rows: int
    values: int
    foreign_keys: int
    unique_sets: int
    source_hashes: int = 0
    #: whose national phone numbers were recognised (besides +CC numbers anywhere), and how
    #: that was decided ("the rules file", "guessed from the data")
    locales: tuple[str, ...] = ()
    locales_from: str = ""

    def metrics(self) -> dict[str, float]:
        """The suite metrics of this audit."""
        by_rule: dict[str, float] = {}
        for f in self.findings:
            family = f.rule_id.split(".", 1)[0]
            by_rule[family] = by_rule.get(family, 0) + 1
        return {
            "data.db.tables": float(len(self.tables)), "data.db.rows_scanned": float(self.rows),
            "data.db.values_scanned": float(self.values),
            "data.pii.db_findings": float(sum(1 for f in self.findings
                                              if f.rule_id.startswith("pii."))),
            "data.pii.survivors": float(sum(1 for f in self.findings
                                            if f.rule_id.startswith("survivor."))),
            "data.integrity.orphans": float(sum(1 for f in self.findings
                                                if f.rule_id == "integrity.orphan")),
            "data.integrity.duplicates": float(sum(1 for f in self.findings
                                                   if f.rule_id == "integrity.duplicate")),
            "data.integrity.foreign_keys_checked": float(self.foreign_keys),
            "data.integrity.unique_sets_checked": float(self.unique_sets),
        }


def _as_text(value: Any) -> str:
    """A value as the text the detectors read (JSON documents and arrays as JSON)."""
    if isinstance(value, (dict, list, tuple)):
        import json

        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


_PHONE_KEY = re.compile(r"(phone|mobile|msisdn|contact_?(no|number)|^(tel|fax|sms)$)", re.I)


def _phone_keyed(value: Any) -> set[str]:
    """The numbers a JSON document keeps under phone keys (`phone`, `sms`, `mobile`...):
    there a phone number is the field's value, as in a phone column, not free text."""
    if isinstance(value, str):
        if value.lstrip()[:1] not in ("{", "["):
            return set()
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return set()
    out: set[str] = set()

    def walk(node: Any, key: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, str(k))
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, (str, int)) and not isinstance(node, bool) and \
                _PHONE_KEY.search(key):
            out.add(normalise("mobile", str(node)))

    walk(value, "")
    return out


def _row_key(names: Sequence[str], values: Sequence[Any], ordinal: int) -> str:
    """`id=17` (or `#17` when the key itself looks personal, e.g. an email key)."""
    if not names:
        return f"#{ordinal}"
    texts = [str(v) for v in values]
    if any(pii.find_pii(t) for t in texts):
        return f"#{ordinal}"
    return ",".join(f"{n}={t}" for n, t in zip(names, texts, strict=True))


def _text_columns(table: Any) -> list[str]:
    from sqlalchemy import ARRAY, JSON, BigInteger, Integer, Numeric, String, Text

    out = []
    for column in table.columns:
        type_ = column.type
        if type(type_).__name__ == "DOMAIN" and getattr(type_, "data_type", None) is not None:
            type_ = type_.data_type
        if isinstance(type_, (String, Text, JSON, ARRAY)):
            out.append(column.name)
        elif (isinstance(type_, (Integer, BigInteger, Numeric)) and not column.primary_key
              and (_PHONE_COLUMN.search(column.name) or _AADHAAR_COLUMN.search(column.name)
                   or "card" in column.name.lower())):
            out.append(column.name)
    return out


def _iter_table(engine: Any, table: Any, columns: Sequence[str], batch_size: int
                ) -> Iterator[tuple[str, list[tuple[Any, ...]], int]]:
    """(row key names, rows of key values + columns, first ordinal) per batch."""
    from harness.data.bulk import stream_rows

    keys = [c.name for c in table.primary_key.columns]
    ordinal = 1
    for rows in stream_rows(engine, table, [*keys, *columns], batch_size):
        yield ",".join(keys), rows, ordinal
        ordinal += len(rows)


def guessed_locales(url: str, ignore: Sequence[str], label: str) -> tuple[str, ...]:
    """The locales a database's sampled text speaks (international numbers, country codes),
    `en_IN` when it says nothing; the same guess `qgate data mask --init` drafts from."""
    from harness.data.dburl import make_engine
    from harness.data.masking import guess_locales, reflect, sample_values

    engine = make_engine(url, read_only=True, label=label)
    try:
        samples: list[Any] = []
        for table in reflect(engine, ignore).sorted_tables:
            for column in _text_columns(table):
                samples += sample_values(engine, table, column, limit=20)
    finally:
        engine.dispose()
    return tuple(guess_locales(samples)) or ("en_IN",)


def audit_database(url: str, *, source_url: str = "", rules_path: str = "",
                   ignore: Sequence[str] = ("qgate_*", "alembic_version"),
                   batch_size: int = 5000, progress: bool = False,
                   labels: tuple[str, str] = ("[data] database", "[data] source")
                   ) -> DatabaseAudit:
    """Audit the database at `url` (read-only); see the module docstring.

    `labels` name the two URLs in error messages (the CLI's flags, or the `[data]` keys).
    """
    from harness.data.dburl import connect_check, make_engine
    from harness.data.masking import reflect
    from harness.data.progress import Progress

    engine = make_engine(url, read_only=True, label=labels[0])
    connect_check(engine, labels[0])
    metadata = reflect(engine, ignore)
    # whose national phone numbers to recognise: the rules' locales, else what the data
    # (the source's, when given: the copy's were masked) says
    if rules_path:
        from harness.data.rules import load_rules

        locales, locales_from = tuple(load_rules(rules_path).locales), "the rules file"
    else:
        locales = guessed_locales(source_url or url, ignore, labels[1 if source_url else 0])
        locales_from = "guessed from the data"
    pii.set_locale(*locales)
    findings: list[Finding] = []
    hasher = KeyedHasher()
    positional = HashSet64()
    identifiers = HashSet64()
    personal: set[tuple[str, str]] = set()
    source_metadata = None
    if source_url:
        source = make_engine(source_url, read_only=True, label=labels[1])
        connect_check(source, labels[1])
        source_metadata = reflect(source, ignore)
        personal = _personal_columns(source_metadata, rules_path)
        _hash_source(source, source_metadata, personal, hasher, positional, identifiers,
                     batch_size, progress)
        source.dispose()
    rows = values = 0
    tally: dict[tuple[str, str, str, str], _Tally] = {}
    shown = Progress("auditing", enabled=progress)
    for table in metadata.sorted_tables:
        columns = _text_columns(table)
        if not columns:
            continue
        n_keys = len(table.primary_key.columns)
        phone_cols = {c for c in columns if _PHONE_COLUMN.search(c)}
        aadhaar_cols = {c for c in columns if _AADHAAR_COLUMN.search(c)}
        for key_names, batch, first in _iter_table(engine, table, columns, batch_size):
            names = key_names.split(",") if key_names else []
            for offset, row in enumerate(batch):
                key: str | None = None
                for column, value in zip(columns, row[n_keys:], strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else _as_text(value)
                    values += 1
                    if source_metadata is not None and (table.key, column) in personal:
                        digest = hasher(table.key, column, "|".join(map(str, row[:n_keys])),
                                        normalise("text", text))
                        if digest in positional:
                            key = key or _row_key(names, row[:n_keys], first + offset)
                            tally.setdefault(("survivor.value", table.key, column, "high"),
                                             _Tally()).add(key)
                    matches = pii.find_pii(text, aadhaar_context=column in aadhaar_cols)
                    for match in matches:
                        found = text[match.start:match.end]
                        if source_metadata is not None and len(identifiers) and hasher(
                                match.kind, normalise(match.kind, found)) in identifiers:
                            key = key or _row_key(names, row[:n_keys], first + offset)
                            tally.setdefault((f"survivor.{match.kind}", table.key, column,
                                              "high"), _Tally()).add(key)
                        if match.synthetic:
                            continue
                        if match.kind == "mobile":
                            if column in phone_cols or normalise("mobile", found) in \
                                    _phone_keyed(value):
                                continue
                            severity = "medium"
                        else:
                            severity = "high"
                        key = key or _row_key(names, row[:n_keys], first + offset)
                        tally.setdefault((f"pii.{match.kind}", table.key, column, severity),
                                         _Tally()).add(key)
            rows += len(batch)
            shown.advance(len(batch), table.key)
    shown.finish()
    for (rule, table_name, column, severity), t in sorted(tally.items()):
        kind = rule.split(".", 1)[1]
        if rule.startswith("survivor."):
            title = ("source value survived at the same row" if kind == "value" else
                     f"source {TITLES.get(kind, kind).split(' on ')[0]} found in the copy")
        else:
            title = TITLES[kind] + (" in free text" if kind == "mobile" else "")
        findings.append(Finding(
            rule_id=rule, title=title, severity=severity,  # type: ignore[arg-type]
            location=f"{table_name}.{column}[{t.where[0]}]",
            evidence=f"{t.count} value(s); rows {', '.join(t.where)}"
                     f"{' …' if t.count > len(t.where) else ''}",
            source=SOURCE))
    declared = [metadata] + ([source_metadata] if source_metadata is not None else [])
    integrity, fks, uniques = _integrity(engine, metadata, declared)
    findings.extend(integrity)
    findings.extend(_unfinished_copy(engine))
    engine.dispose()
    return DatabaseAudit(tuple(findings), tuple(t.name for t in metadata.sorted_tables), rows,
                         values, fks, uniques, len(positional) + len(identifiers),
                         locales, locales_from)


def _unfinished_copy(engine: Any) -> list[Finding]:
    """A masked copy `qgate data mask` started and never finished (its completion mark is
    missing): some tables are empty or half there, so a clean audit would prove nothing."""
    from sqlalchemy import inspect, text

    from harness.data.masking import COMPLETE_ROW, PLAN_ROW, PROGRESS_TABLE, SCHEMA_ROW

    if PROGRESS_TABLE not in inspect(engine).get_table_names():
        return []
    with engine.connect() as conn:
        marks = {str(r[0]) for r in conn.execute(text(
            f"SELECT table_name FROM {PROGRESS_TABLE}"))}
    if COMPLETE_ROW in marks:
        return []
    done = sorted(marks - {PLAN_ROW, SCHEMA_ROW})
    return [Finding(
        rule_id="integrity.unfinished_copy", title="masked copy never finished",
        severity="high", location=PROGRESS_TABLE,
        evidence=f"qgate data mask stopped before the end: {len(done)} table(s) copied "
                 f"({', '.join(done[:5])}{' …' if len(done) > 5 else ''}), the rest empty or "
                 "partial; re-run `qgate data mask` to finish it", source=SOURCE)]


def _personal_columns(metadata: Any, rules_path: str) -> set[tuple[str, str]]:
    """Columns whose whole value is personal: by the masking rules, else by their names."""
    from harness.data.masking import column_facts
    from harness.data.rules import load_rules, suggest_rule

    replacing = {"email", "phone", "card", "hash", "fake", "null", "fixed", "partial",
                 "date_shift"}
    out: set[tuple[str, str]] = set()
    rules = load_rules(rules_path) if rules_path else None
    for table in metadata.sorted_tables:
        facts = column_facts(table)
        table_rules = rules.tables.get(table.key) if rules else None
        for column, fact in facts.items():
            if not fact["texty"]:
                continue
            by_name = suggest_rule(table.key, column, fact["type"], category=fact["category"])
            ruled = (table_rules is not None and not table_rules.skip
                     and column in table_rules.columns)
            # a rule's `keep` does not make a name or session id harmless, but it does settle
            # the weak guess that `name` in a table of people is a person's
            weak = by_name.reason.endswith("(in a table of people)")
            kinds = set() if ruled and weak else {by_name.rule.kind}
            if ruled:
                assert table_rules is not None
                kinds.add(table_rules.columns[column].kind)
            if kinds & replacing:
                out.add((table.key, column))
    return out


def _hash_source(engine: Any, metadata: Any, personal: set[tuple[str, str]],
                 hasher: KeyedHasher, positional: HashSet64, identifiers: HashSet64,
                 batch_size: int, progress: bool) -> None:
    """Keyed hashes of the source's personal values (by row) and identifiers (anywhere)."""
    from harness.data.progress import Progress

    shown = Progress("hashing source values", enabled=progress)
    for table in metadata.sorted_tables:
        columns = _text_columns(table)
        if not columns:
            continue
        n_keys = len(table.primary_key.columns)
        for _, batch, _ in _iter_table(engine, table, columns, batch_size):
            for row in batch:
                row_key = "|".join(map(str, row[:n_keys]))
                for column, value in zip(columns, row[n_keys:], strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else _as_text(value)
                    if (table.key, column) in personal and text.strip():
                        positional.add(hasher(table.key, column, row_key,
                                              normalise("text", text)))
                    for match in pii.find_pii(text):
                        if not match.synthetic:
                            identifiers.add(hasher(match.kind, normalise(
                                match.kind, text[match.start:match.end])))
            shown.advance(len(batch), table.key)
    shown.finish()


def _integrity(engine: Any, metadata: Any, declared: Sequence[Any]
               ) -> tuple[list[Finding], int, int]:
    """Orphaned foreign keys and duplicated unique values, as declared in any schema."""
    from sqlalchemy import UniqueConstraint, and_, exists, func, select, tuple_

    findings: list[Finding] = []
    fk_set: set[tuple[str, tuple[str, ...], str, tuple[str, ...]]] = set()
    unique_set: set[tuple[str, tuple[str, ...]]] = set()
    for schema in declared:
        for table in schema.tables.values():
            for fk in table.foreign_key_constraints:
                fk_set.add((table.key, tuple(fk.column_keys), fk.referred_table.key,
                            tuple(e.column.name for e in fk.elements)))
            for constraint in table.constraints:
                if isinstance(constraint, UniqueConstraint):
                    unique_set.add((table.key, tuple(c.name for c in constraint.columns)))
            for index in table.indexes:
                if index.unique:
                    unique_set.add((table.key, tuple(c.name for c in index.columns)))
    tables = metadata.tables
    checked_fks = checked_unique = 0
    with engine.connect() as conn:
        for child_name, child_cols, parent_name, parent_cols in sorted(fk_set):
            child, parent = tables.get(child_name), tables.get(parent_name)
            if child is None or parent is None or not all(
                    c in child.c for c in child_cols) or not all(c in parent.c
                                                                 for c in parent_cols):
                continue
            checked_fks += 1
            link = and_(*(parent.c[p] == child.c[c]
                          for c, p in zip(child_cols, parent_cols, strict=True)))
            present = and_(*(child.c[c].is_not(None) for c in child_cols))
            orphan = and_(present, ~exists(select(1).select_from(parent).where(link)))
            count = conn.execute(select(func.count()).select_from(child).where(orphan)).scalar()
            if count:
                keys = [c for c in child.primary_key.columns] or [child.c[child_cols[0]]]
                sample = conn.execute(select(*keys).where(orphan).limit(3)).all()
                where = [_row_key([k.name for k in keys], list(r), 0) for r in sample]
                findings.append(Finding(
                    rule_id="integrity.orphan", title="foreign key points at a missing row",
                    severity="high",
                    location=f"{child_name}.{','.join(child_cols)}[{where[0]}]",
                    evidence=f"{count} row(s) reference {parent_name}."
                             f"{','.join(parent_cols)} rows that do not exist; rows "
                             f"{', '.join(where)}", source=SOURCE))
        for table_name, cols in sorted(unique_set):
            table = tables.get(table_name)
            if table is None or not all(c in table.c for c in cols):
                continue
            checked_unique += 1
            columns = [table.c[c] for c in cols]
            groups = (select(*columns).where(and_(*(c.is_not(None) for c in columns)))
                      .group_by(*columns).having(func.count() > 1))
            duplicated = conn.execute(select(func.count()).select_from(groups.subquery())
                                      ).scalar()
            if duplicated:
                keys = list(table.primary_key.columns)
                match = (tuple_(*columns).in_(groups) if len(columns) > 1
                         else columns[0].in_(groups))
                sample = conn.execute(select(*keys).where(match).limit(3)).all() if keys else []
                where = [_row_key([k.name for k in keys], list(r), 0) for r in sample] or ["?"]
                findings.append(Finding(
                    rule_id="integrity.duplicate", title="unique column holds duplicates",
                    severity="high", location=f"{table_name}.{','.join(cols)}[{where[0]}]",
                    evidence=f"{duplicated} value(s) occur more than once; rows "
                             f"{', '.join(where)}", source=SOURCE))
    return findings, checked_fks, checked_unique


# --- files --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileScan:
    """What a file scan read and found."""

    findings: tuple[Finding, ...]
    files: int
    lines: int


def _text_lines(data: Iterable[bytes]) -> Iterator[str]:
    for raw in data:
        if b"\x00" in raw:  # a log the writer pre-allocated or truncated: NULs, then text
            raw = raw.replace(b"\x00", b"")
        yield raw.decode("utf-8", errors="replace")


def _looks_binary(head: bytes) -> bool:
    """NUL bytes amid the first 4 KiB (a leading run of NULs alone is a truncated log)."""
    return b"\x00" in head[:4096].lstrip(b"\x00")


def _file_sources(path: Path, shown: str) -> Iterator[tuple[str, Callable[[], Iterator[str]]]]:
    """(location prefix, line reader) for a file, for each text member of a zip, or for
    the text inside a gzip file (rotated logs: `app.log.1.gz`)."""
    if path.suffix.lower() == ".gz":
        import gzip

        try:
            with gzip.open(path, "rb") as packed:
                head = packed.read(4096)
        except (OSError, EOFError):
            return
        if _looks_binary(head):
            return

        def unzipped() -> Iterator[str]:
            with gzip.open(path, "rb") as packed:
                yield from _text_lines(packed)

        yield shown, unzipped
        return
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            return
        with archive:
            for info in archive.infolist():
                if info.is_dir() or info.filename.lower().endswith(_BINARY_SUFFIXES):
                    continue
                with archive.open(info) as member:
                    head = member.read(4096)
                if _looks_binary(head):
                    continue

                def reader(name: str = info.filename) -> Iterator[str]:
                    with archive.open(name) as member:
                        yield from _text_lines(member)

                yield f"{shown}!{info.filename}", reader
        return
    if path.suffix.lower() in _BINARY_SUFFIXES:
        return
    with path.open("rb") as handle:
        if _looks_binary(handle.read(4096)):
            return

    def plain() -> Iterator[str]:
        with path.open("rb") as handle:
            yield from _text_lines(handle)

    yield shown, plain


_COMPANION = 160  # characters: the fields of one sign-up form or JSON body


def synthetic_companions(paths: Sequence[Path]) -> set[str]:
    """Phone numbers sent together with a synthetic identity (within a few fields of a
    reserved-domain email: the sign-up request of a test shopper qgate made up): they are
    the test shopper's own, wherever else they show (profile pages, later requests)."""
    out: set[str] = set()
    for path in paths:
        for _prefix, reader in _file_sources(path, str(path)):
            for line in reader():
                if "@" not in line:
                    continue
                text = unquote(line) if "%40" in line else line
                matches = pii.find_pii(text)
                synthetic = [m for m in matches if m.kind == "email" and m.synthetic]
                out |= {normalise("mobile", text[m.start:m.end]) for m in matches
                        if m.kind == "mobile" and any(abs(m.start - e.start) <= _COMPANION
                                                      for e in synthetic)}
    return out


def scan_files(paths: Iterable[Path], *, context: str, relative_to: Path | None = None,
               synthetic: Iterable[str] = ()) -> FileScan:
    """Scan text files (and zip members) line by line; `context` is "artifacts" or "logs".

    `synthetic` values (the test identities qgate's own tools send) are not findings.
    """
    known = {s.strip().lower() for s in synthetic}
    paths = list(paths)
    if context == "artifacts":
        known |= synthetic_companions(paths)
    tally: dict[tuple[str, str, str], _Tally] = {}
    files = lines = 0
    for path in paths:
        shown = str(path.relative_to(relative_to)) if relative_to and path.is_relative_to(
            relative_to) else str(path)
        for prefix, reader in _file_sources(path, shown):
            files += 1
            for number, line in enumerate(reader(), 1):
                lines += 1
                texts = [line]
                if "%40" in line or "%2B" in line:  # URL-encoded emails in URLs and HARs
                    texts.append(unquote(line))
                seen: set[tuple[str, str]] = set()
                for text in texts:
                    for match in pii.find_pii(text):
                        value = normalise(match.kind, text[match.start:match.end])
                        if (match.kind, value) in seen or value in known:
                            continue
                        seen.add((match.kind, value))
                        if context == "logs":
                            severity = "high"
                        elif match.synthetic:
                            continue
                        else:
                            severity = "medium" if match.kind == "mobile" else "high"
                        tally.setdefault((match.kind, prefix, severity), _Tally()).add(
                            f"{prefix}:{number}")
    findings = []
    for (kind, prefix, severity), t in sorted(tally.items()):
        rule = f"pii.{'log' if context == 'logs' else 'artifact'}.{kind}"
        title = (f"{TITLES[kind].split(' on ')[0].replace(' in the clear', '')} in the "
                 f"target's log" if context == "logs" else f"{TITLES[kind]} in an artifact")
        findings.append(Finding(
            rule_id=rule, title=title, severity=severity,  # type: ignore[arg-type]
            location=t.where[0], evidence=f"{t.count} match(es) in {prefix}; lines "
            f"{', '.join(w.rsplit(':', 1)[1] for w in t.where)}"
            f"{' …' if t.count > len(t.where) else ''}", source=SOURCE))
    return FileScan(tuple(findings), files, lines)


def artifact_files(run_dir: Path, *, exclude: Sequence[str] = ()) -> list[Path]:
    """Every file under `<run_dir>/artifacts`, except the excluded suites' folders."""
    root = run_dir / "artifacts"
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        parts = path.relative_to(root).parts
        if parts and parts[0] in exclude:
            continue
        out.append(path)
    return out


def expand_log_globs(patterns: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Files matching each pattern (late-bound `$VAR` expanded), and patterns matching none."""
    import glob

    from harness.data.dburl import expand_late

    found: list[Path] = []
    missing: list[str] = []
    for pattern in patterns:
        expanded = expand_late(pattern, key="data.target_logs")
        matches = sorted(Path(p) for p in glob.glob(expanded, recursive=True)
                         if Path(p).is_file())
        if matches:
            found.extend(matches)
        else:
            missing.append(pattern)
    return found, missing
