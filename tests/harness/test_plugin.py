"""The pytest plugin: plain `pytest suites/<name> --env demo` works and records evidence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cli_support import PROJECT, assert_partial


def pytest_run(args: list[str], cwd: Path, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    if cwd != PROJECT:  # scratch projects keep their runs in their own reports/
        full.pop("QGATE_REPORTS_DIR", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=full, capture_output=True, text=True, timeout=300,
                          check=False)


def latest_run(root: Path) -> dict:
    reports = Path(os.environ["QGATE_REPORTS_DIR"]) if root == PROJECT else root / "reports"
    return json.loads((reports / "latest" / "run.json").read_text())


def test_plain_pytest_smoke_suite_writes_a_judged_run(clean_store: str) -> None:
    result = pytest_run(["suites/smoke", "--env", "demo", "--base-url", clean_store,
                         "--expect-version", "1.0.0", "-q"], PROJECT)
    # the same verdict and exit code as `qgate run --suites smoke`: partial, so INCONCLUSIVE
    assert result.returncode == 3, result.stdout + result.stderr
    assert "VERDICT: INCONCLUSIVE" in result.stdout
    run = latest_run(PROJECT)
    assert run["target"]["base_url"] == clean_store
    assert_partial(run, ran=["smoke"],
                   left_out=[s for s in run["scope"]["required"] if s != "smoke"])
    assert run["suites"]["smoke"]["metrics"]["smoke.tests"] == 7
    # each check reports its own time, not the whole parallel batch's
    durations = {t["name"]: t["duration_s"] for t in run["suites"]["smoke"]["tests"]}
    latencies = {t["name"]: t["details"]["latency_ms"] / 1000
                 for t in run["suites"]["smoke"]["tests"]}
    assert durations == {n: pytest.approx(v, abs=0.002) for n, v in latencies.items()}
    assert max(durations.values()) < sum(durations.values())  # not one test holding it all


def write_suite(root: Path, body: str) -> None:
    (root / "environments").mkdir(exist_ok=True)
    (root / "environments" / "demo.toml").write_text(
        'base_url = "http://127.0.0.1:9"\nsuites = ["smoke"]\n')
    (root / "suites" / "smoke").mkdir(parents=True, exist_ok=True)
    (root / "suites" / "smoke" / "test_things.py").write_text(textwrap.dedent(body))


def test_outcomes_flaky_skips_metrics_and_artifacts(tmp_path: Path) -> None:
    write_suite(tmp_path, """
        import pytest
        ATTEMPTS = {"n": 0}

        def test_pass(evidence):
            evidence.metric("smoke.sample_ms", 5)
            evidence.metric("smoke.sample_ms", 9)

        @pytest.mark.flaky(reruns=2)
        def test_flaky(evidence, tmp_path):
            ATTEMPTS["n"] += 1
            shot = tmp_path / "shot.png"
            shot.write_bytes(b"png")
            evidence.artifact(shot, "screenshot", "page")
            evidence.step("second try")
            assert ATTEMPTS["n"] >= 2

        def test_fail(evidence):
            evidence.step("check the totals")
            assert 1 + 1 == 3, "totals do not add up"

        def test_skip():
            pytest.skip("adapter: no pincode concept")

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture could not connect")

        def test_error(broken):
            pass
    """)
    result = pytest_run(["suites/smoke", "--env", "demo", "-q"], tmp_path,
                        {"QGATE_ROOT": str(tmp_path)})
    assert result.returncode == 1, result.stdout + result.stderr
    run = latest_run(tmp_path)
    smoke = run["suites"]["smoke"]
    outcomes = {t["name"]: t for t in smoke["tests"]}
    assert {n: t["outcome"] for n, t in outcomes.items()} == {
        "test_pass": "passed", "test_flaky": "flaky", "test_fail": "failed",
        "test_skip": "skipped", "test_error": "error"}
    assert outcomes["test_flaky"]["attempts"] == 2
    assert outcomes["test_fail"]["step"] == "check the totals"
    assert outcomes["test_fail"]["message"].startswith("AssertionError: totals do not add up")
    assert outcomes["test_skip"]["message"] == "adapter: no pincode concept"
    assert smoke["metrics"]["smoke.sample_ms"] == 9  # the max over samples
    assert smoke["metrics"]["smoke.flaky"] == 1
    # one per attempt: the failed attempt's evidence is kept next to the passing one
    assert [a["kind"] for a in smoke["artifacts"]] == ["screenshot", "screenshot"]
    assert all(a["test_id"].endswith("::test_flaky") for a in smoke["artifacts"])
    assert [a["attempt"] for a in smoke["artifacts"]] == [1, 2]
    assert run["verdict"]["decision"] == "NO-GO"


def test_a_failure_between_steps_is_not_reported_under_the_last_step(tmp_path: Path) -> None:
    write_suite(tmp_path, """
        def test_fail_after_a_step(evidence):
            evidence.step("open product")
            evidence.step("")  # the step ended
            assert False, "the cart is empty"

        def test_fail_inside_a_step(evidence):
            evidence.step("open product")
            assert False, "no price"
    """)
    pytest_run(["suites/smoke", "--env", "demo", "-q"], tmp_path, {"QGATE_ROOT": str(tmp_path)})
    tests = {t["name"]: t for t in latest_run(tmp_path)["suites"]["smoke"]["tests"]}
    after, inside = tests["test_fail_after_a_step"], tests["test_fail_inside_a_step"]
    assert (after["step"], after["steps"]) == ("", ["open product"])
    assert (inside["step"], inside["steps"]) == ("open product", ["open product"])


def test_a_not_applicable_test_is_counted_as_such_not_as_a_skip(tmp_path: Path) -> None:
    write_suite(tmp_path, """
        import pytest
        from harness.plugin import not_applicable

        def test_pincodes():
            not_applicable('e2e.location.pincode = ""')

        def test_gap():
            pytest.skip("adapter cannot do it")
    """)
    result = pytest_run(["suites/smoke", "--env", "demo", "-q"], tmp_path,
                        {"QGATE_ROOT": str(tmp_path)})
    assert "1 skipped, 1 not applicable" in result.stdout, result.stdout
    tests = {t["name"]: t for t in latest_run(tmp_path)["suites"]["smoke"]["tests"]}
    assert tests["test_pincodes"]["outcome"] == "not_applicable"
    assert tests["test_pincodes"]["message"] == 'e2e.location.pincode = ""'
    assert tests["test_gap"]["outcome"] == "skipped"


def test_suite_that_collects_nothing_is_inconclusive(tmp_path: Path) -> None:
    write_suite(tmp_path, "X = 1\n")
    result = pytest_run(["suites/smoke", "--env", "demo", "--qgate-suite", "smoke", "-q"],
                        tmp_path, {"QGATE_ROOT": str(tmp_path)})
    assert result.returncode == 3  # qgate's INCONCLUSIVE, not pytest's "no tests" (5)
    assert latest_run(tmp_path)["verdict"]["decision"] == "INCONCLUSIVE"


def test_collection_error_is_an_error_not_a_failure(tmp_path: Path) -> None:
    write_suite(tmp_path, "import not_a_module_anywhere\n")
    pytest_run(["suites/smoke", "--env", "demo", "-q"], tmp_path, {"QGATE_ROOT": str(tmp_path)})
    run = latest_run(tmp_path)
    assert run["suites"]["smoke"]["status"] == "error"
    assert "not_a_module_anywhere" in run["suites"]["smoke"]["error"]
    assert run["verdict"]["decision"] == "INCONCLUSIVE"


def test_bad_environment_is_a_usage_error(tmp_path: Path) -> None:
    write_suite(tmp_path, "def test_a():\n    pass\n")
    (tmp_path / "environments" / "demo.toml").write_text('base_url = "http://x"\nsuits = []\n')
    result = pytest_run(["suites/smoke", "--env", "demo"], tmp_path,
                        {"QGATE_ROOT": str(tmp_path)})
    assert result.returncode == 4
    assert "environments/demo.toml: suits: unknown key; did you mean 'suites'?" in result.stderr


def test_plugin_is_inert_without_env(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_a():\n    pass\n")
    result = pytest_run(["-q", "test_plain.py"], tmp_path)
    assert result.returncode == 0
    assert not (tmp_path / "reports").exists()


def test_plain_pytest_respects_production_protection(tmp_path: Path) -> None:
    write_suite(tmp_path, "def test_a():\n    pass\n")
    (tmp_path / "suites" / "e2e").mkdir()
    (tmp_path / "suites" / "e2e" / "test_b.py").write_text("def test_b():\n    pass\n")
    (tmp_path / "environments" / "prod.toml").write_text(
        'base_url = "http://127.0.0.1:9"\nproduction = true\nsuites = ["smoke", "e2e"]\n')
    env = {"QGATE_ROOT": str(tmp_path)}
    refused = pytest_run(["suites/e2e", "--env", "prod"], tmp_path, env)
    assert refused.returncode == 4
    assert "environment 'prod' is production; refusing e2e" in refused.stderr
    allowed = pytest_run(["suites/e2e", "--env", "prod", "--allow-production", "-q"], tmp_path,
                         env)
    # allowed to run, and partial (prod also requires smoke): INCONCLUSIVE, not refused
    assert allowed.returncode == 3, allowed.stdout + allowed.stderr
    assert latest_run(tmp_path)["suites"]["e2e"]["status"] == "passed"
    assert latest_run(tmp_path)["production_override"] is True


def test_plain_pytest_respects_the_allow_list(tmp_path: Path) -> None:
    write_suite(tmp_path, "def test_a():\n    pass\n")
    (tmp_path / "suites" / "e2e").mkdir()
    (tmp_path / "suites" / "e2e" / "test_b.py").write_text("def test_b():\n    pass\n")
    result = pytest_run(["suites/e2e", "--env", "demo"], tmp_path, {"QGATE_ROOT": str(tmp_path)})
    assert result.returncode == 4
    assert "suite 'e2e' is not allowed in environment 'demo'" in result.stderr


def test_smoke_suite_runs_the_browser_check_only_when_enabled(clean_store: str,
                                                              project_copy: Path) -> None:
    demo = project_copy / "environments" / "demo.toml"
    demo.write_text(demo.read_text().replace("[smoke.browser]\n",
                                              "[smoke.browser]\nenabled = true\n"))
    env = {"QGATE_ROOT": str(project_copy)}
    result = pytest_run(["suites/smoke", "--env", "demo", "--base-url", clean_store, "-q"],
                        project_copy, env)
    assert result.returncode == 3, result.stdout + result.stderr  # partial: smoke only
    tests = latest_run(project_copy)["suites"]["smoke"]["tests"]
    assert latest_run(project_copy)["suites"]["smoke"]["status"] == "passed"
    assert [t["outcome"] for t in tests if "test_browser" in t["id"]] == ["passed"]
    assert len(tests) == 8


def test_coverage_samples_and_saturation_reach_the_judged_run(tmp_path: Path) -> None:
    """A suite's `evidence.coverage/samples/saturated` travel to run.json and the verdict:
    a login wall's three requests make the run INCONCLUSIVE with the suite's own hint."""
    write_suite(tmp_path, """
        def test_measure(evidence):
            evidence.metric("smoke.sample_ms", 5, samples=3)
            evidence.coverage("smoke.requests_on_target", 3, 100,
                              what="requests that reached the target",
                              detail="97 redirected to a login page",
                              hint="declare [auth] for the staging")
            evidence.saturated("host CPU pressure 95 %")
    """)
    result = pytest_run(["suites/smoke", "--env", "demo", "-q"], tmp_path,
                        {"QGATE_ROOT": str(tmp_path)})
    assert result.returncode == 3, result.stdout + result.stderr
    smoke = latest_run(tmp_path)["suites"]["smoke"]
    assert smoke["samples"] == {"smoke.sample_ms": 3}
    assert smoke["saturated"] == "host CPU pressure 95 %"
    [cov] = smoke["coverage"]
    assert (cov["key"], cov["observed"], cov["minimum"]) == ("smoke.requests_on_target", 3, 100)
    rows = [c for c in latest_run(tmp_path)["verdict"]["criteria"]
            if c["name"].startswith("coverage:")]
    assert rows[0]["outcome"] == "error" and "declare [auth]" in rows[0]["reason"]
