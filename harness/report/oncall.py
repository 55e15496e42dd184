"""What `qgate smoke` prints and exports, rendered from the run record alone.

The on-call table, the `--json` document and the Prometheus textfile all come from the
(redacted) run.json, so they can be rebuilt later and never show a secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.results import TestCase
from harness.runrecord import RunRecord


def _smoke_tests(record: RunRecord) -> tuple[TestCase, ...]:
    smoke = record.suites.get("smoke")
    return smoke.tests if smoke else ()


def smoke_header(environment: str, base_url: str, expected: str, width: int) -> list[str]:
    """The first lines of the on-call screen (printed before any check has finished)."""
    head = f"qgate smoke · {environment} · {base_url}"
    if expected:
        head += f" · expect {expected}"
    return [head, "", f"  {'CHECK':<{width}}  {'STATUS':>6}  {'LATENCY':>8}  RESULT"]


def smoke_row(name: str, outcome: str, details: dict[str, Any], message: str,
              width: int) -> str:
    """One check's row: status, latency and ok / FAIL reason / SKIP why."""
    status = str(details["status"]) if details.get("status") is not None else "-"
    latency = f"{details['latency_ms']:.0f} ms" if "latency_ms" in details else "-"
    if outcome == "passed":
        text = "ok"
    elif outcome in ("skipped", "not_applicable"):
        text = f"SKIP {message}"
    elif "reason" in details:
        attempts = int(details.get("attempts", 1))
        text = f"FAIL {details['reason']}" + (f" (after {attempts} attempts)"
                                              if attempts > 1 else "")
        if details.get("definite") and attempts == 1:
            text += " (definite: not retried)"
    else:
        text = f"FAIL {message.splitlines()[0] if message else outcome}"
    return f"  {name:<{width}}  {status:>6}  {latency:>8}  {text}"


def name_width(names: list[str]) -> int:
    """The CHECK column's width."""
    return max([len(n) for n in names] + [5])


def render_smoke_table(record: RunRecord, run_dir: Path, *,
                       shown: frozenset[str] = frozenset()) -> str:
    """The on-call screen: one row per check, each failure with its curl line, status and
    first body lines, then the verdict line (version and readiness first) and what to do
    next. Rows in `shown` were already printed live as their checks finished."""
    tests = _smoke_tests(record)
    width = name_width([t.name for t in tests])
    lines = [] if shown else smoke_header(record.environment, record.base_url,
                                          record.expected_version, width)
    old_of = {t.details.get("check"): t.details.get("old") for t in tests
              if t.id.startswith("smoke::compare::")}
    for test in tests:
        if test.name in shown and not old_of.get(test.name):
            continue
        if test.id.startswith("smoke::compare::") and test.outcome == "passed":
            continue  # the "| old:" column already shows it; list only regressions
        row = smoke_row(test.name, test.outcome, test.details, test.message, width)
        old = old_of.get(test.name)
        if old:
            row += (f"   | old: {'ok' if old.get('ok') else old.get('reason')}, "
                    f"{old.get('latency_ms', 0):.0f} ms")
        lines.append(row)
    failed = [t for t in tests if t.outcome in ("failed", "error") and t.details.get("curl")]
    if failed:
        lines += ["", "FAILED CHECKS (reproduce with the curl line):"]
        for test in failed:
            d = test.details
            lines.append(f"  ✗ {test.name}: {d.get('reason', test.message)}")
            lines.append(f"      $ {d['curl']}")
            if d.get("status") is not None:
                lines.append(f"      HTTP {d['status']}")
            lines += [f"      | {line}" for line in str(d.get("body", "")).splitlines()]
    lines += ["", verdict_line(record), f"next: {next_step(record)}",
              f"report: {run_dir / 'report.html'}"]
    return "\n".join(lines)


def verdict_line(record: RunRecord) -> str:
    """`VERDICT: …` with what on-call reads first: the version live, then whether it is up."""
    v = record.verdict
    smoke = record.suites.get("smoke")
    took = smoke.duration_s if smoke else 0.0
    version = record.version or "unknown"
    if record.expected_version and record.version == record.expected_version:
        first = f"version {version} as expected"
    elif record.expected_version:
        first = f"version {version}, expected {record.expected_version}"
    else:
        first = f"version {version}"
    checks = [t for t in _smoke_tests(record) if "latency_ms" in t.details
              and not t.id.startswith("smoke::compare::")]
    ok = sum(t.outcome == "passed" for t in checks)
    if smoke is not None and smoke.status == "error" and not ok:
        up = "unreachable"
    elif ok == len(checks):
        up = f"up: all {len(checks)} checks ok"
    else:
        up = f"{ok} of {len(checks)} checks ok"
    return f"VERDICT: {v.decision} — {first} · {up} — {v.summary}  ({took:.1f}s)"


def next_step(record: RunRecord) -> str:
    """One line: what the person reading this does now."""
    decision = record.verdict.decision
    smoke = record.suites.get("smoke")
    if decision == "GO":
        return "nothing to do: the deploy is up; keep the report with the release"
    if decision == "NO-GO":
        return ("roll back (blue/green: switch back) or fix forward now; the failed checks "
                "above show what broke and how to reproduce it")
    if smoke is not None and smoke.status == "error" and smoke.error:
        return (f"qgate got no answer from {record.base_url}: check the URL, DNS and network "
                "from where it ran, then run it again; exit 3 pages a person, it does not "
                "roll back")
    return ("evidence is missing (see above): a person decides; if the deploy was still "
            "warming up, run it again with a longer --timeout")


def render_smoke_json(record: RunRecord, run_dir: Path) -> str:
    """`qgate smoke --json`: the verdict, every check and where the run was written."""
    doc: dict[str, Any] = record.to_dict()["verdict"] | {
        "run_dir": str(run_dir), "environment": record.environment,
        "target": record.base_url, "version": record.version,
        "expected_version": record.expected_version,
        "checks": [{"id": t.id, "name": t.name, "outcome": t.outcome, "duration_s": t.duration_s,
                    "attempts": t.attempts, "message": t.message, **t.details}
                   for t in _smoke_tests(record)],
    }
    return json.dumps(doc, indent=2)


def render_prom(record: RunRecord, now: float) -> str:
    """Prometheus textfile-collector metrics for node_exporter."""
    env = _label(record.environment)
    checks = [t for t in _smoke_tests(record) if "latency_ms" in t.details
              and not t.id.startswith("smoke::compare::")]
    lines = [
        "# HELP qgate_smoke_check_success 1 if the smoke check passed.",
        "# TYPE qgate_smoke_check_success gauge",
        *(f'qgate_smoke_check_success{{env="{env}",check="{_label(t.name)}"}} '
          f"{int(t.outcome == 'passed')}" for t in checks),
        "# HELP qgate_smoke_check_latency_seconds Latency of the last attempt.",
        "# TYPE qgate_smoke_check_latency_seconds gauge",
        *(f'qgate_smoke_check_latency_seconds{{env="{env}",check="{_label(t.name)}"}} '
          f"{float(t.details['latency_ms']) / 1000:.4f}" for t in checks),
        "# HELP qgate_smoke_verdict 1 for the decision of the last smoke run.",
        "# TYPE qgate_smoke_verdict gauge",
        *(f'qgate_smoke_verdict{{env="{env}",decision="{d}"}} '
          f"{int(record.verdict.decision == d)}" for d in ("GO", "NO-GO", "INCONCLUSIVE")),
        "# HELP qgate_smoke_target_info The version the target reported.",
        "# TYPE qgate_smoke_target_info gauge",
        f'qgate_smoke_target_info{{env="{env}",version="{_label(record.version)}"}} 1',
        "# HELP qgate_smoke_last_run_timestamp_seconds When the last smoke run finished.",
        "# TYPE qgate_smoke_last_run_timestamp_seconds gauge",
        f'qgate_smoke_last_run_timestamp_seconds{{env="{env}"}} {now:.0f}',
    ]
    return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
