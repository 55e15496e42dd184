"""qgate installs like a product: a wheel, a small core, extras by use, `qgate init`, and the
built-in suites running from the installed package in a folder that is not this repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_support import PROJECT, assert_partial

HEAVY = ("playwright", "locust", "sqlalchemy", "faker", "fastapi", "zaproxy", "uvicorn")


def run(cmd: list[str | Path], cwd: Path, timeout: float = 600,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("QGATE_ROOT", "QGATE_REPORTS_DIR", "VIRTUAL_ENV", "PYTHONPATH")}
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**clean, **(env or {})}, check=False)
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, PROJECT],
               cwd=out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return next(out.glob("qcommerce_harness-*.whl"))


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh virtualenv with only the core wheel installed."""
    folder = tmp_path_factory.mktemp("venv") / "venv"
    assert run([sys.executable, "-m", "venv", folder], cwd=folder.parent).returncode == 0
    proc = run([folder / "bin" / "pip", "install", "-q", wheel], cwd=folder.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return folder


def test_the_core_install_is_small(venv: Path) -> None:
    installed = run([venv / "bin" / "pip", "list", "--format", "json"], cwd=venv).stdout
    names = {p["name"].lower() for p in json.loads(installed)}
    assert not names & set(HEAVY), names & set(HEAVY)
    assert {"qcommerce-harness", "httpx", "pytest"} <= names


def test_wheel_ships_the_suites_environments_and_templates(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for member in ("harness/suites/smoke/test_smoke.py", "harness/suites/e2e/test_checkout.py",
                   "harness/suites/e2e/adapters/demostore.py",
                   "harness/environments/demo.toml", "harness/templates/gate.toml",
                   "harness/templates/my_shop.py", "harness/templates/ci/gitlab-ci.yml",
                   "demostore/templates/base.html"):
        assert member in names, member


def test_init_then_the_gate_runs_from_an_empty_folder(venv: Path, wheel: Path,
                                                      tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    qgate = venv / "bin" / "qgate"
    init = run([qgate, "init"], cwd=project)
    assert init.returncode == 0, init.stdout + init.stderr
    for name in ("environments/demo.toml", "environments/staging.toml", "gate.toml",
                 "waivers.toml", "conftest.py", "adapters/my_shop.py"):
        assert (project / name).is_file(), name
    # the team's root conftest.py is loaded although the suites run from site-packages
    (project / "conftest.py").write_text(
        "from pathlib import Path\n\n\ndef pytest_sessionstart(session):\n"
        "    Path('conftest-was-loaded').write_text('yes')\n")
    # the demo store and the browser journeys are extras
    extras = run([venv / "bin" / "pip", "install", "-q", f"{wheel}[demo,e2e]"], cwd=project)
    assert extras.returncode == 0, extras.stdout + extras.stderr
    demo = run([qgate, "demo", "--suites", "smoke"], cwd=project)
    assert demo.returncode == 3, demo.stdout + demo.stderr  # partial: smoke only
    run_json = json.loads((project / "reports" / "latest" / "run.json").read_text())
    assert_partial(run_json, ran=["smoke"],
                   left_out=[s for s in run_json["scope"]["required"] if s != "smoke"])
    assert (project / "conftest-was-loaded").read_text() == "yes"
    # the packaged e2e suite and the demo adapter work from the wheel too (one journey)
    site = run([venv / "bin" / "python", "-c",
                "import harness, pathlib; print(pathlib.Path(harness.__file__).parent)"],
               cwd=project).stdout.strip()
    from demostore.process import start_store

    with start_store(version="1.0.0") as store:
        journey = run([venv / "bin" / "python", "-m", "pytest", f"{site}/suites/e2e", "--env",
                       "demo", "--base-url", store.base_url, "-q", "-p", "no:cacheprovider",
                       "-k", "search_and_open_product and desktop"], cwd=project)
    assert "1 passed" in journey.stdout, journey.stdout[-3000:] + journey.stderr[-2000:]
