"""allure-results/: the gate's own Allure results, next to what the suites recorded.

The suites record through allure-pytest into `<run>/allure-results/` (journey steps,
attachments, labels qgate → suite → module). This writer adds, from the run record alone:
one result per gate criterion, `environment.properties`, `categories.json` (product defect,
test defect, infrastructure, flaky) and `executor.json`; and, for a suite allure-pytest did
not record (`qgate smoke`, a run from an older qgate), one result per test. Re-rendering
replaces only the files this writer owns (label framework=qgate), never the suites'.
Uuids are deterministic, so re-rendering never duplicates. Render HTML with the npm `allure`
package (v3, no Java): `qgate report --allure`.
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
    out.mkdir(exist_ok=True)
    recorded = _remove_own_results(out)
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
        if name in recorded:
            continue  # allure-pytest recorded these tests, with their steps
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
    (out / "categories.json").write_text(json.dumps(CATEGORIES, indent=2), encoding="utf-8")
    (out / "executor.json").write_text(json.dumps(
        {"name": "qgate", "type": "qgate", "buildName": record.run_id,
         "reportName": f"qgate {record.verdict.decision}"}), encoding="utf-8")
    return out


#: How Allure sorts what went wrong: the product, the tests, the infrastructure, flakiness.
CATEGORIES = [
    {"name": "Flaky (passed only on a retry)", "matchedStatuses": ["passed", "failed"],
     "flaky": True},
    {"name": "Product defects", "matchedStatuses": ["failed"]},
    {"name": "Infrastructure (target or tool unavailable)", "matchedStatuses": ["broken"],
     "messageRegex": "(?s).*(unreachable|refused|timed out|timeout|not installed|crashed|"
                     "did not start|no result).*"},
    {"name": "Test defects (the harness could not collect evidence)",
     "matchedStatuses": ["broken"]},
]


def _remove_own_results(out: Path) -> set[str]:
    """Delete the results this writer made before; return the suites allure-pytest recorded."""
    recorded: set[str] = set()
    for path in out.glob("*-result.json"):
        try:
            labels = {(la.get("name"), la.get("value"))
                      for la in json.loads(path.read_text(encoding="utf-8")).get("labels", [])}
        except (OSError, ValueError, AttributeError):
            continue
        if ("framework", "qgate") in labels:
            path.unlink()
        elif ("parentSuite", "qgate") in labels:
            recorded |= {value for name, value in labels if name == "suite"}
    return recorded


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
