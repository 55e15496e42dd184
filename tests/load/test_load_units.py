"""The load engine's pure parts: percentiles, evidence rules, criteria, invariants, report panel."""

from __future__ import annotations

import datetime
import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.load.engine import Progress
from harness.load.evidence import breaking_point_rule, derive_evidence, early_abort_rule
from harness.load.invariants import (
    InvariantsUnavailable,
    finding_for,
    run_checks,
    validate_checks,
)
from harness.load.settings import (
    InvariantCheck,
    InvariantSettings,
    LoadSettings,
    ProfileSettings,
    Slo,
    StressSettings,
    metric_slug,
)
from harness.load.stats import (
    HistoryRow,
    LocustStats,
    RequestStats,
    StatsError,
    find_breaking_point,
    history_samples,
    percentile,
    read_stats_json,
)
from harness.machine import MachineLoad
from harness.report.sections.load import render
from harness.results import SuiteResult, TestCase


def entry(name: str, times: dict[float, int], failures: int = 0,
          seconds: tuple[int, int] = (1000, 1060)) -> RequestStats:
    count = sum(times.values())
    return RequestStats(name=name, requests=count, failures=failures, histogram=times,
                        total_response_ms=sum(k * v for k, v in times.items()),
                        max_ms=max(times, default=0), start_time=float(seconds[0]),
                        last_request_at=float(seconds[1]),
                        per_second={seconds[0]: count}, failures_per_second={})


def test_percentile_is_locusts_own() -> None:
    rng = random.Random(7)
    cases = []
    for _ in range(200):
        histogram = {rng.choice([1, 5, 12, 40, 90, 150, 800, 2300]): rng.randint(1, 40)
                     for _ in range(rng.randint(1, 8))}
        cases += [(histogram, fraction) for fraction in (0.5, 0.95, 0.99)]
    # locust monkey-patches the interpreter on import (gevent), so ask it in its own process
    script = ("import json, sys\nfrom locust.stats import calculate_response_time_percentile as p\n"
              "cases = json.load(sys.stdin)\n"
              "print(json.dumps([p({int(k): v for k, v in h.items()}, sum(h.values()), f) "
              "for h, f in cases]))")
    out = subprocess.run([sys.executable, "-c", script], input=json.dumps(cases), text=True,
                         capture_output=True, check=True).stdout
    theirs = json.loads(out)
    ours = [percentile({float(k): v for k, v in h.items()}, sum(h.values()), f) for h, f in cases]
    assert ours == theirs


def test_stats_json_merges_methods_and_rejects_garbage(tmp_path: Path) -> None:
    raw = [{"name": "cart", "method": method, "num_requests": n, "num_failures": f,
            "response_times": {"10": n}, "total_response_time": 10 * n, "max_response_time": 10,
            "start_time": 100.0, "last_request_timestamp": 130.0,
            "num_reqs_per_sec": {"100": n}, "num_fail_per_sec": {}}
           for method, n, f in (("GET", 30, 1), ("POST", 10, 2))]
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(raw))
    stats = read_stats_json(path)
    assert stats.entries["cart"].requests == 40 and stats.entries["cart"].failures == 3
    assert stats.entries["cart"].per_second == {100: 40}
    assert stats.duration_s == 30.0
    path.write_text("{not json")
    with pytest.raises(StatsError, match="not readable JSON"):
        read_stats_json(path)
    with pytest.raises(StatsError, match="missing"):
        read_stats_json(tmp_path / "absent.json")


def demo_settings(**changes: object) -> LoadSettings:
    base = LoadSettings(slo={"checkout": Slo(p95_ms=800, p99_ms=2000), "home": Slo(p95_ms=200)},
                        order_request="checkout", payment_requests=["checkout"],
                        min_payment_success_ratio=0.99, min_orders_per_min=10)
    import dataclasses
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_evidence_per_request_name_and_business_figures() -> None:
    stats = LocustStats({"checkout": entry("checkout", {100: 96, 900: 4}, failures=2),
                         "home": entry("home", {10: 60})})
    ev = derive_evidence("load", stats, [], {"limited": 0}, demo_settings())
    assert ev.metrics["load.checkout.p95_ms"] == 100
    assert ev.metrics["load.checkout.p99_ms"] == 900
    assert ev.metrics["load.checkout.requests"] == 100
    assert ev.metrics["load.error_ratio"] == round(2 / 160, 3)
    assert ev.metrics["load.orders"] == 98
    assert ev.metrics["load.orders_per_min"] == 98.0  # 60 s run
    assert ev.metrics["load.payment_success_ratio"] == 0.98
    assert ev.unmeasured == {}


def test_too_few_samples_is_unmeasured_not_a_number() -> None:
    stats = LocustStats({"checkout": entry("checkout", {100: 30}), "home": entry("home", {9: 5})})
    ev = derive_evidence("load", stats, [], {}, demo_settings())
    assert "load.checkout.p95_ms" in ev.metrics  # 30 samples: enough for a p95
    assert "only 30 timed requests for 'checkout'" in ev.unmeasured["load.checkout.p99_ms"]
    assert "load.home.p95_ms" not in ev.metrics
    assert "at least 20 needed" in ev.unmeasured["load.home.p95_ms"]
    assert "load.home.p50_ms" not in ev.unmeasured  # no objective on it: left out, not noise


def test_missing_request_name_is_unmeasured_with_a_hint() -> None:
    stats = LocustStats({"checkout": entry("checkout", {100: 60})})
    ev = derive_evidence("load", stats, [], {}, demo_settings())
    assert "no requests named 'home'" in ev.unmeasured["load.home.p95_ms"]
    assert "load.home.p99_ms" not in ev.unmeasured  # home declares no p99


def test_the_limiters_fast_answers_are_left_out_of_the_shops_percentiles() -> None:
    """18 of 96 catalogue answers are 2 ms 429s; of the shop's own 78, 4 took 600 ms (5.1 %):
    the shop's p95 is 600 ms. Counted in, the 429s pushed the slow tail under 5 % and the
    p95 read 10 ms (before: a pass for a shop that misses a 500 ms objective)."""
    times = {2.0: 18, 10.0: 74, 600.0: 4}
    stats = LocustStats({"catalog": entry("catalog", times, failures=18)})
    extras = {"limited": 18, "names": {"catalog": {
        "status": {"200": 78, "429": 18}, "limited": 18, "excused": 18, "excused_failed": 18,
        "excused_times": {"2": 18}}}}
    ev = derive_evidence("load", stats, [], extras, demo_settings())
    assert percentile(times, 96, 0.95) == 10  # what the p95 read before
    assert ev.metrics["load.catalog.p95_ms"] == 600
    assert ev.metrics["load.p95_ms"] == 600
    assert ev.samples["load.catalog.p95_ms"] == 78 and ev.samples["load.p95_ms"] == 78
    assert ev.metrics["load.error_ratio"] == 0  # the 429s are not the shop's errors either


def test_a_run_dominated_by_rate_limiting_measured_nothing() -> None:
    stats = LocustStats({"checkout": entry("checkout", {5: 100}, failures=70)})
    ev = derive_evidence("load", stats, [], {"limited": 70}, demo_settings())
    assert ev.metrics["load.limited_ratio"] == 0.7
    for metric in ("load.error_ratio", "load.rps", "load.checkout.p95_ms",
                   "load.payment_success_ratio", "load.orders_per_min"):
        assert metric not in ev.metrics
        assert "70% of 100 requests were rate limited" in ev.unmeasured[metric]
        assert "Allow-list the load generator" in ev.unmeasured[metric]


@pytest.mark.parametrize(("progress", "expected"), [
    (Progress(30, 10, 400, 0, 20, 0, 0, 0, 0, {"checkout": (25, 0, 1700.0, 1700.0)}),
     "'checkout' p95 1700 ms is more than 2× its objective (800 ms) over 25 requests"),
    (Progress(30, 10, 400, 0, 20, 0, 0, 0, 0, {"checkout": (19, 0, 5000.0, 5000.0)}), ""),
    (Progress(30, 10, 400, 0, 20, 0, 0, 0, 0, {"checkout": (25, 0, 1500.0, 1500.0)}), ""),
    (Progress(30, 10, 400, 0, 20, 0, 0, 0, 0, {"checkout": (25, 0, 1700.0, 400.0)}), ""),
    (Progress(10, 10, 400, 0, 20, 0, 0, 0, 0, {"checkout": (25, 0, 1700.0, 1700.0)}), ""),
    (Progress(30, 10, 400, 12, 20, 0, 0, 0, 0, {}), "error ratio 3.0% is more than 2×"),
    (Progress(30, 10, 50, 12, 20, 0, 0, 0, 0, {}), ""),
])
def test_early_abort_only_when_clearly_broken(progress: Progress, expected: str) -> None:
    reason = early_abort_rule(demo_settings())(progress)
    assert (expected in reason) if expected else reason == ""


def samples(rows: list[tuple[int, int, float, float, float | None]]) -> list[HistoryRow]:
    out = []
    done = 0  # locust's cumulative request count: `rps` requests completed each second
    for t, users, rps, fails, p95 in rows:
        done += int(rps)
        out.append(HistoryRow(t, users, "Aggregated", rps, fails, None, None, None, done, 0))
        out.append(HistoryRow(t, users, "checkout", rps / 5, 0, None, p95, None, 0, 0))
    return out


def test_breaking_point_needs_a_streak_and_names_the_step_held() -> None:
    history = samples([(100, 5, 10, 0, 300), (101, 5, 11, 0, 900), (102, 10, 20, 0, 300),
                       (103, 10, 21, 0, 850), (104, 15, 25, 0, 900), (105, 15, 26, 0, 950),
                       (106, 15, 27, 0, 990)])
    point = find_breaking_point(history_samples(history), {"checkout": 800}, 0.05, streak=3)
    assert (point.users, point.rps, point.at_s) == (10, 21, 3.0)
    assert point.users_held == 5 and "checkout p95 850 ms > 800 ms" in point.reason
    errors = samples([(1, 5, 10, 0, 100), (2, 10, 20, 2, 100), (3, 10, 20, 2, 100)])
    point = find_breaking_point(history_samples(errors), {"checkout": 800}, 0.05, streak=2)
    assert point.users == 10 and "error ratio 10.0% > 5.0%" in point.reason
    warm = find_breaking_point(history_samples(history), {"checkout": 800}, 0.05, streak=3,
                               warmup_s=4)  # start-up seconds can hold but not break
    assert (warm.users, warm.at_s) == (15, 4.0)
    calm = samples([(1, 5, 10, 0, 100), (2, 10, 20, 0, 100)])
    point = find_breaking_point(history_samples(calm), {"checkout": 800}, 0.05)
    assert point.users is None and point.users_held == 10


def test_stress_stops_at_the_breaking_point_and_reports_it_unmeasured_when_never_reached() -> None:
    settings = StressSettings(slo={"checkout": Slo(p95_ms=800)}, breaking_streak=2,
                              abort_after_s=0)
    rule = breaking_point_rule(settings)
    assert rule(Progress(1, 6, 50, 0, 10, 0, 0, 0, 0, {"checkout": (5, 0, 900.0, 900.0)})) == ""
    assert "at 6 users" in rule(Progress(2, 6, 60, 0, 10, 0, 0, 0, 0,
                                         {"checkout": (6, 0, 900.0, 950.0)}))
    from harness.load.evidence import breaking_point
    ev = derive_evidence("stress", LocustStats({"checkout": entry("checkout", {50: 40})}),
                         [], {}, settings)
    breaking_point("stress", samples([(1, 6, 10, 0, 100)]), settings, ev)
    assert ev.metrics["stress.users_held"] == 6
    assert "held every objective up to 6 users" in ev.unmeasured["stress.breaking_point.users"]


def test_criteria_declared_by_the_load_table() -> None:
    criteria = {c.name: c for c in demo_settings(
        invariants=InvariantSettings(checks=[InvariantCheck("x", "SELECT 1")])
    ).gate_criteria("load")}
    assert criteria["checkout p95 under 800 ms"].metric == "load.checkout.p95_ms"
    assert criteria["checkout p99 under 2000 ms"].threshold == 2000
    assert criteria["error ratio at most 1.00%"].op == "<="
    assert criteria["payment success at least 99.00%"].metric == "load.payment_success_ratio"
    assert criteria["business invariants hold after the run"].metric == "load.invariants.violated"
    assert criteria["no high-severity findings (broken invariants)"].findings_at_least == "high"
    stress = StressSettings(min_users_held=12, use_load_invariants=True).gate_criteria("stress")
    assert [c.metric for c in stress] == ["stress.invariants.violated", "", "stress.users_held"]
    assert metric_slug("Checkout (double tap)") == "checkout_double_tap"


def test_profile_sizes_apply_to_their_profile_only() -> None:
    settings = LoadSettings(profiles={"peak": ProfileSettings(users=30, duration_s=60,
                                                              abort_early=False)})
    assert settings.for_profile().users == 10
    import dataclasses
    peak = dataclasses.replace(settings, profile="peak").for_profile()
    assert (peak.users, peak.duration_s, peak.spawn_rate, peak.abort_early) == (30, 60.0, 5.0,
                                                                                 False)


@pytest.fixture
def shop_db(tmp_path: Path) -> str:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE stock (store TEXT, sku TEXT, on_hand INT, reserved INT);
            INSERT INTO stock VALUES ('KOR-01', 'ICE-001', 200, 215), ('KOR-01', 'MLK-001', 5, 1),
                                     ('HSR-01', 'ICE-001', 40, 41);""")
    return f"sqlite:///{path}"


NEGATIVE = InvariantCheck("no negative stock", "SELECT store, sku, on_hand, reserved FROM stock "
                          "WHERE on_hand - reserved < 0 ORDER BY store", key=["store", "sku"])


def test_broken_invariant_is_a_finding_naming_the_rows_keys(shop_db: str) -> None:
    ok = InvariantCheck("stock is never above 1000", "SELECT sku FROM stock WHERE on_hand > 1000")
    results = run_checks(InvariantSettings(dsn=shop_db, checks=[NEGATIVE, ok]))
    assert [r.violations for r in results] == [2, 0]
    finding = finding_for(results[0], source="load invariants")
    assert finding.severity == "high"
    assert finding.rule_id == "invariant:no_negative_stock"
    assert finding.location == "{store=HSR-01, sku=ICE-001} {store=KOR-01, sku=ICE-001}"
    # only the key columns are quoted (issue 16 item 19): the others may be a customer's data
    assert finding.evidence == "{store=HSR-01, sku=ICE-001}\n{store=KOR-01, sku=ICE-001}"
    assert "215" not in finding.evidence and "215" not in finding.location
    keyless = finding_for(run_checks(InvariantSettings(dsn=shop_db, checks=[
        InvariantCheck("negative", "SELECT sku, reserved FROM stock WHERE on_hand < reserved")
    ]))[0], source="load invariants")
    assert keyless.location == "2 rows" and "ICE-001" not in keyless.evidence
    assert "declare its key columns" in keyless.evidence
    with sqlite3.connect(shop_db.removeprefix("sqlite:///")) as db:  # nothing was changed
        assert db.execute("SELECT COUNT(*) FROM stock").fetchone() == (3,)


def test_invariants_that_cannot_run_are_unavailable_not_passing(shop_db: str) -> None:
    with pytest.raises(InvariantsUnavailable, match="dsn is empty"):
        run_checks(InvariantSettings(checks=[NEGATIVE]))
    broken = InvariantCheck("typo", "SELECT nope FROM stock")
    with pytest.raises(InvariantsUnavailable, match="invariant 'typo' could not run"):
        run_checks(InvariantSettings(dsn=shop_db, checks=[broken]))


@pytest.mark.parametrize("sql", ["DELETE FROM stock", "SELECT 1; DROP TABLE stock",
                                 "WITH x AS (SELECT 1) UPDATE stock SET on_hand = 0"])
def test_invariants_refuse_anything_but_reading(sql: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_checks(InvariantSettings(checks=[InvariantCheck("bad", sql)]),
                        "environments/x.toml", "load")
    assert info.value.one_line().startswith("environments/x.toml: load.invariants.checks[0].sql")


def test_report_panel_renders_from_the_suite_result_alone() -> None:
    result = SuiteResult(
        suite="load", status="passed", duration_s=45, engine="pytest",
        metrics={"load.checkout.requests": 70, "load.checkout.failures": 0,
                 "load.checkout.p95_ms": 80, "load.checkout.rps": 1.5,
                 "load.home.requests": 9, "load.invariants.checked": 4},
        unmeasured={"load.home.p95_ms": "only 9 timed requests for 'home'"},
        series={"load.rps": [(0, 3), (1, 14)], "load.users": [(0, 5), (1, 10)],
                "load.p95_ms": [(0, 200), (1, 60)], "load.checkout.p95_ms": [(1, 80)],
                "load.errors_per_s": [(0, 0), (1, 0)]})
    html = render(result)
    assert html.count("<svg") == 3 and "<polyline" in html
    assert "<code>checkout</code>" in html and "<code>home</code>" in html
    assert "title='only 9 timed requests for &#x27;home&#x27;'>n/m" in html
    assert "invariants" not in html  # not a request name


def test_locust_workers_are_not_pytest_workers(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.config import load_environment
    from harness.load.suite import effective_settings
    from harness.runner import plan_run, suite_command

    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "x.toml").write_text(
        'base_url = "http://127.0.0.1:9"\nsuites = ["load"]\n[load]\nlocust_workers = 2\n')
    monkeypatch.setenv("QGATE_ROOT", str(tmp_path))
    env = load_environment("x")
    assert "-n" not in suite_command("load", plan_run(env, ["load"]), tmp_path)
    assert effective_settings(env, "load").locust_workers == 2
    assert effective_settings(env, "load", workers=0).locust_workers == 0


# --- enough evidence (issue 16): samples behind every figure, seconds that really held ---

def test_a_second_with_users_but_no_completed_request_is_not_held() -> None:
    # 6 users for two seconds and nothing came back, then 12 users broke the objective
    history = samples([(1, 6, 0, 0, None), (2, 6, 0, 0, None), (3, 12, 30, 0, 900),
                       (4, 12, 30, 0, 950), (5, 12, 30, 0, 990)])
    point = find_breaking_point(history_samples(history), {"checkout": 800}, 0.05, streak=3)
    assert point.users == 12
    assert point.users_held == 0  # nothing completed at 6 users: no evidence it held


def test_warm_up_seconds_that_miss_an_objective_do_not_hold() -> None:
    # the first step misses its objective during the warm-up: it can't break, nor hold
    history = samples([(1, 6, 20, 0, 900), (2, 6, 20, 0, 950), (3, 12, 30, 0, 990),
                       (4, 12, 30, 0, 990), (5, 12, 30, 0, 990)])
    point = find_breaking_point(history_samples(history), {"checkout": 800}, 0.05, streak=3,
                                warmup_s=2)
    assert point.users_held == 0 and point.users == 12
    settings = StressSettings(slo={"checkout": Slo(p95_ms=800)}, min_users_held=6,
                              abort_after_s=2, min_samples=1)
    verdict = judge_stress(history, settings)
    # "the first step must hold" is really tested: never seen holding, it is not a pass
    [held] = [c for c in verdict.criteria if c.name.startswith("held at least")]
    assert held.outcome == "error" and "0 samples" in held.reason
    assert verdict.decision == "INCONCLUSIVE"


def judge_stress(history: list[HistoryRow], settings: StressSettings):
    from harness.load.evidence import breaking_point
    from harness.policy import GatePolicy
    from harness.verdict import judge

    ev = derive_evidence("stress", LocustStats({"checkout": entry("checkout", {50: 40})}),
                         history, {}, settings)
    breaking_point("stress", history, settings, ev)
    result = SuiteResult(suite="stress", status="passed", duration_s=5, engine="pytest",
                         metrics=ev.metrics, unmeasured=ev.unmeasured, samples=ev.samples,
                         tests=(TestCase("s::test_stress_run", "test_stress_run", "passed", 1.0),))
    return judge({"stress": result}, GatePolicy().with_criteria(settings.gate_criteria("stress")),
                 [], environment="x", required=["stress"],
                 today=datetime.date(2026, 12, 1))


def test_a_breaking_point_needs_enough_requests_behind_it() -> None:
    # three broken seconds of 2 requests each: 6 requests are no breaking point
    thin = samples([(1, 2, 10, 0, 100), (2, 4, 2, 0, 900), (3, 4, 2, 0, 900), (4, 4, 2, 0, 900)])
    settings = StressSettings(slo={"checkout": Slo(p95_ms=800)}, abort_after_s=0,
                              breaking_streak=3, min_samples=20)
    from harness.load.evidence import breaking_point
    ev = derive_evidence("stress", LocustStats({"checkout": entry("checkout", {50: 40})}),
                         [], {}, settings)
    breaking_point("stress", thin, settings, ev)
    assert "stress.breaking_point.users" not in ev.metrics
    more = samples([(1, 2, 10, 0, 100), (2, 4, 8, 0, 900), (3, 4, 8, 0, 900), (4, 4, 8, 0, 900)])
    breaking_point("stress", more, settings, ev)
    assert ev.metrics["stress.breaking_point.users"] == 4
    assert ev.samples["stress.breaking_point.users"] == 24
    assert ev.samples["stress.users_held"] == 10


def test_every_rate_ratio_and_percentile_carries_its_sample_count() -> None:
    # one order in the run: "98 orders/min" from it is no evidence
    stats = LocustStats({"checkout": entry("checkout", {100: 1}, seconds=(1000, 1002)),
                         "home": entry("home", {10: 60}, seconds=(1000, 1002))})
    ev = derive_evidence("load", stats, [], {"limited": 0}, demo_settings(min_samples=1))
    assert ev.samples["load.orders_per_min"] == 1
    assert ev.samples["load.payment_success_ratio"] == 1
    assert ev.samples["load.home.p95_ms"] == 60 and ev.samples["load.error_ratio"] == 61
    assert ev.samples["load.rps"] == 61
    from harness.policy import GatePolicy
    from harness.verdict import judge

    result = SuiteResult(suite="load", status="passed", duration_s=2, engine="pytest",
                         metrics=ev.metrics, unmeasured=ev.unmeasured, samples=ev.samples,
                         tests=(TestCase("l::test_load_run", "test_load_run", "passed", 1.0),))
    criteria = [c for c in demo_settings().gate_criteria("load") if "orders" in c.name]
    verdict = judge({"load": result}, GatePolicy().with_criteria(criteria), [],
                    environment="x", required=["load"], today=datetime.date(2026, 12, 1))
    assert ev.metrics["load.orders_per_min"] >= 20  # the figure alone would pass
    assert verdict.decision == "INCONCLUSIVE"
    [row] = [c for c in verdict.criteria if "orders" in c.name]
    assert "1 sample, at least 20 needed" in row.reason


@pytest.mark.parametrize(("machine", "saturated"), [
    (MachineLoad(samples=30, generator_cpu_mean=40, generator_busy_share=0.0,
                 host_pressure=35.0), ""),
    (MachineLoad(samples=30, generator_cpu_mean=97, generator_busy_share=0.8,
                 host_pressure=20.0), "the load generator needed ≥ 90 % of a core"),
    (MachineLoad(samples=30, generator_cpu_mean=30, host_pressure=93.0),
     "tasks waited for a CPU 93 % of the run"),
    (MachineLoad(samples=30, generator_cpu_mean=30, host_load_per_core=2.5),
     "load average 2.5 per core"),  # no PSI: the load average per core
    (MachineLoad(), ""),  # nothing sampled: nothing claimed
])
def test_a_saturated_measuring_machine_is_named(machine: MachineLoad, saturated: str) -> None:
    from harness.machine import saturation
    assert (saturated in saturation(machine)) if saturated else saturation(machine) == ""


def test_a_busy_host_does_not_slow_a_target_elsewhere() -> None:
    from harness.machine import runs_here, saturation
    busy_host = MachineLoad(samples=30, generator_cpu_mean=30, host_pressure=97.0)
    assert saturation(busy_host, target_here=False) == ""  # locust itself was not starved
    busy_locust = MachineLoad(samples=30, generator_cpu_mean=99, generator_busy_share=0.9,
                              host_pressure=97.0)
    assert "load generator" in saturation(busy_locust, target_here=False)
    assert runs_here("http://127.0.0.1:8000") and runs_here("http://localhost/")
    assert not runs_here("https://staging.shop.example")


def test_too_few_users_held_on_a_saturated_machine_is_not_measured() -> None:
    from harness.load.evidence import breaking_point, held_on_a_saturated_machine
    settings = StressSettings(slo={"checkout": Slo(p95_ms=800)}, min_users_held=12,
                              abort_after_s=0, breaking_streak=2, min_samples=1)
    history = samples([(1, 6, 10, 0, 100), (2, 6, 10, 0, 100), (3, 12, 20, 0, 900),
                       (4, 12, 20, 0, 900)])
    ev = derive_evidence("stress", LocustStats({"checkout": entry("checkout", {50: 40})}),
                         history, {}, settings)
    breaking_point("stress", history, settings, ev)
    held_on_a_saturated_machine(ev, "stress", settings)
    assert ev.metrics["stress.users_held"] == 6  # a quiet machine: 6 < 12 is the shop's
    ev.saturated = "tasks waited for a CPU 93 % of the run"
    held_on_a_saturated_machine(ev, "stress", settings)
    assert "stress.users_held" not in ev.metrics
    assert "saturated (tasks waited" in ev.unmeasured["stress.users_held"]


def test_requests_unanswered_on_a_saturated_machine_are_not_the_shops_errors() -> None:
    from harness.load.evidence import unanswered_on_a_saturated_machine
    stats = LocustStats({"checkout": entry("checkout", {100: 100}, failures=6),
                         "home": entry("home", {10: 100})})
    # 5 checkouts timed out (status 0), 1 was a 500
    extras = {"names": {"checkout": {"status": {"201": 94, "0": 5, "500": 1}}}}
    settings = demo_settings(min_payment_success_ratio=0.98)
    ev = derive_evidence("load", stats, [], extras, settings)
    unanswered_on_a_saturated_machine(ev, "load", stats, extras, settings)
    assert ev.metrics["load.error_ratio"] == 0.03  # a quiet machine: judged as measured
    ev.saturated = "tasks waited for a CPU 97 % of the run"
    unanswered_on_a_saturated_machine(ev, "load", stats, extras, settings)
    assert "5 requests got no answer" in ev.unmeasured["load.error_ratio"]
    assert "without them the error ratio is 0.51%" in ev.unmeasured["load.error_ratio"]
    assert "payment success is 98.95%" in ev.unmeasured["load.payment_success_ratio"]
    # errors the shop answered with stay the shop's
    worse = {"names": {"checkout": {"status": {"201": 94, "0": 1, "500": 5}}}}
    ev = derive_evidence("load", stats, [], worse, settings)
    ev.saturated = "busy"
    unanswered_on_a_saturated_machine(ev, "load", stats, worse, settings)
    assert ev.metrics["load.error_ratio"] == 0.03
