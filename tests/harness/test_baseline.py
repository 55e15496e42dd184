"""Baselines and regression: a run compared with the last good ones, and the history behind it."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest

from cli_support import SMOKE_CHECK, run_qgate
from harness.errors import UsageError
from harness.history import HistoryEntry, append_history, baseline_of, resolve_baseline
from harness.policy import Criterion, GatePolicy
from harness.results import Finding, SuiteResult, TestCase
from harness.verdict import Baseline, judge

TODAY = dt.date(2026, 11, 30)
P95 = Criterion(suite="load", name="checkout p95 within 20% of baseline",
                metric="load.checkout.p95_ms", op="<=", baseline="+20%")


def load(p95: float, *tests: tuple[str, str], findings: tuple[Finding, ...] = ()
         ) -> SuiteResult:
    cases = tuple(TestCase(id=i, name=i, outcome=o) for i, o in tests)  # type: ignore[arg-type]
    return SuiteResult("load", "passed", 1.0, "locust", metrics={"load.checkout.p95_ms": p95},
                       tests=cases or (TestCase("t", "t", "passed"),), findings=findings)


def base(p95: float, passed: tuple[str, ...] = ("t",), findings: tuple[str, ...] = ()
         ) -> Baseline:
    return Baseline("run r0", ("r0",), metrics={"load": {"load.checkout.p95_ms": p95}},
                    passed={"load": frozenset(passed)},
                    findings={"load": frozenset(findings)})


def verdict(result: SuiteResult, baseline: Baseline | None):
    return judge({"load": result}, GatePolicy(criteria=[P95]), [], environment="staging",
                 required=["load"], today=TODAY, baseline=baseline)


@pytest.mark.parametrize(("observed", "baseline_p95", "outcome", "decision"), [
    (1100, 1000, "pass", "GO"),     # +10% is within +20%
    (1300, 1000, "fail", "NO-GO"),  # +30% is not
    (1200, 1000, "pass", "GO"),     # exactly the bar
])
def test_relative_criterion_is_judged_against_the_baseline(observed: float,
                                                           baseline_p95: float, outcome: str,
                                                           decision: str) -> None:
    v = verdict(load(observed), base(baseline_p95))
    row = next(c for c in v.criteria if c.name == P95.name)
    assert (row.outcome, row.threshold, row.baseline) == (outcome, "<= 1200", baseline_p95)
    assert v.decision == decision


def test_relative_criterion_without_baseline_is_not_applicable() -> None:
    v = verdict(load(5000), None)
    row = next(c for c in v.criteria if c.name == P95.name)
    assert row.outcome == "n/a" and "pass --baseline" in row.reason
    assert v.decision == "GO"  # no baseline to compare with is not evidence of a regression


def test_regressions_since_the_baseline_are_listed() -> None:
    xss = Finding("40012", "XSS", "high", location="/search")
    now = load(900, ("a", "failed"), ("b", "flaky"), ("c", "passed"), findings=(xss,))
    v = verdict(now, base(1000, passed=("a", "b", "c")))
    rows = {c.name: c for c in v.criteria}
    assert rows["no new failures since baseline"].observed == 1
    assert rows["no new flaky tests since baseline"].observed == 1
    assert rows["no new findings since baseline"].observed == 1
    assert "40012 @ /search" in rows["no new findings since baseline"].reason
    assert v.decision == "NO-GO"  # through "tests pass", not through the delta rows


def test_a_finding_is_the_same_finding_on_another_port_or_line() -> None:
    here = Finding("10038", "CSP", "medium", location="http://127.0.0.1:41234/cart")
    there = Finding("10038", "CSP", "medium", location="https://staging.example:8443/cart")
    assert here.key == there.key == "10038 @ /cart"
    assert Finding("B105", "secret", "low", location="app/settings.py:12").key == \
        Finding("B105", "secret", "low", location="app/settings.py:40").key
    assert Finding("x", "x", "low", location="http://127.0.0.1:1/cart").key != \
        Finding("x", "x", "low", location="http://127.0.0.1:1/checkout").key


def entry(run_id: str, decision: str, p95: float, profile: str = "ci") -> HistoryEntry:
    return HistoryEntry(run_id, f"/r/{run_id}", "staging", profile, decision, "t",
                        metrics={"load": {"load.checkout.p95_ms": p95}})


def test_last_go_n_is_the_median_of_the_last_n_go_runs_of_the_same_profile(tmp_path: Path
                                                                           ) -> None:
    for e in (entry("r1", "GO", 100), entry("r2", "NO-GO", 9000), entry("r3", "GO", 300),
              entry("r4", "GO", 200), entry("r5", "GO", 5000, profile="peak")):
        append_history(tmp_path, e)
    last = resolve_baseline("last-go", environment="staging", profile="ci",
                            reports_root=tmp_path)
    assert last.run_ids == ("r4",) and last.metrics["load"]["load.checkout.p95_ms"] == 200
    three = resolve_baseline("last-go:3", environment="staging", profile="ci",
                             reports_root=tmp_path)
    assert three.run_ids == ("r1", "r3", "r4")
    assert three.metrics["load"]["load.checkout.p95_ms"] == 200  # median of 100, 300, 200
    assert "median of the last 3 GO runs" in three.source


@pytest.mark.parametrize(("spec", "message"), [
    ("last-go", "no GO run of staging"), ("last-go:0", "expected last-go or last-go:N"),
    ("nowhere/run", "no run.json here"),
])
def test_a_baseline_that_names_nothing_is_a_usage_error(tmp_path: Path, spec: str,
                                                        message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve_baseline(spec, environment="staging", profile="ci", reports_root=tmp_path)


def test_baseline_of_one_run_keeps_its_tests() -> None:
    e = HistoryEntry("r1", "/r", "staging", "ci", "GO", "t", passed={"e2e": ["x"]},
                     findings={"security": ["10020 @ /"]})
    b = baseline_of([e], "run r1")
    assert b.passed["e2e"] == {"x"} and b.findings["security"] == {"10020 @ /"}


def test_run_compared_with_last_go_shows_deltas_everywhere(clean_store: str,
                                                           tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "demo.toml").write_text(
        f'base_url = "{clean_store}"\nsuites = ["smoke"]\n' + SMOKE_CHECK)
    (tmp_path / "gate.toml").write_text(textwrap.dedent("""
        [required]
        demo = ["smoke"]

        [[criteria]]
        suite = "smoke"
        name = "slowest check within +500% of baseline"
        metric = "smoke.latency_max_ms"
        op = "<="
        baseline = "+500%"
    """))
    env = {"QGATE_ROOT": str(tmp_path), "QGATE_REPORTS_DIR": str(tmp_path / "reports")}
    first = run_qgate("run", "--env", "demo", cwd=tmp_path, env=env)
    assert first.code == 0, first.out + first.err
    assert "slowest check within" in first.out  # n/a: no baseline yet
    second = run_qgate("run", "--env", "demo", "--baseline", "last-go", cwd=tmp_path, env=env)
    assert second.code == 0, second.out + second.err
    first_id = json.loads((tmp_path / "reports" / "history" / "demo.jsonl").read_text()
                          .splitlines()[0])["run_id"]
    assert f"compared with run {first_id}:" in second.out
    assert "smoke: slowest check within +500% of baseline: " in second.out
    run_dir = tmp_path / "reports" / "latest"
    run = json.loads((run_dir / "run.json").read_text())
    assert run["baseline"] == f"run {first_id}" and run["profile"] == "default"
    row = next(c for c in run["verdict"]["criteria"] if c["name"].startswith("slowest"))
    assert row["outcome"] == "pass" and row["baseline"] > 0
    assert f"Compared with run {first_id}." in (run_dir / "summary.md").read_text()
    assert "<th>baseline</th>" in (run_dir / "report.html").read_text()
    history = (tmp_path / "reports" / "history" / "demo.jsonl").read_text().splitlines()
    assert len(history) == 2


def test_bad_baseline_fails_before_any_suite_runs(clean_store: str, tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "demo.toml").write_text(
        f'base_url = "{clean_store}"\nsuites = ["smoke"]\n' + SMOKE_CHECK)
    result = run_qgate("run", "--env", "demo", "--baseline", "last-go", cwd=tmp_path,
                       env={"QGATE_ROOT": str(tmp_path),
                            "QGATE_REPORTS_DIR": str(tmp_path / "reports")})
    assert result.code == 2
    assert result.err.startswith("qgate: error: --baseline last-go: no GO run of demo")
    assert "running" not in result.out


# --- issue 16, item 13: a baseline without the metric is no comparison ---

@pytest.mark.parametrize(("criterion", "required", "outcome", "decision"), [
    (P95, True, "error", "INCONCLUSIVE"),                       # blocking: no evidence
    (P95, False, "warn", "GO"),                                 # optional suite: shown
    (Criterion(suite="load", name=P95.name, metric=P95.metric, op="<=", baseline="+20%",
               severity="warning"), True, "warn", "GO"),        # a warning stays a warning
])
def test_a_baseline_that_lacks_the_metric_is_an_error(criterion: Criterion, required: bool,
                                                      outcome: str, decision: str) -> None:
    other = Baseline("run r0", ("r0",), metrics={"load": {"load.rps": 40}})
    v = judge({"load": load(6500)}, GatePolicy(criteria=[criterion]), [],
              environment="staging", required=["load"] if required else [], today=TODAY,
              baseline=other)
    row = next(c for c in v.criteria if c.name == P95.name)
    assert (row.outcome, v.decision) == (outcome, decision)
    assert "run r0 lacks load.checkout.p95_ms" in row.reason


# --- issue 16, item 14: compare within one environment and one profile ---

def recorded_run(run_dir: Path, environment: str, profile: str) -> Path:
    from harness.results import write_suite_result
    from harness.runrecord import RunRecord, write_run
    from harness.verdict import Verdict

    result = load(150, ("t", "passed"))
    write_suite_result(run_dir, result)
    write_run(RunRecord(run_dir.name, environment, "https://s", "", "t", "t",
                        Verdict("GO", (), "x"), {"load": result}, profile=profile), run_dir)
    return run_dir


@pytest.mark.parametrize(("environment", "profile", "words"), [
    ("production", "ci", "is a run of production, not of staging"),
    ("staging", "peak", "ran load profile peak, this run ci"),
    ("staging", "", "does not record its load profile"),
])
def test_a_baseline_folder_of_another_environment_or_profile_is_refused(
        tmp_path: Path, environment: str, profile: str, words: str) -> None:
    run_dir = recorded_run(tmp_path / "r0", environment, profile)
    with pytest.raises(UsageError, match=words):
        resolve_baseline(str(run_dir), environment="staging", profile="ci",
                         reports_root=tmp_path)


def test_a_baseline_folder_of_the_same_environment_and_profile_is_used(tmp_path: Path) -> None:
    run_dir = recorded_run(tmp_path / "r0", "staging", "ci")
    b = resolve_baseline(str(run_dir), environment="staging", profile="ci",
                         reports_root=tmp_path)
    assert b.run_ids == ("r0",) and b.metrics["load"]["load.checkout.p95_ms"] == 150


def test_the_profile_a_run_records_is_the_one_it_ran(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    from harness.config import load_environment
    from harness.runner import run_profile

    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "staging.toml").write_text(
        'base_url = "https://s.example"\nsuites = ["load"]\n[load]\nprofile = "ci"\n')
    env = load_environment("staging", tmp_path)
    assert run_profile(env, ["load"]) == "ci"
    monkeypatch.setenv("QGATE_LOAD_PROFILE", "peak")  # what `qgate run --load-profile` sets
    assert run_profile(env, ["load"]) == "peak"
    assert run_profile(env, ["load"], "soak") == "soak"  # a plain pytest run's --load-profile
    assert run_profile(env, ["smoke"]) == "default"


def test_run_with_a_baseline_of_another_environment_stops_before_any_suite(
        tmp_path: Path, closed_port_url: str) -> None:
    (tmp_path / "environments").mkdir()
    for name in ("demo", "staging"):
        (tmp_path / "environments" / f"{name}.toml").write_text(
            f'base_url = "{closed_port_url}"\nsuites = ["smoke"]\n' + SMOKE_CHECK)
    other = recorded_run(tmp_path / "elsewhere" / "r0", "staging", "default")
    result = run_qgate("run", "--env", "demo", "--baseline", str(other), cwd=tmp_path,
                       env={"QGATE_ROOT": str(tmp_path),
                            "QGATE_REPORTS_DIR": str(tmp_path / "reports")})
    assert result.code == 2, result.out + result.err
    assert "is a run of staging, not of demo" in result.err
    assert "qgate run " not in result.out


def test_shards_of_different_load_profiles_do_not_merge(tmp_path: Path) -> None:
    import dataclasses

    from harness.errors import IncompleteEvidence
    from harness.merge import merge_runs
    from harness.runrecord import load_run, write_run

    shards = []
    for i, profile in ((1, "ci"), (2, "peak")):
        run_dir = recorded_run(tmp_path / f"shard{i}", "staging", profile)
        write_run(dataclasses.replace(load_run(run_dir), shard=f"{i}/2"), run_dir)
        shards.append(run_dir)
    with pytest.raises(IncompleteEvidence, match="different load profiles: ci, peak"):
        merge_runs(shards, tmp_path / "merged")
    write_run(dataclasses.replace(load_run(shards[1]), profile="ci"), shards[1])
    assert merge_runs(shards, tmp_path / "merged").profile == "ci"
