"""The import rules of ARCHITECTURE.md, checked on the source (AST), not by convention."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cli_support import PROJECT

HEAVY = {"playwright", "locust", "sqlalchemy", "zapv2", "faker", "fastapi", "uvicorn"}
# Modules pytest loads as plugins may import pytest-playwright's world at top level.
PYTEST_SIDE = {"harness/e2e/fixtures.py"}


def modules(package: str) -> list[Path]:
    return sorted((PROJECT / package).rglob("*.py"))


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def rel(path: Path) -> str:
    return str(path.relative_to(PROJECT))


@pytest.mark.parametrize("path", modules("harness"), ids=rel)
def test_harness_imports_heavy_modules_lazily(path: Path) -> None:
    if rel(path) in PYTEST_SIDE:
        return
    heavy = {m for m in imports(path, top_level_only=True) if m.split(".")[0] in HEAVY}
    assert not heavy, f"{rel(path)} imports {heavy} at module level; import inside the function"


JUDGE_ALLOWED = {"harness/verdict.py", "harness/runner.py"}


def reaches_the_judge(source: str) -> list[str]:
    """Every way `source` could get at `harness.verdict.judge`, by any spelling.

    Importing the verdict's *types* (`Verdict`, `CriterionResult`) is fine; reaching the
    module object (`import harness.verdict`, `from harness import verdict`, importlib with
    its name, `from harness.verdict import *`) or the `judge` name in any form is not.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names = {a.name for a in node.names}
            if node.module == "harness.verdict" and names & {"judge", "*"}:
                found.append(f"from harness.verdict import {', '.join(sorted(names))}")
            if node.module == "harness" and "verdict" in names:
                found.append("from harness import verdict")
            if node.level and node.module in ("verdict", None) and (
                    "verdict" in names or node.module == "verdict"):
                found.append("relative import of verdict")
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name == "harness.verdict"]
        elif isinstance(node, ast.Attribute) and node.attr == "judge":
            found.append(".judge")
        elif isinstance(node, ast.Name) and node.id == "judge":
            found.append("judge")
        elif isinstance(node, ast.Constant) and node.value in ("harness.verdict", "judge"):
            found.append(f"the string {node.value!r}")
    return found


@pytest.mark.parametrize("snippet", [
    "from harness.verdict import judge",
    "from harness.verdict import judge as decide",
    "from harness.verdict import *",
    "from harness import verdict\nverdict.judge",
    "import harness.verdict\nharness.verdict.judge",
    "import harness.verdict as v\nv.judge",
    "import importlib\nimportlib.import_module('harness.verdict')",
    "from . import verdict",
    "from .verdict import judge",
])
def test_the_judge_check_catches_every_spelling(snippet: str) -> None:
    assert reaches_the_judge(snippet), snippet


def test_the_judge_check_allows_the_verdict_types() -> None:
    assert reaches_the_judge("from harness.verdict import CriterionResult, Verdict") == []


@pytest.mark.parametrize("path", [*modules("harness"), *modules("suites"),
                                  *modules("demostore")], ids=rel)
def test_only_the_runner_calls_judge(path: Path) -> None:
    if rel(path) in JUDGE_ALLOWED:
        return
    reached = reaches_the_judge(path.read_text(encoding="utf-8"))
    assert not reached, (f"{rel(path)} reaches the judge ({', '.join(reached)}): engines "
                         "collect evidence; only the verdict judges")


@pytest.mark.parametrize("path", modules("harness/report"), ids=rel)
def test_writers_render_from_the_run_record(path: Path) -> None:
    allowed = {"harness.runrecord", "harness.results", "harness.verdict", "harness.report",
               "harness.report.html", "harness.report.junit", "harness.report.markdown",
               "harness.report.allure", "harness.report.text"}
    used = {m for m in imports(path, top_level_only=False) if m.startswith("harness")}
    assert used <= allowed, f"{rel(path)} reaches past the run record: {used - allowed}"


@pytest.mark.parametrize("path", modules("demostore"), ids=rel)
def test_demostore_does_not_depend_on_the_harness(path: Path) -> None:
    assert not any(m.split(".")[0] == "harness" for m in imports(path, top_level_only=False))


@pytest.mark.parametrize("path", modules("harness"), ids=rel)
def test_harness_reaches_the_demo_store_only_lazily(path: Path) -> None:
    assert not any(m.split(".")[0] == "demostore" for m in imports(path, top_level_only=True))
