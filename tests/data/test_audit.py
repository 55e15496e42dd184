"""The audit catches planted PII, orphans and duplicates, and never reports the value itself."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from cli_support import run_qgate
from harness.data import pii
from harness.data.audit import audit_database, scan_files

PLANTED = ["ravi.kumar@gmail.com", "4111 1111 1111 1111", "ABCPE1234F", "2345 6789 0124",
           "ravi@okaxis", "9876501234"]


def make_db(path: Path, *, unique_email: bool = True) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    unique = "UNIQUE" if unique_email else ""
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, "
                          f"email TEXT {unique}, phone TEXT, notes TEXT)"))
        conn.execute(text("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER "
                          "REFERENCES customers(id), address TEXT)"))
        conn.execute(text("INSERT INTO customers VALUES "
                          "(1, 'A', 'a@example.com', '+919800000001', 'Leave at the door'),"
                          "(2, 'B', 'ravi.kumar@gmail.com', '+919800000002', "
                          "'card 4111 1111 1111 1111, PAN ABCPE1234F'),"
                          "(3, 'C', 'c@example.org', '+919800000003', "
                          "'aadhaar 2345 6789 0124, pay ravi@okaxis or success@razorpay')"))
        conn.execute(text("INSERT INTO orders VALUES (10, 1, 'Flat 1, call 9876501234'), "
                          "(11, 2, '2 MG Road'), (12, 99, '3 MG Road')"))
    engine.dispose()
    return url


def test_planted_pii_orphans_are_found(tmp_path: Path) -> None:
    audit = audit_database(make_db(tmp_path / "a.db"))
    found = {(f.rule_id, f.location, f.severity) for f in audit.findings}
    assert found == {
        ("pii.email", "customers.email[id=2]", "high"),
        ("pii.card", "customers.notes[id=2]", "high"),
        ("pii.pan", "customers.notes[id=2]", "high"),
        ("pii.aadhaar", "customers.notes[id=3]", "high"),
        ("pii.upi", "customers.notes[id=3]", "high"),       # success@razorpay is sandbox
        ("pii.mobile", "orders.address[id=10]", "medium"),  # phones in `phone`: expected
        ("integrity.orphan", "orders.customer_id[id=12]", "high"),
    }
    assert audit.rows == 6 and audit.foreign_keys == 1
    everything = " ".join(f.location + " " + f.evidence + " " + f.title for f in audit.findings)
    for value in PLANTED:  # findings name the place, never the value
        assert value not in everything


def test_duplicates_checked_against_the_source_declaration(tmp_path: Path) -> None:
    source = make_db(tmp_path / "source.db")
    copy = make_db(tmp_path / "copy.db", unique_email=False)  # a copy that lost the UNIQUE
    engine = create_engine(copy)
    with engine.begin() as conn:
        conn.execute(text("UPDATE customers SET email = 'a@example.com'"))
    engine.dispose()
    audit = audit_database(copy, source_url=source)
    duplicates = [f for f in audit.findings if f.rule_id == "integrity.duplicate"]
    assert len(duplicates) == 1 and duplicates[0].location.startswith("customers.email[")
    assert "3 value" not in duplicates[0].evidence and "1 value(s)" in duplicates[0].evidence


def test_source_values_that_survive_are_found(tmp_path: Path) -> None:
    source = make_db(tmp_path / "source.db")
    copy = make_db(tmp_path / "copy.db")
    engine = create_engine(copy)
    with engine.begin() as conn:  # a bad copy: names kept, one phone moved into free text
        conn.execute(text("UPDATE customers SET email = 'x' || id || '@example.com', "
                          "phone = '+91980000000' || (id + 5), notes = ''"))
        conn.execute(text("UPDATE orders SET address = 'ring +919800000003' WHERE id = 11"))
    engine.dispose()
    audit = audit_database(copy, source_url=source)
    survivors = {(f.rule_id, f.location.split("[")[0]): f.evidence for f in audit.findings
                 if f.rule_id.startswith("survivor.")}
    assert "id=1" in survivors[("survivor.value", "customers.name")]
    assert "id=10, id=11" in survivors[("survivor.mobile", "orders.address")]
    assert ("survivor.value", "orders.address") in survivors  # address 10 kept as it was
    assert not any("email" in rule or "phone" in where for rule, where in survivors)


def test_files_zip_members_har_and_logs(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "artifacts" / "e2e").mkdir(parents=True)
    with zipfile.ZipFile(run / "artifacts" / "e2e" / "trace.zip", "w") as archive:
        archive.writestr("trace.network", '{"url": "/api/me"}\n{"body": "ravi.kumar@gmail.com"}\n')
        archive.writestr("resources/logo.png", b"\x89PNG\x00\x00ravi.kumar@gmail.com")
    har = {"log": {"entries": [{"request": {"url": "/api/x?email=ravi%40yahoo.co.in"}},
                               {"response": {"text": "card 4242 4242 4242 4242"}}]}}
    (run / "artifacts" / "e2e" / "session.har").write_text(json.dumps(har, indent=1))
    (run / "artifacts" / "e2e" / "console.log").write_text(
        "shopper e2e@example.com +919812345678\nrider called 9876501234\n")
    files = sorted(p for p in (run / "artifacts").rglob("*") if p.is_file())
    scan = scan_files(files, context="artifacts", relative_to=run)
    found = {(f.rule_id, f.location, f.severity) for f in scan.findings}
    assert found == {
        ("pii.artifact.email", "artifacts/e2e/trace.zip!trace.network:2", "high"),
        ("pii.artifact.email", "artifacts/e2e/session.har:6", "high"),     # URL-encoded
        # the test shopper's own number passes, another one is a finding
        ("pii.artifact.mobile", "artifacts/e2e/console.log:2", "medium"),
    }
    logs = scan_files([run / "artifacts" / "e2e" / "console.log"], context="logs")
    assert {(f.rule_id, f.severity) for f in logs.findings} == {
        ("pii.log.email", "high"), ("pii.log.mobile", "high")}


def test_cli_exit_codes(tmp_path: Path) -> None:
    dirty = run_qgate("data", "audit", "--db", make_db(tmp_path / "d.db"), "--quiet")
    assert dirty.code == 1 and "pii.email" in dirty.out and "customers.email[id=2]" in dirty.out
    assert "ravi.kumar@gmail.com" not in dirty.out + dirty.err
    clean_db = tmp_path / "c.db"
    engine = create_engine(f"sqlite:///{clean_db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT)"))
        conn.execute(text("INSERT INTO t VALUES (1, 'a@example.com')"))
    engine.dispose()
    clean = run_qgate("data", "audit", "--db", f"sqlite:///{clean_db}", "--quiet")
    assert clean.code == 0 and "0 finding(s)" in clean.out
    warn_only = run_qgate("data", "audit", "--db", make_db(tmp_path / "w.db"), "--quiet",
                          "--fail-on", "critical")
    assert warn_only.code == 0


@pytest.mark.parametrize(("args", "message", "code"), [
    (["--db", "nonsense"], "--db: 'nonsense' is not a database URL", 2),
    (["--db", "sqlite:////nonexistent/x.db"], "does not exist", 2),
    (["--db", "postgresql+psycopg2://postgres@127.0.0.1:9/x"], "cannot connect", 3),
    ([], "nothing to audit", 2),
])
def test_cli_mistakes_are_one_line(args: list[str], message: str, code: int) -> None:
    result = run_qgate("data", "audit", *args)
    assert result.code == code, result.err
    assert message in result.err and len(result.err.strip().splitlines()) == 1


def test_sandbox_card_in_db_is_not_a_leak() -> None:
    assert all(m.synthetic for m in pii.find_pii("4242 4242 4242 4242"))


def test_rotated_and_nul_led_logs_are_read(tmp_path: Path) -> None:
    import gzip

    with gzip.open(tmp_path / "app.log.2.gz", "wt") as packed:
        packed.write("login ok user=ravi.kumar@gmail.com\n")
    (tmp_path / "app.log").write_bytes(b"\x00" * 4096 + b"sms sent to 9876501234\n")
    scan = scan_files(sorted(tmp_path.iterdir()), context="logs")
    assert (scan.files, scan.lines) == (2, 2)
    assert {f.rule_id for f in scan.findings} == {"pii.log.email", "pii.log.mobile"}


def test_json_columns_are_scanned(new_database: Any) -> None:
    url = new_database("postgresql")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA crm; CREATE TABLE crm.contacts (id int PRIMARY KEY, "
                          "prefs jsonb, extra json)"))
        conn.execute(text("INSERT INTO crm.contacts VALUES (1, '{\"contact\": "
                          "\"ravi.kumar@gmail.com\"}', '{\"note\": \"call +1 415-263-7781\"}')"))
    engine.dispose()
    audit = audit_database(url)
    found = {(f.rule_id, f.location) for f in audit.findings}
    assert ("pii.email", "crm.contacts.prefs[id=1]") in found
    assert ("pii.mobile", "crm.contacts.extra[id=1]") in found


def test_an_unfinished_masked_copy_does_not_audit_clean(tmp_path: Path) -> None:
    url = make_db(tmp_path / "copy.db")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM orders"))
        conn.execute(text("DELETE FROM customers WHERE id = 2 OR id = 3"))
        conn.execute(text("CREATE TABLE qgate_mask_runs (table_name TEXT PRIMARY KEY, "
                          "plan_digest TEXT, row_count INT, finished_at TEXT)"))
        conn.execute(text("INSERT INTO qgate_mask_runs VALUES ('__plan__', 'd', 0, 'x'), "
                          "('__schema__', 'd', 0, 'x'), ('customers', 'd', 1, 'x')"))
    engine.dispose()
    audit = audit_database(url)
    unfinished = [f for f in audit.findings if f.rule_id == "integrity.unfinished_copy"]
    assert unfinished and unfinished[0].severity == "high"
    assert "1 table(s) copied (customers)" in unfinished[0].evidence


def test_qgate_own_test_identities_and_embedded_numbers_are_not_findings(tmp_path: Path) -> None:
    """A clean demo carried 18-20 'mobile number in an artifact' warnings: the sign-up of
    qgate's own synthetic shoppers, the same number on later pages, locust's decimals."""
    har = tmp_path / "journey.har"
    har.write_text(
        '{"postData": {"text": "{\\"email\\":\\"e2e+1a2b3c@example.com\\",\\"phone\\":'
        '\\"+919812345678\\"}"}}\n'
        '{"response": {"text": "<p>Mobile: +91 98123 45678</p>"}}\n'
        '{"url": "/orders/6f1c2d3e-4b5a-4c6d-8e7f-9876543210ab"}\n')
    csv = tmp_path / "locust_stats.csv"
    csv.write_text("Type,Name,Average Response Time\nGET,/api/cart,280929.8333333333\n")
    scan = scan_files([har, csv], context="artifacts")
    assert scan.findings == ()
    har.write_text(har.read_text() + '{"response": {"text": "call 9876501234"}}\n')
    scan = scan_files([har, csv], context="artifacts")
    assert [(f.rule_id, f.location) for f in scan.findings] == [
        ("pii.artifact.mobile", f"{har}:4")]


def test_a_real_number_in_the_same_har_as_a_test_shopper_is_still_found(tmp_path: Path) -> None:
    """HARs are one line: only a number sent with the test identity is the shopper's own."""
    har = tmp_path / "one-line.har"
    har.write_text(json.dumps({"log": {"entries": [
        {"request": {"postData": {"text": '{"email": "e2e+9f8e@example.com", '
                                          '"phone": "+919812345678"}'}}},
        {"response": {"content": {"text": "x" * 400 + " other customer: 9876501234"}}}]}}))
    scan = scan_files([har], context="artifacts")
    assert [f.rule_id for f in scan.findings] == ["pii.artifact.mobile"]
    assert scan.findings[0].evidence.startswith("1 match(es)")


def test_without_a_rules_file_the_audit_reads_the_datas_locale(tmp_path: Path) -> None:
    """A US shop's copy, audited without a rules file: its national-format number in a note
    is a finding (before: only Indian and +CC numbers were recognised, so it passed)."""
    url = f"sqlite:///{tmp_path / 'us.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY, phone TEXT, "
                          "country TEXT, notes TEXT)"))
        conn.execute(text("INSERT INTO customers VALUES "
                          "(1, '+1 415 555 2671', 'US', 'Leave at the door'),"
                          "(2, '+1 212 555 0188', 'US', 'call (415) 555-2671 at the gate')"))
    engine.dispose()
    try:
        audit = audit_database(url)
        assert audit.locales == ("en_US",) and audit.locales_from == "guessed from the data"
        assert ("pii.mobile", "customers.notes[id=2]") in {
            (f.rule_id, f.location) for f in audit.findings}, audit.findings
    finally:
        pii.set_locale()  # the other tests expect the default
