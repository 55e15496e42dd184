"""The run record: `reports/<run-id>/run.json`, the source of truth every writer renders from.

Schema (version 1; fields may be added, never renamed)::

    {"schema_version": 1, "run_id", "environment", "target": {"base_url", "version"},
     "started_at", "finished_at", "qgate_version", "scope": {"requested", "required"},
     "production_override": bool, "notes": [str], "shard": "I/N" | "",
     "expected_version": str, "baseline": str, "profile": str,
     "approvals": [{"by", "at", "note"}],
     "provenance": {"git_commit", "tools": {"<package>": "<version>"}, "python", "host"},
     "not_run": {"<suite>": "why it produced no result"},
     "verdict": {"decision": "GO"|"NO-GO"|"INCONCLUSIVE", "summary",
                 "criteria": [{"suite", "name", "observed", "threshold",
                               "outcome": "pass"|"warn"|"fail"|"waived"|"error"|"n/a",
                               "reason", "blocking", "waiver", "baseline"}]},
     "suites": {"<name>": {"status": "passed"|"failed"|"error"|"skipped", "duration_s",
                           "engine", "metrics": {}, "findings": [], "artifacts": [],
                           "tests": [], "error", "seed"}}}
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets as _random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.redaction import redact_data
from harness.results import SuiteResult
from harness.verdict import Verdict

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RunRecord:
    """One gate run: target, scope, every suite's evidence and the verdict."""

    run_id: str
    environment: str
    base_url: str
    version: str
    started_at: str
    finished_at: str
    verdict: Verdict
    suites: Mapping[str, SuiteResult]
    requested: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    production_override: bool = False
    qgate_version: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: suites planned or required that produced no result, with why (left out, fail fast)
    not_run: Mapping[str, str] = field(default_factory=dict)
    #: "I/N" when this run is one shard of a suite split across machines
    shard: str = ""
    #: the version the run was told to expect (--expect-version), if any
    expected_version: str = ""
    #: what the run was compared with (--baseline), e.g. "run 2026…-demo-1a2b"
    baseline: str = ""
    #: which history it belongs to: runs are compared within environment + profile
    profile: str = ""
    #: people who approved this GO for release: [{"by", "at", "note"}] (`qgate approve`)
    approvals: tuple[Mapping[str, str], ...] = ()
    #: where the evidence came from: git commit of the project, tool versions, platform
    provenance: Mapping[str, Any] = field(default_factory=dict)
    #: the command line that started the run (redacted like everything else)
    command: str = ""
    #: the environment's previous judged runs, oldest first: [{"run_id", "decision",
    #: "finished_at", "profile"}] (from reports/history/, for the report's trend)
    trend: tuple[Mapping[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The run.json document."""
        return {
            "schema_version": SCHEMA_VERSION, "run_id": self.run_id,
            "environment": self.environment,
            "target": {"base_url": self.base_url, "version": self.version},
            "started_at": self.started_at, "finished_at": self.finished_at,
            "qgate_version": self.qgate_version,
            "scope": {"requested": list(self.requested), "required": list(self.required)},
            "production_override": self.production_override, "notes": list(self.notes),
            "not_run": dict(self.not_run), "shard": self.shard,
            "expected_version": self.expected_version, "baseline": self.baseline,
            "profile": self.profile, "approvals": [dict(a) for a in self.approvals],
            "provenance": dict(self.provenance), "command": self.command,
            "trend": [dict(t) for t in self.trend],
            "verdict": self.verdict.to_dict(),
            "suites": {name: _suite_entry(r) for name, r in self.suites.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Parse a run.json document."""
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"run.json schema_version {version!r} is not supported")
        scope = data.get("scope", {})
        return cls(
            run_id=data["run_id"], environment=data["environment"],
            base_url=data["target"]["base_url"], version=data["target"].get("version", ""),
            started_at=data["started_at"], finished_at=data["finished_at"],
            verdict=Verdict.from_dict(data["verdict"]),
            suites={n: SuiteResult.from_dict({"suite": n, **s})
                    for n, s in data["suites"].items()},
            requested=tuple(scope.get("requested", ())), required=tuple(scope.get("required", ())),
            production_override=bool(data.get("production_override", False)),
            qgate_version=data.get("qgate_version", ""), notes=tuple(data.get("notes", ())),
            not_run=dict(data.get("not_run", {})), shard=str(data.get("shard", "")),
            expected_version=str(data.get("expected_version", "")),
            baseline=str(data.get("baseline", "")), profile=str(data.get("profile", "")),
            approvals=tuple(dict(a) for a in data.get("approvals", ())),
            provenance=dict(data.get("provenance", {})),
            command=str(data.get("command", "")),
            trend=tuple(dict(t) for t in data.get("trend", ())),
        )


def _suite_entry(result: SuiteResult) -> dict[str, Any]:
    entry = result.to_dict()
    entry.pop("suite")
    return entry


#: Packages whose versions say how the evidence was collected (when installed).
_TOOLS = ("qcommerce-harness", "pytest", "playwright", "pytest-playwright", "locust",
          "zaproxy", "sqlalchemy", "faker", "httpx")


def collect_provenance(project: Path) -> dict[str, Any]:
    """Where a run's evidence came from: the project's git commit, tool versions, platform."""
    import importlib.metadata
    import platform
    import subprocess

    tools: dict[str, str] = {}
    for name in _TOOLS:
        try:
            tools[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    commit = ""
    if (project / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"],
                                    capture_output=True, text=True, timeout=5,
                                    check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            commit = ""
    return {"git_commit": commit, "tools": tools, "python": platform.python_version(),
            "host": platform.node()}


def command_line() -> str:
    """How this process was started, as a shell line (`qgate …` for the console script)."""
    import os
    import shlex
    import sys

    words = list(sys.argv)
    if words and (os.path.basename(words[0]) == "qgate" or words[0].endswith("harness/cli.py")
                  or words[0] == "-m"):
        words[0] = "qgate"
    elif words and os.path.basename(words[0]) in ("pytest", "py.test", "__main__.py"):
        words[0] = "pytest"
    return shlex.join(words)


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_run_dir(reports_root: Path, environment: str) -> Path:
    """Create `reports/<run-id>/` with a sortable, unique run id."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = reports_root / f"{stamp}-{environment}-{_random.token_hex(2)}"
    (path / "suites").mkdir(parents=True)
    return path


def write_run(record: RunRecord, run_dir: Path, secrets: Iterable[str] = (), *,
              point_latest: bool = True) -> Path:
    """Write run.json (redacted) and point `reports/latest` at this run."""
    path = run_dir / "run.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(redact_data(record.to_dict(), secrets), indent=2), encoding="utf-8")
    tmp.replace(path)
    if not point_latest:
        return path
    link = run_dir.parent / "latest"
    tmp_link = run_dir.parent / f".latest-{os.getpid()}"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    tmp_link.symlink_to(run_dir.name)
    tmp_link.replace(link)  # atomic: a reader never sees `latest` missing
    return path


def load_run(run_dir: Path) -> RunRecord:
    """Read `<run_dir>/run.json`."""
    return RunRecord.from_dict(json.loads((run_dir / "run.json").read_text(encoding="utf-8")))
