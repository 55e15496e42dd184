"""Races a shopper can trigger: declared requests sent at once keep exactly-once effects."""

from __future__ import annotations

import pytest

from harness.security.checks import failing
from harness.security.races import check_races


@pytest.fixture
def problems(security, evidence):
    """Run the races in setup: a race none of whose requests is accepted proves nothing."""
    return security.run(check_races, evidence)


def test_concurrent_requests_keep_exactly_once_effects(problems) -> None:
    """One order per Idempotency-Key, one capture, stock never below zero, coupons in limit."""
    blocking = failing(problems)
    assert not blocking, "; ".join(p.message for p in blocking)
