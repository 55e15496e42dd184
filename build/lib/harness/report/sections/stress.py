"""report.html panel of the stress suite: the load panel, with the breaking point marked."""

from __future__ import annotations

from harness.results import SuiteResult

from .load import render as render_load  # relative: sections depend only on the run record


def render(result: SuiteResult) -> str:
    """RPS, p95 and error charts (a dashed line at the breaking point) and the table."""
    return render_load(result)
