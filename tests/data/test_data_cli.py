"""`qgate data` starts without heavy imports and answers usage mistakes in one line."""

from __future__ import annotations

import pytest

from cli_support import heavy_modules_after, run_qgate


@pytest.mark.parametrize("argv", [["data", "--help"], ["data", "audit", "--help"]])
def test_data_help_imports_no_heavy_module(argv: list[str]) -> None:
    assert heavy_modules_after(argv) == (0, [])


def test_generate_needs_a_destination() -> None:
    result = run_qgate("data", "generate", "--spec", "datasets/demo.yaml")
    assert result.code == 2 and "one of the arguments --db --out is required" in result.err


def test_missing_spec_is_one_line() -> None:
    result = run_qgate("data", "generate", "--spec", "datasets/nope.yaml", "--out", "/tmp/x")
    assert result.code == 2
    assert result.err.strip() == "qgate: error: datasets/nope.yaml: file not found"
