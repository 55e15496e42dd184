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


@pytest.mark.parametrize("path", [*modules("harness"), *modules("suites")], ids=rel)
def test_only_the_runner_calls_judge(path: Path) -> None:
    if rel(path) in {"harness/verdict.py", "harness/runner.py"}:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    callers = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
               and n.module == "harness.verdict" and any(a.name == "judge" for a in n.names)]
    assert not callers, (f"{rel(path)} imports judge: engines collect evidence; "
                         "only the verdict judges")


@pytest.mark.parametrize("path", modules("harness/report"), ids=rel)
def test_writers_render_from_the_run_record(path: Path) -> None:
    allowed = {"harness.runrecord", "harness.results", "harness.verdict", "harness.report",
               "harness.report.html", "harness.report.junit", "harness.report.markdown",
               "harness.report.allure"}
    used = {m for m in imports(path, top_level_only=False) if m.startswith("harness")}
    assert used <= allowed, f"{rel(path)} reaches past the run record: {used - allowed}"


@pytest.mark.parametrize("path", modules("demostore"), ids=rel)
def test_demostore_does_not_depend_on_the_harness(path: Path) -> None:
    assert not any(m.split(".")[0] == "harness" for m in imports(path, top_level_only=False))


@pytest.mark.parametrize("path", modules("harness"), ids=rel)
def test_harness_reaches_the_demo_store_only_lazily(path: Path) -> None:
    assert not any(m.split(".")[0] == "demostore" for m in imports(path, top_level_only=True))
