"""Login: a run of wrong passwords ends in refusal."""

from __future__ import annotations

import pytest

from harness.security.checks import check_login_rate_limit, failing


@pytest.fixture
def problems(security, evidence):
    """Run the check in setup: a sign-up that fails is a harness error, not a pass."""
    return security.run(check_login_rate_limit, evidence)


def test_login_is_rate_limited(problems) -> None:
    """security.login.attempts wrong passwords end in refusal (then even the right one)."""
    blocking = failing(problems)  # low findings are recorded, not failed
    assert not blocking, "; ".join(p.message for p in blocking)
