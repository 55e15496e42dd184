"""Schema parity: is the candidate (staging) a mirror of the reference (production)?

Both sides are reflected with SQLAlchemy over read-only sessions and compared: tables,
columns (type, nullability), primary keys, indexes, unique constraints, foreign keys, and the
migration head where one is recorded (Alembic's `alembic_version`, Flyway's
`flyway_schema_history`). Index and constraint names are ignored: environments name them
differently; their columns are what matter.

Severities stop at medium: whether a difference blocks a release is configured
(`[data] parity_blocking_at`, `qgate data parity --fail-on`), not implied. Something the
candidate lacks is medium (code written against production breaks), something it has in
addition is low, an extra index is info.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.results import SEVERITY_ORDER, Finding

SOURCE = "qgate data parity"
LEVELS = ("info", "low", "medium")


@dataclass(frozen=True)
class SchemaDiff:
    """The differences found, and how much was compared."""

    findings: tuple[Finding, ...]
    tables: int
    reference_head: str = ""
    candidate_head: str = ""

    def metrics(self) -> dict[str, float]:
        """`data.parity.differences` and, per level, the differences at or above it."""
        out = {"data.parity.differences": float(len(self.findings)),
               "data.parity.tables_compared": float(self.tables)}
        for level in LEVELS:
            floor = SEVERITY_ORDER.index(level)
            out[f"data.parity.at_least_{level}"] = float(sum(
                1 for f in self.findings if SEVERITY_ORDER.index(f.severity) >= floor))
        return out


@dataclass(frozen=True)
class _Schema:
    dialect: str
    tables: dict[str, dict[str, Any]]
    head: str
    dialect_impl: Any = None
    #: views, functions, triggers, sequences: kind -> names
    objects: dict[str, set[str]] | None = None


_OBJECT_SQL = {
    "postgresql": {
        "function": "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN "
                    "pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN "
                    "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%' AND "
                    "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND "
                    "d.deptype = 'e')",
        "trigger": "SELECT n.nspname || '.' || c.relname || '.' || t.tgname FROM pg_trigger t "
                   "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = "
                   "c.relnamespace WHERE NOT t.tgisinternal",
        "sequence": "SELECT schemaname || '.' || sequencename FROM pg_sequences WHERE "
                    "sequencename NOT LIKE 'qgate%'",
        "view": "SELECT schemaname || '.' || viewname FROM pg_views WHERE schemaname NOT IN "
                "('pg_catalog', 'information_schema')",
    },
    "mysql": {
        "function": "SELECT CONCAT(routine_type, ' ', routine_name) FROM "
                    "information_schema.routines WHERE routine_schema = DATABASE()",
        "trigger": "SELECT CONCAT(event_object_table, '.', trigger_name) FROM "
                   "information_schema.triggers WHERE trigger_schema = DATABASE()",
        "view": "SELECT table_name FROM information_schema.views WHERE table_schema = "
                "DATABASE()",
    },
}


def _objects(conn: Any, dialect: str) -> dict[str, set[str]]:
    """Views, functions, triggers and sequences by name (schema-qualified on PostgreSQL)."""
    from sqlalchemy import text

    queries = _OBJECT_SQL.get("mysql" if dialect == "mariadb" else dialect, {})
    return {kind: {str(r[0]).removeprefix("public.") for r in conn.execute(text(sql))}
            for kind, sql in queries.items()}


def _check_text(sql: Any) -> str:
    """A check constraint's condition, compared without spaces, parentheses or casts."""
    import re

    text = re.sub(r"::[a-z_ ]+(\[\])?", "", str(sql).lower())
    return re.sub(r"[\s()`\"]", "", text)


def _type_key(type_: Any, same_dialect: bool, dialect: Any) -> str:
    """How a column type is compared: exactly within a dialect, generically across."""
    if same_dialect:
        try:
            return str(type_.compile(dialect=dialect))
        except Exception:
            return repr(type_)
    try:
        generic = type_.as_generic()
    except NotImplementedError:
        generic = type_
    size = getattr(generic, "length", None) or getattr(generic, "precision", None)
    return type(generic).__name__ + (f"({size})" if size else "")


def _migration_head(conn: Any, tables: Sequence[str]) -> str:
    from sqlalchemy import text

    if "alembic_version" in tables:
        heads = sorted(str(r[0]) for r in conn.execute(text(
            "SELECT version_num FROM alembic_version")))
        return "alembic " + ",".join(heads)
    if "flyway_schema_history" in tables:
        row = conn.execute(text(
            "SELECT version FROM flyway_schema_history WHERE success = true "
            "ORDER BY installed_rank DESC")).first()
        return f"flyway {row[0]}" if row else "flyway (empty)"
    return ""


def read_schema(url: str, label: str, ignore: Sequence[str]) -> _Schema:
    """Reflect one side (read-only)."""
    from sqlalchemy import inspect

    from harness.data.dburl import connect_check, make_engine
    from harness.data.masking import schemas_of

    engine = make_engine(url, read_only=True, label=label)
    connect_check(engine, label)
    try:
        schemas = schemas_of(engine)
        with engine.connect() as conn:
            inspector = inspect(conn)
            names = [(schema, name) for schema in schemas
                     for name in inspector.get_table_names(schema=schema)]
            head = _migration_head(conn, [n for s, n in names if s is None])
            tables: dict[str, dict[str, Any]] = {}
            for schema, name in names:
                if any(fnmatch.fnmatch(name, p) for p in ignore):
                    continue
                columns = {c["name"]: c for c in inspector.get_columns(name, schema=schema)}
                pk = tuple(inspector.get_pk_constraint(name, schema=schema).get(
                    "constrained_columns") or ())
                uniques = {tuple(u["column_names"]) for u in
                           inspector.get_unique_constraints(name, schema=schema)}
                indexes: set[tuple[str, ...]] = set()
                for index in inspector.get_indexes(name, schema=schema):
                    cols = tuple(c for c in index["column_names"] if c)
                    if index.get("unique"):
                        uniques.add(cols)
                    else:
                        indexes.add(cols)
                fks = {(tuple(fk["constrained_columns"]),
                        (f"{fk['referred_schema']}." if fk.get("referred_schema") else "")
                        + fk["referred_table"], tuple(fk["referred_columns"]))
                       for fk in inspector.get_foreign_keys(name, schema=schema)}
                try:
                    checks = {_check_text(c["sqltext"]) for c in
                              inspector.get_check_constraints(name, schema=schema)}
                except NotImplementedError:
                    checks = set()
                tables[f"{schema}.{name}" if schema else name] = {
                    "columns": columns, "pk": pk, "uniques": uniques - {pk},
                    "indexes": indexes, "fks": fks, "checks": checks}
            objects = _objects(conn, engine.dialect.name)
            return _Schema(engine.dialect.name, tables, head, engine.dialect, objects)
    finally:
        engine.dispose()


def compare(reference: _Schema, candidate: _Schema) -> list[Finding]:
    """The differences between two reflected schemas."""
    same = reference.dialect == candidate.dialect
    dialect = reference.dialect_impl
    out: list[Finding] = []

    def add(rule: str, title: str, severity: str, location: str, evidence: str) -> None:
        out.append(Finding(rule_id=f"parity.{rule}", title=title,
                           severity=severity,  # type: ignore[arg-type]
                           location=location, evidence=evidence, source=SOURCE))

    for name in sorted(set(reference.tables) - set(candidate.tables)):
        add("table_missing", "table missing in the candidate", "medium", name,
            "the reference has this table")
    for name in sorted(set(candidate.tables) - set(reference.tables)):
        add("table_extra", "table only in the candidate", "low", name,
            "the reference has no such table")
    for name in sorted(set(reference.tables) & set(candidate.tables)):
        ref, cand = reference.tables[name], candidate.tables[name]
        for column in sorted(set(ref["columns"]) - set(cand["columns"])):
            add("column_missing", "column missing in the candidate", "medium",
                f"{name}.{column}", f"reference type {ref['columns'][column]['type']}")
        for column in sorted(set(cand["columns"]) - set(ref["columns"])):
            add("column_extra", "column only in the candidate", "low", f"{name}.{column}",
                f"candidate type {cand['columns'][column]['type']}")
        for column in sorted(set(ref["columns"]) & set(cand["columns"])):
            r, c = ref["columns"][column], cand["columns"][column]
            r_type, c_type = (_type_key(r["type"], same, dialect),
                              _type_key(c["type"], same, dialect))
            if r_type != c_type:
                add("column_type", "column type differs", "medium", f"{name}.{column}",
                    f"reference {r_type}, candidate {c_type}")
            if bool(r["nullable"]) != bool(c["nullable"]):
                add("nullable", "nullability differs", "medium", f"{name}.{column}",
                    f"reference {'NULL' if r['nullable'] else 'NOT NULL'}, candidate "
                    f"{'NULL' if c['nullable'] else 'NOT NULL'}")
        if ref["pk"] != cand["pk"]:
            add("primary_key", "primary key differs", "medium", name,
                f"reference ({', '.join(ref['pk'])}), candidate ({', '.join(cand['pk'])})")
        for kind, missing_sev, extra_sev, label, noun in (
                ("uniques", "medium", "low", "unique", "a unique constraint"),
                ("indexes", "low", "info", "index", "an index")):
            for cols in sorted(ref[kind] - cand[kind]):
                add(f"{label}_missing", f"{label} missing in the candidate", missing_sev,
                    f"{name}({', '.join(cols)})", f"the reference has {noun} on these columns")
            for cols in sorted(cand[kind] - ref[kind]):
                add(f"{label}_extra", f"{label} only in the candidate", extra_sev,
                    f"{name}({', '.join(cols)})", "the reference has no such "
                    f"{'index' if label == 'index' else 'constraint'}")
        for check in sorted(ref["checks"] - cand["checks"]):
            add("check_missing", "check constraint missing in the candidate", "medium", name,
                f"the reference checks {check[:80]}")
        for check in sorted(cand["checks"] - ref["checks"]):
            add("check_extra", "check constraint only in the candidate", "low", name,
                f"the candidate checks {check[:80]}")
        for fk in sorted(ref["fks"] - cand["fks"]):
            add("foreign_key_missing", "foreign key missing in the candidate", "medium",
                f"{name}({', '.join(fk[0])})", f"-> {fk[1]}({', '.join(fk[2])})")
        for fk in sorted(cand["fks"] - ref["fks"]):
            add("foreign_key_extra", "foreign key only in the candidate", "low",
                f"{name}({', '.join(fk[0])})", f"-> {fk[1]}({', '.join(fk[2])})")
    if reference.dialect == candidate.dialect:  # views, functions, triggers, sequences
        ref_objects, cand_objects = reference.objects or {}, candidate.objects or {}
        for kind in sorted(set(ref_objects) | set(cand_objects)):
            r, c = ref_objects.get(kind, set()), cand_objects.get(kind, set())
            for name in sorted(r - c):
                add(f"{kind}_missing", f"{kind} missing in the candidate",
                    "low" if kind == "sequence" else "medium", name,
                    f"the reference has this {kind}")
            for name in sorted(c - r):
                add(f"{kind}_extra", f"{kind} only in the candidate", "low", name,
                    f"the reference has no such {kind}")
    if (reference.head or candidate.head) and reference.head != candidate.head:
        add("migration_head", "migration head differs", "medium", "migrations",
            f"reference {reference.head or '(none)'}, candidate {candidate.head or '(none)'}")
    return out


def schema_parity(reference_url: str, candidate_url: str, *,
                  ignore: Sequence[str] = ("qgate_*",),
                  labels: tuple[str, str] = ("--reference", "--candidate")) -> SchemaDiff:
    """Compare the candidate's schema with the reference's; both are only read."""
    reference = read_schema(reference_url, labels[0], ignore)
    candidate = read_schema(candidate_url, labels[1], ignore)
    findings = compare(reference, candidate)
    return SchemaDiff(tuple(findings), len(set(reference.tables) | set(candidate.tables)),
                      reference.head, candidate.head)
