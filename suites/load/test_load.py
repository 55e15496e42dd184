"""Load: the environment's locust profile against the target, judged by the gate's criteria.

The tests collect evidence only (latency percentiles per request name, error ratio,
throughput, orders and payments per minute, business invariants); thresholds live in the
environment's `[load]` table and gate.toml, and the verdict judges them.
"""

from __future__ import annotations

from harness.load.suite import LoadOutcome, attach, record_invariants
from harness.plugin import not_applicable


def test_load_run(load_outcome: LoadOutcome, evidence) -> None:
    """Locust ran the profile and recorded every request it made."""
    attach(evidence, load_outcome)
    assert load_outcome.requests > 0, (
        f"locust made no requests in {load_outcome.run.wall_s:.0f} s; its log says:\n"
        f"{load_outcome.run.stderr_tail()}")


def test_business_invariants(load_outcome: LoadOutcome, invariant_results, evidence) -> None:
    """Every declared read-only invariant query was evaluated after the run."""
    if invariant_results is None:
        not_applicable(f"[{load_outcome.suite}.invariants] declares no checks")
    record_invariants(evidence, load_outcome, invariant_results)
    evaluated = {r.check.name for r in invariant_results}
    missing = [c.name for c in load_outcome.settings.invariants.checks if c.name not in evaluated]
    assert not missing, f"invariants not evaluated: {', '.join(missing)}"
