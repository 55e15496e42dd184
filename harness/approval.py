"""`qgate approve`: a person signs off a GO run for release; the run record keeps who and when.

The approval is added to run.json and every report is rendered again, so the report a
release manager opened is the one that carries their name. Only a complete GO of the gate's
required set can be approved: a NO-GO or INCONCLUSIVE is changed by fixing the product or a
waiver, never by a signature; a `qgate smoke` run certifies that a deploy is up, a shard or a
`--suites` run certifies part of the gate, and none of them is a release.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from harness.errors import ExitCode, UsageError
from harness.runrecord import RunRecord, load_run, now_iso, write_run

#: the profile `finish_run` records for a `qgate smoke` run (its scope is smoke alone)
SMOKE_CHECK = "smoke-check"


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
    refuse_incomplete(run_dir, record)
    approval = {"by": by.strip(), "at": now_iso(), "note": note}
    updated = dataclasses.replace(record, approvals=(*record.approvals, approval))
    write_run(updated, run_dir, point_latest=False)
    from harness.report import render_reports
    render_reports(run_dir, updated)
    return updated


def refuse_incomplete(run_dir: Path, record: RunRecord) -> None:
    """Refuse a GO that certifies less than the gate's required set (one line, exit 2)."""
    release = f"run `qgate run --env {record.environment}` (every required suite) and approve it"
    if record.profile == SMOKE_CHECK:
        raise UsageError(f"{run_dir}: a qgate smoke run certifies that the deploy is up, not a "
                         "release", hint=release)
    if record.shard:
        raise UsageError(f"{run_dir}: shard {record.shard} is part of a run, not a release",
                         hint="merge the shards (`qgate merge`) and approve the merged run")
    required = gate_required(record)
    left_out = [s for s in required if s not in record.requested] if record.requested else []
    if left_out:
        raise UsageError(f"{run_dir}: a partial run (--suites {','.join(record.requested)}); "
                         f"the gate also requires {', '.join(left_out)} for "
                         f"{record.environment}", hint=release)
    absent = [s for s in required if s not in record.suites]
    unjudged = [s for s in required if s in record.suites and s not in record.required]
    if absent or unjudged:
        why = (f"has no evidence from {', '.join(absent)}" if absent else
               f"was judged without requiring {', '.join(unjudged)}")
        raise UsageError(f"{run_dir}: the gate requires {', '.join(required)} for "
                         f"{record.environment}; this run {why}", hint=release)


def gate_required(record: RunRecord) -> list[str]:
    """The suites the project's gate requires for the run's environment now (gate.toml,
    else the environment file's `suites`); the run's own list when neither can be read.

    Read without resolving the environment's `${VAR}`s: approving needs no secrets.
    """
    import tomllib

    from harness.config import environments_dir, project_root
    from harness.policy import load_policy

    policy = load_policy(project_root() / "gate.toml")
    if record.environment in policy.required:
        return list(policy.required[record.environment])
    path = environments_dir() / f"{record.environment}.toml"
    try:
        suites = tomllib.loads(path.read_text(encoding="utf-8")).get("suites")
    except (OSError, tomllib.TOMLDecodeError):
        suites = None
    if isinstance(suites, list) and all(isinstance(s, str) for s in suites):
        return list(suites)
    return list(record.required)


def approve_command(run_dir: str, by: str, note: str) -> int:
    """Print the approval and exit 0 (or a one-line error, exit 2)."""
    record = approve_run(Path(run_dir), by, note)
    last = record.approvals[-1]
    print(f"approved run {record.run_id} ({record.environment}, GO) by {last['by']} at "
          f"{last['at']}" + (f": {note}" if note else ""))
    return int(ExitCode.GO)
