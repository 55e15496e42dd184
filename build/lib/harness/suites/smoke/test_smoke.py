"""Post-deploy smoke checks, as declared in the environment's [smoke] table."""

from __future__ import annotations

import pytest

from harness.smoke.engine import CheckResult, check_details, slug
from harness.smoke.settings import BrowserCheck


def test_check(check_name: str, smoke_results: dict[str, CheckResult], evidence) -> None:
    """The check answered as declared, within its latency budget."""
    if check_name not in smoke_results:
        pytest.skip("writes data: not allowed in this environment")
    result = smoke_results[check_name]
    # every check ran in one parallel batch (the fixture); report this check's own time
    evidence.duration(result.latency_ms / 1000)
    evidence.details(**check_details(result))
    evidence.metric(f"smoke.{slug(check_name)}.latency_ms", result.latency_ms, "ms")
    evidence.metric("smoke.latency_max_ms", result.latency_ms, "ms")  # the suite keeps the max
    assert result.ok, f"{result.url}: {result.reason} (after {result.attempts} attempts)"


def test_browser(browser_check: BrowserCheck, harness_config, evidence) -> None:
    """One real browser gets from the home page through search to a product page."""
    from harness.smoke.browser import browser_check as run_browser_check

    result = run_browser_check(harness_config, browser_check)
    evidence.metric("smoke.browser.duration_ms", result.duration_s * 1000, "ms")
    assert result.outcome == "passed", result.message
