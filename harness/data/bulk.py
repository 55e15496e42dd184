"""Fast batch I/O on the DBAPI level: stream rows out, insert rows in, fix sequences.

SQLAlchemy's ORM (and even Core with dict rows) costs several microseconds per row; these
helpers hand tuples straight to the driver's batch path: sqlite3 `executemany`, psycopg2
`execute_values`, PyMySQL's multi-row `executemany`. Reads use server-side cursors
(PostgreSQL named cursors, PyMySQL `SSCursor`), so memory stays one batch deep.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

Row = tuple[Any, ...]


def quoted_columns(dialect: Any, columns: Sequence[str]) -> str:
    """`"a", "b"` quoted for `dialect`."""
    quote = dialect.identifier_preparer.quote
    return ", ".join(quote(c) for c in columns)


def table_name(dialect: Any, table: Any) -> str:
    """The quoted (schema-qualified) name of a Table."""
    return str(dialect.identifier_preparer.format_table(table))


def sqlite_datetime(value: Any) -> Any:
    """A datetime as SQLAlchemy stores it in SQLite (so string comparisons keep working)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(" ", "microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def insert_rows(conn: Any, table: Any, columns: Sequence[str], rows: Sequence[Row]) -> None:
    """Insert `rows` (tuples in `columns` order) inside `conn`'s transaction."""
    if not rows:
        return
    dialect = conn.dialect
    name = dialect.name
    target = f"INSERT INTO {table_name(dialect, table)} ({quoted_columns(dialect, columns)})"
    if not conn.in_transaction():
        conn.begin()  # so conn.commit() commits what the raw cursor wrote
    raw = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        if name == "postgresql":
            from psycopg2.extras import execute_values

            execute_values(cursor, target + " VALUES %s", rows, page_size=2000)
        elif name == "sqlite":
            cursor.executemany(target + f" VALUES ({', '.join('?' * len(columns))})", rows)
        elif name in ("mysql", "mariadb"):
            cursor.executemany(target + f" VALUES ({', '.join(['%s'] * len(columns))})", rows)
        else:  # any other dialect: SQLAlchemy Core (slower, but portable)
            conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
    finally:
        cursor.close()


def stream_rows(engine: Any, table: Any, columns: Sequence[str], batch_size: int,
                order_by: Sequence[str] = ()) -> Iterator[list[Row]]:
    """Every row of `table` (only `columns`), `batch_size` rows at a time."""
    dialect = engine.dialect
    sql = f"SELECT {quoted_columns(dialect, columns)} FROM {table_name(dialect, table)}"
    if order_by:
        sql += f" ORDER BY {quoted_columns(dialect, order_by)}"
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if dialect.name == "postgresql":
            cursor = raw.cursor(name=f"qgate_{uuid.uuid4().hex[:12]}")
            cursor.itersize = batch_size
        elif dialect.name in ("mysql", "mariadb"):
            import pymysql.cursors

            cursor = raw.cursor(pymysql.cursors.SSCursor)
        else:
            cursor = raw.cursor()
        try:
            cursor.execute(sql)
            while True:
                rows = cursor.fetchmany(batch_size)
                if not rows:
                    break
                yield [tuple(row) for row in rows] if not isinstance(rows[0], tuple) else rows
        finally:
            cursor.close()
            conn.rollback()


def reset_sequences(conn: Any, tables: Sequence[Any]) -> None:
    """After inserting explicit ids, move PostgreSQL sequences past the largest id.

    MariaDB's AUTO_INCREMENT and SQLite's rowid follow explicit ids by themselves.
    """
    if conn.dialect.name != "postgresql":
        return
    from sqlalchemy import Integer, text

    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer):
                continue
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": table_name(conn.dialect, table), "c": column.name}
                                    ).scalar()
            if sequence:  # only ever moved forward (a copy keeps the source's value)
                column_sql = quoted_columns(conn.dialect, [column.name])
                conn.execute(text(
                    f"SELECT setval(CAST(:s AS regclass), m + 1, false) FROM (SELECT "
                    f"COALESCE(max({column_sql}), 0) AS m FROM {table_name(conn.dialect, table)}"
                    ") x WHERE m >= COALESCE(pg_sequence_last_value(CAST(:s AS regclass)), 0)"),
                    {"s": sequence})
