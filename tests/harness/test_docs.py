"""The documentation is part of the product: the site builds strictly, the reference pages
are what the code generates, and every example in README.md and docs/ is checked — ```toml,
```yaml and ```json blocks parse, ```console blocks run (each `$ command` in a folder
`qgate init` wrote, against a small shop of the test's own, its output matched line by line,
`…` standing for what varies; a whole `qgate demo` run marked `RUN_BY_FAULT_MATRIX` is
matched by tests/acceptance against the run it makes) — so a stale example fails CI instead
of a user. ```text
blocks are shown, not checked; other shell fences are refused (say which one you mean).

What a console example needs is in its page: a block with a title (```toml
title="waivers.toml"```) is the project's file from there on (until the page shows another
one of that name); the example hosts (`EXAMPLE_URLS`, `EXAMPLE_HOSTS`) are small shops the
test serves (or a closed port), and the example databases (`EXAMPLE_DATABASES`) scratch
PostgreSQL databases it makes (the shop's one with a real shop's schema and rows) and
drops; `/path/to/qgate` is qgate's checkout; all are mapped back to the example names in
the output."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cli_support import PROJECT
from doc_blocks import (
    BLOCKS,
    DOCS,
    RUN_BY_FAULT_MATRIX,
    Block,
    assert_shown,
    steps_of,
)
from real_schema import seed_postgresql
from scratch_db import scratch_databases
from shop_app import ShopApp, serve_shop

#: the hosts the examples use; the test serves a shop for each and maps them back
EXAMPLE_URLS = {"PRODUCTION_BASE_URL": "https://shop.example.com",
                "STAGING_BASE_URL": "https://staging.example.com"}
#: the other hosts the pages describe (what the test gives each)
EXAMPLE_HOSTS = {"https://green.example.com": "a new deploy that lost its readiness route (404)",
                 "https://down.example.com": "nothing answers (a closed port)"}
#: the databases the examples use: a scratch database each (seeded: a real shop's schema and
#: rows, tests/support/real_schema.py; else empty); an alias reaches an example's database
#: under another host name (the `--target is the source` example)
EXAMPLE_DATABASES = {"postgresql://postgres@db.example.com/shop": "seeded",
                     "postgresql://postgres@staging-db.example.com/shop": "empty"}
DATABASE_ALIASES = {"postgresql://postgres@db.internal/shop":
                    "postgresql://postgres@db.example.com/shop"}
#: qgate's checkout, where a page copies the demo store's files from
EXAMPLE_PATHS = {"/path/to/qgate": str(PROJECT)}
SHELL_FENCES = {"bash", "sh", "shell", "shell-session", "zsh", "console-session"}


def by_lang(*langs: str) -> list[Block]:
    return [b for b in BLOCKS if b.lang in langs]


def files_for(block: Block) -> dict[str, str]:
    """The project files as the page left them before `block`: its titled blocks, the last
    one of each name."""
    return {b.title: b.text for b in BLOCKS
            if b.page == block.page and b.line < block.line and b.title}


def test_the_readme_is_short_and_points_to_the_docs() -> None:
    readme = (PROJECT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    for page in ("docs/guides/qa-staging.md", "docs/guides/ci.md", "docs/guides/on-call.md",
                 "docs/reference/cli.md", "docs/reference/config.md"):
        assert f"]({page})" in readme, page
        assert (PROJECT / page).is_file(), page


@pytest.mark.parametrize("block", by_lang("toml"), ids=lambda b: b.where)
def test_toml_examples_parse(block: Block) -> None:
    try:
        tomllib.loads(block.text)
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"{block.where}: not valid TOML ({exc})")


@pytest.mark.parametrize("block", by_lang("yaml", "yml", "json"), ids=lambda b: b.where)
def test_yaml_and_json_examples_parse(block: Block) -> None:
    if block.lang == "json":
        json.loads(block.text)
    else:
        yaml.safe_load(block.text)


def test_shell_examples_say_whether_they_are_checked() -> None:
    vague = [b.where for b in BLOCKS if b.lang in SHELL_FENCES]
    assert not vague, (f"{vague}: use ```console ($ command + its output, run by this test) "
                       "or ```text (shown, not checked)")


def test_the_reference_pages_are_generated_from_the_code() -> None:
    generator = runpy.run_path(str(DOCS / "gen_reference.py"))
    for name, render in generator["PAGES"].items():
        assert (DOCS / name).read_text() == render(), \
            f"docs/{name} is stale: run `python docs/gen_reference.py`"


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                           "-f", str(PROJECT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                          capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "guides" / "on-call" / "index.html").is_file()


# --- ```console blocks run -------------------------------------------------------------------

@pytest.fixture(scope="module")
def shops() -> Iterator[dict[str, str]]:
    """A healthy shop per example URL: example URL -> the shop's real URL."""
    with serve_shop(ShopApp()) as production, serve_shop(ShopApp()) as staging, \
            serve_shop(ShopApp(missing={"/readyz"})) as green:
        # production on another host name than staging, as in real life (qgate tells them
        # apart by host)
        yield {EXAMPLE_URLS["PRODUCTION_BASE_URL"]: production.base_url.replace(
                   "//127.0.0.1:", "//localhost:"),
               EXAMPLE_URLS["STAGING_BASE_URL"]: staging.base_url,
               "https://green.example.com": green.base_url}


@pytest.fixture
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A scratch database for each example database the block names: example URL -> the
    real one (aliases reach the same database as 'localhost')."""
    block: Block = request.node.callspec.params["block"]
    named = [url for url in EXAMPLE_DATABASES if url in block.text]
    named += [url for alias, url in DATABASE_ALIASES.items() if alias in block.text]
    if not named:
        yield {}
        return
    with scratch_databases(lambda: tmp_path) as new_database:
        made = {}
        for url in dict.fromkeys(named):
            made[url] = new_database("postgresql")
            if EXAMPLE_DATABASES[url] == "seeded":
                seed_postgresql(made[url])
        plain = {url: real.replace("+psycopg2", "") for url, real in made.items()}
        yield plain | {alias: plain[url].replace("@127.0.0.1:", "@localhost:")
                       for alias, url in DATABASE_ALIASES.items() if url in plain}


def test_marked_blocks_are_demo_runs_the_fault_matrix_checks() -> None:
    """A block's mark is the one the fault matrix looks for (a typo would leave it unrun)."""
    marked = [b for b in BLOCKS if b.mark.startswith("<!-- run by")]
    assert marked and all(b.mark == RUN_BY_FAULT_MATRIX and b.lang == "console"
                          for b in marked), [(b.where, b.mark) for b in marked]


@pytest.mark.parametrize("block", [b for b in by_lang("console")
                                   if b.mark != RUN_BY_FAULT_MATRIX], ids=lambda b: b.where)
def test_console_examples_run(block: Block, shops: dict[str, str], databases: dict[str, str],
                              closed_port_url: str, tmp_path: Path) -> None:
    steps = steps_of(block)
    assert steps, f"{block.where}: a console block shows `$ command` lines and their output"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "qgate").write_text(f'#!/bin/sh\nexec {sys.executable} -m harness.cli "$@"\n')
    (bin_dir / "qgate").chmod(0o755)
    project = tmp_path / "project"
    project.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("QGATE_ROOT", "QGATE_REPORTS_DIR", "NO_COLOR")}
    env |= {"PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "PYTHONPATH": str(PROJECT),
            "COLUMNS": "100"}
    env |= {var: shops[url] for var, url in EXAMPLE_URLS.items()}
    if not steps[0].command.startswith("qgate init"):  # examples live in a qgate init project
        init = subprocess.run(["qgate", "init"], cwd=project, env=env, capture_output=True,
                              text=True, check=False)
        assert init.returncode == 0, init.stderr
    for name, text in files_for(block).items():  # the files the page showed before it
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    hosts = shops | databases | {"https://down.example.com": closed_port_url} | EXAMPLE_PATHS
    assert set(EXAMPLE_HOSTS) <= set(hosts)
    examples = dict(sorted(hosts.items(), key=lambda kv: -len(kv[0])))  # longest first
    reals = dict(sorted(hosts.items(), key=lambda kv: -len(kv[1])))
    script = ""
    for step in steps:
        command = step.command
        for example, real in examples.items():
            command = command.replace(example, real)
        # each step runs after the ones before it, in the same shell (exports carry over)
        proc = subprocess.run(["bash", "-c", f"{script}\n{command}"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        output = proc.stdout + proc.stderr
        for example, real in reals.items():
            output = output.replace(real, example)
        where = f"{block.where}: $ {step.command}"
        assert proc.returncode == step.code, f"{where}: exit {proc.returncode}, the example " \
            f"says {step.code}\n{output}"
        assert_shown(step.expected, [line.rstrip() for line in output.splitlines()], where)
        if command.startswith(("export ", "unset ")):
            script += command + "\n"
