"""The load suite against the real demo store through `qgate demo` on a clean store. The
faults it catches (slow-checkout, payment-errors, oversell under peak) are proved in
tests/acceptance/test_fault_matrix.py, once, with the other suites' faults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli_support import Completed, run_qgate

pytestmark = pytest.mark.integration


def demo(reports: Path, *args: str) -> tuple[Completed, dict[str, Any], dict[str, Any]]:
    """`qgate demo ARGS`; the result, run.json and load.json."""
    result = run_qgate("demo", *args, env={"QGATE_REPORTS_DIR": str(reports)}, timeout=300)
    run_dir = (reports / "latest").resolve()
    record = json.loads((run_dir / "run.json").read_text())
    return result, record, record["suites"]["load"]


def outcomes(record: dict[str, Any], outcome: str) -> list[str]:
    return [c["name"] for c in record["verdict"]["criteria"]
            if c["suite"] == "load" and c["outcome"] == outcome]


def test_clean_store_collects_every_figure_and_breaks_no_invariant(reports_in_tmp: Path) -> None:
    result, record, load = demo(reports_in_tmp, "--suites", "smoke,load")
    assert load["status"] == "passed", result.out
    metrics, unmeasured = load["metrics"], load["unmeasured"]
    assert metrics["load.invariants.checked"] == 4 and metrics["load.invariants.violated"] == 0
    assert metrics["load.failures"] == 0 and metrics["load.requests"] > 100
    for name in ("home", "category", "search", "product_page", "set_location", "add_to_cart",
                 "cart", "checkout", "track_order"):
        assert f"load.{name}.p95_ms" in metrics or f"load.{name}.p95_ms" in unmeasured, name
    # Latency depends on what else the machine runs (a busy CI box can stop the run early on
    # a page's p95); every other criterion must hold on a clean store.
    def other(names: list[str]) -> list[str]:
        return [n for n in names if " p95 " not in n and " p99 " not in n]

    assert other(outcomes(record, "fail")) == []
    if not any(n.startswith("Stopped early") for n in load["notes"]):
        assert other(outcomes(record, "error")) == []
    assert {"load.rps", "load.p95_ms", "load.errors_per_s", "load.users"} <= set(load["series"])
