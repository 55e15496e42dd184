"""`qgate approve`: a person signs off a GO run for release; the run record keeps who and when.

The approval is added to run.json and every report is rendered again, so the report a
release manager opened is the one that carries their name. Only a GO can be approved: a
NO-GO or INCONCLUSIVE is changed by fixing the product or a waiver, never by a signature.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from harness.errors import ExitCode, UsageError
from harness.runrecord import RunRecord, load_run, now_iso, write_run


def approve_run(run_dir: Path, by: str, note: str = "") -> RunRecord:
    """Record `by`'s approval of the GO run in `run_dir`; returns the updated record."""
    if not by.strip():
        raise UsageError("--by: say who approves (a name or login)")
    if not (run_dir / "run.json").is_file():
        raise UsageError(f"{run_dir}: no run.json here", hint="pass a reports/<run-id> folder")
    record = load_run(run_dir)
    if record.verdict.decision != "GO":
        raise UsageError(f"{run_dir}: the verdict is {record.verdict.decision}; only a GO can "
                         "be approved for release",
                         hint="fix the product, or waive a known issue in waivers.toml")
    approval = {"by": by.strip(), "at": now_iso(), "note": note}
    updated = dataclasses.replace(record, approvals=(*record.approvals, approval))
    write_run(updated, run_dir, point_latest=False)
    from harness.report import render_reports
    render_reports(run_dir, updated)
    return updated


def approve_command(run_dir: str, by: str, note: str) -> int:
    """Print the approval and exit 0 (or a one-line error, exit 2)."""
    record = approve_run(Path(run_dir), by, note)
    last = record.approvals[-1]
    print(f"approved run {record.run_id} ({record.environment}, GO) by {last['by']} at "
          f"{last['at']}" + (f": {note}" if note else ""))
    return int(ExitCode.GO)
