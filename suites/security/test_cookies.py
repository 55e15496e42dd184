"""Session cookies: HttpOnly, SameSite, and Secure on HTTPS."""

from __future__ import annotations

import pytest

from harness.security.checks import check_cookies, failing


@pytest.fixture
def problems(security, evidence):
    """Run the check in setup (on production: pages only, no sign-up)."""
    return security.run(check_cookies, evidence)


@pytest.mark.production_safe
def test_session_cookies_carry_httponly_samesite_and_secure(problems) -> None:
    """Every session cookie is HttpOnly, SameSite=Lax/Strict, and Secure on an HTTPS target."""
    blocking = failing(problems)  # low findings are recorded, not failed
    assert not blocking, "; ".join(p.message for p in blocking)
