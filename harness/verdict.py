"""The verdict: the only place in qgate that judges.

`judge` is a pure function of the SuiteResults, the gate policy and the waivers. It fails
closed: a required suite that is missing, errored or ran nothing makes the run
INCONCLUSIVE, never GO. Any failed blocking criterion makes it NO-GO (the product
misbehaved, whatever else is unknown).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, Literal

from harness.errors import ExitCode
from harness.policy import Criterion, EvidencePolicy, GatePolicy, Waiver
from harness.results import SEVERITY_ORDER, Coverage, Finding, SuiteResult, TestCase

Decision = Literal["GO", "NO-GO", "INCONCLUSIVE"]
Outcome = Literal["pass", "warn", "fail", "waived", "error", "n/a"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
}
EXIT_CODES: dict[str, ExitCode] = {
    "GO": ExitCode.GO, "NO-GO": ExitCode.NO_GO, "INCONCLUSIVE": ExitCode.INCONCLUSIVE,
}


@dataclass(frozen=True)
class Baseline:
    """What a run is compared with (`--baseline`): metrics (each the median over `run_ids`),
    and the newest baseline run's failed, flaky and passed tests and finding keys."""

    source: str
    run_ids: tuple[str, ...]
    metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    failed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    flaky: Mapping[str, frozenset[str]] = field(default_factory=dict)
    passed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    findings: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CriterionResult:
    """The outcome of one criterion: observed vs threshold, and why."""

    suite: str
    name: str
    observed: float | str | None
    threshold: float | str | None
    outcome: Outcome
    reason: str
    blocking: bool = True
    waiver: str = ""
    #: the baseline's value of the same metric, when the run was compared with one
    baseline: float | str | None = None
    #: the unit of `observed` and `threshold` ("ms", "s", "%", "/s", "/min"), from the metric
    unit: str = ""


@dataclass(frozen=True)
class Verdict:
    """The decision and the per-criterion outcomes behind it."""

    decision: Decision
    criteria: tuple[CriterionResult, ...]
    summary: str

    @property
    def exit_code(self) -> ExitCode:
        """The process exit code for this decision."""
        return EXIT_CODES[self.decision]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"decision": self.decision, "summary": self.summary,
                "criteria": [asdict(c) for c in self.criteria]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """Inverse of `to_dict`."""
        return cls(decision=data["decision"], summary=data.get("summary", ""),
                   criteria=tuple(CriterionResult(**c) for c in data["criteria"]))


def judge(suites: Mapping[str, SuiteResult], policy: GatePolicy, waivers: Sequence[Waiver], *,
          environment: str, required: Collection[str], today: dt.date,
          fail_on_flaky: bool | None = None, absent: Mapping[str, str] | None = None,
          baseline: Baseline | None = None) -> Verdict:
    """Judge the evidence: GO, NO-GO or INCONCLUSIVE with one outcome per criterion.

    `absent` says why a suite has no result (left out of the run, not started after smoke
    failed); a required suite without a result is INCONCLUSIVE either way. With a
    `baseline`, every metric criterion shows the baseline's value, relative criteria
    (`baseline = "+20%"`) are judged against it, and regressions since it are listed.
    """
    flaky_fails = policy.fail_on_flaky if fail_on_flaky is None else fail_on_flaky
    here = [w for w in waivers if w.applies_to(environment)]
    active = [w for w in here if not w.expired(today)]
    out: list[CriterionResult] = [
        CriterionResult(w.suite or "gate", f"waiver {w.id} is valid", w.expires.isoformat(),
                        today.isoformat(), "warn",
                        f"expired on {w.expires.isoformat()} (owner {w.owner}); it no longer "
                        "waives anything — renew or remove it", blocking=False)
        for w in here if w.expired(today)
    ]
    for suite in sorted(set(required) | set(suites) | set(absent or {})):
        result = suites.get(suite)
        is_required = suite in required
        out.append(_evidence(suite, result, is_required, (absent or {}).get(suite, "")))
        if result is None or result.status == "error" and not result.tests:
            continue
        out.extend(_tests(result, active, is_required, flaky_fails))
        out.extend(_not_run(result))
        out.extend(_core_journeys(result, policy.core_journeys.get(suite, {}), is_required))
        out.extend(_ruled_findings(result, active))
        rows, lacking = _coverage(result, policy.evidence, is_required)
        out.extend(rows)
        for criterion in policy.criteria_for(suite, environment):
            out.extend(_measured(criterion, result, policy.evidence, lacking, is_required)
                       or _configured(criterion, result, active, is_required, baseline))
        if baseline is not None:
            out.extend(_regressions(result, baseline))
    return Verdict(_decide(out), tuple(out), _summarise(out))


def _evidence(suite: str, result: SuiteResult | None, required: bool,
              why_absent: str = "") -> CriterionResult:
    missing: Outcome = "error" if required else "warn"
    name = "evidence collected"
    if result is None:
        return CriterionResult(suite, name, "not run", "a result", missing,
                               why_absent or "the suite did not run or wrote no result",
                               blocking=required)
    if result.status == "error" and result.error:
        return CriterionResult(suite, name, "error", "a result file", missing,
                               result.error, blocking=required)
    if result.executed == 0:
        why = "ran zero tests" + (" (all skipped)" if result.tests else "")
        return CriterionResult(suite, name, 0, ">= 1 test", missing, why, blocking=required)
    return CriterionResult(suite, name, result.executed, ">= 1 test", "pass",
                           f"{result.executed} tests ran", blocking=required)


def _tests(result: SuiteResult, waivers: Sequence[Waiver], required: bool,
           flaky_fails: bool) -> list[CriterionResult]:
    out: list[CriterionResult] = []
    counted: list[TestCase] = []
    for test in result.tests:
        if test.outcome != "failed":
            continue
        waiver = _test_waiver(waivers, result.suite, test)
        if waiver:
            out.append(CriterionResult(result.suite, f"test {test.id}", "failed", "passed",
                                       "waived", f"{waiver.reason} (owner {waiver.owner}, "
                                       f"until {waiver.expires.isoformat()})", waiver=waiver.id))
        else:
            counted.append(test)
    failed_names = ", ".join(t.name for t in counted[:3]) + (" …" if len(counted) > 3 else "")
    # the first failure's own words name the defect ("step 'add to cart': … not defined")
    cause = _first_line(counted[0].message) if counted else ""
    out.append(CriterionResult(
        result.suite, "tests pass", len(counted), 0, "fail" if counted else "pass",
        f"{len(counted)} of {result.executed} failed: {failed_names}"
        + (f" — first: {cause}" if cause else "") if counted
        else f"{result.count('passed')} passed"))
    errored = [t for t in result.tests if t.outcome == "error"]
    if errored:
        first_error = _first_line(errored[0].message)
        out.append(CriterionResult(
            result.suite, "tests ran without harness errors", len(errored), 0,
            "error" if required else "warn",
            "could not run: " + ", ".join(t.name for t in errored[:5])
            + (f" — first: {first_error}" if first_error else ""), blocking=required))
    flaky = [t for t in result.tests if t.outcome == "flaky"]
    if flaky:
        out.append(CriterionResult(
            result.suite, "no flaky tests", len(flaky), 0, "fail" if flaky_fails else "warn",
            "passed only on retry: " + ", ".join(t.name for t in flaky[:5]),
            blocking=flaky_fails))
    return out


def _not_run(result: SuiteResult) -> list[CriterionResult]:
    """Skipped tests are evidence of nothing: count and show them, one row per reason.

    Tests the environment declared not applicable are shown as such (not required).
    """
    out: list[CriterionResult] = []
    for outcome, label in (("skipped", "tests skipped (no evidence)"),
                           ("not_applicable", "tests not applicable here")):
        by_reason: dict[str, list[TestCase]] = {}
        for test in result.tests:
            if test.outcome == outcome:
                by_reason.setdefault(test.message.splitlines()[0] if test.message else
                                     "no reason given", []).append(test)
        for reason, tests in by_reason.items():
            names = ", ".join(t.name for t in tests[:3]) + (" …" if len(tests) > 3 else "")
            out.append(CriterionResult(
                result.suite, label, len(tests), 0 if outcome == "skipped" else "declared",
                "warn" if outcome == "skipped" else "n/a", f"{reason} ({names})",
                blocking=False))
    return out


def _core_journeys(result: SuiteResult, journeys: Mapping[str, Sequence[str]],
                   required: bool) -> list[CriterionResult]:
    """Each core journey must have been exercised by a test that ran (passed or failed)."""
    out: list[CriterionResult] = []
    ran = [t for t in result.tests if t.outcome in ("passed", "failed", "flaky")]
    for name, steps in journeys.items():
        covering = [t for t in ran if set(t.steps) & set(steps)]
        if covering:
            out.append(CriterionResult(
                result.suite, f"core journey ran: {name}", len(covering), ">= 1 test", "pass",
                f"{len(covering)} tests exercised {' / '.join(steps)}", blocking=required))
            continue
        # What stopped the tests that could have got there: a harness error (a rate limit
        # at sign-up) or an adapter gap, at the step it happened in. Tests the environment
        # declares not applicable are named only when nothing else stopped.
        stopped = [t for t in result.tests if t.outcome in ("error", "skipped")] or [
            t for t in result.tests if t.outcome == "not_applicable"]
        causes = sorted({_at_step(t) + _first_line(t.message) for t in stopped if t.message})
        why = "; ".join(causes[:3]) + (f"; and {len(causes) - 3} more" if len(causes) > 3
                                       else "")
        out.append(CriterionResult(
            result.suite, f"core journey ran: {name}", 0, ">= 1 test",
            "error" if required else "warn",
            f"no test that ran reached step {' / '.join(repr(s) for s in steps)}"
            + (f" ({len(stopped)} tests did not run: {why})" if stopped else ""),
            blocking=required))
    return out


def _ruled_findings(result: SuiteResult, waivers: Sequence[Waiver]) -> list[CriterionResult]:
    """Apply the levels a rules file gave findings: FAIL blocks, WARN warns, INFO shows."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in result.findings:
        if finding.level in ("fail", "warn", "info"):
            groups.setdefault((finding.level, finding.rule_id), []).append(finding)
    out: list[CriterionResult] = []
    outcome_of: dict[str, Outcome] = {"fail": "fail", "warn": "warn", "info": "pass"}
    for (level, rule), findings in sorted(groups.items()):
        counted = []
        for finding in findings:
            waiver = _find(waivers, partial(_waives_finding, suite=result.suite,
                                            finding=finding))
            if waiver and level != "info":
                out.append(CriterionResult(
                    result.suite, f"finding {rule} at {finding.location}", finding.severity,
                    f"rules: {level.upper()}", "waived",
                    f"{waiver.reason} (owner {waiver.owner}, until {waiver.expires})",
                    blocking=level == "fail", waiver=waiver.id))
            else:
                counted.append(finding)
        if not counted:
            continue
        first = counted[0]
        where = ", ".join(f.location for f in counted[:3] if f.location)
        more = f" and {len(counted) - 3} more" if len(counted) > 3 else ""
        out.append(CriterionResult(
            result.suite, f"finding {rule}: {first.title}", len(counted),
            f"rules: {level.upper()}", outcome_of[level],
            f"{first.severity} ({first.source or result.engine}) at {where or '—'}{more}",
            blocking=level == "fail"))
    return out


def _coverage(result: SuiteResult, evidence: EvidencePolicy,
              required: bool) -> tuple[list[CriterionResult], list[Coverage]]:
    """One row per coverage the suite recorded; those below their minimum are returned too:
    the figures they cover are not judged (the absence of evidence is never a pass)."""
    rows: list[CriterionResult] = []
    lacking: list[Coverage] = []
    for cov in result.coverage:
        minimum = evidence.minimum.get(cov.key, cov.minimum)
        detail = f" ({cov.detail})" if cov.detail else ""
        if cov.observed >= minimum:
            rows.append(CriterionResult(result.suite, f"coverage: {cov.label}", cov.observed,
                                        f">= {_fmt(minimum)}", "pass",
                                        f"{_fmt(cov.observed)} {cov.label}{detail}",
                                        blocking=required))
            continue
        lacking.append(cov)
        hint = f" — {cov.hint}" if cov.hint else ""
        rows.append(CriterionResult(
            result.suite, f"coverage: {cov.label}", cov.observed, f">= {_fmt(minimum)}",
            "error" if required else "warn",
            f"only {_fmt(cov.observed)} {cov.label}, at least {_fmt(minimum)} needed"
            f"{detail}{hint}", blocking=required))
    return rows, lacking


def _measured(criterion: Criterion, result: SuiteResult, evidence: EvidencePolicy,
              lacking: Sequence[Coverage], required: bool) -> list[CriterionResult]:
    """The criterion's row when its figure is not evidence enough to judge (coverage below
    its minimum, too few samples); empty when the figure may be judged."""
    metric = criterion.metric
    threshold = f"{criterion.op} {_fmt(criterion.threshold)}"
    outcome: Outcome = "error" if criterion.blocking and required else "warn"
    gaps = [c for c in lacking if not c.covers or (metric and metric.startswith(c.covers))]
    if gaps and not (criterion.findings_at_least and _counted_findings(criterion, result)):
        why = "; ".join(f"only {_fmt(c.observed)} {c.label}" for c in gaps)
        return [CriterionResult(result.suite, criterion.name, result.metrics.get(metric),
                                threshold, outcome, f"not measured: {why}",
                                blocking=criterion.blocking)]
    if metric and metric in result.samples:
        have, need = result.samples[metric], evidence.samples_needed(metric)
        if have < need:
            return [CriterionResult(
                result.suite, criterion.name, result.metrics.get(metric), threshold, outcome,
                f"{metric} not measured: {have} sample{'s' if have != 1 else ''}, at least "
                f"{need} needed (run longer or with more users)", blocking=criterion.blocking)]
    return []


def _counted_findings(criterion: Criterion, result: SuiteResult) -> bool:
    """Whether the suite found anything this findings criterion counts (a finding is
    evidence of harm however little else was covered)."""
    floor = SEVERITY_ORDER.index(criterion.findings_at_least)
    return any(not f.level and SEVERITY_ORDER.index(f.severity) >= floor
               for f in result.findings)


def _regressions(result: SuiteResult, baseline: Baseline) -> list[CriterionResult]:
    """What got worse since the baseline: tests that newly fail or turned flaky, findings
    the baseline did not have. Shown as warnings: failures and blocking findings already
    block through their own criteria."""
    suite = result.suite
    was_ok = baseline.passed.get(suite, frozenset())
    newly_failing = [t.name for t in result.tests if t.outcome == "failed" and t.id in was_ok]
    newly_flaky = [t.name for t in result.tests if t.outcome == "flaky"
                   and t.id not in baseline.flaky.get(suite, frozenset())]
    known = baseline.findings.get(suite, frozenset())
    new_findings = sorted({f.key for f in result.findings if f.level != "ignore"} - known)
    rows = []
    for name, items in (("no new failures since baseline", newly_failing),
                        ("no new flaky tests since baseline", newly_flaky),
                        ("no new findings since baseline", new_findings)):
        listed = ", ".join(items[:3]) + (" …" if len(items) > 3 else "")
        rows.append(CriterionResult(
            suite, name, len(items), 0, "warn" if items else "pass",
            f"new since {baseline.source}: {listed}" if items else f"none since {baseline.source}",
            blocking=False, baseline=0))
    return rows


def _relative_threshold(criterion: Criterion, base: float) -> float:
    """`baseline = "+20%"` → base × 1.2; `"+150"` → base + 150; `"-10%"` → base × 0.9."""
    text = criterion.baseline.strip()
    if text.endswith("%"):
        return base * (1 + float(text[:-1]) / 100)
    return base + float(text)


def _configured(criterion: Criterion, result: SuiteResult, waivers: Sequence[Waiver],
                required: bool, baseline: Baseline | None = None) -> list[CriterionResult]:
    out: list[CriterionResult] = []
    base = (baseline.metrics.get(result.suite, {}).get(criterion.metric)
            if baseline is not None and criterion.metric else None)
    if criterion.baseline:
        if base is None:
            # no --baseline: the criterion does not apply; a baseline without the metric is
            # a comparison that could not be made, never a pass
            lacking: Outcome = "error" if criterion.blocking and required else "warn"
            why = ("no baseline (pass --baseline RUN_DIR, last-go or last-go:N)"
                   if baseline is None else
                   f"the baseline {baseline.source} lacks {criterion.metric}, so this run "
                   "cannot be compared with it (compare with a run that measured it)")
            return [CriterionResult(result.suite, criterion.name,
                                    result.metrics.get(criterion.metric),
                                    f"{criterion.op} baseline {criterion.baseline}",
                                    "n/a" if baseline is None else lacking, why,
                                    blocking=criterion.blocking)]
        limit = _relative_threshold(criterion, base)
        criterion = _with_threshold(criterion, limit)
    threshold = f"{criterion.op} {_fmt(criterion.threshold)}"
    if criterion.findings_at_least:
        floor = SEVERITY_ORDER.index(criterion.findings_at_least)
        counted = 0
        for finding in result.findings:
            # a finding a rules file classified is judged by its level alone (IGNORE hides it)
            if finding.level or SEVERITY_ORDER.index(finding.severity) < floor:
                continue
            waiver = _find(waivers, partial(_waives_finding, suite=result.suite, finding=finding))
            if waiver:
                out.append(CriterionResult(
                    result.suite, f"finding {finding.rule_id} at {finding.location}",
                    finding.severity, criterion.name, "waived",
                    f"{waiver.reason} (owner {waiver.owner}, until {waiver.expires})",
                    waiver=waiver.id))
            else:
                counted += 1
        observed: float | None = float(counted)
    else:
        unmeasured = result.unmeasured.get(criterion.metric)
        if unmeasured is not None:
            return [CriterionResult(result.suite, criterion.name, None, threshold,
                                    "error" if criterion.blocking and required else "warn",
                                    f"{criterion.metric} not measured: {unmeasured}",
                                    blocking=criterion.blocking)]
        observed = result.metrics.get(criterion.metric)
    if observed is None:
        outcome: Outcome = "error" if criterion.blocking and required else "warn"
        out.append(CriterionResult(result.suite, criterion.name, None, threshold, outcome,
                                   f"metric {criterion.metric} was not reported",
                                   blocking=criterion.blocking))
        return out
    unit = unit_of(criterion.metric) if criterion.metric else ""
    if _OPS[criterion.op](observed, criterion.threshold):
        samples = result.samples.get(criterion.metric)
        out.append(CriterionResult(result.suite, criterion.name, observed, threshold, "pass",
                                   "within threshold" + (f" ({samples} samples)"
                                                         if samples is not None else ""),
                                   blocking=criterion.blocking,
                                   baseline=base, unit=unit))
        return out
    # a metric waiver waives a metric; findings are waived one rule (+ url) at a time above
    waiver = _find(waivers, lambda w: bool(w.metric) and bool(criterion.metric)
                   and w.suite in ("", result.suite)
                   and w.metric in (criterion.metric, criterion.name))
    if waiver:
        out.append(CriterionResult(result.suite, criterion.name, observed, threshold, "waived",
                                   f"{waiver.reason} (owner {waiver.owner}, until "
                                   f"{waiver.expires})", blocking=criterion.blocking,
                                   waiver=waiver.id, baseline=base, unit=unit))
    else:
        outcome = "fail" if criterion.blocking else "warn"
        versus = (f" (baseline {_fmt(base)} {criterion.baseline})"
                  if criterion.baseline and base is not None else "")
        samples = result.samples.get(criterion.metric)
        reason = (f"observed {_fmt(observed)}{_space(unit)}, threshold {threshold}{_space(unit)}"
                  f"{versus}" + (f" from {samples} samples" if samples is not None else ""))
        if criterion.metric in result.explanations:
            reason += f" — {result.explanations[criterion.metric]}"
        if result.saturated and unit in ("ms", "s"):
            # the measuring machine, not the product, may have been slow: not evidence
            outcome = "error" if criterion.blocking and required else "warn"
            reason += (f" — measured on a saturated machine ({result.saturated}); run again "
                       "on a quieter machine or with fewer load-generator users")
        out.append(CriterionResult(result.suite, criterion.name, observed, threshold, outcome,
                                   reason, blocking=criterion.blocking, baseline=base,
                                   unit=unit))
    return out


def unit_of(metric: str) -> str:
    """The unit a metric's name declares by its suffix (qgate's naming convention)."""
    for suffix, unit in (("_ms", "ms"), ("_s", "s"), ("_ratio", "ratio"), ("_pct", "%"),
                         ("rps", "/s"), ("_per_min", "/min"), ("_per_s", "/s")):
        if metric.endswith(suffix):
            return unit
    return ""


def _with_threshold(criterion: Criterion, threshold: float) -> Criterion:
    import dataclasses
    return dataclasses.replace(criterion, threshold=round(threshold, 3))


def _test_waiver(waivers: Sequence[Waiver], suite: str, test: TestCase) -> Waiver | None:
    return _find(waivers, lambda w: w.suite in ("", suite) and bool(w.test)
                 and fnmatch.fnmatchcase(test.id, w.test))


def _waives_finding(w: Waiver, *, suite: str, finding: Finding) -> bool:
    return (bool(w.rule) and w.suite in ("", suite) and w.rule == finding.rule_id
            and fnmatch.fnmatchcase(finding.location, w.url or "*"))


def _find(waivers: Sequence[Waiver], match: Callable[[Waiver], bool]) -> Waiver | None:
    return next((w for w in waivers if match(w)), None)


def _at_step(test: TestCase) -> str:
    """`at step 'sign up': ` for an errored test whose message does not name its step."""
    if test.outcome != "error" or not test.step or f"'{test.step}'" in test.message[:300]:
        return ""
    return f"at step '{test.step}': "


def _first_line(message: str, limit: int = 200) -> str:
    line = next((x.strip() for x in message.splitlines() if x.strip()), "")
    if len(line) <= limit:
        return line
    cut = line[:limit - 1]  # at a word boundary: a reader never sees half a word
    return (cut[:cut.rfind(" ")] if cut.rfind(" ") >= limit // 2 else cut).rstrip(" ,;:") + "…"


def _space(unit: str) -> str:
    return f" {unit}" if unit and unit != "ratio" else ""


def _fmt(value: float) -> str:
    return f"{value:g}"


def _decide(criteria: Sequence[CriterionResult]) -> Decision:
    outcomes = {c.outcome for c in criteria}
    if "fail" in outcomes:
        return "NO-GO"
    if "error" in outcomes or not any(c.name == "evidence collected" for c in criteria):
        return "INCONCLUSIVE"
    return "GO"


def _summarise(criteria: Sequence[CriterionResult]) -> str:
    decision = _decide(criteria)
    fails = [c for c in criteria if c.outcome == "fail"]
    errors = [c for c in criteria if c.outcome == "error"]
    warns = [c for c in criteria if c.outcome == "warn"]
    if decision == "NO-GO":
        return "; ".join(f"{c.suite}: {c.name} — {c.reason}" for c in fails[:3])
    if decision == "INCONCLUSIVE":
        if not errors:
            return "nothing was judged: no suite ran"
        return "; ".join(f"{c.suite}: {c.reason}" for c in errors[:3])
    extra = f" ({len(warns)} warning{'s' if len(warns) != 1 else ''})" if warns else ""
    passed = sum(1 for c in criteria if c.outcome == "pass")
    return f"all {passed} criteria passed{extra}"
