"""Sharding a suite across machines and merging the shards into one judged run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli_support import SMOKE_CHECK, run_qgate
from harness.merge import merge_suite_results, shard_of
from harness.results import SuiteResult, TestCase


def result(*outcomes: str, metrics: dict[str, float]) -> SuiteResult:
    tests = tuple(TestCase(f"t{i}-{o}", f"t{i}", o) for i, o in enumerate(outcomes))  # type: ignore[arg-type]
    return SuiteResult(suite="e2e", status="passed", duration_s=1, engine="pytest",
                       tests=tests, metrics=metrics)


def test_merge_adds_counters_and_keeps_the_worst_budget_metric() -> None:
    merged = merge_suite_results([
        result("passed", "failed", metrics={"e2e.checkout.duration_ms": 900, "e2e.tests": 2}),
        result("passed", metrics={"e2e.checkout.duration_ms": 1500, "e2e.tests": 1}),
    ])
    assert len(merged.tests) == 3
    assert merged.metrics["e2e.tests"] == 3 and merged.metrics["e2e.failed"] == 1
    assert merged.metrics["e2e.checkout.duration_ms"] == 1500
    assert merged.status == "failed"


def test_shards_partition_the_files() -> None:
    files = [f"suites/e2e/test_{n}.py" for n in range(40)]
    shards = [shard_of(f, 3) for f in files]
    assert set(shards) == {1, 2, 3}
    assert shards == [shard_of(f, 3) for f in files]  # stable


def test_shard_runs_merge_into_one_run(tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "demo.toml").write_text(
        'base_url = "http://127.0.0.1:9"\nsuites = ["smoke"]\n' + SMOKE_CHECK)
    (tmp_path / "gate.toml").write_text('[required]\ndemo = ["smoke"]\n')
    suite = tmp_path / "suites" / "smoke"
    suite.mkdir(parents=True)
    for n in range(8):
        body = "def test_ok():\n    pass\n" if n != 5 else "def test_bad():\n    assert False\n"
        (suite / f"test_{n}.py").write_text(body)
    env = {**os.environ, "QGATE_ROOT": str(tmp_path)}
    shard_dirs = []
    for i in (1, 2):
        run_dir = tmp_path / "reports" / f"shard{i}"
        # standalone pytest (judged per shard, so each records its I/N in run.json)
        env["QGATE_REPORTS_DIR"] = str(run_dir.parent)
        subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                        "suites/smoke", "--env", "demo", "--qgate-shard", f"{i}/2"],
                       cwd=tmp_path, env=env, check=False)
        (run_dir.parent / "latest").resolve().rename(run_dir)
        shard_dirs.append(str(run_dir))
    counts = [json.loads((Path(d) / "suites" / "smoke.json").read_text())["metrics"]
              ["smoke.tests"] for d in shard_dirs]
    assert sum(counts) == 8 and all(c > 0 for c in counts)
    merged = run_qgate("merge", "--env", "demo", *shard_dirs, cwd=tmp_path,
                       env={"QGATE_ROOT": str(tmp_path),
                            "QGATE_REPORTS_DIR": str(tmp_path / "reports")})
    assert merged.code == 1, merged.out + merged.err  # test_5 fails in whichever shard had it
    run = json.loads((tmp_path / "reports" / "latest" / "run.json").read_text())
    assert run["suites"]["smoke"]["metrics"]["smoke.tests"] == 8
    assert run["suites"]["smoke"]["metrics"]["smoke.failed"] == 1
    assert "Merged from 2 shard runs (1/2, 2/2)." in run["notes"]
