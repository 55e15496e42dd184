"""The console summary printed at the end of a run, rendered from the run record."""

from __future__ import annotations

from pathlib import Path

from harness.report.text import headline, left_out, shorten
from harness.runrecord import RunRecord


def render_console(record: RunRecord, report: Path | None = None) -> str:
    """A compact text summary: suites, notable criteria, then the verdict line."""
    lines = [""]
    for name, s in record.suites.items():
        na = s.count("not_applicable")
        lines.append(f"  {name:<10} {s.status:<8} {len(s.tests):>3} tests  "
                     f"{s.count('failed')} failed  {s.count('flaky')} flaky  "
                     f"{s.count('skipped')} skipped" + (f"  {na} n/a" if na else "")
                     + f"  {s.duration_s:6.1f}s")
    order = {"fail": 0, "error": 1, "warn": 2, "waived": 3, "n/a": 4}
    notable = sorted((c for c in record.verdict.criteria if c.outcome != "pass"),
                     key=lambda c: order.get(c.outcome, 5))  # failures first
    left = [c for c in notable if c.outcome == "error" and left_out(c.reason)]
    if notable:
        lines.append("")
    for c in notable:
        if c not in left:
            lines.append(f"  {c.outcome.upper():<7} {c.suite}: {c.name} — {shorten(c.reason, 400)}")
    if left:
        lines.append(f"  LEFT OUT {', '.join(sorted(c.suite for c in left))}: the gate requires "
                     "them, so this run cannot be GO")
    if record.baseline:
        deltas = [f"    {c.suite}: {c.name}: {delta_text(c.observed, c.baseline, c.unit)}"
                  for c in record.verdict.criteria
                  if isinstance(c.baseline, (int, float)) and isinstance(c.observed, (int, float))
                  and not c.name.startswith("no new ")]
        lines += ["", f"  compared with {record.baseline}:"]
        lines += deltas or ["    no metric criterion to compare"]
    lines += [f"  approved for release by {a.get('by')} at {a.get('at')}"
              for a in record.approvals]
    lines += ["", f"VERDICT: {record.verdict.decision} — {headline(record.verdict, 400)}"]
    if report:
        lines.append(f"report: {report}")
    return "\n".join(lines)


def delta_text(observed: float, baseline: float, unit: str = "") -> str:
    """`1140 ms (baseline 950 ms, +20.0%)`: a metric next to its baseline value."""
    change = observed - baseline
    pct = f", {change / baseline * 100:+.1f}%" if baseline else ""
    u = f" {unit}" if unit and unit != "ratio" else ""
    return f"{observed:g}{u} (baseline {baseline:g}{u}{pct})"
