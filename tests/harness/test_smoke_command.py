"""`qgate smoke` against real demo stores over real HTTP."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_support import heavy_modules_after, run_qgate
from shop_app import ShopApp, serve_shop


@pytest.fixture(scope="module")
def health_down_store() -> Iterator[str]:
    from demostore.process import start_store
    with start_store(faults=("health-down",)) as store:
        yield store.base_url


@pytest.fixture(scope="module")
def mismatched_store() -> Iterator[str]:
    from demostore.process import start_store
    with start_store(faults=("version-mismatch",), version="2.4.0") as store:
        yield store.base_url


def test_clean_store_is_go(clean_store: str) -> None:
    result = run_qgate("smoke", "--env", "demo", "--base-url", clean_store,
                       "--expect-version", "1.0.0")
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert lines[0] == f"qgate smoke · demo · {clean_store} · expect 1.0.0"
    rows = [line for line in lines if line.startswith("  ") and "CHECK" not in line]
    assert len(rows) == 7 and all(line.rstrip().endswith("ok") for line in rows)
    assert any(line.startswith("VERDICT: GO") for line in lines)


def test_health_down_is_no_go_naming_the_check(health_down_store: str) -> None:
    result = run_qgate("smoke", "--env", "demo", "--base-url", health_down_store,
                       "--timeout", "2")
    assert result.code == 1, result.out + result.err
    readyz = next(line for line in result.out.splitlines() if line.strip().startswith("readyz"))
    assert "FAIL expected HTTP 200, got 503" in readyz
    assert "VERDICT: NO-GO — version 1.0.0 · 6 of 7 checks ok — smoke: tests pass — 1 of 7 " \
           "failed: readyz" in result.out


def test_version_mismatch_is_no_go(mismatched_store: str) -> None:
    result = run_qgate("smoke", "--env", "demo", "--base-url", mismatched_store,
                       "--expect-version", "2.4.0", "--timeout", "2")
    assert result.code == 1, result.out + result.err
    assert "expected '2.4.0'" in result.out


def test_unreachable_host_is_inconclusive_in_smoke_and_run_alike(closed_port_url: str) -> None:
    result = run_qgate("smoke", "--env", "demo", "--base-url", closed_port_url,
                       "--timeout", "1.5")
    assert result.code == 3, result.out + result.err  # no evidence: page a person
    assert "connection refused" in result.out
    assert "attempts" in result.out  # it retried within the budget before giving up
    assert "VERDICT: INCONCLUSIVE — version unknown · unreachable" in result.out
    assert f"next: qgate got no answer from {closed_port_url}" in result.out
    run = run_qgate("run", "--env", "demo", "--suites", "smoke", "--base-url",
                    closed_port_url)
    assert run.code == 3 and "unreachable: connection refused" in run.out


def test_json_and_prometheus_output(clean_store: str, tmp_path: Path) -> None:
    prom = tmp_path / "qgate.prom"
    result = run_qgate("smoke", "--env", "demo", "--base-url", clean_store, "--json",
                       "--prom-file", str(prom), "--expect-version", "1.0.0")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["decision"] == "GO" and data["version"] == "1.0.0"
    assert {c["name"] for c in data["checks"]} >= {"healthz", "readyz", "version"}
    text = prom.read_text()
    assert 'qgate_smoke_check_success{env="demo",check="readyz"} 1' in text
    assert 'qgate_smoke_verdict{env="demo",decision="GO"} 1' in text
    assert 'qgate_smoke_verdict{env="demo",decision="NO-GO"} 0' in text
    assert 'qgate_smoke_target_info{env="demo",version="1.0.0"} 1' in text


def test_compare_fails_when_new_colour_is_worse(clean_store: str, health_down_store: str
                                                ) -> None:
    result = run_qgate("smoke", "--env", "demo", "--base-url", health_down_store,
                       "--compare", clean_store, "--timeout", "2")
    assert result.code == 1
    assert "compare: readyz" in result.out
    assert "old: ok" in result.out


def test_compare_same_build_is_go_and_reports_version_difference(
        clean_store: str, mismatched_store: str) -> None:
    result = run_qgate("smoke", "--env", "demo", "--base-url", clean_store,
                       "--compare", mismatched_store, "--json")
    assert result.code == 0, result.out
    data = json.loads(result.out)
    compares = [c for c in data["checks"] if c["name"].startswith("compare: ")]
    assert compares and all(c["old"]["ok"] and c["outcome"] == "passed" for c in compares)
    run = json.loads((Path(data["run_dir"]) / "run.json").read_text())
    assert any("Blue/green" in n for n in run["notes"])


def test_production_runs_no_write_checks(clean_store: str, project_copy: Path) -> None:
    prod = project_copy / "environments" / "production.toml"
    prod.write_text(prod.read_text() + """
[[smoke.checks]]
name = "health"
path = "/healthz"

[[smoke.checks]]
name = "place and cancel a test order"
path = "/api/orders"
method = "POST"
writes = true
""".replace("allow_writes = false\n", "allow_writes = true\n"))
    result = run_qgate("smoke", "--env", "production", "--base-url", clean_store,
                       cwd=project_copy, env={"QGATE_ROOT": str(project_copy),
                                              "PRODUCTION_BASE_URL": clean_store})
    assert result.code == 0, result.out + result.err
    assert "SKIP writes data" in result.out


def test_browser_check_drives_real_chromium(clean_store: str) -> None:
    result = run_qgate("smoke", "--env", "demo", "--base-url", clean_store, "--browser",
                       "--json")
    data = json.loads(result.out)
    browser = next(t for t in data["checks"] if t["id"] == "smoke::browser")
    assert browser["outcome"] == "passed", browser["message"]
    assert result.code == 0, result.out + result.err
    run = json.loads((Path(data["run_dir"]) / "run.json").read_text())
    assert run["suites"]["smoke"]["metrics"]["smoke.browser.duration_ms"] > 0


def test_browser_check_fails_naming_the_step(closed_port_url: str) -> None:
    from harness.config import load_environment
    from harness.smoke.browser import browser_check

    env = load_environment("demo").with_base_url(closed_port_url)
    case = browser_check(env, env.suite_settings("smoke").browser)
    assert case.outcome == "failed"
    assert case.step == "open home page"
    assert "ERR_CONNECTION_REFUSED" in case.message


def test_smoke_run_imports_no_heavy_module(clean_store: str) -> None:
    assert heavy_modules_after(["smoke", "--env", "demo", "--base-url", clean_store]) == (0, [])


def test_browser_check_needs_the_shops_search_page_declared(tmp_path: Path) -> None:
    from harness.config import load_environment
    from harness.errors import ConfigError
    from harness.smoke.browser import browser_check

    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "shop.toml").write_text(
        'base_url = "http://127.0.0.1:9"\n[[smoke.checks]]\nname = "home"\npath = "/"\n'
        '[smoke.browser]\nenabled = true\n'
        'search_term = "milk"\nresult_selector = "a.product"\n')
    env = load_environment("shop", tmp_path)
    with pytest.raises(ConfigError) as info:
        browser_check(env, env.suite_settings("smoke").browser)
    assert info.value.key == "smoke.browser.search_path"
    result = run_qgate("smoke", "--env", "shop", "--browser", cwd=tmp_path,
                       env={"QGATE_ROOT": str(tmp_path)})
    assert result.code == 2, result.out + result.err
    assert "smoke.browser.search_path: not declared" in result.err


# --- issue 19: no demo defaults outside the demo; secrets and URLs --------------------------

@pytest.fixture
def shop() -> Iterator[ShopApp]:
    """A healthy shop that is not the demo store."""
    with serve_shop() as app:
        yield app


@pytest.fixture
def init_project(tmp_path: Path) -> Path:
    """A project as `qgate init` writes it."""
    result = run_qgate("init", str(tmp_path))
    assert result.code == 0, result.err
    return tmp_path


def in_project(project: Path, **variables: str) -> dict[str, str]:
    return {"QGATE_ROOT": str(project), **variables}


def test_init_project_smoke_is_go_on_a_shop_that_is_not_the_demo(shop: ShopApp,
                                                                 init_project: Path) -> None:
    result = run_qgate("smoke", "--env", "production", cwd=init_project,
                       env=in_project(init_project, PRODUCTION_BASE_URL=shop.base_url))
    assert result.code == 0, result.out + result.err
    assert "home page" in result.out
    assert shop.requests and shop.methods == {"GET"}, shop.requests  # never a POST
    assert not any(p.startswith("/api/") for _, p in shop.requests)


def test_an_environment_without_checks_is_a_config_error(shop: ShopApp, tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "production.toml").write_text(
        'base_url = "${PRODUCTION_BASE_URL}"\nproduction = true\nsuites = ["smoke"]\n'
        '[smoke]\ntimeout_s = 2.0\n')
    for command in (["smoke"], ["run"]):
        result = run_qgate(*command, "--env", "production", cwd=tmp_path,
                           env=in_project(tmp_path, PRODUCTION_BASE_URL=shop.base_url))
        assert result.code == 2, result.out + result.err
        assert "smoke.checks: no smoke checks declared" in result.err
        assert "[[smoke.checks]]" in result.err  # says what to declare
    assert shop.requests == []  # nothing was sent to the shop


def test_a_post_check_not_declared_safe_is_refused_before_any_request(shop: ShopApp,
                                                                      tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "production.toml").write_text(
        f'base_url = "{shop.base_url}"\nproduction = true\n'
        '[[smoke.checks]]\nname = "quote"\npath = "/api/quote"\nmethod = "POST"\n')
    result = run_qgate("smoke", "--env", "production", cwd=tmp_path, env=in_project(tmp_path))
    assert result.code == 2, result.out + result.err
    assert "smoke.checks[0]: 'quote' sends POST; declare `safe = true`" in result.err
    assert shop.requests == []


@pytest.mark.parametrize("command", ["smoke", "run"])
def test_an_empty_url_secret_is_exit_2_naming_the_variable(init_project: Path, command: str
                                                           ) -> None:
    result = run_qgate(command, "--env", "production", cwd=init_project,
                       env=in_project(init_project, PRODUCTION_BASE_URL=""))
    assert result.code == 2, result.out + result.err
    assert "${PRODUCTION_BASE_URL} is set but empty" in result.err
    assert len(result.err.strip().splitlines()) == 1 and "VERDICT" not in result.out


def test_base_url_flag_satisfies_an_unset_variable(shop: ShopApp, init_project: Path) -> None:
    variables = in_project(init_project)
    result = run_qgate("smoke", "--env", "production", "--base-url", shop.base_url,
                       cwd=init_project, env=variables)
    assert "PRODUCTION_BASE_URL" not in os.environ
    assert result.code == 0, result.out + result.err


def test_a_folder_without_environments_says_so(tmp_path: Path) -> None:
    result = run_qgate("smoke", "--env", "production", cwd=tmp_path, env={"QGATE_ROOT": ""})
    assert result.code == 2, result.out + result.err
    assert f"no environments/ folder in {tmp_path.resolve()}" in result.err
    assert "qgate init" in result.err


def test_the_demo_environment_loads_from_any_folder(tmp_path: Path) -> None:
    from harness.config import load_environment

    env = load_environment("demo", tmp_path)  # no environments/ here: the packaged demo
    assert [c.name for c in env.suite_settings("smoke").checks][:3] == [
        "healthz", "readyz", "version"]


# --- issue 19.4: on-call output is a runbook ------------------------------------------------

RUNBOOK_CHECKS = '''
[[smoke.checks]]
name = "home page"
path = "/"
expect_content_type = "text/html"

[[smoke.checks]]
name = "readiness"
path = "/readyz"

[[smoke.checks]]
name = "version"
path = "/version"
version_field = "version"
'''


def shop_project(root: Path, base_url: str, timeout: float = 4.0) -> dict[str, str]:
    (root / "environments").mkdir(exist_ok=True)
    (root / "environments" / "production.toml").write_text(
        f'base_url = "{base_url}"\nproduction = true\n[smoke]\ntimeout_s = {timeout}\n'
        + RUNBOOK_CHECKS)
    return {"QGATE_ROOT": str(root)}


def test_a_warming_up_deploy_is_retried_to_go(tmp_path: Path) -> None:
    with serve_shop(ShopApp(warmup_503=4)) as shop:
        result = run_qgate("smoke", "--env", "production", "--json", cwd=tmp_path,
                           env=shop_project(tmp_path, shop.base_url))
    assert result.code == 0, result.out + result.err
    assert max(c["attempts"] for c in json.loads(result.out)["checks"]) > 1


def test_a_definite_failure_is_not_retried(tmp_path: Path) -> None:
    with serve_shop(ShopApp(missing={"/readyz"})) as shop:
        result = run_qgate("smoke", "--env", "production", "--json", cwd=tmp_path,
                           env=shop_project(tmp_path, shop.base_url, timeout=8))
        readyz_requests = [p for _, p in shop.requests if p == "/readyz"]
    assert result.code == 1, result.out + result.err
    check = next(c for c in json.loads(result.out)["checks"] if c["name"] == "readiness")
    assert check["attempts"] == 1 and check["definite"] is True
    assert readyz_requests == ["/readyz"]  # one request, not a budget's worth of retries


def test_a_failed_check_shows_curl_status_body_and_what_to_do(tmp_path: Path) -> None:
    with serve_shop(ShopApp(missing={"/readyz"})) as shop:
        result = run_qgate("smoke", "--env", "production", "--expect-version", "9.9.9",
                           "--timeout", "1", cwd=tmp_path,
                           env=shop_project(tmp_path, shop.base_url))
    assert result.code == 1, result.out + result.err
    out = result.out
    assert "VERDICT: NO-GO — version 7.3.1, expected 9.9.9 · 1 of 3 checks ok — " in out
    assert f"      $ curl -i {shop.base_url}/readyz\n      HTTP 404\n      | <html><body>Not " \
           "found</body></html>" in out
    assert "version is '7.3.1', expected '9.9.9'" in out and '| {"version": "7.3.1"}' in out
    assert "\nnext: roll back (blue/green: switch back) or fix forward now" in out
    assert "\033[" not in out  # piped: no colour


def test_results_stream_while_checks_retry(tmp_path: Path) -> None:
    import subprocess
    import sys

    with serve_shop(ShopApp(warmup_503=10**6)) as shop:
        env = {**os.environ, **shop_project(tmp_path, shop.base_url, timeout=6)}
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "smoke", "--env",
                                 "production"], cwd=tmp_path, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            # the screen says what is happening while qgate is still retrying, not at the end
            seen.append((line, proc.poll() is None))
        proc.wait()
    said = [running for line, running in seen if "retrying within the time budget" in line]
    assert said and all(said), seen
    assert proc.returncode == 1


@pytest.mark.parametrize(("no_colour", "coloured"), [("", True), ("1", False)])
def test_colour_only_on_a_terminal_without_no_color(tmp_path: Path, no_colour: str,
                                                    coloured: bool) -> None:
    import pty
    import subprocess
    import sys

    with serve_shop() as shop:
        env = {**os.environ, **shop_project(tmp_path, shop.base_url), "NO_COLOR": no_colour}
        leader, follower = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "smoke", "--env",
                                 "production"], cwd=tmp_path, env=env, stdout=follower,
                                stderr=subprocess.DEVNULL)
        proc.wait(timeout=60)
        os.close(follower)
        out = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(leader)
    assert proc.returncode == 0
    assert (b"\033[32m" in out) is coloured


def test_expect_version_without_a_version_check_is_a_config_error(shop: ShopApp,
                                                                   init_project: Path) -> None:
    result = run_qgate("smoke", "--env", "production", "--expect-version", "1.2.3",
                       cwd=init_project,
                       env=in_project(init_project, PRODUCTION_BASE_URL=shop.base_url))
    assert result.code == 2, result.out + result.err  # never a GO that checked no version
    assert "--expect-version 1.2.3: no check declares version_field" in result.err
    assert shop.requests == []
