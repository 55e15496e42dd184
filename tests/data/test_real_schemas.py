"""Masking a real shop's schema (every awkward type, a second schema, views, functions,
triggers) with the rules `--init` drafts, not edited: exit 0, and plain SQL over the copy
finds nothing personal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import real_schema
from cli_support import run_qgate

from .conftest import NewDatabase

SEED = {"postgresql": real_schema.seed_postgresql, "mariadb": real_schema.seed_mariadb}
_PHONEISH = re.compile(r"[\d(+][\d\s()\-]{6,}\d")


def dump_text(url: str) -> dict[str, list[str]]:
    """Every row of every base table as text, by plain SQL (nothing of qgate)."""
    engine = create_engine(url)
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            tables = conn.execute(text(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE "
                "table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', "
                "'information_schema') AND table_name NOT LIKE 'qgate%'")).all()
            for schema, name in tables:
                out[f"{schema}.{name}"] = [r[0] for r in conn.execute(text(
                    f'SELECT t::text FROM "{schema}"."{name}" t'))]
        else:
            tables = conn.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_type = "
                "'BASE TABLE' AND table_schema = DATABASE() AND table_name NOT LIKE "
                "'qgate%'")).all()
            for (name,) in tables:
                columns = [r[0] for r in conn.execute(text(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    "DATABASE() AND table_name = :t"), {"t": name})]
                concat = ", '|', ".join(f"COALESCE(CAST(`{c}` AS CHAR), '')" for c in columns)
                out[name] = [r[0] for r in conn.execute(text(
                    f"SELECT CONCAT({concat}) FROM `{name}`"))]
    engine.dispose()
    return out


def leaks(dumped: dict[str, list[str]]) -> list[str]:
    """Source names, emails, address lines, phones (any layout) and session ids found."""
    found = []
    for table, lines in dumped.items():
        for line in lines:
            lowered = line.casefold()
            numbers = {"".join(ch for ch in m.group(0) if ch.isdigit())
                       for m in _PHONEISH.finditer(line)}
            for value in real_schema.personal_strings():
                if value.casefold() in lowered or (
                        value.isdigit() and any(value in n for n in numbers)):
                    found.append(f"{table}: {value}")
    return found


def objects(url: str) -> dict[str, int]:
    """How many views, functions, triggers, check constraints and indexes a database has."""
    engine = create_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            spaces = "('shop', 'public')"
            out = {
                "views": conn.execute(text(
                    f"SELECT count(*) FROM pg_views WHERE schemaname IN {spaces}")).scalar(),
                "functions": conn.execute(text(
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = "
                    f"p.pronamespace WHERE n.nspname IN {spaces}")).scalar(),
                "triggers": conn.execute(text(
                    "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")).scalar(),
                "checks": conn.execute(text(
                    "SELECT count(*) FROM pg_constraint WHERE contype = 'c'")).scalar(),
                "indexes": conn.execute(text(
                    f"SELECT count(*) FROM pg_indexes WHERE schemaname IN {spaces} AND "
                    "tablename NOT LIKE 'qgate%'")).scalar(),
                "orders_seq": conn.execute(text(
                    "SELECT nextval(pg_get_serial_sequence('shop.orders', 'id'))")).scalar(),
            }
        else:
            out = {
                "views": conn.execute(text(
                    "SELECT count(*) FROM information_schema.views WHERE table_schema = "
                    "DATABASE()")).scalar(),
                "triggers": conn.execute(text(
                    "SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = "
                    "DATABASE()")).scalar(),
                "checks": conn.execute(text(
                    "SELECT count(*) FROM information_schema.check_constraints WHERE "
                    "constraint_schema = DATABASE()")).scalar(),
                "indexes": conn.execute(text(
                    "SELECT count(DISTINCT table_name, index_name) FROM "
                    "information_schema.statistics WHERE table_schema = DATABASE() AND "
                    "table_name NOT LIKE 'qgate%'")).scalar(),
                "orders_seq": conn.execute(text(
                    "SELECT auto_increment FROM information_schema.tables WHERE table_schema = "
                    "DATABASE() AND table_name = 'orders'")).scalar(),
            }
    engine.dispose()
    return {k: int(v or 0) for k, v in out.items()}


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_real_schema_masked_with_drafted_rules_keeps_nothing_personal(
        backend: str, new_database: NewDatabase, mask_key: str, tmp_path: Path) -> None:
    source, target = new_database(backend), new_database(backend)
    SEED[backend](source)
    assert leaks(dump_text(source))  # the check finds the planted data
    rules = tmp_path / "rules.yaml"
    drafted = run_qgate("data", "mask", "--source", source, "--rules", str(rules), "--init")
    assert drafted.code == 0, drafted.err
    checked = run_qgate("data", "mask", "--source", source, "--rules", str(rules), "--check")
    assert checked.code == 0, checked.out + checked.err
    masked = run_qgate("data", "mask", "--source", source, "--target", target, "--rules",
                       str(rules), "--quiet")
    assert masked.code == 0, masked.out + masked.err + rules.read_text()
    copy = dump_text(target)
    original = dump_text(source)
    assert {t: len(r) for t, r in copy.items()} == {t: len(r) for t, r in original.items()}
    assert leaks(copy) == [], rules.read_text()
    assert objects(target) == objects(source)
    audited = run_qgate("data", "audit", "--db", target, "--source", source, "--rules",
                        str(rules), "--quiet")
    assert audited.code == 0, audited.out
    parity = run_qgate("data", "parity", "--reference", source, "--candidate", target)
    assert parity.code == 0, parity.out
    assert "0 difference(s)" in parity.out


def test_the_audit_finds_names_and_session_ids_a_keep_let_through(
        new_database: NewDatabase, mask_key: str, tmp_path: Path) -> None:
    """Rules that keep customer names and session ids (what `--init` used to draft): the
    copy 'audited clean' with names in 4 columns and every session id surviving."""
    source, target = new_database("postgresql"), new_database("postgresql")
    real_schema.seed_postgresql(source)
    rules = tmp_path / "rules.yaml"
    assert run_qgate("data", "mask", "--source", source, "--rules", str(rules),
                     "--init").code == 0
    drafted = rules.read_text()
    leaky = re.sub(r"(?m)^(\s+(customer_full_name|full_name|session_key|session_data):\s+)"
                   r"\S+.*$", r"\1keep", drafted)
    assert leaky != drafted
    rules.write_text(leaky)
    masked = run_qgate("data", "mask", "--source", source, "--target", target, "--rules",
                       str(rules), "--quiet")
    assert masked.code == 0, masked.out + masked.err
    audited = run_qgate("data", "audit", "--db", target, "--source", source, "--rules",
                        str(rules), "--quiet")
    assert audited.code == 1, audited.out
    for where in ("shop.customers.customer_full_name", "shop.addresses.full_name",
                  "django_session.session_key", "django_session.session_data"):
        assert f"survivor.value  {where}[" in audited.out, audited.out


def test_without_pg_dump_identity_and_json_columns_still_copy(
        new_database: NewDatabase, mask_key: str, tmp_path: Path) -> None:
    """The copy SQLAlchemy re-creates (no pg_dump on the PATH): identity columns take the
    source's ids and kept JSON documents are written ("can't adapt type 'dict'" before)."""
    source, target = new_database("postgresql"), new_database("postgresql")
    engine = create_engine(source)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "doc jsonb NOT NULL, tags text[], amount numeric(10,2), at timestamptz, ref uuid);"
            "INSERT INTO events (doc, tags, amount, at, ref) VALUES ('{\"kind\": \"view\"}', "
            "ARRAY['a'], 1.50, now(), gen_random_uuid()), ('{\"kind\": \"buy\"}', NULL, 2, "
            "now(), gen_random_uuid())")
    engine.dispose()
    rules = tmp_path / "rules.yaml"
    rules.write_text("tables:\n  events: {id: keep, doc: keep, tags: keep, amount: keep, "
                     "at: keep, ref: keep}\n")
    masked = run_qgate("data", "mask", "--source", source, "--target", target, "--rules",
                       str(rules), "--quiet", env={"PATH": str(tmp_path)})
    assert masked.code == 0, masked.out + masked.err
    engine = create_engine(target)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT doc->>'kind' FROM events ORDER BY id")).scalars(
            ).all() == ["view", "buy"]
        conn.execute(text("INSERT INTO events (doc) VALUES ('{}')"))  # the sequence moved on
        assert conn.execute(text("SELECT max(id) FROM events")).scalar() == 3
    engine.dispose()


def test_big_tables_are_read_by_psql_the_same(new_database: NewDatabase, mask_key: str,
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    """Tables past a size are read by a `psql` process: the same copy, nothing personal."""
    import io

    from harness.data import native
    from harness.data.masking import run_mask
    from harness.data.rules import load_rules

    monkeypatch.setattr(native, "_PSQL_FROM_ROWS", 1)
    started: list[list[str]] = []
    real_popen = native.subprocess.Popen

    def popen(args: list[str], **kwargs: object) -> object:
        started.append(list(args))
        return real_popen(args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(native.subprocess, "Popen", popen)
    source, target = new_database("postgresql"), new_database("postgresql")
    real_schema.seed_postgresql(source)
    rules = tmp_path / "rules.yaml"
    assert run_qgate("data", "mask", "--source", source, "--rules", str(rules),
                     "--init").code == 0
    run_mask(source, target, load_rules(rules), root=tmp_path, show_progress=False,
             out=io.StringIO())
    assert any(Path(a[0]).name == "psql" for a in started)
    copy = dump_text(target)
    assert {t: len(r) for t, r in copy.items()} == {
        t: len(r) for t, r in dump_text(source).items()}
    assert leaks(copy) == []
