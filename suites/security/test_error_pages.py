"""Error pages leak no stack trace, SQL error or framework debug page."""

from __future__ import annotations

import pytest

from harness.security.checks import check_error_pages


@pytest.fixture
def problems(security, evidence):
    """Unknown URLs and the declared malformed requests; a 5xx is recorded as a finding."""
    leaks, errors = check_error_pages(security.target, security.settings, security.clients)
    security.record(evidence, [p.finding for p in leaks] + errors)
    return leaks


@pytest.mark.production_safe
def test_error_pages_leak_no_internals(problems) -> None:
    """No error page shows a stack trace, an SQL error or a framework's debug page."""
    assert not problems, "; ".join(p.message for p in problems)
