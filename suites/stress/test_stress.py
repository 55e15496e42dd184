"""Stress: a step ramp until the target breaks; where it broke is the evidence.

The breaking point (users and RPS at which a request's p95 crossed its objective or the
error ratio passed its limit) is recorded as `stress.breaking_point.*` for later runs to
compare against; the gate judges the users held and the business invariants.
"""

from __future__ import annotations

from harness.load.suite import LoadOutcome, invariants_not_evaluated, record_run
from harness.plugin import not_applicable


def test_stress_run(load_outcome: LoadOutcome, evidence) -> None:
    """Locust ramped the users step by step and recorded every request it made (how many
    reached the target is coverage, judged by the gate)."""
    record_run(evidence, load_outcome)


def test_business_invariants(load_outcome: LoadOutcome, invariant_results, evidence) -> None:
    """Every declared read-only invariant query was evaluated after the run."""
    if invariant_results is None:
        not_applicable(f"[{load_outcome.suite}.invariants] declares no checks")
    missing = invariants_not_evaluated(evidence, load_outcome, invariant_results)
    assert not missing, f"invariants not evaluated: {', '.join(missing)}"
