"""report.html in a real headless Chromium, with JavaScript on and off: the verdict, the
blocking reasons, the charts and the provenance render (the page needs no script and no
network)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness.policy import Criterion, GatePolicy, Waiver
from harness.report import render_reports
from harness.results import Finding, SuiteResult, TestCase
from harness.runrecord import RunRecord, write_run
from harness.verdict import judge

TODAY = dt.date(2026, 11, 30)


def report(tmp_path: Path) -> Path:
    e2e = SuiteResult(
        "e2e", "failed", 30.0, "pytest + pytest-playwright",
        metrics={"e2e.search.duration_ms": 420.0, "e2e.payment.duration_ms": 1800.0,
                 "e2e.add_to_cart.duration_ms": 650.0},
        tests=(TestCase("t::checkout", "checkout", "failed", 9.0, message="payable 44 ≠ 72",
                        steps=("search", "payment")),
               TestCase("t::search", "search", "passed", 3.0, steps=("search",))))
    security = SuiteResult(
        "security", "passed", 60.0, "wapiti",
        tests=(TestCase("s::scan", "scan", "passed"),),
        findings=(Finding("xss", "Reflected XSS", "high", "http://x/search?q=", cwe="79"),
                  Finding("hdr", "Missing CSP", "low", "http://x/")))
    policy = GatePolicy(criteria=[
        Criterion("e2e", "payment under 1 s", "e2e.payment.duration_ms", "<=", 1000),
        Criterion("security", "no high findings", findings_at_least="high"),
        Criterion("security", "few low findings", findings_at_least="low", op="<=",
                  threshold=1, severity="warning")])
    waiver = Waiver("W-1", "qa@example.com", "QC-9", TODAY, rule="hdr")
    suites = {"e2e": e2e, "security": security}
    verdict = judge(suites, policy, [waiver], environment="staging",
                    required=["e2e", "security", "load"], today=TODAY,
                    absent={"load": "left out of this run"})
    record = RunRecord("r1", "staging", "https://staging.example", "2.4.1", "a", "b", verdict,
                       suites, required=("e2e", "security", "load"),
                       not_run={"load": "left out of this run"},
                       provenance={"git_commit": "abc123", "tools": {"pytest": "8.3"},
                                   "python": "3.11.7", "host": "ci-1"})
    run_dir = tmp_path / "r1"
    (run_dir / "suites").mkdir(parents=True)
    write_run(record, run_dir)
    return render_reports(run_dir, record)["html"]


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_report_renders_in_real_chromium(tmp_path: Path, javascript: bool) -> None:
    from playwright.sync_api import sync_playwright

    from harness.e2e.browser import LAUNCH_ARGS, discover_browser

    html = report(tmp_path)
    executable = discover_browser("")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable or None, args=list(LAUNCH_ARGS))
        context = browser.new_context(java_script_enabled=javascript, offline=True)
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(html.as_uri())
        assert page.get_by_test_id("decision").inner_text() == "NO-GO"
        blocking = page.get_by_test_id("blocking").inner_text()
        assert "payment under 1 s" in blocking and "no high findings" in blocking
        assert "left out of this run" in blocking
        for chart in ("steps", "risk"):
            box = page.locator(f"svg[data-chart='{chart}']").first.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 30, chart
        assert "1800 ms" in page.locator("table").first.inner_text()
        assert "W-1" in page.get_by_role("heading", name="Waivers").locator("..").inner_text()
        provenance = page.get_by_test_id("provenance").inner_text()
        assert "abc123" in provenance and "2.4.1" in provenance
        browser.close()
