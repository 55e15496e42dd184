"""The load suite: one locust run of the environment's profile, then its business invariants.

The stress suite reuses these fixtures (suites/stress/conftest.py) with its own
`load_suite_name`.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.load.suite import (
    LoadOutcome,
    add_load_options,
    check_invariants,
    run_suite_load,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--load-profile NAME` and `--load-workers N` (qgate passes them as variables)."""
    add_load_options(parser)


@pytest.fixture(scope="session")
def load_suite_name() -> str:
    """Which suite's table ([load] or [stress]) this run reads."""
    return "load"


@pytest.fixture(scope="session")
def load_outcome(pytestconfig: pytest.Config, harness_config: Any, qgate_run_dir: Any,
                 load_suite_name: str) -> LoadOutcome:
    """The locust run (a failure to collect statistics errors every test that needs it)."""
    return run_suite_load(pytestconfig, harness_config, qgate_run_dir, load_suite_name)


@pytest.fixture(scope="session")
def invariant_results(load_outcome: LoadOutcome, harness_config: Any) -> Any:
    """The business invariants, checked after the run (None when none are declared)."""
    return check_invariants(harness_config, load_outcome.suite, load_outcome.settings)
