"""Evidence records: what one suite observed (SuiteResult) and how it is stored.

Engines and the pytest plugin produce SuiteResults; they never judge. `failed` means the
product misbehaved; `error` means the harness could not collect evidence.
Each suite writes `reports/<run-id>/suites/<suite>.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

SuiteStatus = Literal["passed", "failed", "error", "skipped"]
TestOutcome = Literal["passed", "failed", "skipped", "error", "flaky", "not_applicable"]
Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITY_ORDER: tuple[str, ...] = ("info", "low", "medium", "high", "critical")


#: How a rules file (e.g. zap-baseline's tsv) classifies a finding; "" = judged by gate.toml.
FindingLevel = Literal["", "fail", "warn", "info", "ignore"]


@dataclass(frozen=True)
class Finding:
    """One problem a suite found: a security alert, a PII match, a broken invariant.

    Engines fill what their tool knows. `location` is a URL, `table.column[key]` or
    `file:line` (never a raw PII value); `reproduce` is a request or a curl line. `level`
    is the classification a rules file declared for this rule (the verdict applies it);
    empty means the gate's `findings_at_least` criteria decide.
    """

    rule_id: str
    title: str
    severity: Severity
    location: str = ""
    evidence: str = ""
    cwe: str = ""
    wstg: str = ""
    confidence: str = ""
    parameter: str = ""
    reproduce: str = ""
    source: str = ""
    level: FindingLevel = ""

    @property
    def key(self) -> str:
        """How the finding is recognised across runs: its rule and where it was found, without
        what changes from run to run (the target's scheme, host and port; a line number)."""
        where = re.sub(r"^[a-z][a-z0-9+.-]*://[^/\s]+", "", self.location)
        where = re.sub(r":\d+$", "", where)
        return f"{self.rule_id} @ {where or '/'}"


@dataclass(frozen=True)
class Artifact:
    """A file kept as evidence; `path` is relative to the run directory."""

    path: str
    kind: str
    label: str = ""
    test_id: str = ""
    attempt: int = 1


@dataclass(frozen=True)
class TestCase:
    """The final outcome of one test (a journey, a smoke check)."""

    __test__ = False  # not a pytest test class
    id: str
    name: str
    outcome: TestOutcome
    duration_s: float = 0.0
    message: str = ""
    attempts: int = 1
    step: str = ""
    #: every journey step the test entered, in order (the verdict's core-journey evidence)
    steps: tuple[str, ...] = ()
    #: structured observations for writers (a smoke check's HTTP status and latency, …)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Coverage:
    """How much of the target one aspect of a suite really exercised.

    GO is a certificate, so a figure is only as good as what was measured: requests that
    reached the target's origin, pages crawled, checks run, rows or files scanned. The engine
    says what it touched (`observed`) and the least that makes its figures evidence
    (`minimum`, its default; `gate.toml` `[evidence.minimum]` may set another). Below the
    minimum the verdict does not judge the figures it `covers` (metric-name prefixes; empty
    means every figure of the suite): the run is INCONCLUSIVE with `hint`, what to do.
    """

    key: str
    observed: float
    minimum: float
    what: str = ""
    #: the breakdown behind `observed` (a status mix, the modules cut short, …)
    detail: str = ""
    hint: str = ""
    covers: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The words the report shows for this coverage."""
        return self.what or self.key


@dataclass(frozen=True)
class SuiteResult:
    """Everything one suite observed, normalised."""

    suite: str
    status: SuiteStatus
    duration_s: float
    engine: str
    started_at: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    tests: tuple[TestCase, ...] = ()
    error: str = ""
    seed: int | None = None
    #: metrics the engine could not measure meaningfully, with why (too few samples, a run
    #: dominated by rate limiting…); a criterion on one of them is INCONCLUSIVE, not judged
    unmeasured: dict[str, str] = field(default_factory=dict)
    #: context from the engine worth showing next to the suite (an early abort, a profile)
    notes: tuple[str, ...] = ()
    #: named time series for charts, e.g. "load.rps": [[t_seconds, value], …]
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    #: how much of the target the suite exercised (see `Coverage`)
    coverage: tuple[Coverage, ...] = ()
    #: how many samples stand behind a metric (requests behind a p95, orders behind a rate);
    #: below the policy's minimum the verdict treats the metric as not measured
    samples: dict[str, int] = field(default_factory=dict)
    #: why the measuring machine was saturated during the run ("" = it was not): a latency
    #: objective missed then is not evidence of a slow product
    saturated: str = ""
    #: structured evidence about the whole suite for the writers (the e2e suite's request
    #: graph: `{"api_graph": {...}}`), JSON values
    details: dict[str, Any] = field(default_factory=dict)
    #: what went wrong behind a metric (the failing requests, their answers): quoted by a
    #: criterion on it that fails
    explanations: dict[str, str] = field(default_factory=dict)

    def count(self, outcome: TestOutcome) -> int:
        """How many tests ended with `outcome`."""
        return sum(1 for t in self.tests if t.outcome == outcome)

    @property
    def executed(self) -> int:
        """Tests that really ran (not skipped, not declared not applicable)."""
        return sum(1 for t in self.tests if t.outcome not in ("skipped", "not_applicable"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteResult:
        """Inverse of `to_dict`."""
        return cls(
            suite=data["suite"], status=data["status"], duration_s=float(data["duration_s"]),
            engine=data.get("engine", ""), started_at=data.get("started_at", ""),
            metrics={k: float(v) for k, v in data.get("metrics", {}).items()},
            findings=tuple(Finding(**f) for f in data.get("findings", [])),
            artifacts=tuple(Artifact(**a) for a in data.get("artifacts", [])),
            tests=tuple(TestCase(**(t | {"steps": tuple(t.get("steps", ()))}))
                        for t in data.get("tests", [])),
            error=data.get("error", ""), seed=data.get("seed"),
            unmeasured={str(k): str(v) for k, v in data.get("unmeasured", {}).items()},
            notes=tuple(data.get("notes", ())),
            series={str(k): [(float(t), float(v)) for t, v in points]
                    for k, points in data.get("series", {}).items()},
            coverage=tuple(Coverage(**(c | {"covers": tuple(c.get("covers", ()))}))
                           for c in data.get("coverage", [])),
            samples={str(k): int(v) for k, v in data.get("samples", {}).items()},
            saturated=str(data.get("saturated", "")),
            details=dict(data.get("details", {})),
            explanations={str(k): str(v) for k, v in data.get("explanations", {}).items()},
        )

    @classmethod
    def errored(cls, suite: str, error: str, *, engine: str = "", duration_s: float = 0.0,
                started_at: str = "") -> SuiteResult:
        """A result saying the harness could not collect evidence for `suite`."""
        return cls(suite=suite, status="error", duration_s=duration_s, engine=engine,
                   started_at=started_at, error=error)


def status_from_tests(tests: tuple[TestCase, ...]) -> SuiteStatus:
    """The suite status implied by its tests' outcomes."""
    outcomes = {t.outcome for t in tests}
    if "failed" in outcomes:
        return "failed"
    if "error" in outcomes:
        return "error"
    if not tests or outcomes <= {"skipped", "not_applicable"}:
        return "skipped"
    return "passed"


def outcome_counts(suite: str, tests: tuple[TestCase, ...]) -> dict[str, float]:
    """The standard counters every suite reports: `<suite>.tests`, `.failed`, …"""
    counts: dict[str, float] = {f"{suite}.tests": float(len(tests))}
    for outcome in ("passed", "failed", "skipped", "error", "flaky", "not_applicable"):
        counts[f"{suite}.{outcome}"] = float(sum(1 for t in tests if t.outcome == outcome))
    return counts


def suite_path(run_dir: Path, suite: str) -> Path:
    """Where `suite` writes its result inside `run_dir`."""
    return run_dir / "suites" / f"{suite}.json"


def write_suite_result(run_dir: Path, result: SuiteResult, secrets: Iterable[str] = ()) -> Path:
    """Write `result` (redacted) as JSON; returns the path."""
    from harness.redaction import redact_data

    path = suite_path(run_dir, result.suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(redact_data(result.to_dict(), secrets), indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def read_suite_result(run_dir: Path, suite: str) -> SuiteResult | None:
    """The result `suite` wrote, or None when it wrote none.

    A corrupt or partial file (a crash mid-write, a non-numeric metric) is not a crash of the
    gate: it reads as an `error` result saying what is wrong with the file.
    """
    path = suite_path(run_dir, suite)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        return SuiteResult.from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        problem = f"{type(exc).__name__}: {exc}" if not isinstance(exc, KeyError) else \
            f"missing key {exc}"
        return SuiteResult.errored(suite, f"{path.name} is corrupt or partial ({problem}); "
                                          "the suite's evidence cannot be read")

