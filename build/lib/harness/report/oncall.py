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


def render_smoke_table(record: RunRecord, run_dir: Path) -> str:
    """The compact on-call screen: one row per check, then the verdict line."""
    head = f"qgate smoke · {record.environment} · {record.base_url}"
    if record.expected_version:
        head += f" · expect {record.expected_version}"
    tests = _smoke_tests(record)
    width = max([len(t.name) for t in tests] + [5])
    lines = [head, "", f"  {'CHECK':<{width}}  {'STATUS':>6}  {'LATENCY':>8}  RESULT"]
    old_of = {t.details.get("check"): t.details.get("old") for t in tests
              if t.id.startswith("smoke::compare::")}
    for test in tests:
        if test.id.startswith("smoke::compare::") and test.outcome == "passed":
            continue  # the "| old:" column already shows it; list only regressions
        d = test.details
        status = str(d["status"]) if d.get("status") is not None else "-"
        latency = f"{d['latency_ms']:.0f} ms" if "latency_ms" in d else "-"
        if test.outcome == "passed":
            text = "ok"
        elif test.outcome in ("skipped", "not_applicable"):
            text = f"SKIP {test.message}"
        elif "reason" in d:
            attempts = int(d.get("attempts", 1))
            text = f"FAIL {d['reason']}" + (f" (after {attempts} attempts)"
                                            if attempts > 1 else "")
        else:
            text = f"FAIL {test.message.splitlines()[0] if test.message else test.outcome}"
        old = old_of.get(test.name)
        if old:
            text += (f"   | old: {'ok' if old.get('ok') else old.get('reason')}, "
                     f"{old.get('latency_ms', 0):.0f} ms")
        lines.append(f"  {test.name:<{width}}  {status:>6}  {latency:>8}  {text}")
    v = record.verdict
    took = record.suites["smoke"].duration_s if "smoke" in record.suites else 0.0
    lines += ["", f"VERDICT: {v.decision} — {v.summary}  ({took:.1f}s, version "
              f"{record.version or 'unknown'})",
              f"report: {run_dir / 'report.html'}"]
    return "\n".join(lines)


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
