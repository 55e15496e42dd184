"""The verdict, table-driven: fail closed, blocking vs warning, waivers valid and expired."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from harness.policy import Criterion, GatePolicy, Waiver
from harness.results import Finding, SuiteResult, TestCase
from harness.verdict import judge

TODAY = dt.date(2026, 11, 26)


def suite(name: str, *outcomes: str, status: str | None = None, error: str = "",
          metrics: dict[str, float] | None = None, findings: tuple[Finding, ...] = ()
          ) -> SuiteResult:
    tests = tuple(TestCase(id=f"suites/{name}/test_x.py::t{i}", name=f"t{i}", outcome=o)
                  for i, o in enumerate(outcomes))
    if status is None:
        status = "failed" if "failed" in outcomes else "passed"
    return SuiteResult(suite=name, status=status, duration_s=1.0, engine="pytest",
                       tests=tests, error=error, metrics=metrics or {}, findings=findings)


def waiver(**kw: object) -> Waiver:
    base = {"id": "W-1", "owner": "qa@example.com", "reason": "known", "expires": TODAY}
    return Waiver(**(base | kw))  # type: ignore[arg-type]


P95 = Criterion(suite="load", name="checkout p95", metric="load.checkout.p95_ms", op="<=",
                threshold=800)
P95_WARN = Criterion(suite="load", name="checkout p95", metric="load.checkout.p95_ms",
                     op="<=", threshold=800, severity="warning")
HIGH = Criterion(suite="security", name="no high alerts", findings_at_least="high")
XSS = Finding(rule_id="40012", title="XSS", severity="high", location="http://s/search?q=x")

CASES = [
    # id, suites, required, criteria, waivers, expected decision, expected outcomes (subset)
    ("all pass", [suite("smoke", "passed", "passed")], ["smoke"], [], [], "GO", {"pass"}),
    ("required suite missing", [suite("smoke", "passed")], ["smoke", "e2e"], [], [],
     "INCONCLUSIVE", {"error"}),
    ("required suite errored", [suite("smoke", status="error", error="boom")], ["smoke"], [],
     [], "INCONCLUSIVE", {"error"}),
    ("zero tests", [suite("smoke")], ["smoke"], [], [], "INCONCLUSIVE", {"error"}),
    ("all skipped is zero tests", [suite("smoke", "skipped", "skipped")], ["smoke"], [], [],
     "INCONCLUSIVE", {"error"}),
    ("test failed", [suite("smoke", "passed", "failed")], ["smoke"], [], [], "NO-GO", {"fail"}),
    ("failure beats missing evidence", [suite("smoke", "failed")], ["smoke", "e2e"], [], [],
     "NO-GO", {"fail", "error"}),
    ("harness error in a test", [suite("smoke", "passed", "error", status="error")], ["smoke"],
     [], [], "INCONCLUSIVE", {"error"}),
    ("flaky is a warning", [suite("e2e", "passed", "flaky")], ["e2e"], [], [], "GO", {"warn"}),
    ("blocking metric over threshold",
     [suite("load", "passed", metrics={"load.checkout.p95_ms": 950})], ["load"], [P95], [],
     "NO-GO", {"fail"}),
    ("warning metric over threshold",
     [suite("load", "passed", metrics={"load.checkout.p95_ms": 950})], ["load"], [P95_WARN],
     [], "GO", {"warn"}),
    ("blocking metric within threshold",
     [suite("load", "passed", metrics={"load.checkout.p95_ms": 500})], ["load"], [P95], [],
     "GO", {"pass"}),
    ("blocking metric not reported", [suite("load", "passed")], ["load"], [P95], [],
     "INCONCLUSIVE", {"error"}),
    ("valid waiver on a failed test", [suite("e2e", "passed", "failed")], ["e2e"], [],
     [waiver(test="suites/e2e/*::t1")], "GO", {"waived"}),
    ("expired waiver stops waiving", [suite("e2e", "passed", "failed")], ["e2e"], [],
     [waiver(test="suites/e2e/*::t1", expires=TODAY - dt.timedelta(days=1))], "NO-GO",
     {"fail", "warn"}),
    ("waiver for another test does not apply", [suite("e2e", "passed", "failed")], ["e2e"],
     [], [waiver(test="suites/e2e/*::t0")], "NO-GO", {"fail"}),
    ("finding above severity blocks", [suite("security", "passed", findings=(XSS,))],
     ["security"], [HIGH], [], "NO-GO", {"fail"}),
    ("finding waived by rule and url", [suite("security", "passed", findings=(XSS,))],
     ["security"], [HIGH], [waiver(rule="40012", url="*/search*")], "GO", {"waived"}),
    ("finding waiver with other url does not apply",
     [suite("security", "passed", findings=(XSS,))], ["security"], [HIGH],
     [waiver(rule="40012", url="*/cart*")], "NO-GO", {"fail"}),
    # a rules file's level decides alone: IGNORE hides, WARN warns, INFO shows, FAIL blocks
    ("ignored finding is not counted", [suite("security", "passed", findings=(
        replace(XSS, level="ignore"),))], ["security"], [HIGH], [], "GO", {"pass"}),
    ("warn-level finding warns", [suite("security", "passed", findings=(
        replace(XSS, level="warn"),))], ["security"], [HIGH], [], "GO", {"warn"}),
    ("info-level finding shows", [suite("security", "passed", findings=(
        replace(XSS, level="info"),))], ["security"], [HIGH], [], "GO", {"pass"}),
    ("fail-level low finding blocks", [suite("security", "passed", findings=(
        replace(XSS, severity="low", level="fail"),))], ["security"], [HIGH], [], "NO-GO",
     {"fail"}),
    ("fail-level finding waived by rule and url", [suite("security", "passed", findings=(
        replace(XSS, level="fail"),))], ["security"], [HIGH],
     [waiver(rule="40012", url="*/search*")], "GO", {"waived"}),
    ("metric waiver", [suite("load", "passed", metrics={"load.checkout.p95_ms": 950})],
     ["load"], [P95], [waiver(metric="load.checkout.p95_ms")], "GO", {"waived"}),
    ("optional suite errored only warns",
     [suite("smoke", "passed"), suite("e2e", status="error", error="no browser")], ["smoke"],
     [], [], "GO", {"warn"}),
    ("nothing required and nothing ran", [], [], [], [], "INCONCLUSIVE", set()),
]


@pytest.mark.parametrize(("suites", "required", "criteria", "waivers", "decision", "outcomes"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_judge(suites, required, criteria, waivers, decision, outcomes) -> None:
    verdict = judge({s.suite: s for s in suites}, GatePolicy(criteria=criteria), waivers,
                    environment="staging", required=required, today=TODAY)
    assert verdict.decision == decision, verdict
    assert outcomes <= {c.outcome for c in verdict.criteria}
    assert verdict.summary


def test_fail_on_flaky_turns_flaky_into_failure() -> None:
    verdict = judge({"e2e": suite("e2e", "passed", "flaky")}, GatePolicy(), [],
                    environment="demo", required=["e2e"], today=TODAY, fail_on_flaky=True)
    assert verdict.decision == "NO-GO"
    flaky = next(c for c in verdict.criteria if c.name == "no flaky tests")
    assert flaky.outcome == "fail" and flaky.observed == 1


def test_waiver_is_valid_through_its_expiry_day() -> None:
    w = waiver(test="*", expires=TODAY)
    assert not w.expired(TODAY)
    assert w.expired(TODAY + dt.timedelta(days=1))


def test_expired_waiver_is_reported_with_owner() -> None:
    old = waiver(id="W-9", test="*", expires=dt.date(2026, 1, 1), owner="lead@example.com")
    verdict = judge({"smoke": suite("smoke", "passed")}, GatePolicy(), [old],
                    environment="demo", required=["smoke"], today=TODAY)
    row = next(c for c in verdict.criteria if "W-9" in c.name)
    assert row.outcome == "warn" and "lead@example.com" in row.reason
    assert verdict.decision == "GO"


def test_criteria_scoped_to_other_environment_do_not_apply() -> None:
    scoped = Criterion(suite="smoke", name="x", metric="smoke.nope", environments=["prod"])
    verdict = judge({"smoke": suite("smoke", "passed")}, GatePolicy(criteria=[scoped]), [],
                    environment="demo", required=["smoke"], today=TODAY)
    assert verdict.decision == "GO"
    assert all(c.name != "x" for c in verdict.criteria)


def test_judge_is_pure() -> None:
    inputs = ({"smoke": suite("smoke", "failed")}, GatePolicy(), [])
    first = judge(*inputs, environment="demo", required=["smoke"], today=TODAY)
    second = judge(*inputs, environment="demo", required=["smoke"], today=TODAY)
    assert first == second
