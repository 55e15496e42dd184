"""report.html's security panel: findings by risk, evidence, reproduce, levels, waivers."""

from __future__ import annotations

import datetime as dt

from harness.policy import Criterion, GatePolicy, Waiver
from harness.report.html import render_html
from harness.results import Finding, SuiteResult, TestCase
from harness.runrecord import RunRecord
from harness.verdict import judge

XSS = Finding("40012", "Cross Site Scripting (Reflected)", "high", "http://s/search?q=x",
              evidence="attack: <script>alert(1)</script>", cwe="CWE-79", wstg="WSTG-INPV-01",
              parameter="q", reproduce="curl -i 'http://s/search?q=%3Cscript%3E'",
              source="zap (active)", level="fail")
CSP = Finding("10038", "CSP Header Not Set", "medium", "http://s/", source="zap (passive)",
              level="warn")
STAMP = Finding("10096", "Timestamp Disclosure", "low", "http://s/", level="ignore")
LEAK = Finding("qgate.error-page-leak", "Error page leaks a stack trace", "medium",
               "http://s/x", source="qgate check")


def record() -> RunRecord:
    suite = SuiteResult("security", "passed", 3.0, "pytest", findings=(XSS, CSP, STAMP, LEAK),
                        tests=(TestCase("t", "t", "passed"),))
    waiver = Waiver("W-7", "sec@example.com", "fix in QC-9", dt.date(2026, 12, 31),
                    rule="40012", url="*/search*")
    policy = GatePolicy(criteria=[Criterion("security", "no medium", findings_at_least="medium")])
    verdict = judge({"security": suite}, policy, [waiver], environment="demo",
                    required=["security"], today=dt.date(2026, 11, 30))
    return RunRecord("r1", "demo", "http://s", "1.0.0", "", "", verdict, {"security": suite})


def test_panel_shows_findings_by_risk_with_levels_waivers_and_reproduce() -> None:
    html = render_html(record())
    panel = html[html.index("<h3>Security findings</h3>"):]
    assert panel.index("<h4>high (1)</h4>") < panel.index("<h4>medium (2)</h4>") < panel.index(
        "<h4>low (1)</h4>")
    assert ">FAIL</span> <span class='pill' style='background:#6e7781'>waived</span>" in panel
    assert "W-7: fix in QC-9" in panel
    assert ">WARN</span>" in panel and ">IGNORE</span>" in panel
    assert "curl -i &#x27;http://s/search?q=%3Cscript%3E&#x27;" in panel
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel  # evidence escaped
    assert "CWE-79 · WSTG-INPV-01" in panel and "parameter <code>q</code>" in panel
