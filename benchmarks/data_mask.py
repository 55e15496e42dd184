"""Masking throughput: `qgate data mask` vs a naive ORM row-by-row loop, same run.

A 1M-row `customers` table (id, name, email UNIQUE, phone, city, address, created_at) is
masked SQLite -> SQLite and PostgreSQL -> PostgreSQL with the same rules (fake name, unique
email, format-preserving phone, fake address, date shift; id and city kept):
- `qgate data mask` in a subprocess: rows/s, CPU seconds and the process's own peak RSS (VmHWM);
- a naive SQLAlchemy ORM loop (one object read, transformed with the same transformers and
  added per row, committed every 1000): rows/s over the first `--naive-rows` rows, since
  running it over a million rows on a shared machine takes many minutes to say the same.
Targets: >= 100k rows/s on SQLite, >= 150k rows/s PostgreSQL -> PostgreSQL (COPY),
memory bounded (a batch, not the table). A second scenario copies a real shop's shape on
PostgreSQL: `--small-tables` tables of a few rows each (default 71), where per-table overhead
is what counts (seconds for the whole copy). Rows per CPU
second are saved too: on a shared machine they say what the code does, wall time what the
neighbours allowed. (For PostgreSQL much of the work is the server's, outside this count.)

    .venv/bin/python benchmarks/data_mask.py [--rows 1000000] [--naive-rows 50000]
                                             [--backends sqlite,postgresql]
                                             [--small-tables 71]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _results import machine, save

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "data_mask.json"
sys.path.insert(0, str(ROOT))
KEY = "benchmark-masking-key-0123456789"
RULES = """key_env: QGATE_MASK_KEY
batch_size: 10000
tables:
  customers:
    id: keep
    name: {fake: name}
    email: email
    phone: phone
    city: keep
    address: {fake: address}
    created_at: {date_shift: {days: 30}}
"""


def customer_table(metadata: Any) -> Any:
    from sqlalchemy import Column, DateTime, Integer, String, Table

    return Table("customers", metadata, Column("id", Integer, primary_key=True),
                 Column("name", String(100), nullable=False),
                 Column("email", String(254), nullable=False, unique=True),
                 Column("phone", String(16), nullable=False), Column("city", String(60)),
                 Column("address", String(300)), Column("created_at", DateTime, nullable=False))


def fill(url: str, rows: int) -> float:
    """Create and fill the source table with production-like (synthetic) customers."""
    import datetime as dt

    from sqlalchemy import MetaData, create_engine

    from harness.data.bulk import insert_rows
    from harness.data.providers import CITIES, Pools, Sampler

    started = time.perf_counter()
    engine = create_engine(url)
    metadata = MetaData()
    table = customer_table(metadata)
    metadata.create_all(engine)
    sampler = Sampler(Pools.build("en_IN", 11, names=3000, buildings=2000), random.Random(11))
    cities = list(CITIES)
    base = dt.datetime(2025, 1, 1)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        for start in range(0, rows, 20_000):
            size = min(20_000, rows - start)
            people = sampler.people(size, start + 1)
            emails = [e.split("@")[0] + "@gmail.com" for e in people["email"]]
            stamps = [base + dt.timedelta(seconds=random.randrange(300 * 86400))
                      for _ in range(size)]
            created: list[Any] = ([s.isoformat(" ", "microseconds") for s in stamps]
                                  if sqlite else stamps)
            insert_rows(conn, table, [c.name for c in table.columns], list(zip(
                range(start + 1, start + size + 1), people["name"], emails, people["mobile"],
                [cities[i % len(cities)] for i in range(size)], sampler.addresses(size),
                created, strict=True)))
            conn.commit()
    engine.dispose()
    return time.perf_counter() - started


def qgate_mask(source: str, target: str, rules: Path) -> dict[str, Any]:
    """Run `qgate data mask` as its own process; rows/s from its output, peak RSS."""
    command = [sys.executable, str(ROOT / "benchmarks" / "_measured.py"), "data", "mask",
               "--source", source, "--target", target, "--rules", str(rules), "--quiet"]
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "QGATE_MASK_KEY": KEY})
    output, errors = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"qgate data mask failed:\n{output}{errors}")
    measured = dict(kv.split("=") for kv in errors.strip().splitlines()[-1].split())
    match = re.search(r"([\d,]+) rows in ([\d.]+)s \(([\d,]+) rows/s\)", output)
    assert match, output
    rows = int(match.group(1).replace(",", ""))
    cpu = float(measured["cpu_s"])
    return {"rows": rows, "copy_s": float(match.group(2)),
            "rows_per_s": int(match.group(3).replace(",", "")), "process_wall_s": round(wall, 1),
            "process_cpu_s": round(cpu, 1), "rows_per_cpu_s": round(rows / cpu),
            "peak_rss_mb": float(measured["peak_rss_mb"]),
            "child_peak_rss_mb": float(measured.get("child_peak_rss_mb", 0))}


def naive_orm(source: str, target: str, rows: int) -> dict[str, Any]:
    """A row-by-row ORM copy with the same transformers (the way one would write it first)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import DeclarativeBase, Session

    from harness.data.providers import masking_pools
    from harness.data.transforms import Keyring, Rule, build_transform

    class Base(DeclarativeBase):
        pass

    class Customer(Base):
        __table__ = customer_table(Base.metadata)

    keyring, pools = Keyring(KEY.encode()), masking_pools()
    fake_name = build_transform(Rule("fake", {"value": "name"}), keyring, pools)
    email = build_transform(Rule("email"), keyring, pools)
    phone = build_transform(Rule("phone"), keyring, pools)
    address = build_transform(Rule("fake", {"value": "address"}), keyring, pools)
    shift = build_transform(Rule("date_shift", {"days": 30}), keyring, pools)
    assert fake_name and email and phone and address and shift
    src, dst = create_engine(source), create_engine(target)
    Base.metadata.create_all(dst)
    started, cpu_started = time.perf_counter(), time.process_time()
    copied = 0
    with Session(src) as reader, Session(dst) as writer:
        for customer in reader.query(Customer).order_by(Customer.id).limit(rows).yield_per(1000):
            writer.add(Customer(id=customer.id, name=fake_name(customer.name),
                                email=email(customer.email), phone=phone(customer.phone),
                                city=customer.city, address=address(customer.address),
                                created_at=shift(customer.created_at, customer.id)))
            copied += 1
            if copied % 1000 == 0:
                writer.commit()
        writer.commit()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    src.dispose()
    dst.dispose()
    return {"rows": copied, "seconds": round(seconds, 1), "rows_per_s": round(copied / seconds),
            "cpu_s": round(cpu, 1), "rows_per_cpu_s": round(copied / cpu)}


@contextmanager
def databases(backend: str, workdir: Path) -> Iterator[tuple[str, str, str]]:
    """Source, target and naive-target URLs (PostgreSQL databases dropped afterwards)."""
    if backend == "sqlite":
        yield tuple(f"sqlite:///{workdir / f'{n}.db'}"  # type: ignore[misc]
                    for n in ("source", "target", "naive"))
        return
    import psycopg2

    names = [f"qgate_data_bench_{n}_{uuid.uuid4().hex[:8]}" for n in ("src", "dst", "naive")]
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            for name in names:
                cur.execute(f'CREATE DATABASE "{name}"')
        yield tuple(f"postgresql+psycopg2://postgres@127.0.0.1:5432/{n}"  # type: ignore[misc]
                    for n in names)
    finally:
        with admin.cursor() as cur:
            for name in names:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def small_tables(count: int, rules_dir: Path) -> dict[str, Any]:
    """`count` tables of 5 rows each (PostgreSQL -> PostgreSQL): the whole copy's seconds."""
    from sqlalchemy import create_engine

    with databases("postgresql", rules_dir) as (source, target, _):
        engine = create_engine(source)
        with engine.begin() as conn:
            for n in range(count):
                conn.exec_driver_sql(
                    f"CREATE TABLE t{n:02d} (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                    f"label text NOT NULL, email text, data jsonb); INSERT INTO t{n:02d} "
                    "(label, email, data) SELECT 'row ' || i, 'user' || i || '@gmail.com', "
                    "jsonb_build_object('k', i) FROM generate_series(1, 5) i")
        engine.dispose()
        rules = rules_dir / "small.yaml"
        rules.write_text("key_env: QGATE_MASK_KEY\ntables:\n" + "".join(
            f"  t{n:02d}: {{id: keep, label: keep, email: email, data: scrub}}\n"
            for n in range(count)))
        result = qgate_mask(source, target, rules)
    return {"tables": count, "rows": result["rows"], "copy_s": result["copy_s"],
            "process_wall_s": result["process_wall_s"]}


def main() -> int:
    """Run each backend, print and save the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=50_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--small-tables", type=int, default=71)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="qgate-bench-") as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(RULES)
        for backend in args.backends.split(","):
            with databases(backend, Path(tmp)) as (source, target, naive_target):
                fill_s = fill(source, args.rows)
                qgate = qgate_mask(source, target, rules)
                naive = naive_orm(source, naive_target, min(args.naive_rows, args.rows))
            results[backend] = {"source_rows": args.rows, "fill_s": round(fill_s, 1),
                                "qgate": qgate, "naive_orm": naive,
                                "speedup": round(qgate["rows_per_s"] / naive["rows_per_s"], 1)}
            print(f"{backend}: qgate data mask {qgate['rows']:,} rows in {qgate['copy_s']} s = "
                  f"{qgate['rows_per_s']:,} rows/s ({qgate['rows_per_cpu_s']:,} per CPU second; "
                  f"peak RSS {qgate['peak_rss_mb']} MB, largest child "
                  f"{qgate['child_peak_rss_mb']} MB); naive ORM loop "
                  f"{naive['rows_per_s']:,} rows/s ({naive['rows_per_cpu_s']:,} per CPU second) "
                  f"over {naive['rows']:,} rows: {results[backend]['speedup']}x")
    small = {}
    if args.small_tables:
        with tempfile.TemporaryDirectory(prefix="qgate-bench-") as tmp:
            small = small_tables(args.small_tables, Path(tmp))
        print(f"postgresql: {small['tables']} small tables ({small['rows']} rows) masked in "
              f"{small['copy_s']} s (whole process {small['process_wall_s']} s)")
    summary = {
        "benchmark": "data_mask",
        "table": "customers(id, name, email UNIQUE, phone, city, address, created_at)",
        "rules": RULES,
        "results": results,
        "small_tables": small,
        "target_rows_per_s_sqlite": 100_000,
        "target_rows_per_s_postgresql": 150_000,
        "meets_target": bool(results.get("sqlite", {}).get("qgate", {}).get("rows_per_s", 0)
                             >= 100_000),
        "meets_target_postgresql": bool(results.get("postgresql", {}).get("qgate", {}).get(
            "rows_per_s", 0) >= 150_000),
        **machine(),
    }
    save(RESULTS, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
