"""The security suite's panel in report.html: findings by risk, each with its evidence, how to
reproduce it, its rules-file level, and whether a waiver covers it (from the run record)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from harness.results import SEVERITY_ORDER, Finding, SuiteResult

_LEVEL_COLOURS = {"fail": "#cf222e", "warn": "#9a6700", "info": "#0969da", "ignore": "#6e7781",
                  "": "#57606a"}
_RISK_COLOURS = {"critical": "#82071e", "high": "#cf222e", "medium": "#bc4c00", "low": "#9a6700",
                 "info": "#57606a"}


def render(result: SuiteResult, criteria: Sequence[Any] = ()) -> str:
    """HTML for the security findings of `result`; `criteria` are this suite's verdict rows."""
    if not result.findings:
        return "<h3>Security findings</h3><p>No findings.</p>"
    waived = {c.name: c for c in criteria if getattr(c, "outcome", "") == "waived"}
    by_risk: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_risk.setdefault(finding.severity, []).append(finding)
    counts = " · ".join(f"{_pill(risk, _RISK_COLOURS[risk])} {len(by_risk[risk])}"
                        for risk in reversed(SEVERITY_ORDER) if risk in by_risk)
    parts = ["<h3>Security findings</h3>", f"<p>{counts} — level from the rules file "
             "(FAIL blocks, WARN warns, INFO shows, IGNORE hidden from the gate; none: judged "
             "by risk in gate.toml)</p>"]
    for risk in reversed(SEVERITY_ORDER):
        findings = by_risk.get(risk)
        if not findings:
            continue
        rows = "".join(_row(f, waived.get(f"finding {f.rule_id} at {f.location}"))
                       for f in sorted(findings, key=lambda f: (f.level == "ignore", f.rule_id)))
        parts.append(f"<h4>{escape(risk)} ({len(findings)})</h4><table><tr><th>level</th>"
                     "<th>finding</th><th>where</th><th>evidence</th><th>reproduce</th></tr>"
                     f"{rows}</table>")
    return "".join(parts)


def _row(finding: Finding, waiver: Any) -> str:
    level = finding.level.upper() or "—"
    mark = _pill(level, _LEVEL_COLOURS[finding.level])
    if waiver is not None:
        mark += (f" {_pill('waived', '#6e7781')}<br><small>{escape(waiver.waiver)}: "
                 f"{escape(waiver.reason)}</small>")
    refs = " · ".join(escape(x) for x in (finding.cwe, finding.wstg, finding.confidence and
                                          f"confidence {finding.confidence}") if x)
    where = escape(finding.location) + (f"<br><small>parameter <code>{escape(finding.parameter)}"
                                        "</code></small>" if finding.parameter else "")
    style = " style='opacity:.6'" if finding.level == "ignore" else ""
    return (f"<tr{style}><td>{mark}</td><td><b>{escape(finding.title)}</b><br><small><code>"
            f"{escape(finding.rule_id)}</code> · {escape(finding.source)}"
            f"{' · ' + refs if refs else ''}</small></td><td>{where}</td>"
            f"<td><pre>{escape(finding.evidence)}</pre></td>"
            f"<td><pre>{escape(finding.reproduce)}</pre></td></tr>")


def _pill(text: str, colour: str) -> str:
    return (f"<span class='pill' style='background:{colour}'>{escape(text)}</span>")
