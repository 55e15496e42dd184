"""A team's own locustfile for its own shop, through `[load] locustfile`, unchanged.

Real locust subprocesses against Acme, the tests' own minimal shop (see conftest): auth from
the environment reaches every request, a slow page is NO-GO from its p95, a run dominated
by rate limiting is INCONCLUSIVE, workers give the same metrics, stress finds where it breaks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acme_shop import (
    ACME_LIMITED_LOCUSTFILE,
    ACME_LOCUSTFILE,
    ACME_PASSWORD,
    ACME_SECRETS,
    ACME_SLOW_LOCUSTFILE,
    ACME_STRESS_LOCUSTFILE,
    ACME_TOKEN,
    AcmeShop,
    acme_project,
)
from cli_support import Completed, run_qgate

pytestmark = pytest.mark.integration

LOAD = '''
[load]
locustfile = "acme_locustfile.py"
users = 4
spawn_rate = 4
duration_s = 6
[load.slo]
"catalog" = { p95_ms = 1000 }
"basket" = { p95_ms = 1000 }
'''


def run_acme(root: Path, *args: str) -> tuple[Completed, Path, dict[str, Any]]:
    """`qgate run --env acme --suites load|stress` in the scratch project."""
    suite = "stress" if "stress" in args else "load"
    result = run_qgate("run", "--env", "acme", *(args or ("--suites", "load")), cwd=root,
                       env={**ACME_SECRETS, "QGATE_ROOT": str(root),
                            "QGATE_REPORTS_DIR": str(root / "reports")}, timeout=180)
    run_dir = (root / "reports" / "latest").resolve()
    return result, run_dir, json.loads((run_dir / "suites" / f"{suite}.json").read_text())


def criteria(run_dir: Path) -> dict[str, dict[str, Any]]:
    record = json.loads((run_dir / "run.json").read_text())
    return {c["name"]: c for c in record["verdict"]["criteria"]}


def test_team_locustfile_runs_unchanged_with_auth_on_every_request(
        tmp_path: Path, acme_shop: AcmeShop) -> None:
    root = acme_project(tmp_path, acme_shop, ACME_LOCUSTFILE, LOAD)
    result, run_dir, load = run_acme(root)
    assert result.code == 0, result.out + result.err
    assert "VERDICT: GO" in result.out
    metrics = load["metrics"]
    assert metrics["load.catalog.requests"] > 20 and metrics["load.basket.requests"] > 5
    assert {"load.catalog.p95_ms", "load.basket.p95_ms", "load.error_ratio",
            "load.rps"} <= set(metrics)
    # auth came from the environment file, not from the locustfile, on every request
    assert acme_shop.unauthorized == 0
    assert acme_shop.paths["/catalog"] + acme_shop.paths["/basket"] == metrics["load.requests"]
    assert (root / "acme_locustfile.py").read_text() == ACME_LOCUSTFILE
    tests = {t["name"]: t for t in load["tests"]}
    assert tests["test_load_run"]["outcome"] == "passed"
    assert tests["test_business_invariants"]["outcome"] == "not_applicable"
    assert {"load.rps", "load.p95_ms", "load.users", "load.catalog.p95_ms"} <= set(
        load["series"])
    for path in run_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert ACME_PASSWORD not in text and ACME_TOKEN not in text, path


def test_a_ten_times_slower_page_is_no_go_from_its_p95(tmp_path: Path,
                                                       acme_shop: AcmeShop) -> None:
    table = LOAD.replace("[load.slo]", "abort_after_s = 3\n[load.slo]") + (
        '"deals page" = { p95_ms = 100 }\n')
    root = acme_project(tmp_path, acme_shop, ACME_SLOW_LOCUSTFILE, table)
    result, run_dir, load = run_acme(root)
    deals = criteria(run_dir)["deals page p95 under 100 ms"]
    assert deals["observed"] >= 250
    if load["saturated"]:  # a busy machine: the miss may be the machine's, never a pass
        assert result.code == 3, result.out + result.err
        assert deals["outcome"] == "error" and "saturated machine" in deals["reason"]
    else:
        assert result.code == 1, result.out + result.err
        failed = [c for c in criteria(run_dir).values() if c["outcome"] == "fail"]
        assert [c["name"] for c in failed] == ["deals page p95 under 100 ms"]
    notes = " ".join(load["notes"])
    assert "Stopped early" in notes and "'deals page' p95" in notes
    # the partner pixel was never sent: load goes to the target only
    assert "Refused" in notes and "tracker.example.net" in notes
    assert "load.partner_pixel.requests" not in load["metrics"]


def test_a_run_dominated_by_rate_limiting_is_inconclusive(tmp_path: Path,
                                                          acme_shop: AcmeShop) -> None:
    table = LOAD.replace('"basket" = { p95_ms = 1000 }', '"offers" = { p95_ms = 1000 }')
    root = acme_project(tmp_path, acme_shop, ACME_LIMITED_LOCUSTFILE, table)
    result, run_dir, load = run_acme(root)
    assert result.code == 3, result.out + result.err
    assert load["metrics"]["load.limited_ratio"] > 0.5
    offers = criteria(run_dir)["offers p95 under 1000 ms"]
    assert offers["outcome"] == "error"
    assert "were rate limited (429, or 503 with Retry-After)" in offers["reason"]
    assert "Allow-list the load generator" in offers["reason"]
    assert criteria(run_dir)["error ratio at most 1.00%"]["outcome"] == "error"


def test_workers_give_the_same_metrics_shape_as_one_process(tmp_path: Path,
                                                            acme_shop: AcmeShop) -> None:
    one = acme_project(tmp_path / "one", acme_shop, ACME_LOCUSTFILE, LOAD)
    two = acme_project(tmp_path / "two", acme_shop, ACME_LOCUSTFILE, LOAD)
    single, _, single_load = run_acme(one)
    result, run_dir, workers_load = run_acme(two, "--suites", "load", "--load-workers", "2")
    assert (single.code, result.code) == (0, 0), result.out + result.err
    assert set(workers_load["metrics"]) == set(single_load["metrics"])
    assert set(workers_load["series"]) == set(single_load["series"])
    assert set(workers_load["unmeasured"]) == set(single_load["unmeasured"])
    assert "a locust master and 2 local workers" in workers_load["notes"][0]
    assert workers_load["metrics"]["load.requests"] > 50
    # the counts the plugin keeps on each worker reached the master too
    counts = json.loads((run_dir / "artifacts/load/locust/qgate_counts.json").read_text())
    assert sum(counts["status"]["catalog"].values()) == workers_load["metrics"][
        "load.catalog.requests"]


def test_stress_finds_the_breaking_point(tmp_path: Path, acme_shop: AcmeShop) -> None:
    table = '''
[stress]
locustfile = "acme_locustfile.py"
duration_s = 40
min_users_held = 2
breaking_streak = 2
[stress.slo]
"search" = { p95_ms = 60 }
'''
    root = acme_project(tmp_path, acme_shop, ACME_STRESS_LOCUSTFILE, table, '["stress"]')
    (root / "gate.toml").write_text('[required]\nacme = ["stress"]\n')
    result, run_dir, stress = run_acme(root, "--suites", "stress")
    assert result.code == 0, result.out + result.err
    metrics = stress["metrics"]
    assert 2 < metrics["stress.breaking_point.users"] <= 16
    assert metrics["stress.breaking_point.rps"] > 0
    assert metrics["stress.users_held"] < metrics["stress.breaking_point.users"]
    assert any(n.startswith("Stopped at the breaking point") for n in stress["notes"])
    assert criteria(run_dir)["held at least 2 users within objectives"]["outcome"] == "pass"
    html = (run_dir / "report.html").read_text()
    assert "breaking point" in html and html.count("<svg") >= 3
