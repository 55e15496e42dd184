"""Every report renders from run.json alone; junit.xml parses with a real JUnit parser."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped

from harness.policy import GatePolicy, Waiver
from harness.report import render_reports
from harness.report.console import render_console
from harness.results import Artifact, SuiteResult, TestCase
from harness.runrecord import RunRecord, load_run, write_run
from harness.verdict import judge

TODAY = dt.date(2026, 11, 26)


def make_record(tmp_path: Path) -> tuple[RunRecord, Path]:
    smoke = SuiteResult(
        suite="smoke", status="failed", duration_s=0.4, engine="httpx",
        metrics={"smoke.tests": 3, "smoke.latency_max_ms": 120.0},
        tests=(TestCase("smoke::healthz", "healthz", "passed", 0.01),
               TestCase("smoke::readyz", "readyz", "failed", 0.02,
                        message="expected HTTP 200, got 503 <script>x</script>"),
               TestCase("smoke::version", "version", "flaky", 0.02, attempts=2)))
    e2e = SuiteResult(
        suite="e2e", status="passed", duration_s=12.0, engine="pytest + pytest-playwright",
        tests=(TestCase("suites/e2e/test_cart.py::test_add[desktop]", "test_add[desktop]",
                        "failed", 3.2, message="step add to cart"),
               TestCase("suites/e2e/test_cart.py::test_max", "test_max", "skipped",
                        message="adapter: no max per order")),
        artifacts=(Artifact("artifacts/e2e/x/trace.zip", "trace", "Playwright trace",
                            "suites/e2e/test_cart.py::test_add[desktop]"),))
    waiver = Waiver("W-7", "qa@example.com", "known bug QC-1", TODAY,
                    test="suites/e2e/test_cart.py::test_add*")
    suites = {"smoke": smoke, "e2e": e2e}
    verdict = judge(suites, GatePolicy(), [waiver], environment="demo",
                    required=["smoke", "e2e"], today=TODAY)
    record = RunRecord(run_id="r1", environment="demo", base_url="http://127.0.0.1:1",
                       version="1.0.0", started_at="a", finished_at="b", verdict=verdict,
                       suites=suites, requested=(), required=("smoke", "e2e"))
    run_dir = tmp_path / "r1"
    (run_dir / "suites").mkdir(parents=True)
    write_run(record, run_dir, ["hunter2-secret"])
    return record, run_dir


def test_run_json_has_the_documented_shape_and_round_trips(tmp_path: Path) -> None:
    record, run_dir = make_record(tmp_path)
    data = json.loads((run_dir / "run.json").read_text())
    assert data["schema_version"] == 1
    assert set(data) >= {"run_id", "environment", "target", "started_at", "finished_at",
                         "verdict", "suites"}
    assert data["target"] == {"base_url": "http://127.0.0.1:1", "version": "1.0.0"}
    assert data["verdict"]["decision"] == "NO-GO"
    for c in data["verdict"]["criteria"]:
        assert set(c) >= {"suite", "name", "observed", "threshold", "outcome", "reason"}
        assert c["outcome"] in {"pass", "warn", "fail", "waived", "error"}
    for s in data["suites"].values():
        assert set(s) >= {"status", "duration_s", "metrics", "findings", "artifacts"}
    assert load_run(run_dir) == record
    assert (tmp_path / "latest").resolve() == run_dir.resolve()


def test_junit_parses_with_one_case_per_criterion_and_per_test(tmp_path: Path) -> None:
    record, run_dir = make_record(tmp_path)
    paths = render_reports(run_dir)
    xml = JUnitXml.fromfile(str(paths["junit"]))
    suites = {s.name: s for s in xml}
    gate = suites["qgate.gate"]
    assert len(list(gate)) == len(record.verdict.criteria)
    failed = [c for c in gate if c.result and isinstance(c.result[0], Failure)]
    assert {c.name for c in failed} == {"tests pass"}  # smoke's readyz; e2e's is waived
    waived = [c for c in gate if c.result and isinstance(c.result[0], Skipped)]
    assert any("W-7" in (c.result[0].message or "") for c in waived)
    smoke_cases = {c.name: c for c in suites["smoke"]}
    assert set(smoke_cases) == {"healthz", "readyz", "version"}
    assert isinstance(smoke_cases["readyz"].result[0], Failure)
    assert not smoke_cases["healthz"].result
    e2e_cases = {c.name: c for c in suites["e2e"]}
    assert isinstance(e2e_cases["test_max"].result[0], Skipped)
    assert not any(isinstance(r, Error) for c in suites["smoke"] for r in c.result)


def test_html_and_markdown_render_offline_and_escape(tmp_path: Path) -> None:
    record, run_dir = make_record(tmp_path)
    paths = render_reports(run_dir)
    html = paths["html"].read_text()
    assert "NO-GO" in html and "<svg" in html
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    assert "http://" not in html.replace("http://127.0.0.1:1", "")  # no external assets
    assert "artifacts/e2e/x/trace.zip" in html
    md = paths["summary"].read_text()
    assert md.startswith("## ❌ qgate: **NO-GO**")
    assert "| smoke | failed |" in md
    text = render_console(record, paths["html"])
    assert text.splitlines()[-2].startswith("VERDICT: NO-GO")


def test_secrets_are_redacted_from_run_json(tmp_path: Path) -> None:
    record, run_dir = make_record(tmp_path)
    leaky = SuiteResult(suite="smoke", status="failed", duration_s=0, engine="x",
                        tests=(TestCase("a", "a", "failed",
                                        message="auth hunter2-secret Authorization: Bearer abc"),))
    write_run(RunRecord(**{**record.__dict__, "suites": {"smoke": leaky}}), run_dir,
              ["hunter2-secret"])
    text = (run_dir / "run.json").read_text()
    assert "hunter2-secret" not in text and "Bearer abc" not in text


def test_allure_results_are_valid_and_render_with_the_real_cli(tmp_path: Path) -> None:
    from harness.allure_cli import generate_html

    record, run_dir = make_record(tmp_path)
    (run_dir / "artifacts" / "e2e" / "x").mkdir(parents=True)
    (run_dir / "artifacts" / "e2e" / "x" / "trace.zip").write_bytes(b"PK")
    paths = render_reports(run_dir)
    results = [json.loads(p.read_text()) for p in paths["allure"].glob("*-result.json")]
    tests = sum(len(s.tests) for s in record.suites.values())
    assert len(results) == len(record.verdict.criteria) + tests
    assert {r["status"] for r in results} <= {"passed", "failed", "broken", "skipped"}
    flaky = next(r for r in results if r["name"] == "version")
    assert flaky["statusDetails"]["flaky"] is True
    failing = next(r for r in results if r["name"] == "test_add[desktop]")
    assert failing["status"] == "failed"
    assert failing["attachments"][0]["name"] == "Playwright trace"
    assert (paths["allure"] / failing["attachments"][0]["source"]).read_bytes() == b"PK"
    again = render_reports(run_dir)  # deterministic uuids: re-rendering never duplicates
    assert len(list(again["allure"].glob("*-result.json"))) == len(results)
    html = generate_html(paths["allure"], run_dir / "allure-report")
    assert (html / "index.html").is_file()


# --- issue 19.8: readable in ten seconds on a NO-GO -----------------------------------------

def no_go_with_left_out(tmp_path: Path, trend: tuple[dict[str, str], ...] = ()
                        ) -> tuple[RunRecord, Path]:
    """smoke failed, e2e failed with a trace, load and data left out of the run."""
    long_reason = ("expected HTTP 200, got 503 from the readiness endpoint while the database "
                   "connection pool was still warming up after the deploy " * 4)
    smoke = SuiteResult(
        suite="smoke", status="failed", duration_s=0.4, engine="httpx",
        tests=(TestCase("smoke::readyz", "readyz", "failed", 0.02, message=long_reason),))
    e2e = SuiteResult(
        suite="e2e", status="failed", duration_s=12.0, engine="pytest",
        tests=(TestCase("suites/e2e/test_pay.py::test_pay", "test_pay", "failed", 3.2,
                        message="StepFailed: payment: got "
                                "<harness.e2e.fixtures.Shopper object at 0x7f3a2b1c9d40>"),
               TestCase("suites/e2e/test_pay.py::test_ok", "test_ok", "passed", 1.0)),
        artifacts=(Artifact("artifacts/e2e/test_pay/trace.zip", "trace", "Playwright trace",
                            "suites/e2e/test_pay.py::test_pay"),))
    absent = {s: "left out of this run (ran: e2e, smoke); the gate requires it for demo"
              for s in ("load", "data")}
    suites = {"e2e": e2e, "smoke": smoke}
    verdict = judge(suites, GatePolicy(), [], environment="demo",
                    required=["smoke", "e2e", "load", "data"], today=TODAY, absent=absent)
    record = RunRecord(run_id="r9", environment="demo", base_url="http://127.0.0.1:1",
                       version="1.0.0", started_at="a", finished_at="2026-12-07T08:00:00",
                       verdict=verdict, suites=suites, required=("smoke", "e2e", "load", "data"),
                       not_run=absent, command="qgate run --env demo --suites smoke,e2e",
                       trend=trend)
    run_dir = tmp_path / "r9"
    (run_dir / "suites").mkdir(parents=True)
    write_run(record, run_dir, [])
    render_reports(run_dir)
    return record, run_dir


def test_summary_puts_failures_first_and_says_how_to_reproduce(tmp_path: Path) -> None:
    _, run_dir = no_go_with_left_out(tmp_path)
    md = (run_dir / "summary.md").read_text()
    fail_row = md.index("| ❌ fail | e2e | tests pass |")
    assert fail_row < md.index("| suite | status |")  # what failed comes before the tables
    # the suites left out: one line, not one error row each
    assert "**Left out of this run** (the gate requires it for demo): data, load — " in md
    assert "| ⛔ error | load |" not in md and "| ⛔ error | data |" not in md
    assert "left out of this run (ran:" not in md  # said once, grouped, not per suite
    assert "**Not run:**" not in md  # the left-out suites are said once
    assert md.splitlines()[2].endswith("; left out of this run: data, load (the gate requires "
                                       "them for demo)")  # the headline says it once too
    assert "**Report:** `reports/r9/report.html`" in md
    assert "**Command:** `qgate run --env demo --suites smoke,e2e`" in md
    assert "**Reproduce** what failed: `qgate run --env demo --base-url http://127.0.0.1:1 " \
           "--suites e2e,smoke`" in md
    assert "`test_pay`: StepFailed: payment: got <Shopper> — " \
           "`artifacts/e2e/test_pay/trace.zip`" in md


def test_no_mid_word_truncation_and_no_memory_addresses(tmp_path: Path) -> None:
    _, run_dir = no_go_with_left_out(tmp_path)
    for name in ("summary.md", "report.html", "junit.xml"):
        text = (run_dir / name).read_text()
        assert "object at 0x" not in text, name
    md = (run_dir / "summary.md").read_text()
    for line in md.splitlines():
        for cut in re.findall(r"(\w+)…", line):  # whatever was cut ends on a whole word
            assert cut in ("warming", "up", "the", "after", "deploy", "readiness", "endpoint",
                           "expected", "HTTP", "from", "while", "database", "connection",
                           "pool", "was", "still", "got"), line


def test_junit_links_each_failed_tests_trace(tmp_path: Path) -> None:
    _, run_dir = no_go_with_left_out(tmp_path)
    xml = JUnitXml.fromfile(str(run_dir / "junit.xml"))
    case = next(c for s in xml if s.name == "e2e" for c in s if c.name == "test_pay")
    assert case.system_out == "[[ATTACHMENT|artifacts/e2e/test_pay/trace.zip]]"


def test_html_shows_failures_first_the_left_out_suites_grouped_and_a_trend(tmp_path: Path
                                                                           ) -> None:
    trend = ({"run_id": "r7", "decision": "GO", "finished_at": "2026-12-06T08:00:00"},
             {"run_id": "r8", "decision": "GO", "finished_at": "2026-12-06T20:00:00"})
    _, run_dir = no_go_with_left_out(tmp_path, trend)
    html = (run_dir / "report.html").read_text()
    assert "left out of this run: <b>data, load</b>" in html
    assert html.count("left out of this run (ran:") == 2  # one criteria row, one overview card
    trend_html = html[html.index("data-testid='trend'"):]
    assert [m for m in re.findall(r">(GO|NO-GO|INCONCLUSIVE)</span>", trend_html)][:3] == [
        "GO", "GO", "NO-GO"]
    assert "(this run)" in trend_html


def test_the_trend_comes_from_the_environments_history(tmp_path: Path) -> None:
    from cli_support import run_qgate
    from shop_app import serve_shop

    (tmp_path / "environments").mkdir()
    with serve_shop() as shop:
        (tmp_path / "environments" / "production.toml").write_text(
            f'base_url = "{shop.base_url}"\nproduction = true\n'
            '[[smoke.checks]]\nname = "home"\npath = "/"\n')
        env = {"QGATE_ROOT": str(tmp_path), "QGATE_REPORTS_DIR": str(tmp_path / "reports")}
        for _ in range(2):
            assert run_qgate("smoke", "--env", "production", cwd=tmp_path, env=env).code == 0
    run = json.loads((tmp_path / "reports" / "latest" / "run.json").read_text())
    assert [t["decision"] for t in run["trend"]] == ["GO"]
    assert run["command"] == "qgate smoke --env production"
    assert "data-testid='trend'" in (tmp_path / "reports" / "latest" / "report.html").read_text()
