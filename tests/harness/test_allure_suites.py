"""Allure the ecosystem's way: suites record through allure-pytest (journey steps,
attachments, labels qgate → suite), and the gate adds its criteria, categories and
environment; `qgate report --allure` renders it all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli_support import run_qgate


def results(folder: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(p.read_text()) for p in folder.glob("*-result.json")]


def labels(result: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {la["name"]: la["value"] for la in result.get("labels", [])}


def test_journeys_record_steps_and_attachments_for_allure(project_copy: Path,
                                                          tmp_path: Path) -> None:
    from demostore.process import start_store

    demo = project_copy / "environments" / "demo.toml"
    demo.write_text(demo.read_text().replace("[e2e]", '[e2e]\nviewports = ["desktop"]'))
    with start_store(faults=("wrong-total",), version="1.0.0") as store:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "suites/e2e", "--env",
             "demo", "--base-url", store.base_url, "-q", "-k",
             "small_cart_totals or search_and_open"],
            cwd=project_copy, capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "QGATE_ROOT": str(project_copy),
                 "QGATE_REPORTS_DIR": str(tmp_path)})
    assert proc.returncode == 1, proc.stdout[-3000:]
    run_dir = (tmp_path / "latest").resolve()
    folder = run_dir / "allure-results"
    everything = results(folder)
    journeys = [r for r in everything if labels(r).get("framework") == "pytest"]
    assert {r["status"] for r in journeys} == {"passed", "failed"}, journeys
    for r in journeys:
        assert labels(r)["parentSuite"] == "qgate" and labels(r)["suite"] == "e2e"
    failed = next(r for r in journeys if r["status"] == "failed")
    steps = [s["name"] for s in failed["steps"]]
    assert "check totals" in steps and "add to cart" in steps, steps
    # the failure's evidence, attached where it was kept (the fixture's teardown)
    attached = json.dumps(everything) + "".join(p.read_text()
                                                for p in folder.glob("*-container.json"))
    assert "playwright show-trace" in attached and "page at failure" in attached
    # the gate's own results: one per criterion, and no second copy of the journeys
    gate = [r for r in everything if labels(r).get("framework") == "qgate"]
    assert gate and all(labels(r)["suite"] == "qgate.gate" for r in gate)
    assert len([r for r in everything if "small_cart" in r["name"]]) == 1
    categories = json.loads((folder / "categories.json").read_text())
    assert {c["name"].split()[0] for c in categories} >= {"Product", "Infrastructure", "Test",
                                                          "Flaky"}
    assert "decision=NO-GO" in (folder / "environment.properties").read_text()
    # re-rendering keeps the suites' results and replaces only the gate's
    again = run_qgate("report", str(run_dir), "--allure")
    assert again.code == 1, again.err
    assert len(results(folder)) == len(everything)
    assert (run_dir / "allure-report" / "index.html").is_file()
