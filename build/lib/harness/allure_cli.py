"""The Allure 3 command-line tool (npm): find it and render allure-results as HTML."""

from __future__ import annotations

import shutil
from pathlib import Path


def find_allure() -> str | None:
    """The Allure 3 CLI: the one `make setup` puts in .venv/allure, else `allure` on PATH."""
    from harness.config import project_root
    local = project_root() / ".venv" / "allure" / "node_modules" / ".bin" / "allure"
    return str(local) if local.exists() else shutil.which("allure")


def generate_html(results: Path, out: Path) -> Path:
    """Render `results` to an Allure HTML report in `out` with the npm CLI."""
    import subprocess

    from harness.errors import ToolMissing
    cli = find_allure()
    if cli is None:
        raise ToolMissing("the Allure CLI is not installed",
                          hint="make setup installs it (npm install allure)")
    proc = subprocess.run([cli, "generate", str(results), "-o", str(out)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not (out / "index.html").is_file():
        raise ToolMissing(f"allure generate failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
    return out
