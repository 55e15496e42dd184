"""Response hygiene: no technology named in headers, HEAD on pages, shoppers' mistakes 4xx."""

from __future__ import annotations

import pytest

from harness.security.checks import check_response_hygiene, failing


@pytest.fixture
def problems(security, evidence):
    """Run the check in setup (on production: the pages only, no declared writes)."""
    return security.run(check_response_hygiene, evidence)


@pytest.mark.production_safe
def test_responses_name_no_technology_and_answer_client_errors_4xx(problems) -> None:
    """Disclosure headers and HEAD (low) are recorded; a mistake answered 5xx fails."""
    blocking = failing(problems)  # low findings are recorded, not failed
    assert not blocking, "; ".join(p.message for p in blocking)
