"""The verdict, table-driven: fail closed, blocking vs warning, waivers valid and expired."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from harness.policy import Criterion, EvidencePolicy, GatePolicy, Waiver
from harness.results import Coverage, Finding, SuiteResult, TestCase
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


# --- coverage, samples and a saturated machine (issue 16: enough evidence or INCONCLUSIVE) ---

def _judge(result: SuiteResult, criteria: list[Criterion], policy: GatePolicy | None = None,
           required: tuple[str, ...] = ("load",)):
    policy = (policy or GatePolicy()).with_criteria(criteria)
    return judge({result.suite: result}, policy, [], environment="staging",
                 required=list(required), today=TODAY)


def _rows(verdict, prefix: str) -> list:
    return [c for c in verdict.criteria if c.name.startswith(prefix)]


REQS = Coverage("load.requests_on_target", 3, 100, what="requests that reached the target",
                detail="183 redirected to another origin", hint="give the load test a login")


def test_coverage_below_its_minimum_is_inconclusive_and_its_figures_are_not_judged() -> None:
    # a login wall: the p95 of the 3 requests that got through "passes", yet says nothing
    result = replace(suite("load", "passed", metrics={"load.checkout.p95_ms": 10}),
                     coverage=(REQS,))
    verdict = _judge(result, [P95])
    assert verdict.decision == "INCONCLUSIVE"
    [row] = _rows(verdict, "coverage:")
    assert (row.outcome, row.observed, row.threshold) == ("error", 3, ">= 100")
    assert "183 redirected" in row.reason and "give the load test a login" in row.reason
    [p95] = _rows(verdict, "checkout p95")
    assert p95.outcome == "error" and "not measured: only 3 requests" in p95.reason


def test_a_figure_that_fails_below_coverage_is_not_a_product_failure() -> None:
    # a WAF answering 403: a 100 % error ratio is the WAF's, not the shop's
    ratio = Criterion(suite="load", name="errors", metric="load.error_ratio", op="<=",
                      threshold=0.01)
    result = replace(suite("load", "passed", metrics={"load.error_ratio": 1.0}),
                     coverage=(REQS,))
    assert _judge(result, [ratio]).decision == "INCONCLUSIVE"


def test_enough_coverage_passes_and_the_policy_may_raise_the_minimum() -> None:
    enough = replace(REQS, observed=150)
    result = replace(suite("load", "passed", metrics={"load.checkout.p95_ms": 10}),
                     coverage=(enough,))
    verdict = _judge(result, [P95])
    assert verdict.decision == "GO"
    assert _rows(verdict, "coverage:")[0].outcome == "pass"
    stricter = GatePolicy(evidence=EvidencePolicy(minimum={"load.requests_on_target": 500}))
    assert _judge(result, [P95], stricter).decision == "INCONCLUSIVE"


def test_coverage_that_covers_other_figures_leaves_these_judged() -> None:
    scoped = replace(REQS, covers=("load.search.",))
    result = replace(suite("load", "passed", metrics={"load.checkout.p95_ms": 950}),
                     coverage=(scoped,))
    verdict = _judge(result, [P95])
    assert verdict.decision == "NO-GO"  # the checkout figure was measured, and it is slow
    assert _rows(verdict, "checkout p95")[0].outcome == "fail"


def test_a_finding_is_evidence_whatever_the_coverage() -> None:
    cov = Coverage("security.pages_crawled", 0, 1, what="pages crawled")
    clean = replace(suite("security", "passed"), coverage=(cov,))
    found = replace(clean, findings=(XSS,))
    assert _judge(clean, [HIGH], required=("security",)).decision == "INCONCLUSIVE"
    assert _rows(_judge(clean, [HIGH], required=("security",)), "no high")[0].outcome == "error"
    assert _judge(found, [HIGH], required=("security",)).decision == "NO-GO"


@pytest.mark.parametrize("samples, policy, decision", [
    (5, GatePolicy(), "INCONCLUSIVE"),  # default minimum: 20
    (25, GatePolicy(), "NO-GO"),
    (5, GatePolicy(evidence=EvidencePolicy(samples={"load.checkout.p95_ms": 5})), "NO-GO"),
])
def test_a_figure_from_too_few_samples_is_not_measured(samples: int, policy: GatePolicy,
                                                       decision: str) -> None:
    result = replace(suite("load", "passed", metrics={"load.checkout.p95_ms": 950}),
                     samples={"load.checkout.p95_ms": samples})
    verdict = _judge(result, [P95], policy)
    assert verdict.decision == decision
    assert f"{samples} samples" in _rows(verdict, "checkout p95")[0].reason


def test_a_latency_missed_on_a_saturated_machine_is_inconclusive_not_no_go() -> None:
    slow = replace(suite("load", "passed", metrics={"load.checkout.p95_ms": 950,
                                                    "load.error_ratio": 0.5}),
                   saturated="host CPU pressure 93 % over the run")
    verdict = _judge(slow, [P95])
    assert verdict.decision == "INCONCLUSIVE"
    row = _rows(verdict, "checkout p95")[0]
    assert row.observed == 950 and "saturated machine (host CPU pressure 93 %" in row.reason
    # a figure that is not a latency is still the product's
    ratio = Criterion(suite="load", name="errors", metric="load.error_ratio", op="<=",
                      threshold=0.01)
    assert _judge(slow, [P95, ratio]).decision == "NO-GO"


def test_coverage_samples_and_saturation_survive_the_run_record() -> None:
    result = replace(suite("load", "passed"), coverage=(REQS,),
                     samples={"load.checkout.p95_ms": 7}, saturated="busy")
    assert SuiteResult.from_dict(result.to_dict()) == result


# --- built-in criteria: each suite ships its own (issue 16, item 17) ---

HIGH_PII = tuple(Finding(rule_id="pii.email", title="real email", severity="high",
                         location=f"customers.email row {i}") for i in range(3))


def _scratch_gate(tmp_path, monkeypatch, suites: list[str], gate: str | None = None):
    """A project as `qgate init` writes it (its gate.toml), with an environment of `suites`."""
    from harness.config import load_environment
    from harness.scaffold import init_project

    init_project(tmp_path)
    if gate is not None:
        (tmp_path / "gate.toml").write_text(gate)
    (tmp_path / "environments" / "shop.toml").write_text(
        f'base_url = "https://shop.example"\nsuites = {suites!r}\n'.replace("'", '"'))
    monkeypatch.setenv("QGATE_ROOT", str(tmp_path))
    return load_environment("shop", tmp_path)


def _finish(env, tmp_path, *results: SuiteResult):
    from harness.results import write_suite_result
    from harness.runner import finish_run

    run_dir = tmp_path / "reports" / "r1"
    for result in results:
        write_suite_result(run_dir, result)
    return finish_run(env, run_dir, [r.suite for r in results], started_at="t").verdict


@pytest.mark.parametrize(("result", "name", "decision"), [
    # a database with 3 high PII findings used to be GO with the gate.toml `qgate init` writes
    (suite("data", "passed", findings=HIGH_PII),
     "no PII leak, orphaned key or duplicate (high findings)", "NO-GO"),
    (suite("security", "passed", findings=(XSS,)), "no high-risk security findings", "NO-GO"),
    # half the requests rate-limited: shown (a warning), never silently nothing
    (suite("load", "passed", metrics={"load.limited_ratio": 0.5, "load.error_ratio": 0.0}),
     "few rate-limited answers (429, 503 + Retry-After)", "GO"),
])
def test_each_suite_ships_its_criteria_whatever_gate_toml_says(
        tmp_path, monkeypatch, result: SuiteResult, name: str, decision: str) -> None:
    env = _scratch_gate(tmp_path, monkeypatch, [result.suite])
    verdict = _finish(env, tmp_path, result)
    rows = [c for c in verdict.criteria if c.name == name]
    assert len(rows) == 1 and rows[0].outcome in ("fail", "warn"), verdict.criteria
    assert verdict.decision == decision


def test_a_project_changes_a_built_in_criterion_by_declaring_its_name(tmp_path,
                                                                      monkeypatch) -> None:
    name = "no PII leak, orphaned key or duplicate (high findings)"
    gate = (f'[[criteria]]\nsuite = "data"\nname = "{name}"\nfindings_at_least = "high"\n'
            'threshold = 5\nseverity = "warning"\nenvironments = ["shop"]\n')
    env = _scratch_gate(tmp_path, monkeypatch, ["data"], gate)
    verdict = _finish(env, tmp_path, suite("data", "passed", findings=HIGH_PII))
    rows = [c for c in verdict.criteria if c.name == name]
    assert [(r.outcome, r.threshold) for r in rows] == [("pass", "<= 5")]
    assert verdict.decision == "GO"
    # where the project's version does not apply, the built-in still does
    policy = GatePolicy(criteria=[Criterion(suite="data", name=name, findings_at_least="high",
                                            threshold=5, environments=["shop"])])
    merged = policy.with_criteria(env.declared_criteria(), "staging")
    assert [c.threshold for c in merged.criteria_for("data", "staging") if c.name == name] \
        == [0.0]


def test_a_database_with_real_emails_is_no_go_with_the_gate_qgate_init_writes(
        tmp_path, clean_store: str) -> None:
    """The real data suite on a SQLite database holding 3 real-looking customer emails."""
    import json
    import sqlite3

    from cli_support import run_qgate
    from harness.scaffold import init_project

    init_project(tmp_path)
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
        db.executemany("INSERT INTO customers (email) VALUES (?)", [
            ("asha.rao@gmail.com",), ("vikram.shah@yahoo.co.in",), ("meera.iyer@outlook.com",)])
    (tmp_path / "environments" / "shop.toml").write_text(
        f'base_url = "{clean_store}"\nsuites = ["data"]\n\n[data]\n'
        f'database = "sqlite:///{tmp_path / "shop.db"}"\nscan_artifacts = false\n')
    result = run_qgate("run", "--env", "shop", cwd=tmp_path,
                       env={"QGATE_ROOT": str(tmp_path),
                            "QGATE_REPORTS_DIR": str(tmp_path / "reports")})
    assert result.code == 1, result.out + result.err
    run = json.loads((tmp_path / "reports" / "latest" / "run.json").read_text())
    assert run["suites"]["data"]["findings"], "the audit found the emails"
    row = next(c for c in run["verdict"]["criteria"]
               if c["name"] == "no PII leak, orphaned key or duplicate (high findings)")
    assert row["outcome"] == "fail"
def test_a_failing_criterion_quotes_what_went_wrong_behind_its_metric() -> None:
    ratio = Criterion(suite="load", name="errors", metric="load.error_ratio", op="<=",
                      threshold=0.01)
    why = "'checkout' 12 of 80 failed (500 ×12): \"duplicate key\" ×12"
    result = replace(suite("load", "passed", metrics={"load.error_ratio": 0.15}),
                     explanations={"load.error_ratio": why})
    [row] = _rows(_judge(result, [ratio]), "errors")
    assert row.outcome == "fail" and row.reason.endswith(why)
    assert SuiteResult.from_dict(result.to_dict()) == result
