"""Schema parity reports planted differences, ignores names, and only ever reads."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from cli_support import run_qgate
from harness.data.dburl import make_engine
from harness.data.parity import schema_parity

from .conftest import NewDatabase


def create_schema(url: str, *statements: str) -> None:
    from demostore.models import Base

    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def test_planted_differences_on_postgresql(new_database: NewDatabase) -> None:
    reference, candidate, twin = (new_database("postgresql") for _ in range(3))
    create_schema(reference, "CREATE INDEX ix_orders_created ON orders (created_at)",
                  "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
                  "INSERT INTO alembic_version VALUES ('b7c1')")
    create_schema(twin, "CREATE INDEX another_name ON orders (created_at)",
                  "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
                  "INSERT INTO alembic_version VALUES ('b7c1')")
    create_schema(candidate,
                  "ALTER TABLE users ADD COLUMN nickname VARCHAR(40)",
                  "ALTER TABLE users DROP CONSTRAINT users_email_key",
                  "ALTER TABLE stores ALTER COLUMN name TYPE VARCHAR(120)",
                  "ALTER TABLE orders ALTER COLUMN address DROP NOT NULL",
                  "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
                  "INSERT INTO alembic_version VALUES ('a3f0')")
    assert schema_parity(reference, twin).findings == ()  # index names do not matter
    diff = schema_parity(reference, candidate)
    found = {(f.rule_id, f.location, f.severity) for f in diff.findings}
    assert found == {
        ("parity.column_extra", "users.nickname", "low"),
        ("parity.unique_missing", "users(email)", "medium"),
        ("parity.column_type", "stores.name", "medium"),
        ("parity.nullable", "orders.address", "medium"),
        ("parity.index_missing", "orders(created_at)", "low"),
        ("parity.migration_head", "migrations", "medium"),
    }
    assert diff.metrics()["data.parity.at_least_medium"] == 4
    result = run_qgate("data", "parity", "--reference", reference, "--candidate", candidate)
    assert result.code == 1 and "parity.column_type" in result.out
    assert "reference VARCHAR(100), candidate VARCHAR(120)" in result.out
    lenient = run_qgate("data", "parity", "--reference", reference, "--candidate", twin)
    assert lenient.code == 0 and "0 difference(s)" in lenient.out


def test_missing_table_and_column_on_sqlite(new_database: NewDatabase) -> None:
    reference, candidate = new_database("sqlite"), new_database("sqlite")
    create_schema(reference)
    create_schema(candidate, "DROP TABLE cart_items", "ALTER TABLE payments DROP COLUMN reference")
    found = {(f.rule_id, f.location) for f in schema_parity(reference, candidate).findings}
    assert found == {("parity.table_missing", "cart_items"),
                     ("parity.column_missing", "payments.reference")}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_read_only_sessions_refuse_writes(backend: str, new_database: NewDatabase) -> None:
    url = new_database(backend)
    create_schema(url)
    engine = make_engine(url, read_only=True)
    with pytest.raises(DBAPIError), engine.connect() as conn:
        conn.execute(text("INSERT INTO categories VALUES ('x', 'X', '', 0)"))
        conn.commit()
    engine.dispose()


def test_parity_sees_every_schema_and_its_objects(new_database: Any) -> None:
    """Views, functions, triggers, sequences and checks in a second schema: a copy without
    them was '0 tables, 0 differences'."""
    from harness.data.parity import schema_parity

    reference, candidate = new_database("postgresql"), new_database("postgresql")
    ddl = ("CREATE SCHEMA shop; CREATE TABLE shop.orders (id serial PRIMARY KEY, total numeric "
           "CHECK (total >= 0)); CREATE VIEW shop.big AS SELECT * FROM shop.orders WHERE "
           "total > 100; CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS "
           "$$ BEGIN RETURN NEW; END $$; CREATE TRIGGER touched BEFORE UPDATE ON shop.orders "
           "FOR EACH ROW EXECUTE FUNCTION shop.touch();")
    engine = create_engine(reference)
    with engine.begin() as conn:
        conn.exec_driver_sql(ddl)
    engine.dispose()
    engine = create_engine(candidate)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA shop; CREATE TABLE shop.orders (id serial "
                             "PRIMARY KEY, total numeric)")
    engine.dispose()
    diff = schema_parity(reference, candidate)
    found = {(f.rule_id, f.location) for f in diff.findings}
    assert diff.tables == 1
    assert {("parity.view_missing", "shop.big"), ("parity.function_missing", "shop.touch()"),
            ("parity.trigger_missing", "shop.orders.touched"),
            ("parity.check_missing", "shop.orders")} <= found
