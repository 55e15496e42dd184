"""What `qgate demo` prepares for the data suite: a seeded database and a store log folder.

The database is written from `datasets/demo.yaml` before the store starts (the store sees a
seeded database and keeps it). Both locations reach the data suite through environment
variables that `environments/demo.toml` names late-bound (`$QGATE_DEMO_DB_URL`,
`$QGATE_DEMO_LOG_DIR`), so other commands that load the demo environment need neither.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

DB_URL_VAR = "QGATE_DEMO_DB_URL"
LOG_DIR_VAR = "QGATE_DEMO_LOG_DIR"


@dataclass(frozen=True)
class DemoData:
    """Where the demo store keeps its data and its access log."""

    db_url: str
    log_dir: Path
    seeded: str  # what seeded the database, for the console


def seed_demo_database(db_url: str, spec_path: Path) -> str:
    """Write the demo dataset into `db_url` unless it already holds a store; say what was done.

    Any failure is one line: "the demo store did not start: cannot prepare the database: …".
    """
    if importlib.util.find_spec("faker") is None:
        return "Faker is not installed: the store seeds its reference facts only"
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    from harness.data.dburl import connect_check, make_engine
    from harness.data.generate import generate
    from harness.data.spec import load_spec

    try:
        spec = load_spec(spec_path)
        stores = spec.table_for("stores")
        engine = make_engine(db_url, label="--db")
        connect_check(engine, "--db")
        with engine.connect() as conn:
            if stores in inspect(conn).get_table_names() and conn.execute(
                    text(f"SELECT 1 FROM {conn.dialect.identifier_preparer.quote(stores)}")
            ).first() is not None:
                return "the database already holds a store: kept as it is"
        engine.dispose()
        report = generate(spec, db_url=db_url, show_progress=False)
    except (HarnessError, SQLAlchemyError) as exc:
        why = exc.one_line() if isinstance(exc, HarnessError) else \
            f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        raise HarnessError(f"the demo store did not start: cannot prepare the database: {why}"
                           ) from None
    return (f"seeded from {spec_path.name}: {report.rows.get('users', 0)} customers, "
            f"{report.rows.get('orders', 0)} orders ({report.total:,} rows)")


@contextmanager
def demo_data(db_url: str | None, project: Path) -> Iterator[DemoData]:
    """A seeded database (a temporary SQLite file unless `db_url`) and a log folder.

    Exports both to the suites' processes for the duration, then removes the temporary files.
    """
    if db_url:  # the demo seeds and writes into it: never a production database
        from harness.data.dburl import refuse_production

        refuse_production(db_url, project, what="--db", allow=False)
    tmp = Path(tempfile.mkdtemp(prefix="qgate-demo-"))
    saved = {name: os.environ.get(name) for name in (DB_URL_VAR, LOG_DIR_VAR)}
    try:
        url = db_url or f"sqlite:///{tmp / 'store.db'}"
        spec = project / "datasets" / "demo.yaml"
        if not spec.is_file():  # a project of its own (wheel install): the store's copy
            from demostore.seed import DATASET
            spec = DATASET
        seeded = seed_demo_database(url, spec)
        log_dir = tmp / "logs"
        log_dir.mkdir()
        os.environ[DB_URL_VAR] = url
        os.environ[LOG_DIR_VAR] = str(log_dir)
        yield DemoData(url, log_dir, seeded)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(tmp, ignore_errors=True)
