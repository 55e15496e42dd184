"""Gate accuracy: every demo-store fault ends NO-GO, blocked by the suite that owns that
defect, with a reason that names it; a clean `qgate demo` ends GO.

Each fault runs `qgate demo --fault NAME` with smoke and the suites that own the defect (and,
for pii-in-logs, a suite whose shoppers' requests reach the store's log); a failure wins over
the suites left out, so the verdict is NO-GO. The table in docs/demo-store.md ("Fault
matrix") is the one these runs produce: `test_readme_publishes_the_matrix` compares them,
and writes the table it measured to reports/fault_matrix.md when they differ. The `qgate
demo` runs the docs show (blocks marked `RUN_BY_FAULT_MATRIX`) are these runs: each one's
lines must be in the output of the run with the same options.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli_support import PROJECT, run_qgate
from demostore.faults import FAULTS
from doc_blocks import assert_shown, demo_options, demo_runs

pytestmark = pytest.mark.integration


def slow_checkouts(run: dict[str, Any]) -> None:
    assert run["suites"]["load"]["metrics"]["load.checkout.p95_ms"] >= 1500  # sleeps 1.5-3 s


def failed_payments(run: dict[str, Any]) -> None:
    assert run["suites"]["load"]["metrics"]["load.payment_success_ratio"] < 0.99


def oversold_hot_store(run: dict[str, Any]) -> None:
    findings = {f["rule_id"]: f for f in run["suites"]["load"]["findings"]}
    broken = findings["invariant:no_negative_stock"]
    assert broken["severity"] == "high" and "store=KOR-01" in broken["location"]
    assert run["suites"]["load"]["notes"][0].startswith("Profile peak")


@dataclass(frozen=True)
class Case:
    """How a fault is run, and what must block it."""

    suites: str
    owner: str
    names: tuple[str, ...]  # words of the blocking criterion's name or reason; one must appear
    extra: tuple[str, ...] = ()
    check: Callable[[dict[str, Any]], None] | None = None  # what else the evidence must show


CASES: dict[str, Case] = {
    "slow-checkout": Case("smoke,load", "load", ("checkout p95",), check=slow_checkouts),
    "payment-errors": Case("smoke,load", "load", ("payment success",), check=failed_payments),
    "oversell": Case("smoke,load", "load", ("invariants",), ("--load-profile", "peak"),
                     oversold_hot_store),
    "broken-add-to-cart": Case("smoke,e2e", "e2e", ("add to cart",)),
    "wrong-total": Case("smoke,e2e", "e2e", ("total", "charges")),
    "xss-search": Case("smoke,security", "security", ("cross site scripting",)),
    "no-security-headers": Case("smoke,security", "security", ("cookie",)),
    "idor-orders": Case("smoke,security", "security", ("another_shoppers_order",)),
    "health-down": Case("smoke", "smoke", ("readyz",)),
    "version-mismatch": Case("smoke", "smoke", ("version",)),
    "pii-in-logs": Case("smoke,load,data", "data", ("PII",)),
}
MATRIX: dict[str, tuple[str, str]] = {}  # fault -> (verdict, blocking criterion)
DOCUMENTED = demo_runs()  # the docs' `qgate demo` runs, by their options


def case_args(fault: str) -> tuple[str, ...]:
    case = CASES[fault]
    return ("--fault", fault, "--suites", case.suites, *case.extra)


def as_documented(args: tuple[str, ...], code: int, output: str) -> None:
    """The docs' example of this very run (if any) shows lines of its output, its exit code."""
    lines = [line.rstrip() for line in output.splitlines()]
    for where, step in DOCUMENTED.get(demo_options(args), []):
        assert code == step.code, f"{where}: $ {step.command}: exit {code}, the docs say " \
            f"{step.code}"
        assert_shown(step.expected, lines, f"{where}: $ {step.command}")


def run_demo(reports: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run_qgate("demo", *args, env={"QGATE_REPORTS_DIR": str(reports)}, timeout=900)
    run = json.loads(((reports / "latest").resolve() / "run.json").read_text())
    return result.code, run, result.out + result.err


def test_every_fault_has_a_case() -> None:
    assert set(CASES) == set(FAULTS)
    for name, case in CASES.items():
        assert case.owner in FAULTS[name].suites, (name, FAULTS[name].caught_by)


def test_every_demo_run_the_docs_show_is_one_of_these() -> None:
    made = {demo_options(case_args(fault)) for fault in CASES} | {demo_options(())}
    assert DOCUMENTED and set(DOCUMENTED) <= made, sorted(set(DOCUMENTED) - made)


@pytest.mark.parametrize("fault", list(CASES))
def test_fault_is_no_go_from_the_suite_that_owns_it(fault: str, reports_in_tmp: Path) -> None:
    case = CASES[fault]
    code, run, output = run_demo(reports_in_tmp, *case_args(fault))
    blocking = [c for c in run["verdict"]["criteria"]
                if c["outcome"] == "fail" and c["blocking"]]
    owned = [c for c in blocking if c["suite"] == case.owner
             and any(w.lower() in f"{c['name']} {c['reason']}".lower() for w in case.names)]
    assert run["verdict"]["decision"] == "NO-GO" and code == 1, output[-4000:]
    assert owned, [f"{c['suite']}: {c['name']} — {c['reason'][:200]}" for c in blocking]
    if case.check:
        case.check(run)
    MATRIX[fault] = ("NO-GO", f"{owned[0]['suite']}: {owned[0]['name']}")
    as_documented(case_args(fault), code, output)


def test_clean_demo_is_go(reports_in_tmp: Path) -> None:
    code, run, output = run_demo(reports_in_tmp)
    assert run["verdict"]["decision"] == "GO" and code == 0, output[-6000:]
    assert set(run["suites"]) == set(run["scope"]["required"])  # every suite ran
    as_documented((), code, output)
    MATRIX["(none)"] = ("GO", "every suite ran; no blocking criterion failed")


def render_matrix(rows: dict[str, tuple[str, str]]) -> str:
    """The README's fault matrix table."""
    lines = ["| fault | verdict | blocking criterion (suite: criterion) |", "|---|---|---|"]
    for fault in [*CASES, "(none)"]:
        verdict, criterion = rows[fault]
        lines.append(f"| `{fault}` | {verdict} | {criterion} |")
    return "\n".join(lines) + "\n"


def test_readme_publishes_the_matrix() -> None:
    """The README's table is what the runs above measured (not typed by hand)."""
    if set(MATRIX) != {*CASES, "(none)"}:
        pytest.fail(f"the matrix is incomplete (runs failed or were deselected): "
                    f"missing {sorted({*CASES, '(none)'} - set(MATRIX))}")
    table = render_matrix(MATRIX)
    readme = (PROJECT / "docs" / "demo-store.md").read_text()
    start = readme.index("<!-- fault-matrix:start -->\n") + len("<!-- fault-matrix:start -->\n")
    end = readme.index("<!-- fault-matrix:end -->")
    if readme[start:end] != table:
        out = Path(os.environ.get("QGATE_REPORTS_DIR", PROJECT / "reports")) / "fault_matrix.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table)
        pytest.fail(f"docs/demo-store.md's fault matrix differs from the measured one "
                    f"(written to {out}):\n{table}")
