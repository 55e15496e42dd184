"""Masked copies on real SQLite, PostgreSQL and MariaDB: nothing personal survives, joins
line up, an unclassified column stops the run, an interrupted run ends correct."""

from __future__ import annotations

import io
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from cli_support import PROJECT, run_qgate
from harness.data.audit import audit_database
from harness.data.generate import generate
from harness.data.masking import reflect, run_mask
from harness.data.rules import load_rules
from harness.errors import ConfigError, HarnessError, ProductionRefused, UsageError

from .conftest import MASK_KEY, NewDatabase, sqlite_path

RULES = PROJECT / "datasets" / "masking.yaml"
PLANTED = {"email": "ravi.kumar@gmail.com", "name": "Ravi Kumar", "phone": "+919876543210",
           "address": "12 MG Road, call 9876501234, PAN ABCPE1234F",
           "card": "card 4111111111111111"}


def seed_source(url: str, spec: Any) -> None:
    """A seeded store database with production-like PII planted in it."""
    generate(spec, db_url=url, show_progress=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET email = :e, name = :n, phone = :p WHERE id = 3"),
                     {"e": PLANTED["email"], "n": PLANTED["name"], "p": PLANTED["phone"]})
        conn.execute(text("UPDATE users SET email = 'priya.s@yahoo.co.in' WHERE id = 4"))
        conn.execute(text("UPDATE orders SET address = :a WHERE id = 2"),
                     {"a": PLANTED["address"]})
        conn.execute(text("UPDATE payments SET instrument = :c WHERE id = 1"),
                     {"c": PLANTED["card"]})
    engine.dispose()


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    metadata = reflect(engine)
    with engine.connect() as conn:
        out = {t: conn.execute(select(func.count()).select_from(metadata.tables[t])).scalar()
               for t in metadata.tables}
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def sqlite_source(new_database: NewDatabase, small_spec: Any) -> str:
    url = new_database("sqlite")
    seed_source(url, small_spec)
    return url


def copy_of(url: str, tmp_path: Path, name: str = "copy.db") -> str:
    target = tmp_path / name
    shutil.copy(sqlite_path(url), target)
    return f"sqlite:///{target}"


@pytest.mark.parametrize(("source_backend", "target_backend"), [
    ("postgresql", "postgresql"), ("mariadb", "mariadb"), ("sqlite", "sqlite"),
    ("postgresql", "sqlite")])
def test_masked_copy_passes_the_audit(source_backend: str, target_backend: str,
                                      new_database: NewDatabase, small_spec: Any,
                                      mask_key: str, tmp_path: Path) -> None:
    source, target = new_database(source_backend), new_database(target_backend)
    seed_source(source, small_spec)
    planted = audit_database(source)  # the audit catches what was planted
    rules_found = {(f.rule_id, f.location.split("[")[0]) for f in planted.findings}
    assert {("pii.email", "users.email"), ("pii.pan", "orders.address"),
            ("pii.card", "payments.instrument"), ("pii.mobile", "orders.address")} <= rules_found
    report = run_mask(source, target, load_rules(RULES), root=tmp_path, show_progress=False,
                      out=io.StringIO())
    assert report.rows["users"] == 42 and set(report.skipped) == {
        "sessions", "cart_items", "idempotency_keys"}
    masked = audit_database(target, source_url=source, rules_path=str(RULES))
    assert masked.findings == (), [(f.rule_id, f.location) for f in masked.findings]
    assert masked.source_hashes > 100 and masked.foreign_keys >= 10
    source_counts, target_counts = counts(source), counts(target)
    for table in ("users", "orders", "order_lines", "order_events", "payments", "inventory"):
        assert target_counts[table] == source_counts[table], table
    engine = create_engine(target)
    with engine.connect() as conn:
        emails = [r[0] for r in conn.execute(text("SELECT email FROM users"))]
        phones = [r[0] for r in conn.execute(text("SELECT phone FROM users"))]
        joined = conn.execute(text("SELECT count(*) FROM orders o JOIN users u "
                                   "ON u.id = o.user_id")).scalar()
    engine.dispose()
    assert all(e.endswith("@example.com") for e in emails) and len(set(emails)) == len(emails)
    assert PLANTED["phone"] not in phones and all(p.startswith("+91") for p in phones)
    assert joined == source_counts["orders"]


def test_same_key_same_copy_other_key_other_copy(sqlite_source: str, mask_key: str,
                                                 tmp_path: Path, monkeypatch: Any) -> None:
    rules = load_rules(RULES)
    a, b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    run_mask(sqlite_source, a, rules, root=tmp_path, show_progress=False, out=io.StringIO())
    run_mask(sqlite_source, b, rules, root=tmp_path, show_progress=False, out=io.StringIO())
    monkeypatch.setenv("QGATE_MASK_KEY", MASK_KEY + "-rotated")
    c = f"sqlite:///{tmp_path / 'c.db'}"
    run_mask(sqlite_source, c, rules, root=tmp_path, show_progress=False, out=io.StringIO())

    def users(url: str) -> list[Any]:
        engine = create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT name, email, phone FROM users ORDER BY id")).all()
        engine.dispose()
        return rows

    assert users(a) == users(b) != users(c)


def with_unclassified_column(sqlite_source: str, tmp_path: Path) -> str:
    """A copy of the source with a column the rules do not classify (users.alt_mobile)."""
    source = copy_of(sqlite_source, tmp_path, "src.db")
    engine = create_engine(source)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE users ADD COLUMN alt_mobile VARCHAR(16)"))
        conn.execute(text("UPDATE users SET alt_mobile = '+919811122233'"))
    engine.dispose()
    return source


def test_unclassified_column_stops_before_copying(sqlite_source: str, mask_key: str,
                                                  tmp_path: Path) -> None:
    source = with_unclassified_column(sqlite_source, tmp_path)
    target = tmp_path / "never.db"
    out = io.StringIO()
    with pytest.raises(ConfigError, match="1 column.*not classified.*nothing was copied"):
        run_mask(source, f"sqlite:///{target}", load_rules(RULES), root=tmp_path, out=out,
                 show_progress=False)
    listing = out.getvalue()
    assert "users.alt_mobile" in listing and "suggest phone" in listing
    assert "+919811122233" not in listing and "+############" in listing  # sample masked
    assert not target.exists()
    result = run_qgate("data", "mask", "--source", source, "--rules", str(RULES), "--check",
                       env={"QGATE_MASK_KEY": MASK_KEY})
    assert result.code == 2 and "users.alt_mobile" in result.out
    assert result.err.count("\n") == 1 and "not classified" in result.err


def test_init_writes_suggestions_and_never_overwrites(sqlite_source: str, tmp_path: Path
                                                      ) -> None:
    path = tmp_path / "suggested.yaml"
    first = run_qgate("data", "mask", "--source", sqlite_source, "--rules", str(path), "--init")
    assert first.code == 0, first.err
    written = path.read_text()
    for line in ("email: ", "phone: ", "{fake: name}", "{fake: address}", "scrub"):
        assert line in written
    rules = load_rules(path)
    assert rules.tables["users"].columns["email"].kind == "email"
    again = run_qgate("data", "mask", "--source", sqlite_source, "--rules", str(path), "--init")
    assert again.code == 2 and "never overwrites" in again.err


@pytest.mark.parametrize("target_backend", ["sqlite", "postgresql"])
def test_interrupted_copy_resumes_and_ends_correct(target_backend: str, sqlite_source: str,
                                                   new_database: NewDatabase, mask_key: str,
                                                   tmp_path: Path, monkeypatch: Any) -> None:
    """SQLite -> SQLite copies inside SQLite (INSERT ... SELECT), other pairs in batches:
    both get Ctrl-C in the middle of order_events and are run again."""
    import harness.data.masking as masking

    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES.read_text().replace("batch_size: 10000", "batch_size: 100"))
    rules = load_rules(rules_file)
    target = new_database(target_backend)
    real_build = masking.build_transform

    def crashing_build(rule: Any, keyring: Any, pools: Any, *args: Any) -> Any:
        fn = real_build(rule, keyring, pools, *args)
        if rule.options.get("by") != "order_id":
            return fn
        calls = [0]

        def crash_on_250th(*args: Any) -> Any:  # two batches of 100 are in by then
            calls[0] += 1
            if calls[0] == 250:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, as a person would
            return fn(*args)

        return crash_on_250th

    monkeypatch.setattr(masking, "build_transform", crashing_build)
    # Ctrl-C raises KeyboardInterrupt even when pytest itself was started as a background job
    # (a shell starts those with SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_mask(sqlite_source, target, rules, root=tmp_path, show_progress=False,
                     out=io.StringIO())
    finally:
        signal.signal(signal.SIGINT, previous)
    half = counts(target)
    assert half["order_events"] == 0 and half["users"] == 42  # finished tables kept
    monkeypatch.setattr(masking, "build_transform", real_build)
    out = io.StringIO()
    report = run_mask(sqlite_source, target, rules, root=tmp_path, show_progress=False, out=out)
    assert "resuming an interrupted copy" in out.getvalue()
    assert "users" in report.resumed and "order_events" in report.rows
    expected = counts(sqlite_source)
    final = counts(target)
    for table in expected:
        if table not in ("sessions", "cart_items", "idempotency_keys"):
            assert final[table] == expected[table], table
    again = run_mask(sqlite_source, target, rules, root=tmp_path, show_progress=False,
                     out=io.StringIO())  # a finished copy is made again from scratch
    assert again.resumed == () and counts(target) == final


def test_refuses_the_source_and_production(sqlite_source: str, mask_key: str, tmp_path: Path
                                           ) -> None:
    rules = load_rules(RULES)
    path = sqlite_path(sqlite_source)
    same_file = f"sqlite:///{path.parent}/./{path.name}"  # another spelling, the same file
    with pytest.raises(UsageError, match="--target is the source"):
        run_mask(sqlite_source, same_file, rules, root=tmp_path, out=io.StringIO())
    prod_db = tmp_path / "prod.db"
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "prod.toml").write_text(
        f'base_url = "https://shop.example.com"\nproduction = true\n'
        f'[data]\ndatabase = "sqlite:///{prod_db}"\n')
    with pytest.raises(ProductionRefused, match="holds production data"):
        run_mask(sqlite_source, f"sqlite:///{prod_db}", rules, root=tmp_path, out=io.StringIO())
    assert not prod_db.exists()


def test_a_target_with_foreign_tables_is_refused(sqlite_source: str, mask_key: str,
                                                 tmp_path: Path) -> None:
    other = copy_of(sqlite_source, tmp_path, "other.db")  # the same tables, made by someone else
    with pytest.raises(UsageError, match="that no masking copy made"):
        run_mask(sqlite_source, other, load_rules(RULES), root=tmp_path, out=io.StringIO())


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("    email: email ", "    email: {fake: name}  #",
     "tables.users.email: fake is not one-to-one"),
    ("    id: keep                           # user_id",
     "    id: keep\n    user_id: {hash: {length: 16}}  #",
     "tables.orders.user_id: references users.id, masked with keep"),
    ("    phone: phone ", "    phne: phone ",
     "tables.users.phne: no such column in the source; did you mean 'phone'?"),
    ("  sessions: skip", "  sessions_x: skip\n  sessions: skip",
     "tables.sessions_x: no such table in the source"),
    ("  sessions: skip", "  users: skip\n  sessions: skip",
     "orders.user_id references users.id, whose table is skipped"),
])
def test_rule_mistakes_are_config_errors(sqlite_source: str, tmp_path: Path, old: str,
                                         new: str, expected: str) -> None:
    original = RULES.read_text()
    assert old in original, old
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(original.replace(old, new, 1))
    result = run_qgate("data", "mask", "--source", sqlite_source, "--rules", str(rules_file),
                       "--check", env={"QGATE_MASK_KEY": MASK_KEY})
    assert result.code == 2, result.out + result.err
    assert result.err.startswith(f"qgate: error: {rules_file}: tables.")
    assert expected in result.err and len(result.err.strip().splitlines()) == 1


def test_a_failing_transformer_shows_its_own_error(sqlite_source: str, mask_key: str,
                                                  tmp_path: Path, monkeypatch: Any) -> None:
    """SQLite hides errors raised in its functions; the copy falls back to batches and the
    transformer's own exception surfaces."""
    import harness.data.masking as masking

    real_build = masking.build_transform

    def broken_build(rule: Any, keyring: Any, pools: Any, *args: Any) -> Any:
        if rule.kind != "phone":
            return real_build(rule, keyring, pools, *args)

        def broken(value: Any) -> Any:
            raise ValueError("phone transformer bug")

        return broken

    monkeypatch.setattr(masking, "build_transform", broken_build)
    with pytest.raises(ValueError, match="phone transformer bug"):
        run_mask(sqlite_source, f"sqlite:///{tmp_path / 't.db'}", load_rules(RULES),
                 root=tmp_path, show_progress=False, out=io.StringIO())


def test_a_collision_in_a_unique_column_stops_the_table(sqlite_source: str, mask_key: str,
                                                        tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"  # a 1-character hash cannot keep 42 emails apart
    rules_file.write_text(RULES.read_text().replace("    email: email ",
                                                    "    email: {hash: {length: 1}} ", 1))
    target = f"sqlite:///{tmp_path / 'target.db'}"
    with pytest.raises(HarnessError, match=r"users: the masked rows are not unique in \(email\)"):
        run_mask(sqlite_source, target, load_rules(rules_file), root=tmp_path,
                 show_progress=False, out=io.StringIO())
    assert counts(target)["users"] == 0  # nothing of the table was kept


def test_missing_key_is_a_config_error(sqlite_source: str, tmp_path: Path) -> None:
    result = run_qgate("data", "mask", "--source", sqlite_source, "--rules", str(RULES),
                       "--target", f"sqlite:///{tmp_path / 't.db'}",
                       env={"QGATE_MASK_KEY": ""})
    assert result.code == 2
    assert "key_env: variable QGATE_MASK_KEY is not set" in result.err


@pytest.mark.parametrize("mode", ["--check", "--target"])
def test_unclassified_columns_are_listed_before_the_missing_key(sqlite_source: str,
                                                                tmp_path: Path,
                                                                mode: str) -> None:
    """A user without the key still learns in one run which columns the rules miss."""
    source = with_unclassified_column(sqlite_source, tmp_path)
    target = ["--target", f"sqlite:///{tmp_path / 't.db'}"] if mode == "--target" else [mode]
    result = run_qgate("data", "mask", "--source", source, "--rules", str(RULES), *target,
                       env={"QGATE_MASK_KEY": ""})
    assert result.code == 2, result.out + result.err
    assert "users.alt_mobile" in result.out and "suggest phone" in result.out
    assert result.err.count("\n") == 1 and "1 column(s) not classified" in result.err
    assert not (tmp_path / "t.db").exists()
