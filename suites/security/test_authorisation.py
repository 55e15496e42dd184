"""Authorisation: one shopper's order is invisible and untouchable to everyone else."""

from __future__ import annotations

import pytest

from harness.security.checks import check_authorisation, failing


@pytest.fixture
def problems(security, evidence):
    """Run the check in setup: a failed control step is a harness error, not a pass."""
    return security.run(check_authorisation, evidence)


def test_shopper_cannot_read_or_cancel_another_shoppers_order(problems) -> None:
    """Shopper B and an anonymous visitor can neither read nor cancel shopper A's order."""
    blocking = failing(problems)  # low findings are recorded, not failed
    assert not blocking, "; ".join(p.message for p in blocking)
