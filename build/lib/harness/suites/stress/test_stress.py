"""Stress: a step ramp until the target breaks; where it broke is the evidence.

The breaking point (users and RPS at which a request's p95 crossed its objective or the
error ratio passed its limit) is recorded as `stress.breaking_point.*` for later runs to
compare against; the gate judges the users held and the business invariants.
"""

from __future__ import annotations

from harness.load.suite import LoadOutcome, attach, record_invariants
from harness.plugin import not_applicable


def test_stress_run(load_outcome: LoadOutcome, evidence) -> None:
    """Locust ramped the users step by step and recorded every request it made."""
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
