"""The stress suite: a step ramp to the breaking point, then the business invariants.

Its run and invariants are the load suite's fixtures, reading the `[stress]` table.
"""

from __future__ import annotations

import pytest

from ..load.conftest import (  # noqa: F401  (fixtures and the option, shared)
    invariant_results,
    load_outcome,
    pytest_addoption,
)


@pytest.fixture(scope="session")
def load_suite_name() -> str:
    """Which suite's table this run reads: [stress]."""
    return "stress"
