"""The smoke suite under pytest: the same engine as `qgate smoke`, one test per check."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from harness.plugin import environment_of
from harness.smoke.command import select_checks, target_for
from harness.smoke.engine import CheckResult, run_checks


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per declared check (write checks are reported as skipped, not hidden)."""
    if "check_name" in metafunc.fixturenames:
        env = environment_of(metafunc.config)
        names = [c.name for c in env.suite_settings("smoke").checks]
        metafunc.parametrize("check_name", names, ids=names)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser check exists only when enabled: absent, not "skipped", otherwise."""
    if environment_of(config).suite_settings("smoke").browser.enabled:
        return
    dropped = [i for i in items if i.name == "test_browser"]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]


@pytest.fixture(scope="session")
def browser_check(harness_config: Any) -> Any:
    """The [smoke.browser] settings (undeclared search facts: an error, not a failure)."""
    check = harness_config.suite_settings("smoke").browser
    check.require(harness_config.file)
    return check


@pytest.fixture(scope="session")
def smoke_results(harness_config: Any, expected_version: str | None) -> dict[str, CheckResult]:
    """Run every allowed check once, in parallel, within the total budget."""
    settings = harness_config.suite_settings("smoke")
    checks, _ = select_checks(harness_config, settings)
    results = asyncio.run(run_checks(
        checks, target_for(harness_config, harness_config.base_url),
        timeout_s=settings.timeout_s, attempt_timeout_s=settings.attempt_timeout_s,
        expect_version=expected_version or settings.expect_version))
    return {r.name: r for r in results}
