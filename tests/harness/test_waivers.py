"""Waivers: what each may waive, how long, and when a bad one is found (issue 16, item 15)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cli_support import SMOKE_CHECK, run_qgate
from harness.errors import ConfigError
from harness.policy import Criterion, GatePolicy, Waiver, load_waivers
from harness.results import Finding, SuiteResult, TestCase
from harness.verdict import judge

TODAY = dt.date(2026, 11, 26)
P95 = Criterion(suite="load", name="checkout p95", metric="load.checkout.p95_ms", op="<=",
                threshold=800)
HIGH = Criterion(suite="security", name="no high alerts", findings_at_least="high")
CRITERIA = [P95, HIGH]


def write_waiver(tmp_path: Path, **keys: object) -> Path:
    body = {"id": "W-1", "owner": "qa@example.com", "reason": "QC-1",
            "expires": TODAY + dt.timedelta(days=30)} | keys
    lines = ["[[waiver]]"] + [f"{k} = {v.isoformat() if isinstance(v, dt.date) else repr(v)}"
                              .replace("'", '"') for k, v in body.items()]
    path = tmp_path / "waivers.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


REFUSED = [
    # id, waiver keys, max_days, words the one-line error must contain
    ("expiry far away", {"test": "*::t_coupon", "expires": dt.date(9999, 12, 31)}, 90,
     "expires 9999-12-31, more than 90 days"),
    ("expiry one day past the bound", {"test": "*::t_coupon",
                                       "expires": TODAY + dt.timedelta(days=91)}, 90,
     "more than 90 days"),
    ("expiry past a configured bound", {"test": "*::t_coupon",
                                        "expires": TODAY + dt.timedelta(days=31)}, 30,
     "more than 30 days"),
    ("test *", {"test": "*"}, 90, "matches every test"),
    ("test **", {"test": "**"}, 90, "matches every test"),
    ("test suites/*", {"test": "suites/*"}, 90, "matches every test"),
    ("test a whole suite", {"test": "suites/e2e/*"}, 90, "matches every test"),
    ("test *test_*", {"test": "*test_*"}, 90, "matches every test"),
    ("metric names a findings criterion", {"metric": "no high alerts"}, 90,
     "counts findings: it would waive every one"),
    ("metric names nothing judged", {"metric": "load.chekout.p95_ms"}, 90,
     "no metric criterion judges 'load.chekout.p95_ms'"),
    ("rule is a glob", {"rule": "*"}, 90, "a rule id, not a pattern"),
    ("url without a rule", {"test": "*::t_coupon", "url": "*/cart"}, 90, "url needs a rule"),
    ("two things at once", {"rule": "40012", "test": "*::t_coupon"}, 90, "waives one thing"),
    ("unknown suite", {"suite": "e3e", "test": "*::t_coupon"}, 90, "unknown suite 'e3e'"),
]


@pytest.mark.parametrize(("keys", "max_days", "words"), [c[1:] for c in REFUSED],
                         ids=[c[0] for c in REFUSED])
def test_a_waiver_that_waives_too_much_or_too_long_is_refused(tmp_path: Path, keys: dict,
                                                              max_days: int, words: str) -> None:
    path = write_waiver(tmp_path, **keys)
    with pytest.raises(ConfigError) as caught:
        load_waivers(path, today=TODAY, max_days=max_days, criteria=CRITERIA)
    assert words in caught.value.one_line(), caught.value.one_line()
    assert "waiver[0]" in caught.value.one_line()


ACCEPTED = [
    ("a finding by rule and url", {"rule": "40012", "url": "*/search*"}),
    ("a finding by rule everywhere", {"rule": "40012"}),
    ("one test", {"test": "suites/e2e/test_coupons.py::test_expired_coupon"}),
    ("one file's tests", {"test": "suites/e2e/test_coupons.py::*"}),
    ("a metric", {"metric": "load.checkout.p95_ms"}),
    ("a metric criterion by name", {"metric": "checkout p95"}),
    ("expiry on the bound", {"test": "*::t_coupon", "expires": TODAY + dt.timedelta(days=90)}),
    ("already expired (reported, waives nothing)",
     {"test": "*::t_coupon", "expires": TODAY - dt.timedelta(days=400)}),
]


@pytest.mark.parametrize("keys", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_a_waiver_that_names_one_thing_for_a_while_is_accepted(tmp_path: Path,
                                                               keys: dict) -> None:
    (waiver,) = load_waivers(write_waiver(tmp_path, **keys), today=TODAY, max_days=90,
                             criteria=CRITERIA)
    assert waiver.id == "W-1"


def w(**kw: object) -> Waiver:
    base = {"id": "W-1", "owner": "qa@example.com", "reason": "known", "expires": TODAY}
    return Waiver(**(base | kw))  # type: ignore[arg-type]


def security(*findings: Finding) -> SuiteResult:
    return SuiteResult("security", "passed", 1.0, "wapiti", findings=findings,
                       tests=(TestCase("t", "t", "passed"),))


XSS = Finding("40012", "XSS", "high", location="http://s/search?q=x")
SQLI = Finding("40018", "SQL injection", "high", location="http://s/cart")


@pytest.mark.parametrize(("waivers", "decision", "waived"), [
    # a metric waiver naming a findings criterion used to waive every finding it counts
    ([w(metric="no high alerts")], "NO-GO", 0),
    ([w(metric="no high alerts", suite="security")], "NO-GO", 0),
    # a finding is waived by its rule (+ url): the other high finding still blocks
    ([w(rule="40012", url="*/search*")], "NO-GO", 1),
    ([w(rule="40012"), w(id="W-2", rule="40018")], "GO", 2),
])
def test_findings_are_waived_by_rule_only(waivers: list[Waiver], decision: str,
                                          waived: int) -> None:
    verdict = judge({"security": security(XSS, SQLI)}, GatePolicy(criteria=[HIGH]), waivers,
                    environment="staging", required=["security"], today=TODAY)
    assert verdict.decision == decision
    assert sum(1 for c in verdict.criteria if c.outcome == "waived") == waived


def test_a_waiver_for_another_environment_does_not_apply() -> None:
    failed = SuiteResult("e2e", "failed", 1.0, "pytest", tests=(
        TestCase("suites/e2e/test_x.py::t_coupon", "t_coupon", "failed"),))
    only_demo = w(test="*::t_coupon", environments=["demo"])
    for env, decision in (("demo", "GO"), ("staging", "NO-GO")):
        verdict = judge({"e2e": failed}, GatePolicy(), [only_demo], environment=env,
                        required=["e2e"], today=TODAY)
        assert verdict.decision == decision, env


def scratch_project(tmp_path: Path, url: str, waivers: str, gate: str = "") -> dict[str, str]:
    (tmp_path / "environments").mkdir()
    # nothing listens at `url`: a run that got past its plan would record an unreachable target
    (tmp_path / "environments" / "demo.toml").write_text(
        f'base_url = "{url}"\nsuites = ["smoke"]\n' + SMOKE_CHECK)
    (tmp_path / "gate.toml").write_text(gate)
    (tmp_path / "waivers.toml").write_text(textwrap.dedent(waivers))
    return {"QGATE_ROOT": str(tmp_path), "QGATE_REPORTS_DIR": str(tmp_path / "reports")}


@pytest.mark.parametrize(("waivers", "words"), [
    ("[[waiver]]\nid = 'W-1'\n owner = \n", "malformed TOML"),
    ("""
     [[waiver]]
     id = "W-1"
     owner = "qa@example.com"
     reason = "forever"
     expires = 9999-12-31
     test = "*"
     """, "waiver[0]"),
])
def test_a_malformed_waivers_file_is_found_before_any_suite_runs(
        tmp_path: Path, closed_port_url: str, waivers: str, words: str) -> None:
    env = scratch_project(tmp_path, closed_port_url, waivers)
    result = run_qgate("run", "--env", "demo", cwd=tmp_path, env=env)
    assert result.code == 2, result.out + result.err
    assert result.err.startswith("qgate: error: ") and "waivers.toml" in result.err
    assert words in result.err and len(result.err.strip().splitlines()) <= 2
    assert "qgate run " not in result.out  # no run started, no run folder written
    assert not (tmp_path / "reports").exists() or not any(
        p.name != "history" for p in (tmp_path / "reports").iterdir())


def test_the_expiry_bound_comes_from_gate_toml(tmp_path: Path) -> None:
    far = TODAY + dt.timedelta(days=200)
    path = write_waiver(tmp_path, test="*::t_coupon", expires=far)
    (tmp_path / "gate.toml").write_text("[waivers]\nmax_days = 365\n")
    from harness.policy import load_policy
    policy = load_policy(tmp_path / "gate.toml")
    assert policy.waivers.max_days == 365
    assert load_waivers(path, today=TODAY, max_days=policy.waivers.max_days)[0].expires == far


def test_a_plain_pytest_run_finds_a_bad_waiver_before_its_tests_run(
        tmp_path: Path, closed_port_url: str) -> None:
    env = scratch_project(tmp_path, closed_port_url, """
        [[waiver]]
        id = "W-1"
        owner = "qa@example.com"
        reason = "forever"
        expires = 2026-12-31
        test = "**"
        """)
    (tmp_path / "test_shop.py").write_text("def test_ok():\n    open('ran', 'w').close()\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "test_shop.py", "--env", "demo",
                           "-p", "no:cacheprovider"], cwd=tmp_path,
                          env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    assert "waivers.toml: waiver[0].test" in proc.stderr
    assert not (tmp_path / "ran").exists()


def test_a_metric_waiver_is_checked_where_its_suite_runs(tmp_path: Path) -> None:
    # one waivers.toml for staging (load) and production (smoke only): production's runs
    # do not judge load, so they do not refuse a load waiver; staging's check it
    path = write_waiver(tmp_path, metric="load.chekout.p95_ms")
    assert load_waivers(path, today=TODAY, criteria=[], environment="production",
                        suites=["smoke"])
    with pytest.raises(ConfigError, match="no metric criterion judges"):
        load_waivers(path, today=TODAY, criteria=CRITERIA, environment="staging",
                     suites=["smoke", "load"])
