"""The console summary printed at the end of a run, rendered from the run record."""

from __future__ import annotations

from pathlib import Path

from harness.runrecord import RunRecord


def render_console(record: RunRecord, report: Path | None = None) -> str:
    """A compact text summary: suites, notable criteria, then the verdict line."""
    lines = [""]
    for name, s in record.suites.items():
        lines.append(f"  {name:<10} {s.status:<8} {len(s.tests):>3} tests  "
                     f"{s.count('failed')} failed  {s.count('flaky')} flaky  "
                     f"{s.count('skipped')} skipped  {s.duration_s:6.1f}s")
    notable = [c for c in record.verdict.criteria if c.outcome != "pass"]
    if notable:
        lines.append("")
    for c in notable:
        lines.append(f"  {c.outcome.upper():<7} {c.suite}: {c.name} — {c.reason}")
    lines += ["", f"VERDICT: {record.verdict.decision} — {record.verdict.summary}"]
    if report:
        lines.append(f"report: {report}")
    return "\n".join(lines)
