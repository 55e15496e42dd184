"""A protected staging refuses requests that lack its declared auth (pages and API)."""

from __future__ import annotations

import pytest

from harness.plugin import not_applicable
from harness.security.checks import check_access_control, failing


@pytest.fixture
def problems(security, evidence):
    """Applies when the environment declares [auth] (basic auth or headers)."""
    auth = security.env.auth
    if not (auth.basic_credentials() or auth.headers):
        not_applicable("the environment declares no [auth]: nothing to keep out")
    return security.run(check_access_control, evidence)


@pytest.mark.production_safe
def test_staging_refuses_requests_without_its_auth(problems) -> None:
    """Every declared page and API path answers 401/403 or a login wall without the auth."""
    blocking = failing(problems)  # low findings are recorded, not failed
    assert not blocking, "; ".join(p.message for p in blocking)
