"""CSRF: a state-changing post needs the visitor's valid token (forms) or the same origin."""

from __future__ import annotations

import pytest

from harness.security.checks import check_csrf, failing


@pytest.fixture
def problems(security, evidence):
    """Run the check in setup: a refused genuine post is a harness error, not a pass."""
    return security.run(check_csrf, evidence)


def test_state_changing_posts_need_a_valid_csrf_token(problems) -> None:
    """Form posts without / with a forged token, and cross-origin API writes, are refused."""
    blocking = failing(problems)  # low findings are recorded, not failed
    assert not blocking, "; ".join(p.message for p in blocking)
