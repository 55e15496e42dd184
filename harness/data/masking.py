"""The masking copy: source schema reflected, created in the target, rows transformed in batches.

Order of work:
1. Safety: the target must not be the source, nor a database that holds production data
   (an environment's production `[data] database`, any `source` or `reference`).
2. Plan: every column of every copied table is classified by the rules (or inherits its
   foreign-key parent's rule). An unclassified column stops the run before anything is
   written; the listing shows a suggestion and a sample whose values are themselves masked.
3. Copy, parents before children, one transaction per table with a progress row in
   `qgate_mask_runs`: an interrupted run re-run skips the finished tables, redoes the
   interrupted one from empty and ends with no duplicates and no half tables. A changed rules
   file, key or source schema starts the copy over.

The source is opened read-only. Unique and primary-key columns only take one-to-one
transformers, and the target has the source's unique constraints, so a collision cannot
slip through silently.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.data.dburl import error_line
from harness.data.rules import MaskingRules, Suggestion, suggest_rule
from harness.data.transforms import ONE_TO_ONE, Keyring, Rule, build_transform
from harness.errors import ConfigError, HarnessError, UsageError

PROGRESS_TABLE = "qgate_mask_runs"
#: bump when a transformer's output changes: a copy is never resumed across versions
TRANSFORMS_VERSION = "2"
PLAN_ROW = "__plan__"
SCHEMA_ROW = "__schema__"
COMPLETE_ROW = "__complete__"
IGNORED = ("qgate_*",)
_ONE_TO_ONE = "a unique column needs a one-to-one rule (keep, hash, email, phone)"
_TEXT_ONLY = frozenset({"hash", "email", "fake", "scrub", "partial", "card", "json"})
#: Faker locales by phone region, for the locale `--init` reads from the data
_LOCALES = {"US": "en_US", "GB": "en_GB", "IN": "en_IN", "AU": "en_AU", "CA": "en_CA",
            "IE": "en_IE", "NZ": "en_NZ", "DE": "de_DE", "AT": "de_AT", "CH": "de_CH",
            "FR": "fr_FR", "ES": "es_ES", "IT": "it_IT", "NL": "nl_NL", "BR": "pt_BR",
            "PT": "pt_PT", "PL": "pl_PL", "SE": "sv_SE", "JP": "ja_JP", "MX": "es_MX"}


@dataclass(frozen=True)
class ColumnPlan:
    """What happens to one column: its effective rule, and where that rule came from."""

    name: str
    rule: Rule
    inherited_from: str = ""
    by: str = ""  # date_shift: the column whose value names the entity


@dataclass(frozen=True)
class TablePlan:
    """One table of the copy, in dependency order."""

    name: str
    skip: bool
    columns: tuple[ColumnPlan, ...] = ()


@dataclass(frozen=True)
class Unclassified:
    """A column no rule classifies, with a suggestion and a masked sample."""

    table: str
    column: str
    type_name: str
    suggestion: Suggestion
    samples: tuple[str, ...]


@dataclass(frozen=True)
class MaskPlan:
    """The validated plan, and the columns that block it."""

    tables: tuple[TablePlan, ...]
    unclassified: tuple[Unclassified, ...]


@dataclass(frozen=True)
class MaskReport:
    """What a masking copy did."""

    rows: dict[str, int]
    skipped: tuple[str, ...]
    resumed: tuple[str, ...]
    seconds: float

    @property
    def total(self) -> int:
        """Rows copied over every table."""
        return sum(self.rows.values())


def schemas_of(engine: Any) -> list[str | None]:
    """The schemas to read: the default one (None), and on PostgreSQL every other user schema
    (MariaDB's "schemas" are other databases)."""
    from sqlalchemy import inspect

    from harness.data.native import SYSTEM_SCHEMAS

    out: list[str | None] = [None]
    if engine.dialect.name == "postgresql":
        inspector = inspect(engine)
        default = inspector.default_schema_name
        out += [s for s in inspector.get_schema_names()
                if s != default and s not in SYSTEM_SCHEMAS and not s.startswith("pg_")]
    return out


def table_keys(engine: Any) -> set[str]:
    """Every table's key (`schema.table` outside the default schema)."""
    from sqlalchemy import inspect

    inspector = inspect(engine)
    return {f"{schema}.{t}" if schema else t for schema in schemas_of(engine)
            for t in inspector.get_table_names(schema=schema)}


def reflect(engine: Any, ignore: Sequence[str] = IGNORED) -> Any:
    """The database's schema in every user schema (tables matching `ignore` left out).

    Tables are keyed `table` in the default schema and `schema.table` elsewhere; rules files
    name them the same way.
    """
    from sqlalchemy import MetaData, inspect

    metadata = MetaData()
    inspector = inspect(engine)
    for schema in schemas_of(engine):
        names = [t for t in inspector.get_table_names(schema=schema)
                 if not any(fnmatch.fnmatch(t, p) for p in ignore)]
        if names:
            metadata.reflect(engine, schema=schema, only=names)
    return metadata


def split_column(qualified: str) -> tuple[str, str]:
    """`schema.table.column` or `table.column` -> (table key, column)."""
    table, column = qualified.rsplit(".", 1)
    return table, column


def column_facts(table: Any) -> dict[str, dict[str, Any]]:
    """Per column: type name, key/unique/nullable flags and its FK parent ('table.column')."""
    unique_cols: set[str] = set()
    for constraint in table.constraints:
        from sqlalchemy import UniqueConstraint

        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) == 1:
            unique_cols |= {c.name for c in constraint.columns}
    for index in table.indexes:
        if index.unique and len(index.columns) == 1:
            unique_cols |= {c.name for c in index.columns}
    pk = [c.name for c in table.primary_key.columns]
    if len(pk) == 1:
        unique_cols.add(pk[0])
    facts: dict[str, dict[str, Any]] = {}
    for column in table.columns:
        parents = [f"{fk.column.table.key}.{fk.column.name}" for fk in column.foreign_keys]
        facts[column.name] = {
            "generated": column.computed is not None,
            "type": str(_type_name(column.type)), "pk": column.primary_key,
            "unique": column.name in unique_cols, "nullable": bool(column.nullable),
            "parent": parents[0] if parents else "", "length": getattr(column.type, "length",
                                                                         None),
            "texty": _is_text(column.type), "category": _category(column.type)}
    return facts


def _category(type_: Any) -> str:
    """The type's family for suggestions (`rules.category_of`, with enums and arrays told
    apart by their SQLAlchemy type)."""
    from sqlalchemy import ARRAY, JSON, Enum, LargeBinary

    from harness.data.rules import category_of

    if type(type_).__name__ == "DOMAIN" and getattr(type_, "data_type", None) is not None:
        return _category(type_.data_type)
    if isinstance(type_, Enum):
        return "enum"
    if isinstance(type_, ARRAY):
        return "array"
    if isinstance(type_, JSON):
        return "json"
    if isinstance(type_, LargeBinary):
        return "binary"
    return category_of(_type_name(type_))


def guess_locales(samples: Sequence[Any]) -> list[str]:
    """The locales the data speaks, most common first: from international phone numbers
    (+CC) and two-letter country codes found in the sampled values."""
    import re

    counts: dict[str, int] = {}
    plus = re.compile(r"\+\d[\d\s().-]{6,18}\d")
    try:
        import phonenumbers
    except ImportError:
        phonenumbers = None  # type: ignore[assignment]
    for value in samples:
        if not isinstance(value, str):
            value = str(value)
        if len(value) == 2 and value.isupper() and value in _LOCALES:
            counts[value] = counts.get(value, 0) + 1
        if phonenumbers is None or "+" not in value:
            continue
        for match in plus.finditer(value):
            try:
                region = phonenumbers.region_code_for_number(phonenumbers.parse(match.group(0)))
            except phonenumbers.NumberParseException:
                continue
            if region in _LOCALES:
                counts[region] = counts.get(region, 0) + 1
    return [_LOCALES[r] for r in sorted(counts, key=lambda r: -counts[r])]


def _type_name(type_: Any) -> str:
    try:
        return str(type_)
    except Exception:  # a dialect type that cannot render outside its dialect
        return type(type_).__name__


def _is_text(type_: Any) -> bool:
    from sqlalchemy import JSON, String, Text

    if type(type_).__name__ == "DOMAIN" and getattr(type_, "data_type", None) is not None:
        type_ = type_.data_type
    return isinstance(type_, (String, Text, JSON))


def referenced_columns(metadata: Any) -> set[str]:
    """Every `table.column` some foreign key points at."""
    return {f"{fk.column.table.key}.{fk.column.name}"
            for table in metadata.tables.values() for column in table.columns
            for fk in column.foreign_keys}


def sample_values(engine: Any, table: Any, column: str, limit: int = 5) -> list[Any]:
    """Up to `limit` non-null values of a column (for suggestions; never printed as is)."""
    from sqlalchemy import select

    with engine.connect() as conn:
        col = table.c[column]
        rows = conn.execute(select(col).where(col.is_not(None)).limit(limit)).all()
    return [row[0] for row in rows]


def plan_masking(metadata: Any, rules: MaskingRules, engine: Any | None = None) -> MaskPlan:
    """Check the rules against the source schema; classify every column or list it."""
    file = rules.file
    for table in rules.tables:
        if table not in metadata.tables:
            raise ConfigError(file, f"tables.{table}", "no such table in the source",
                              hint="remove it, or check the source URL")
    facts = {name: column_facts(t) for name, t in metadata.tables.items()}
    for table, table_rules in rules.tables.items():
        for column in table_rules.columns:
            if column not in facts[table]:
                from harness.schema import suggest
                raise ConfigError(file, f"tables.{table}.{column}", "no such column in the source",
                                  hint=suggest(column, facts[table]) or "remove it")
    referenced = referenced_columns(metadata)
    skipped = {t for t, r in rules.tables.items() if r.skip}

    def explicit(table: str, column: str) -> Rule | None:
        table_rules = rules.tables.get(table)
        return table_rules.columns.get(column) if table_rules else None

    def effective(table: str, column: str, seen: frozenset[str] = frozenset()
                  ) -> tuple[Rule | None, str]:
        rule = explicit(table, column)
        if rule is not None:
            return rule, ""
        parent = facts[table][column]["parent"]
        if parent and parent not in seen:
            parent_table, parent_column = split_column(parent)
            inherited, _ = effective(parent_table, parent_column, seen | {parent})
            return inherited, parent if inherited is not None else ""
        return None, ""

    plans: list[TablePlan] = []
    unclassified: list[Unclassified] = []
    for table in metadata.sorted_tables:
        name = table.key
        if name in skipped:
            plans.append(TablePlan(name, skip=True))
            continue
        for column, fact in facts[name].items():
            parent = fact["parent"]
            if parent and split_column(parent)[0] in skipped:
                raise ConfigError(file, f"tables.{name}",
                                  f"{name}.{column} references {parent}, whose table is skipped",
                                  hint=f"skip {name} too, or copy {split_column(parent)[0]}")
        columns: list[ColumnPlan] = []
        for column, fact in facts[name].items():
            if fact["generated"]:
                continue  # computed by the target from the masked columns
            rule, inherited = effective(name, column)
            key = f"tables.{name}.{column}"
            if rule is None:
                samples = sample_values(engine, table, column) if engine is not None else []
                from harness.data.pii import shape
                unclassified.append(Unclassified(
                    name, column, fact["type"],
                    suggest_rule(name, column, fact["type"], key=fact["pk"] or bool(parent),
                                 unique=fact["unique"] or f"{name}.{column}" in referenced,
                                 nullable=fact["nullable"], samples=samples,
                                 category=fact["category"], length=fact["length"]),
                    tuple(shape(v) for v in samples[:3])))
                continue
            parent = fact["parent"]
            if parent and explicit(name, column) is not None:
                parent_rule, _ = effective(*split_column(parent))
                if parent_rule is not None and parent_rule != rule:
                    raise ConfigError(file, key, f"references {parent}, masked with "
                                      f"{parent_rule.describe()}; its rule must be the same "
                                      "(or left out to inherit it), or the join breaks")
            _check_rule(file, key, rule, fact, one_to_one=fact["unique"] or
                        f"{name}.{column}" in referenced)
            by = ""
            if rule.kind == "date_shift":
                by = str(rule.options.get("by") or "")
                if not by:
                    pk = [c.name for c in table.primary_key.columns]
                    if len(pk) != 1:
                        raise ConfigError(file, key, "date_shift needs `by` (the column naming "
                                          "the entity): the table has no single-column key")
                    by = pk[0]
                if by not in facts[name]:
                    raise ConfigError(file, f"{key}.by", f"no column '{by}' in {name}")
            columns.append(ColumnPlan(column, rule, inherited, by))
        plans.append(TablePlan(name, skip=False, columns=tuple(columns)))
    return MaskPlan(tuple(plans), tuple(unclassified))


def _check_rule(file: str, key: str, rule: Rule, fact: dict[str, Any], *, one_to_one: bool
                ) -> None:
    if one_to_one and rule.kind not in ONE_TO_ONE and not (rule.kind == "null" and
                                                            fact["nullable"]):
        raise ConfigError(file, key, f"{rule.kind} is not one-to-one, but the column is "
                          "unique, a key or referenced by a foreign key",
                          hint="use keep, hash, email or phone")
    if rule.kind == "null" and not fact["nullable"]:
        raise ConfigError(file, key, "null on a NOT NULL column", hint="use hash or fixed")
    if rule.kind in _TEXT_ONLY and not fact["texty"] and not (
            rule.kind == "hash" and fact["category"] == "binary"):
        raise ConfigError(file, key, f"{rule.kind} needs a text column, this one is "
                          f"{fact['type']}")
    length = fact["length"]
    if length:
        needed = {"hash": int(rule.options.get("length", 16)) + len(str(
            rule.options.get("prefix", ""))), "email": 48}.get(rule.kind, 0)
        if needed > length:
            raise ConfigError(file, key, f"{rule.kind} writes up to {needed} characters, the "
                              f"column holds {length}")


def describe_unclassified(plan: MaskPlan) -> str:
    """A readable listing of the unclassified columns (samples masked)."""
    rows = [(f"{u.table}.{u.column}", u.type_name, u.suggestion.rule.describe(),
             u.suggestion.reason, ", ".join(u.samples) or "(no values)")
            for u in plan.unclassified]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  suggest {r[2]:<{widths[2]}}  "
             f"({r[3]}; sample: {r[4]})" for r in rows]
    return "\n".join(lines)


def stop_if_unclassified(plan: MaskPlan, rules: MaskingRules, out: IO[str],
                         consequence: str = "") -> None:
    """List the columns `rules` leave unclassified on `out` and raise a one-line ConfigError;
    nothing when every column is classified. Needs no key, so it runs before the key check."""
    if not plan.unclassified:
        return
    count = len(plan.unclassified)
    print(f"{count} column(s) not classified by {rules.file}:\n{describe_unclassified(plan)}",
          file=out, flush=True)
    raise ConfigError(rules.file, "tables", f"{count} column(s) not classified (listed "
                      f"above){consequence}", hint="add a rule for each (or run `qgate data "
                      "mask --init` to draft a rules file)")


def suggest_rules_file(metadata: Any, engine: Any, source_label: str) -> str:
    """A rules file with a suggestion for every column of the source."""
    from harness.data import pii
    from harness.data.rules import render_rules_file

    referenced = referenced_columns(metadata)
    sampled = {(table.key, column): sample_values(engine, table, column, 50)
               for table in metadata.sorted_tables
               for column, fact in column_facts(table).items() if not fact["generated"]}
    locales = guess_locales([v for values in sampled.values() for v in values])
    pii.set_locale(*locales)
    tables: dict[str, list[tuple[str, Suggestion]]] = {}
    for table in metadata.sorted_tables:
        facts = column_facts(table)
        suggestions = {
            column: suggest_rule(table.key, column, fact["type"],
                                 key=fact["pk"] or bool(fact["parent"]),
                                 unique=fact["unique"] or f"{table.key}.{column}" in referenced,
                                 nullable=fact["nullable"], samples=sampled[table.key, column],
                                 category=fact["category"], length=fact["length"])
            for column, fact in facts.items() if not fact["generated"]}
        _derived_text(engine, table, facts, suggestions)
        tables[table.key] = list(suggestions.items())
    return render_rules_file(tables, source=source_label, locales=locales)


_PERSONAL_KINDS = frozenset({"fake", "email", "phone", "card", "null", "partial"})


def _derived_text(engine: Any, table: Any, facts: dict[str, dict[str, Any]],
                  suggestions: dict[str, Suggestion]) -> None:
    """Text columns that repeat the row's personal values (a search text, a display label,
    a denormalised copy) take the personal columns' fate: NULL, or an empty string."""
    from sqlalchemy import select

    personal = [c for c, s in suggestions.items() if s.rule.kind in _PERSONAL_KINDS
                and facts[c]["texty"]]
    candidates = [c for c, s in suggestions.items() if s.rule.kind in ("scrub", "keep")
                  and facts[c]["category"] == "text" and not facts[c]["unique"]
                  and not facts[c]["pk"]]
    if not personal or not candidates:
        return
    with engine.connect() as conn:
        rows = conn.execute(select(*(table.c[c] for c in personal + candidates)).limit(50)
                            ).all()
    for offset, column in enumerate(candidates, len(personal)):
        seen = repeats = 0
        named: set[str] = set()
        for row in rows:
            text = row[offset]
            if not isinstance(text, str) or not text.strip():
                continue
            seen += 1
            folded = text.casefold()
            hits = {personal[i] for i in range(len(personal)) if isinstance(row[i], str)
                    and len(row[i].strip()) >= 4 and row[i].strip().casefold() in folded}
            if hits:
                repeats += 1
                named |= hits
        if seen and repeats * 2 >= seen:
            why = (f"its values repeat the row's {', '.join(sorted(named))} (derived text)")
            rule = Rule("null") if facts[column]["nullable"] else Rule("fixed", {"value": ""})
            suggestions[column] = Suggestion(rule, why)


# --- the copy -----------------------------------------------------------------------------

@dataclass(frozen=True)
class DeferredIndex:
    """An index or unique constraint built after its table is loaded (a sorted build is
    far cheaper than keeping a random-order B-tree up to date row by row)."""

    name: str
    columns: tuple[str, ...]
    unique: bool


def target_metadata(source: Any, target_dialect: str, source_dialect: str
                    ) -> tuple[Any, dict[str, list[DeferredIndex]]]:
    """The source schema re-made for the target (sequences dropped, types adapted), and the
    indexes and unique constraints to build once each table is loaded."""
    from sqlalchemy import MetaData, UniqueConstraint

    metadata = MetaData()
    referenced = {(fk.column.table.key, fk.column.name) for t in source.tables.values()
                  for c in t.columns for fk in c.foreign_keys}
    deferred: dict[str, list[DeferredIndex]] = {}
    for table in source.sorted_tables:
        copy = table.to_metadata(metadata)
        for column in copy.columns:
            default = getattr(column.server_default, "arg", None)
            if default is not None and "nextval(" in str(default):
                column.server_default = None  # a PostgreSQL serial: recreated as such
                column.autoincrement = True
            column.type = adapt_type(column.type, target_dialect, source_dialect)
            if column.identity is not None:
                column.identity.always = False  # the copy writes the source's ids
            if column.server_default is not None and source_dialect != target_dialect:
                column.server_default = None
        later: list[DeferredIndex] = []
        for constraint in list(copy.constraints):
            if not isinstance(constraint, UniqueConstraint):
                continue
            columns = tuple(c.name for c in constraint.columns)
            if any((copy.key, c) in referenced for c in columns):
                continue  # a foreign key needs it when the tables are created
            copy.constraints.remove(constraint)
            later.append(DeferredIndex(_index_name(constraint.name, copy.name, columns),
                                       columns, True))
        for index in list(copy.indexes):
            columns = tuple(c.name for c in index.columns)
            if not columns or (index.unique and any((copy.key, c) in referenced
                                                    for c in columns)):
                continue
            copy.indexes.remove(index)
            later.append(DeferredIndex(_index_name(index.name, copy.name, columns), columns,
                                       bool(index.unique)))
        deferred[copy.key] = later
    return metadata, deferred


def _index_name(name: Any, table: str, columns: tuple[str, ...]) -> str:
    text = str(name) if name else ""
    if not text or text.startswith("sqlite_"):
        text = f"uq_{table}_{'_'.join(columns)}"
    return text[:60]


def adapt_type(type_: Any, target: str, source: str | None) -> Any:
    """A column type the target dialect can create (generic types across dialects)."""
    from sqlalchemy import Boolean, DateTime, String, Text
    from sqlalchemy.dialects import mysql

    if source is not None and source != target:
        try:
            type_ = type_.as_generic()
        except NotImplementedError:
            pass
    if target in ("mysql", "mariadb"):
        if isinstance(type_, String) and not isinstance(type_, Text) and not type_.length:
            return Text()
        if isinstance(type_, DateTime) and not isinstance(type_, mysql.DATETIME):
            return mysql.DATETIME(fsp=6)
    if isinstance(type_, Boolean):
        return Boolean()
    return type_


def _coercions(source: Any, target: Any, table: Any) -> list[Callable[[Any], Any] | None]:
    """Value conversions when the source and target drivers disagree (SQLite <-> others)."""
    from sqlalchemy import JSON, Boolean, Date, DateTime

    from harness.data.bulk import sqlite_datetime

    out: list[Callable[[Any], Any] | None] = []
    same = source.dialect.name == target.dialect.name
    for column in table.columns:
        if column.computed is not None:
            continue
        if isinstance(column.type, JSON):
            out.append(_json_text)
        elif same:
            out.append(None)
        elif isinstance(column.type, Boolean):
            out.append(lambda v: v if v is None else bool(v))
        elif isinstance(column.type, (DateTime, Date)):
            if target.dialect.name == "sqlite":
                out.append(sqlite_datetime)
            else:
                out.append(lambda v: dt.datetime.fromisoformat(v) if isinstance(v, str) else v)
        else:
            out.append(None)
    return out


def _json_text(value: Any) -> Any:
    """A JSON document as text for the driver (psycopg2 cannot adapt a dict)."""
    import json

    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def run_mask(source_url: str, target_url: str, rules: MaskingRules, *, root: Path,
             allow_production: bool = False, out: IO[str] = sys.stdout,
             show_progress: bool = True) -> MaskReport:
    """Copy `source_url` into `target_url` through `rules`; see the module docstring."""
    from harness.data.dburl import (
        connect_check,
        display_url,
        make_engine,
        refuse_production,
        same_database,
    )

    if same_database(source_url, target_url):
        raise UsageError("--target is the source database", hint="copy into another database")
    override = refuse_production(target_url, root, what="--target", allow=allow_production)
    if override:
        print(f"WARNING: writing into {override}: --allow-production", file=out, flush=True)
    from harness.data import pii

    pii.set_locale(*rules.locales)
    source = make_engine(source_url, read_only=True, label="--source")
    connect_check(source, "--source")
    metadata = reflect(source)
    if not metadata.tables:
        raise UsageError(f"--source: {display_url(source_url)} has no tables")
    plan = plan_masking(metadata, rules, source)
    stop_if_unclassified(plan, rules, out, "; nothing was copied")
    keyring = Keyring(rules.key())  # after the listing: a missing key does not hide it
    target = make_engine(target_url, label="--target")
    connect_check(target, "--target")
    from harness.data.dburl import same_server_database

    if same_server_database(source, target):
        raise UsageError("--target is the source database (the server says so, whatever the "
                         "URLs' spelling)", hint="copy into another database")
    digest = hashlib.sha256("|".join([
        TRANSFORMS_VERSION, rules.digest, keyring.fingerprint(),
        *(f"{t.key}:{','.join(c.name + _type_name(c.type) for c in t.columns)}"
          for t in metadata.sorted_tables)]).encode()).hexdigest()[:32]
    schema = _schema_copier(source, target, metadata)
    if not schema.kind and source.dialect.name == target.dialect.name == "postgresql":
        print("WARNING: no pg_dump of the server's version on the PATH: tables, keys, indexes "
              "and foreign keys are re-created, views, functions and triggers are not "
              "(qgate data parity lists them)", file=out, flush=True)
    tables, deferred = schema.tables, schema.deferred
    done, resumed = _prepare_target(target, tables, digest, out, schema)
    from harness.data.providers import masking_pools

    pools = masking_pools(rules.locales[0] if rules.locales else "en_IN")
    started = time.perf_counter()
    rows: dict[str, int] = {}
    skipped: list[str] = []
    for table_plan in plan.tables:
        if table_plan.name in done:
            continue
        if table_plan.skip:
            skipped.append(table_plan.name)
        copied = _copy_table(source, target, metadata.tables[table_plan.name],
                             tables.tables[table_plan.name],
                             None if table_plan.skip else table_plan, keyring, pools,
                             rules.batch_size, digest, show_progress,
                             deferred.get(table_plan.name, []), schema.kind, rules.regions())
        if not table_plan.skip:
            rows[table_plan.name] = copied
    _finish_target(target, tables, digest, schema)
    source.dispose()
    target.dispose()
    return MaskReport(rows, tuple(skipped), tuple(sorted(resumed)),
                      time.perf_counter() - started)


def _progress_table(metadata: Any) -> Any:
    from sqlalchemy import Column, Integer, String, Table

    return Table(PROGRESS_TABLE, metadata, Column("table_name", String(200), primary_key=True),
                 Column("plan_digest", String(64), nullable=False),
                 Column("row_count", Integer, nullable=False),
                 Column("finished_at", String(40), nullable=False))


@dataclass
class SchemaCopier:
    """How the target's schema is made: natively (pg_dump, SHOW CREATE) or from SQLAlchemy's
    reflection; `finish` runs once every table is loaded (keys, indexes, triggers)."""

    kind: str
    tables: Any
    deferred: dict[str, list[DeferredIndex]]
    create: Callable[[Any], None]
    drop: Callable[[Any], None] | None = None
    finish: Callable[[Any], None] | None = None


def _schema_copier(source: Any, target: Any, metadata: Any) -> SchemaCopier:
    from harness.data import native

    kind = native.native_kind(source, target)
    if kind == "postgresql":
        pre = native.pg_dump_schema(source, "pre-data", IGNORED)
        post = native.pg_dump_schema(source, "post-data", IGNORED)
        sequences = native.pg_sequence_values(source)
        schemas = sorted({t.schema for t in metadata.tables.values() if t.schema})

        def create(conn: Any) -> None:
            native.pg_run_script(conn, pre, "schema")
            conn.exec_driver_sql("RESET ALL")

        def finish(conn: Any) -> None:
            native.pg_run_script(conn, post, "keys, indexes and triggers")
            conn.exec_driver_sql("RESET ALL")
            from sqlalchemy import text

            for name, value in sequences:
                conn.execute(text("SELECT setval(CAST(:s AS regclass), :v)"),
                             {"s": name, "v": value})

        return SchemaCopier(kind, metadata, {}, create,
                            lambda conn: native.pg_drop_copied(conn, schemas, PROGRESS_TABLE),
                            finish)
    if kind == "mysql":
        objects = native.mysql_objects(source, lambda n: any(fnmatch.fnmatch(n, p)
                                                             for p in IGNORED))
        order = [t.name for t in metadata.sorted_tables]
        return SchemaCopier(kind, metadata, {},
                            lambda conn: native.mysql_create(conn, objects, order),
                            lambda conn: native.mysql_drop_copied(conn, objects, PROGRESS_TABLE),
                            lambda conn: native.mysql_create_triggers(conn, objects))
    tables, deferred = target_metadata(metadata, target.dialect.name, source.dialect.name)
    return SchemaCopier("", tables, deferred, lambda conn: tables.create_all(conn))


def _prepare_target(target: Any, tables: Any, digest: str, out: IO[str],
                    schema: SchemaCopier | None = None) -> tuple[set[str], set[str]]:
    """Resume a copy of the same plan, or start over. Returns (finished tables, resumed).

    The progress table is written before anything is dropped or created, so a run killed at
    any point leaves a target the next run recognises as its own.
    """
    from sqlalchemy import MetaData, delete, select

    present = table_keys(target)
    progress_md = MetaData()
    progress = _progress_table(progress_md)
    if PROGRESS_TABLE in present:
        with target.connect() as conn:
            marks = {r.table_name: r.plan_digest for r in conn.execute(select(progress))}
        if (marks.get(PLAN_ROW) == digest and marks.get(SCHEMA_ROW) == digest
                and COMPLETE_ROW not in marks):
            finished = {t for t, d in marks.items() if d == digest and not t.startswith("__")}
            print(f"resuming an interrupted copy: {len(finished)} table(s) already done",
                  file=out, flush=True)
            return finished, finished
    else:
        clash = sorted(present & set(tables.tables))
        if clash:
            raise UsageError(f"--target already has tables ({', '.join(clash[:4])}"
                             f"{', …' if len(clash) > 4 else ''}) that no masking copy made",
                             hint="use an empty database (a masked copy replaces only its own)")
    progress_md.create_all(target)
    with target.begin() as conn:
        conn.execute(delete(progress))
        conn.execute(progress.insert().values(table_name=PLAN_ROW, plan_digest=digest,
                                              row_count=0, finished_at=_now()))
    if schema is not None and schema.drop is not None:
        with target.begin() as conn:
            schema.drop(conn)
    else:
        existing = MetaData()
        existing.reflect(target, only=sorted(present & set(tables.tables)))
        existing.drop_all(target)
    with target.begin() as conn:
        if schema is not None:
            schema.create(conn)
        else:
            tables.create_all(conn)
    with target.begin() as conn:
        conn.execute(progress.insert().values(table_name=SCHEMA_ROW, plan_digest=digest,
                                              row_count=0, finished_at=_now()))
    return set(), set()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _copy_table(source: Any, target: Any, source_table: Any, target_table: Any,
                plan: TablePlan | None, keyring: Keyring, pools: Any, batch_size: int,
                digest: str, show_progress: bool, indexes: Sequence[DeferredIndex] = (),
                native_kind: str = "", regions: tuple[str, ...] = ("IN",)) -> int:
    """Copy one table inside one transaction, build its indexes, write its progress row;
    returns rows copied. (MariaDB commits at CREATE INDEX; a crash before the progress row
    still means the table is copied again from empty.)"""
    from sqlalchemy import Index, MetaData, delete, func, select
    from sqlalchemy.exc import DBAPIError, IntegrityError
    from sqlalchemy.schema import CreateIndex

    from harness.data.progress import Progress

    columns = [c.name for c in source_table.columns if c.computed is None]
    progress_table = _progress_table(MetaData())
    copied = 0
    sqlite_file = _sqlite_file(source) if target.dialect.name == "sqlite" else None
    with target.connect() as conn:
        raw = conn.connection.dbapi_connection
        if sqlite_file is not None:  # SQLite to SQLite: SQLite moves the rows itself
            from urllib.parse import quote

            raw.execute("ATTACH DATABASE ? AS qgate_source",
                        (f"file:{quote(sqlite_file)}?mode=ro",))
        try:
            conn.begin()
            if native_kind == "mysql":
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
            conn.execute(delete(target_table))  # a half table from a crashed engine: start empty
            if plan is not None:
                with source.connect() as src:
                    total = src.execute(select(func.count()).select_from(source_table)).scalar()
                progress = Progress(f"masking {source_table.key}", total,
                                    enabled=show_progress)
                transforms: list[tuple[int, Callable[..., Any], int | None]] = []
                for column in plan.columns:
                    fn = build_transform(column.rule, keyring, pools, regions)
                    if fn is not None:
                        transforms.append((columns.index(column.name), fn,
                                           columns.index(column.by) if column.by else None))
                try:
                    fast = (_load_sqlite(conn, source_table, target_table, columns,
                                         transforms, progress)
                            if sqlite_file is not None else None)
                    if fast is not None:
                        copied = fast
                    elif native_kind == "postgresql":
                        from harness.data.bulk import table_name
                        from harness.data.native import pg_copy_table

                        copied = pg_copy_table(
                            conn, source, table_name(source.dialect, source_table),
                            table_name(conn.dialect, target_table), columns, transforms,
                            progress, batch_size, int(total or 0))
                    else:
                        copied = _load_batches(conn, source, source_table, target_table,
                                               columns, transforms, progress, batch_size,
                                               _coercions(source, target, target_table))
                except IntegrityError as exc:
                    conn.rollback()
                    raise HarnessError(f"{source_table.key}: the masked rows break a "
                                       f"constraint of the target ({error_line(exc)}); nothing "
                                       "of the table was kept", hint=_ONE_TO_ONE) from None
                progress.finish()
            for spec in indexes:
                built = Index(spec.name, *(target_table.c[c] for c in spec.columns),
                              unique=spec.unique)
                try:
                    conn.execute(CreateIndex(built, if_not_exists=True))
                except (IntegrityError, DBAPIError) as exc:
                    conn.rollback()
                    raise HarnessError(f"{source_table.key}: the masked rows are not unique "
                                       f"in ({', '.join(spec.columns)}) ({error_line(exc)}); "
                                       "the table was not kept", hint=_ONE_TO_ONE) from None
                finally:
                    target_table.indexes.discard(built)
            conn.execute(progress_table.insert().values(
                table_name=source_table.key, plan_digest=digest, row_count=copied,
                finished_at=_now()))
            conn.commit()
        finally:
            if conn.in_transaction():
                conn.rollback()
            if sqlite_file is not None:
                raw.execute("DETACH DATABASE qgate_source")
    return copied


def _sqlite_file(engine: Any) -> str | None:
    """The file behind a SQLite engine (None for any other database)."""
    if engine.dialect.name != "sqlite" or not engine.url.database or \
            engine.url.database == ":memory:":
        return None
    return str(Path(engine.url.database).resolve())


def _load_batches(conn: Any, source: Any, source_table: Any, target_table: Any,
                  columns: list[str], transforms: Sequence[tuple[int, Callable[..., Any],
                                                                 int | None]],
                  progress: Any, batch_size: int,
                  coercions: Sequence[Callable[[Any], Any] | None]) -> int:
    """Stream the source in batches, transform column by column, insert through the driver."""
    from harness.data.bulk import insert_rows, stream_rows

    copied = 0
    for batch in stream_rows(source, source_table, columns, batch_size):
        values = list(zip(*batch, strict=True))
        originals = list(values)
        for index, fn, by in transforms:
            if by is None:
                values[index] = tuple(map(fn, originals[index]))
            else:
                values[index] = tuple(map(fn, originals[index], originals[by]))
        for index, coerce in enumerate(coercions):
            if coerce is not None:
                values[index] = tuple(map(coerce, values[index]))
        insert_rows(conn, target_table, columns, list(zip(*values, strict=True)))
        copied += len(batch)
        progress.advance(len(batch))
    return copied


def _load_sqlite(conn: Any, source_table: Any, target_table: Any, columns: list[str],
                 transforms: Sequence[tuple[int, Callable[..., Any], int | None]],
                 progress: Any) -> int | None:
    """`INSERT INTO t SELECT f(c), ... FROM qgate_source.t` with the transformers registered
    as SQLite functions: SQLite reads and writes the rows, Python only transforms values.

    SQLite swallows exceptions raised in its functions, so Ctrl-C and SIGTERM are caught
    here and interrupt the statement, and a transformer that fails makes this return None:
    the caller copies the table in batches instead, where the error shows as it is.
    """
    import signal
    import sqlite3
    import threading

    from harness.data.bulk import quoted_columns

    raw = conn.connection.dbapi_connection
    quote = conn.dialect.identifier_preparer.quote
    selected = [quote(c) for c in columns]
    counter = [0]
    for number, (index, fn, by) in enumerate(transforms):
        if number == 0:  # one counted column drives the progress line

            def counted(*args: Any, fn: Callable[..., Any] = fn) -> Any:
                counter[0] += 1
                if counter[0] % 10000 == 0:
                    progress.advance(10000)
                return fn(*args)

            fn = counted
        name = f"qgate_mask_{number}"
        raw.create_function(name, 1 if by is None else 2, fn, deterministic=True)
        selected[index] = (f"{name}({quote(columns[index])}" +
                           (f", {quote(columns[by])})" if by is not None else ")"))
    sql = (f"INSERT INTO {quote(target_table.name)} ({quoted_columns(conn.dialect, columns)}) "
           f"SELECT {', '.join(selected)} FROM qgate_source.{quote(source_table.name)}")
    signals: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        signals.append(signum)
        raw.interrupt()

    saved = {}
    if threading.current_thread() is threading.main_thread():
        saved = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    cursor = raw.cursor()
    try:
        cursor.execute(sql)
        copied = int(cursor.rowcount)
    except sqlite3.OperationalError as exc:
        if signals:
            raise KeyboardInterrupt(f"signal {signals[0]}") from None
        if "user-defined function raised exception" in str(exc):
            return None
        raise
    finally:
        cursor.close()
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    progress.advance(copied - progress.done)
    return copied


def _finish_target(target: Any, tables: Any, digest: str,
                   schema: SchemaCopier | None = None) -> None:
    """Keys, indexes and triggers (native copies); sequences past the copied ids; the copy
    marked complete (a re-run starts over)."""
    from sqlalchemy import MetaData
    from sqlalchemy.exc import DBAPIError

    from harness.data.bulk import reset_sequences

    progress = _progress_table(MetaData())
    with target.begin() as conn:
        if schema is not None and schema.finish is not None:
            try:
                schema.finish(conn)
            except DBAPIError as exc:
                raise HarnessError(f"--target: the copied rows do not take the source's keys, "
                                   f"indexes or triggers ({error_line(exc)})",
                                   hint=_ONE_TO_ONE) from None
        reset_sequences(conn, list(tables.sorted_tables))
        conn.execute(progress.insert().values(table_name=COMPLETE_ROW, plan_digest=digest,
                                              row_count=0, finished_at=_now()))
