"""Engine set-up, schema creation and first-start seeding for SQLite, PostgreSQL, MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from demostore.models import Base, Store


def utcnow() -> datetime:
    """Current time as naive UTC (the form stored in every database)."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_engine(url: str) -> Engine:
    """An engine tuned for a small web server with concurrent buyers."""
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # Writers queue on SQLite's lock instead of failing at once.
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool  # one shared connection, or each sees its own DB
        else:
            kwargs["pool_size"] = 20
            kwargs["max_overflow"] = 40
    else:
        kwargs["pool_size"] = 20
        kwargs["max_overflow"] = 40
        kwargs["pool_timeout"] = 30
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    return engine


def prepare_database(engine: Engine) -> sessionmaker[Session]:
    """Create the schema if needed and seed an empty database; return a session factory."""
    from demostore.seed import seed

    Base.metadata.create_all(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        if session.scalar(select(Store.id).limit(1)) is None:
            seed(session, now=utcnow())
            session.commit()
    return factory
