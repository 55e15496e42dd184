"""The authorisation matrix: what one shopper's journeys obtained stays theirs (nothing
declared: the e2e journeys' recording and request graph are the declaration)."""

from __future__ import annotations

import pytest

from harness.security.checks import CheckError, NotDeclared


@pytest.fixture
def matrix(security, evidence):
    """Replay the recorded journeys as shopper A; B and a visitor try A's objects."""
    from harness.security.matrix import check_authorisation_matrix

    try:
        outcome = check_authorisation_matrix(security.target, security.settings,
                                             security.clients, security.run_dir)
    except NotDeclared as exc:
        pytest.skip(f"not declared: {exc}")
    except CheckError as exc:
        raise exc from None
    security.record(evidence, [p.finding for p in outcome.problems])
    evidence.details(journeys=outcome.journeys, tried=sorted(outcome.tried),
                     rows=[vars(r) for r in outcome.rows], diverged=outcome.diverged)
    evidence.note(f"authorisation matrix: {len(outcome.tried)} object requests from "
                  f"{len(outcome.journeys)} recorded journeys tried as another shopper and "
                  "anonymously" + (f"; {len(outcome.diverged)} journeys could not be replayed "
                                   "to the end" if outcome.diverged else ""))
    return outcome


def test_objects_one_shopper_obtained_stay_theirs(matrix) -> None:
    """No object request of shopper A's answers shopper B or an anonymous visitor."""
    assert not matrix.problems, "; ".join(p.message for p in matrix.problems)
