"""Load: the environment's locust profile against the target, judged by the gate's criteria.

The tests collect evidence only (latency percentiles per request name, error ratio,
throughput, orders and payments per minute, business invariants); thresholds live in the
environment's `[load]` table and gate.toml, and the verdict judges them.
"""

from __future__ import annotations

from harness.load.suite import LoadOutcome, invariants_not_evaluated, record_run
from harness.plugin import not_applicable


def test_load_run(load_outcome: LoadOutcome, evidence) -> None:
    """Locust ran the profile and recorded every request it made (how many reached the
    target is coverage, judged by the gate: none is INCONCLUSIVE, never a pass)."""
    record_run(evidence, load_outcome)


def test_business_invariants(load_outcome: LoadOutcome, invariant_results, evidence) -> None:
    """Every declared read-only invariant query was evaluated after the run."""
    if invariant_results is None:
        not_applicable(f"[{load_outcome.suite}.invariants] declares no checks")
    missing = invariants_not_evaluated(evidence, load_outcome, invariant_results)
    assert not missing, f"invariants not evaluated: {', '.join(missing)}"
