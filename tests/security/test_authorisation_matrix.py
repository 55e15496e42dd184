"""The authorisation matrix with nothing declared: a journey's recording and its request graph
are enough to try every object shopper A obtained as shopper B and anonymously (issue 20)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from harness.apigraph import record_flow
from harness.har import scrub_har
from harness.security.checks import NotDeclared, make_clients
from harness.security.matrix import check_authorisation_matrix
from harness.security.scan import ScanTarget
from harness.security.settings import SecuritySettings
from page_shop import page_shop, record_order
from uuid_shop import record_checkout, uuid_shop

PASSWORD = "Recorded-pw-123"


def recorded_run(tmp_path: Path, base_url: str,
                 record: Callable[[str, str, str], dict[str, Any]] = record_checkout) -> Path:
    """A run folder as the e2e suite leaves it: the journey's HAR (scrubbed) and the graph."""
    har = tmp_path / "run" / "artifacts" / "e2e" / "har" / "checkout_desktop.har"
    har.parent.mkdir(parents=True)
    har.write_text(json.dumps(record(base_url, "e2e+rec@example.com", PASSWORD)))
    record_flow(har)
    scrub_har(har, [PASSWORD])
    assert PASSWORD not in har.read_text()
    return tmp_path / "run"


def run_matrix(base_url: str, run_dir: Path, production: bool = False):
    target = ScanTarget(base_url, production=production)
    settings = SecuritySettings(seed_har="artifacts/e2e/har")
    return check_authorisation_matrix(target, settings, make_clients(target, settings), run_dir)


@pytest.mark.parametrize("phone", ["", "+91 98765 43210"])
def test_carts_authorised_by_uuid_only_are_found_with_nothing_declared(tmp_path: Path,
                                                                      phone: str) -> None:
    """With a phone number in the sign-up (one account per number), shoppers A and B each
    sign up with a number of their own."""
    with uuid_shop(uuid_only=True) as url:
        outcome = run_matrix(url, recorded_run(tmp_path, url, partial(record_checkout,
                                                                      phone=phone)))
    assert not outcome.diverged, outcome.diverged
    found = {(p.finding.location, p.message.split(" ", 2)[0] + " " + p.message.split(" ")[1])
             for p in outcome.problems}
    assert ("POST /api/carts/{uuid}/items", "shopper B") in found
    assert ("GET /api/carts/{uuid}", "shopper B") in found
    assert all(p.finding.severity == "high" for p in outcome.problems)
    assert all(p.finding.reproduce.startswith("curl ") for p in outcome.problems)
    # the order endpoint checks its owner: tried, refused, no finding
    assert "GET /api/orders/{id}" in outcome.tried
    assert not any(p.finding.location == "GET /api/orders/{id}" for p in outcome.problems)
    # reading a cart needs no session at all here; changing one needs one (any one)
    assert ("GET /api/carts/{uuid}", "an anonymous") in found
    assert ("POST /api/carts/{uuid}/items", "an anonymous") not in found


def test_a_shop_that_authorises_its_objects_passes_the_matrix(tmp_path: Path) -> None:
    with uuid_shop(uuid_only=False) as url:
        outcome = run_matrix(url, recorded_run(tmp_path, url))
    assert not outcome.problems, [p.message for p in outcome.problems]
    assert outcome.tried >= {"POST /api/carts/{uuid}/items", "GET /api/carts/{uuid}",
                             "GET /api/orders/{id}"}
    assert not outcome.diverged
    assert {r.outcome for r in outcome.rows} == {"refused"}


def test_a_soft_404_that_echoes_the_id_is_a_refusal_not_a_read(tmp_path: Path) -> None:
    """A shop that answers what is not yours with 200 and the id echoed ("cart … not found",
    an empty object of the same keys): nothing of A's is shown, so no finding; each row says
    it answered as a made-up id of the same shape does."""
    with uuid_shop(uuid_only=False, soft_404=True) as url:
        outcome = run_matrix(url, recorded_run(tmp_path, url))
    assert not outcome.problems, [p.message for p in outcome.problems]
    by_b = {r.template: r for r in outcome.rows if r.who == "shopper B"}
    for template in ("GET /api/carts/{uuid}", "POST /api/carts/{uuid}/items",
                     "GET /api/orders/{id}"):
        assert by_b[template].status == 200
        assert by_b[template].outcome == "refused"
        assert "made-up id" in by_b[template].why, by_b[template]


def test_a_page_is_read_by_its_content_not_by_its_size(tmp_path: Path) -> None:
    """Server-rendered: the soft 404 page ("Order … was not found", same layout, about as
    long) is no read; the same page showing A's order to B is, by A's own order lines."""
    with page_shop(idor=False) as url:
        outcome = run_matrix(url, recorded_run(tmp_path / "soft", url, record_order))
    assert "GET /orders/{uuid}" in outcome.tried
    assert not outcome.problems, [p.message for p in outcome.problems]
    assert {(r.outcome, "soft 404" in r.why) for r in outcome.rows
            if r.template == "GET /orders/{uuid}"} == {("refused", True)}
    with page_shop(idor=True) as url:
        outcome = run_matrix(url, recorded_run(tmp_path / "idor", url, record_order))
    read = {p.message.split(" read ")[0]: p for p in outcome.problems}
    assert set(read) == {"shopper B", "an anonymous visitor"}, list(read)
    assert all(p.finding.severity == "high" and p.finding.location == "GET /orders/{uuid}"
               for p in read.values())
    assert "12 Park Street" in read["shopper B"].message


def test_the_matrix_needs_a_recording_and_stays_off_production(tmp_path: Path) -> None:
    with uuid_shop(uuid_only=True) as url:
        with pytest.raises(NotDeclared, match="no request graph"):
            run_matrix(url, tmp_path)
        with pytest.raises(NotDeclared, match="not on production"):
            run_matrix(url, recorded_run(tmp_path, url), production=True)


@pytest.mark.integration
def test_the_demos_idor_fault_is_found_from_its_journeys_alone(tmp_path: Path) -> None:
    """The demo store's `idor-orders` fault, with no [security.authorisation] declared: the
    order-tracking journey's recording is enough. The clean store passes the same matrix."""
    from e2e_support import demo_e2e_env, run_suite

    from demostore.process import start_store

    with start_store(version="1.0.0", faults=["idor-orders"]) as faulty:
        recorded = run_suite(tmp_path, demo_e2e_env(har_dir="artifacts/e2e/har"),
                             faulty.base_url, "-k", "order_moves_through_states")
        assert recorded.exit_code == 0, recorded.output[-3000:]
        found = run_matrix(faulty.base_url, tmp_path / "run")
    reads = {p.finding.location for p in found.problems}
    assert "GET /api/orders/{id}" in reads, [p.message for p in found.problems]
    with start_store(version="1.0.0") as clean:  # the same recording, another store
        quiet = run_matrix(clean.base_url, tmp_path / "run")
    assert "GET /api/orders/{id}" in quiet.tried
    assert not quiet.problems, [p.message for p in quiet.problems]
