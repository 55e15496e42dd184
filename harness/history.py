"""Run history and baselines: what earlier runs observed, so a run can be compared with them.

Every judged run appends one line to `reports/history/<environment>.jsonl`: its decision,
profile, metrics, failing and flaky tests and findings (a compact copy, so the history
survives pruned run folders). `--baseline` resolves to a `Baseline`:

- `RUN_DIR`: that run's record, when it is a run of the same environment and profile (any
  other is refused: it measured another system or another load);
- `last-go`: the newest GO run of the same environment and profile;
- `last-go:N`: the median of each metric over the newest N GO runs (one noisy run does not
  move the bar).

The verdict compares with a Baseline; nothing here judges.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.runrecord import RunRecord, load_run
from harness.verdict import Baseline


@dataclass(frozen=True)
class HistoryEntry:
    """One judged run, as the history keeps it."""

    run_id: str
    run_dir: str
    environment: str
    profile: str
    decision: str
    finished_at: str
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    failed: dict[str, list[str]] = field(default_factory=dict)
    flaky: dict[str, list[str]] = field(default_factory=dict)
    passed: dict[str, list[str]] = field(default_factory=dict)
    findings: dict[str, list[str]] = field(default_factory=dict)


def entry_of(record: RunRecord, run_dir: Path, profile: str) -> HistoryEntry:
    """The history line for a judged run."""
    def ids(outcome: str) -> dict[str, list[str]]:
        return {n: sorted(t.id for t in s.tests if t.outcome == outcome)
                for n, s in record.suites.items()}

    return HistoryEntry(
        run_id=record.run_id, run_dir=str(run_dir.resolve()), environment=record.environment,
        profile=profile, decision=record.verdict.decision, finished_at=record.finished_at,
        metrics={n: dict(s.metrics) for n, s in record.suites.items()},
        failed=ids("failed"), flaky=ids("flaky"), passed=ids("passed"),
        findings={n: sorted({f.key for f in s.findings})
                  for n, s in record.suites.items()})


def history_file(reports_root: Path, environment: str) -> Path:
    """`reports/history/<environment>.jsonl`."""
    return reports_root / "history" / f"{environment}.jsonl"


def append_history(reports_root: Path, entry: HistoryEntry) -> Path:
    """Add `entry` to its environment's history (one JSON line, appended atomically enough:
    a single write of one line)."""
    path = history_file(reports_root, entry.environment)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(asdict(entry), sort_keys=True) + "\n")
    return path


def load_history(reports_root: Path, environment: str) -> list[HistoryEntry]:
    """Every readable entry of `environment`, oldest first (a torn line is skipped)."""
    path = history_file(reports_root, environment)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(HistoryEntry(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return out


def resolve_baseline(spec: str, *, environment: str, profile: str,
                     reports_root: Path) -> Baseline:
    """The Baseline `--baseline SPEC` names (a run folder, `last-go` or `last-go:N`)."""
    if spec == "last-go" or spec.startswith("last-go:"):
        count_text = spec.partition(":")[2] or "1"
        if not count_text.isdigit() or int(count_text) < 1:
            raise UsageError(f"--baseline: {spec!r}: expected last-go or last-go:N (N ≥ 1)")
        count = int(count_text)
        runs = [e for e in load_history(reports_root, environment)
                if e.decision == "GO" and e.profile == profile][-count:]
        if not runs:
            where = history_file(reports_root, environment)
            raise UsageError(f"--baseline {spec}: no GO run of {environment} (profile "
                             f"{profile or 'default'}) in {where}",
                             hint="run the gate until it is GO once, or pass a run folder")
        what = (f"run {runs[0].run_id}" if len(runs) == 1 else
                f"median of the last {len(runs)} GO runs ({', '.join(e.run_id for e in runs)})")
        return baseline_of(runs, what)
    run_dir = Path(spec)
    if not (run_dir / "run.json").is_file():
        raise UsageError(f"--baseline: {spec}: no run.json here",
                         hint="pass a reports/<run-id> folder, last-go or last-go:N")
    record = load_run(run_dir)
    refuse_incomparable(spec, record, environment=environment, profile=profile)
    return baseline_of([entry_of(record, run_dir, record.profile)], f"run {record.run_id}")


def refuse_incomparable(spec: str, record: RunRecord, *, environment: str,
                        profile: str) -> None:
    """A run folder of another environment or load profile measured another system or
    another load: comparing with it proves nothing (a 6.5x regression passed that way)."""
    hint = (f"pass a run of {environment} with profile {profile}, or --baseline last-go "
            "(it picks only those)")
    if record.environment != environment:
        raise UsageError(f"--baseline {spec}: run {record.run_id} is a run of "
                         f"{record.environment}, not of {environment}", hint=hint)
    if not record.profile:
        raise UsageError(f"--baseline {spec}: run {record.run_id} does not record its load "
                         f"profile, so it cannot be compared with this run ({profile})",
                         hint=hint)
    if record.profile != profile:
        raise UsageError(f"--baseline {spec}: run {record.run_id} ran load profile "
                         f"{record.profile}, this run {profile}", hint=hint)


def baseline_of(entries: Sequence[HistoryEntry], source: str) -> Baseline:
    """Combine entries: each metric's median; test and finding sets from the newest run."""
    metrics: dict[str, dict[str, float]] = {}
    suites = {s for e in entries for s in e.metrics}
    for suite in suites:
        names = {m for e in entries for m in e.metrics.get(suite, {})}
        metrics[suite] = {m: statistics.median(values) for m in names
                          if (values := [e.metrics[suite][m] for e in entries
                                         if m in e.metrics.get(suite, {})])}
    newest = entries[-1]

    def sets(data: Mapping[str, Any]) -> dict[str, frozenset[str]]:
        return {suite: frozenset(items) for suite, items in data.items()}

    return Baseline(source=source, run_ids=tuple(e.run_id for e in entries), metrics=metrics,
                    failed=sets(newest.failed), flaky=sets(newest.flaky),
                    passed=sets(newest.passed), findings=sets(newest.findings))
