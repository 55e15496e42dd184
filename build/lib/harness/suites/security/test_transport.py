"""Transport on HTTPS targets: redirect from HTTP, HSTS, TLS >= 1.2, a valid certificate."""

from __future__ import annotations

import pytest

from harness.plugin import not_applicable
from harness.security.transport import NotHttps, check_transport


@pytest.fixture
def problems(security, evidence):
    """Run the check in setup; a plain-HTTP target makes it not applicable (unless required)."""
    try:
        found = check_transport(security.target.base_url, security.settings)
    except NotHttps as exc:
        not_applicable(f"{exc} (set security.transport.require_https to demand HTTPS)")
    security.record(evidence, [p.finding for p in found])
    return found


@pytest.mark.production_safe
def test_https_transport(problems) -> None:
    """HTTP redirects to HTTPS, HSTS is set, TLS < 1.2 is refused, the certificate is valid."""
    assert not problems, "; ".join(p.message for p in problems)
