"""allure-results/: Allure result files rendered from the run record.

One result per test and per criterion, with deterministic uuids (re-rendering replaces,
never duplicates). Render HTML with the npm `allure` package (v3, no Java):
`npx allure generate reports/latest/allure-results`.
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
import shutil
import uuid
from pathlib import Path
from typing import Any

from harness.runrecord import RunRecord

_TEST_STATUS = {"passed": "passed", "flaky": "passed", "failed": "failed", "error": "broken",
                "skipped": "skipped", "not_applicable": "skipped"}
_CRITERION_STATUS = {"pass": "passed", "warn": "passed", "fail": "failed", "error": "broken",
                     "waived": "skipped", "n/a": "skipped"}


def render_allure(record: RunRecord, run_dir: Path) -> Path:
    """Write `<run_dir>/allure-results/` from `record`; returns the folder."""
    out = run_dir / "allure-results"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    start = _millis(record.started_at)
    stop = _millis(record.finished_at)
    for c in record.verdict.criteria:
        detail = f"observed {c.observed}, threshold {c.threshold}: {c.reason}"
        _write(out, record, f"gate::{c.suite}::{c.name}", {
            "name": f"{c.suite}: {c.name}", "status": _CRITERION_STATUS[c.outcome],
            "statusDetails": {"message": detail}, "start": start, "stop": stop,
            "labels": _labels("qgate.gate", c.suite) + [
                {"name": "tag", "value": "blocking" if c.blocking else "warning"}],
        })
    for name, suite in record.suites.items():
        for test in suite.tests:
            attachments = [_attach(out, run_dir, a.path, a.label or a.kind)
                           for a in suite.artifacts if a.test_id == test.id]
            details: dict[str, Any] = {"message": test.message.splitlines()[0]
                                       if test.message else "", "trace": test.message}
            if test.outcome == "flaky":
                details["flaky"] = True
            _write(out, record, f"{name}::{test.id}", {
                "name": test.name, "fullName": test.id,
                "status": _TEST_STATUS[test.outcome], "statusDetails": details,
                "start": start, "stop": start + int(test.duration_s * 1000),
                "labels": _labels(name, name),
                "attachments": [a for a in attachments if a],
                "parameters": [{"name": "attempts", "value": str(test.attempts)}],
            })
    (out / "environment.properties").write_text(
        f"environment={record.environment}\nbase_url={record.base_url}\n"
        f"version={record.version}\ndecision={record.verdict.decision}\n", encoding="utf-8")
    (out / "executor.json").write_text(json.dumps(
        {"name": "qgate", "type": "qgate", "buildName": record.run_id,
         "reportName": f"qgate {record.verdict.decision}"}), encoding="utf-8")
    return out


def _labels(suite: str, sub: str) -> list[dict[str, str]]:
    return [{"name": "parentSuite", "value": "qgate"}, {"name": "suite", "value": suite},
            {"name": "subSuite", "value": sub}, {"name": "framework", "value": "qgate"}]


def _write(out: Path, record: RunRecord, key: str, body: dict[str, Any]) -> None:
    ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"qgate:{record.run_id}:{key}"))
    history = str(uuid.uuid5(uuid.NAMESPACE_URL, f"qgate:{record.environment}:{key}"))
    body = {"uuid": ident, "historyId": history, "stage": "finished"} | body
    (out / f"{ident}-result.json").write_text(json.dumps(body), encoding="utf-8")


def _attach(out: Path, run_dir: Path, rel: str, label: str) -> dict[str, str] | None:
    source = run_dir / rel
    if not source.is_file():
        return None
    name = f"{uuid.uuid5(uuid.NAMESPACE_URL, rel)}-attachment{source.suffix}"
    shutil.copyfile(source, out / name)
    kind = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
    return {"name": label, "source": name, "type": kind}


def _millis(iso: str) -> int:
    try:
        return int(dt.datetime.fromisoformat(iso).timestamp() * 1000)
    except ValueError:
        return 0
