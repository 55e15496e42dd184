"""The `data` suite in the gate: a leak is NO-GO, a clean masked copy is GO, and `qgate demo`
wires the demo store's database and access log into it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from cli_support import PROJECT, assert_partial, run_qgate
from harness.data.generate import generate
from harness.data.masking import run_mask
from harness.data.rules import load_rules

from .conftest import MASK_KEY, NewDatabase


def scratch_project(tmp_path: Path, data_table: str, suites: str = '["data"]') -> Path:
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "environments" / "shop.toml").write_text(
        f'base_url = "http://127.0.0.1:9"\nsuites = {suites}\n\n[data]\n{data_table}\n')
    (root / "gate.toml").write_text((PROJECT / "gate.toml").read_text())
    (root / "suites").symlink_to(PROJECT / "suites")
    (root / "datasets").symlink_to(PROJECT / "datasets")
    return root


def run_data_suite(root: Path, env: dict[str, str] | None = None) -> tuple[int, str, Any]:
    """Plain `pytest suites/data --env shop` (standalone: it judges and writes run.json; its
    exit code is pytest's, the verdict is in run.json)."""
    full = {**os.environ, "QGATE_ROOT": str(root), "QGATE_REPORTS_DIR": str(root / "reports"),
            **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           "suites/data", "--env", "shop"], cwd=root, env=full,
                          capture_output=True, text=True, timeout=300, check=False)
    run = json.loads((root / "reports" / "latest" / "run.json").read_text())
    return proc.returncode, proc.stdout + proc.stderr, run


def test_a_leak_is_no_go(tmp_path: Path, new_database: NewDatabase, small_spec: Any) -> None:
    url = new_database("sqlite")
    generate(small_spec, db_url=url, show_progress=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET email = 'ravi.kumar@gmail.com' WHERE id = 5"))
    engine.dispose()
    log = tmp_path / "shop.log"
    log.write_text("GET /api/cart 200\nPOST /api/login 200 user=ravi@okaxis\n")
    root = scratch_project(tmp_path, f'database = "{url}"\ntarget_logs = ["$SHOP_LOG"]')
    code, output, run = run_data_suite(root, {"SHOP_LOG": str(log)})
    # the tests ran (no harness error); the verdict is NO-GO with qgate's exit code 1
    assert code == 1 and run["verdict"]["decision"] == "NO-GO", output
    failed = [c for c in run["verdict"]["criteria"] if c["outcome"] == "fail"]
    assert [c["name"] for c in failed] == ["no PII leak, orphaned key or duplicate (high "
                                           "findings)"]
    findings = {(f["rule_id"], f["location"]) for f in run["suites"]["data"]["findings"]}
    assert ("pii.email", "users.email[id=5]") in findings
    assert ("pii.log.upi", f"{log}:2") in findings
    assert "ravi.kumar@gmail.com" not in (root / "reports" / "latest" / "run.json").read_text()


def test_a_clean_masked_copy_is_go_and_parity_is_judged(
        tmp_path: Path, new_database: NewDatabase, small_spec: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("QGATE_MASK_KEY", MASK_KEY)
    source, copy = new_database("postgresql"), new_database("postgresql")
    generate(small_spec, db_url=source, show_progress=False)
    run_mask(source, copy, load_rules(PROJECT / "datasets" / "masking.yaml"), root=tmp_path,
             show_progress=False, out=io.StringIO())
    root = scratch_project(tmp_path, f'database = "{copy}"\nsource = "{source}"\n'
                                     f'reference = "{source}"\n'
                                     'masking_rules = "datasets/masking.yaml"')
    code, output, run = run_data_suite(root)
    assert run["verdict"]["decision"] == "GO", output
    data = run["suites"]["data"]
    assert {t["outcome"] for t in data["tests"]} == {"passed", "not_applicable"}
    assert [t["name"] for t in data["tests"] if t["outcome"] == "not_applicable"] == [
        "test_target_logs_hold_no_pii"]
    assert data["findings"] == [] and data["metrics"]["data.source.values_compared"] > 100
    names = {c["name"] for c in run["verdict"]["criteria"]}
    assert "schema matches the reference (differences at or above medium)" in names
    engine = create_engine(copy)  # staging drifts from production: parity blocks
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE orders ALTER COLUMN slot TYPE VARCHAR(40)"))
    engine.dispose()
    code, output, run = run_data_suite(root)
    assert run["verdict"]["decision"] == "NO-GO", output
    assert any(c["outcome"] == "fail" and c["name"].startswith("schema matches")
               for c in run["verdict"]["criteria"])


def test_unreachable_database_is_inconclusive(tmp_path: Path) -> None:
    root = scratch_project(tmp_path, 'database = "postgresql+psycopg2://postgres@127.0.0.1:9/x"')
    code, output, run = run_data_suite(root)
    assert run["verdict"]["decision"] == "INCONCLUSIVE", output
    errors = [t for t in run["suites"]["data"]["tests"] if t["outcome"] == "error"]
    assert errors and "cannot connect" in errors[0]["message"]


def test_demo_store_pii_in_logs_is_no_go(tmp_path: Path) -> None:
    """The demo wiring without e2e: a customer logs in on a pii-in-logs store; the demo
    environment's data suite reads its log through $QGATE_DEMO_LOG_DIR."""
    from demostore.process import start_store
    from harness.data.demo import demo_data

    with demo_data(None, PROJECT) as data, start_store(
            faults=("pii-in-logs",), db_url=data.db_url, log_dir=data.log_dir) as store:
        login = httpx.post(store.base_url + "/api/auth/login",
                           json={"email": "demo@example.com", "password": "demo-pass-123"})
        assert login.status_code == 200
        httpx.get(store.base_url + "/api/me", cookies=login.cookies)
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "suites/data",
             "--env", "demo", "--base-url", store.base_url], cwd=PROJECT,
            env={**os.environ, "QGATE_REPORTS_DIR": str(tmp_path)}, capture_output=True,
            text=True, timeout=300, check=False)
    run = json.loads((tmp_path / "latest" / "run.json").read_text())
    assert run["verdict"]["decision"] == "NO-GO", proc.stdout + proc.stderr
    rules = {f["rule_id"] for f in run["suites"]["data"]["findings"]}
    assert {"pii.log.email", "pii.log.mobile"} <= rules
    assert "demo@example.com" not in (tmp_path / "latest" / "run.json").read_text()


def test_qgate_demo_runs_the_data_suite(tmp_path: Path) -> None:
    result = run_qgate("demo", "--suites", "smoke,data",
                       env={"QGATE_REPORTS_DIR": str(tmp_path)})
    assert result.code == 3, result.out + result.err  # a partial run: never GO
    assert "demo data: seeded from demo.yaml" in result.out
    run = json.loads((tmp_path / "latest" / "run.json").read_text())
    assert_partial(run, ran=["smoke", "data"],
                   left_out=[s for s in run["scope"]["required"] if s not in ("smoke", "data")])
    data = run["suites"]["data"]
    assert data["metrics"]["data.db.rows_scanned"] > 1000
    assert data["metrics"]["data.logs.lines"] > 0  # smoke's requests reached the store's log
    assert data["findings"] == []


def test_data_suite_is_refused_on_production(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "environments" / "prod.toml").write_text(
        'base_url = "https://shop.example.com"\nproduction = true\nsuites = ["smoke", "data"]\n'
        '[data]\ndatabase = "postgresql+psycopg2://reader@db.example.com/shop"\n')
    result = run_qgate("run", "--env", "prod", "--suites", "data", cwd=root,
                       env={"QGATE_ROOT": str(root)})
    assert result.code == 2
    assert "environment 'prod' is production; refusing data" in result.err


def test_a_misspelt_data_key_is_one_line(tmp_path: Path) -> None:
    root = scratch_project(tmp_path, 'databse = "sqlite:///x.db"')
    result = run_qgate("run", "--env", "shop", cwd=root, env={"QGATE_ROOT": str(root)})
    assert result.code == 2
    assert result.err.strip() == ("qgate: error: environments/shop.toml: data.databse: unknown "
                                  "key; did you mean 'database'?")


def test_report_panel_renders_coverage_and_findings() -> None:
    from harness.report.sections.data import render
    from harness.results import Finding, SuiteResult

    result = SuiteResult(
        suite="data", status="passed", duration_s=1.0, engine="pytest",
        metrics={"data.db.tables": 14, "data.db.rows_scanned": 4090,
                 "data.db.values_scanned": 7810, "data.logs.files": 1, "data.logs.lines": 752},
        findings=(Finding("pii.log.email", "email in the target's log", "high", "a.log:3"),
                  Finding("pii.mobile", "mobile in free text", "medium", "t.c[id=1]")))
    html = render(result)
    assert "14 tables, 4,090 rows, 7,810 text values" in html and "1 file, 752 lines" in html
    assert "<td>target logs</td><td class='num'>1</td><td class='num'>0</td>" in html
    assert "<td>database</td><td class='num'>0</td><td class='num'>1</td>" in html


def test_nothing_scanned_is_inconclusive_and_rotated_logs_are_read(
        tmp_path: Path, new_database: NewDatabase) -> None:
    """An empty database, an empty source and logs only qgate could not read were GO; now
    the counts are evidence (zero is INCONCLUSIVE, naming what to do) and the rotated `.gz`
    log and the log starting with NUL bytes are read."""
    import gzip

    url, source = new_database("sqlite"), new_database("sqlite")
    for each in (url, source):
        engine = create_engine(each)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)"))
        engine.dispose()
    logs = tmp_path / "logs"
    logs.mkdir()
    with gzip.open(logs / "shop.log.1.gz", "wt") as packed:
        packed.write("GET /api/cart 200\nGET /api/products 200\n")
    (logs / "shop.log").write_bytes(b"\x00" * 64 + b"GET /health 200\n")
    root = scratch_project(tmp_path, f'database = "{url}"\nsource = "{source}"\n'
                                     f'target_logs = ["{logs}/shop.log*"]')
    code, output, run = run_data_suite(root)
    assert run["verdict"]["decision"] == "INCONCLUSIVE", output
    rows = {c["name"]: c for c in run["verdict"]["criteria"]}
    assert rows["coverage: database rows scanned"]["outcome"] == "error"
    assert "point [data] database at the seeded" in rows["coverage: database rows scanned"][
        "reason"]
    assert rows["coverage: source values compared"]["outcome"] == "error"
    assert rows["coverage: log lines read"]["outcome"] == "pass"
    assert run["suites"]["data"]["metrics"]["data.logs.lines"] == 3
