"""qgate installs like a product: a wheel, a small core, extras by use, `qgate init`, and the
built-in suites running from the installed package in a folder that is not this repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cli_support import PROJECT, assert_partial
from shop_app import serve_shop

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


# --- issue 19, "done means": three first uses in a fresh folder, with the wheel's qgate ------

def fresh_project(venv: Path, folder: Path, *init_args: str) -> Path:
    """A new folder laid out by the installed `qgate init`."""
    folder.mkdir()
    init = run([venv / "bin" / "qgate", "init", *init_args], cwd=folder)
    assert init.returncode == 0, init.stdout + init.stderr
    return folder


def test_first_use_on_call_smoke_is_go_and_only_reads(venv: Path, tmp_path: Path) -> None:
    project = fresh_project(venv, tmp_path / "shop")
    with serve_shop() as shop:
        smoke = run([venv / "bin" / "qgate", "smoke", "--env", "production"], cwd=project,
                    env={"PRODUCTION_BASE_URL": shop.base_url})
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "VERDICT: GO" in smoke.stdout
    assert shop.requests and shop.methods == {"GET"}, shop.requests  # never a POST


def test_first_use_qa_run_reaches_a_verdict(venv: Path, tmp_path: Path) -> None:
    """docs/guides/qa-staging.md: set STAGING_BASE_URL, run smoke first; the verdict says that
    e2e is still to do (INCONCLUSIVE), not a config error."""
    project = fresh_project(venv, tmp_path / "shop")
    with serve_shop() as shop:
        qa = run([venv / "bin" / "qgate", "run", "--env", "staging", "--suites", "smoke"],
                 cwd=project, env={"STAGING_BASE_URL": shop.base_url})
    assert qa.returncode == 3, qa.stdout + qa.stderr
    assert "VERDICT: INCONCLUSIVE — left out of this run: e2e (the gate requires it for " \
           "staging)" in qa.stdout
    run_json = json.loads((project / "reports" / "latest" / "run.json").read_text())
    assert_partial(run_json, ran=["smoke"], left_out=["e2e"])
    guide = (PROJECT / "docs" / "guides" / "qa-staging.md").read_text()
    assert "qgate run --env staging --suites smoke" in guide


def test_first_use_ci_with_an_empty_secret_is_exit_2_and_no_rollback(venv: Path,
                                                                      tmp_path: Path) -> None:
    from ci_runner import fake_tools, run_github_job, run_gitlab_pipeline

    for ci, pipeline in (("github", ".github/workflows/qgate.yml"),
                         ("gitlab", ".gitlab-ci.yml")):
        project = fresh_project(venv, tmp_path / ci, "--ci", ci)
        doc = yaml.safe_load((project / pipeline).read_text())
        tools = fake_tools(project, qgate=str(venv / "bin" / "qgate"))
        if ci == "github":
            job = run_github_job(doc, "smoke", cwd=project, env=tools,
                                 secrets={"PRODUCTION_BASE_URL": ""},
                                 github={"event_name": "workflow_dispatch", "sha": "abc123"})
            smoke = job.step("qgate smoke")
            assert not job.step("roll back (blue/green: switch back)").ran
        else:
            runs = run_gitlab_pipeline(
                doc, cwd=project, env=tools, assume_passed=("gate", "approve", "deploy"),
                variables={"PRODUCTION_BASE_URL": "", "CI_COMMIT_SHA": "abc123",
                           "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"})
            smoke = runs["smoke"]
            assert "no automatic rollback" in runs["rollback"].out
        assert smoke.code == 2, smoke.out
        assert "${PRODUCTION_BASE_URL} is set but empty" in smoke.out
        assert not (project / "rollback-ran.txt").exists()
