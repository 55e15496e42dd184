"""Every path to a verdict fails closed: GO only with every required piece of evidence.

Each test here reproduces one way the gate could say GO (or exit with the wrong code)
without the evidence behind it, through the real front-ends (qgate, standalone pytest) on
scratch projects.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_support import SMOKE_CHECK, run_qgate

GATE = '[required]\ndemo = ["smoke"]\n'


def scratch(root: Path, tests: str, *, base_url: str = "http://127.0.0.1:9",
            suites: tuple[str, ...] = ("smoke",), gate: str | None = GATE, extra: str = "",
            conftest: str = "", suite: str = "smoke", env: str = "demo") -> Path:
    """A project with one environment and one suite of the given tests."""
    (root / "environments").mkdir(exist_ok=True)
    (root / "environments" / f"{env}.toml").write_text(
        f'base_url = "{base_url}"\nsuites = {json.dumps(list(suites))}\n{extra}{SMOKE_CHECK}')
    if gate is not None:
        (root / "gate.toml").write_text(gate)
    folder = root / "suites" / suite
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_things.py").write_text(textwrap.dedent(tests))
    if conftest:
        (folder / "conftest.py").write_text(textwrap.dedent(conftest))
    return root


def pytest_in(root: Path, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "QGATE_ROOT": str(root)}
    full.pop("QGATE_REPORTS_DIR", None)  # scratch projects keep runs in their own reports/
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=root, env=full, capture_output=True, text=True, timeout=300,
                          check=False)


def qgate_in(root: Path, *args: str, env: dict[str, str] | None = None):
    return run_qgate(*args, cwd=root, env={"QGATE_ROOT": str(root),
                                           "QGATE_REPORTS_DIR": str(root / "reports"),
                                           **(env or {})})


def latest(root: Path) -> dict:
    return json.loads((root / "reports" / "latest" / "run.json").read_text())


def outcomes(run: dict, suite: str = "smoke") -> dict[str, str]:
    return {t["name"]: t["outcome"] for t in run["suites"][suite]["tests"]}


# --- 1. a crash never reads as a pass ------------------------------------------------------


def test_crashed_xdist_worker_is_an_error_not_a_pass(tmp_path: Path) -> None:
    scratch(tmp_path, """
        import os, signal

        def test_fine():
            pass

        def test_kills_its_worker():
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = pytest_in(tmp_path, "suites/smoke", "--env", "demo", "-n", "2", "-q")
    run = latest(tmp_path)
    assert outcomes(run)["test_kills_its_worker"] == "error", run["suites"]["smoke"]["tests"]
    crashed = next(t for t in run["suites"]["smoke"]["tests"] if "kills" in t["name"])
    assert "crashed" in crashed["message"] or "unexpected phase" in crashed["message"]
    assert run["verdict"]["decision"] == "INCONCLUSIVE"
    assert proc.returncode == 3, proc.stdout + proc.stderr


@pytest.mark.parametrize(("code", "why"), [
    (1, "no failed test was recorded"), (3, "internal error"), (4, "usage error"),
])
def test_a_suite_process_that_exits_badly_is_not_passed(clean_store: str, tmp_path: Path,
                                                         code: int, why: str) -> None:
    # The tests pass and the plugin writes `passed`; then the process dies with `code`.
    scratch(tmp_path, "def test_fine():\n    pass\n", base_url=clean_store, conftest=f"""
        import os

        def pytest_unconfigure(config):
            os._exit({code})
    """)
    result = qgate_in(tmp_path, "run", "--env", "demo")
    run = latest(tmp_path)
    assert run["suites"]["smoke"]["status"] == "error", run["suites"]["smoke"]
    assert why in run["suites"]["smoke"]["error"]
    assert result.code == 3, result.out + result.err


def test_pytest_exit_inside_a_test_is_an_error(tmp_path: Path) -> None:
    scratch(tmp_path, """
        import pytest

        def test_a():
            pass

        def test_b():
            pytest.exit("stopping the session", returncode=2)
    """)
    proc = pytest_in(tmp_path, "suites/smoke", "--env", "demo", "-q")
    run = latest(tmp_path)
    assert run["suites"]["smoke"]["status"] == "error"
    assert proc.returncode == 3


# --- 2. "required" never shrinks -----------------------------------------------------------


def test_environment_missing_from_required_requires_all_its_suites(tmp_path: Path) -> None:
    scratch(tmp_path, "def test_a():\n    pass\n", suites=("smoke", "e2e"), gate=None)
    proc = pytest_in(tmp_path, "suites/smoke", "--env", "demo", "-q")
    run = latest(tmp_path)
    assert run["scope"]["required"] == ["smoke", "e2e"]
    assert run["verdict"]["decision"] == "INCONCLUSIVE"
    assert run["not_run"]["e2e"].startswith("left out of this run")
    assert proc.returncode == 3


def test_merging_some_suites_cannot_be_go(tmp_path: Path) -> None:
    scratch(tmp_path, "def test_a():\n    pass\n", suites=("smoke", "security"),
            gate='[required]\ndemo = ["smoke", "security"]\n')
    shard = tmp_path / "shard"
    pytest_in(tmp_path, "suites/smoke", "--env", "demo", "--qgate-shard", "1/1", "-q",
              env={"QGATE_REPORTS_DIR": str(shard)})
    merged = qgate_in(tmp_path, "merge", "--env", "demo", str((shard / "latest").resolve()))
    assert merged.code == 3, merged.out + merged.err
    assert "left out of this run: security (the gate requires it for demo)" in merged.out


def test_sharding_recipe_from_the_readme_ends_go(clean_store: str, tmp_path: Path) -> None:
    # a scratch suite named like a built-in one (security), with six test files to split
    scratch(tmp_path, "def test_a():\n    pass\n", base_url=clean_store,
            suites=("smoke", "security"), gate='[required]\ndemo = ["smoke", "security"]\n')
    for n in range(6):
        (tmp_path / "suites" / "security").mkdir(exist_ok=True)
        (tmp_path / "suites" / "security" / f"test_{n}.py").write_text(
            "def test_j():\n    pass\n")
    folders = []
    for i in (1, 2, 3):  # each CI machine: qgate run --env … --shard I/3, then cp -rL latest
        qgate_in(tmp_path, "run", "--env", "demo", "--shard", f"{i}/3")
        folder = tmp_path / f"shard-{i}"
        (tmp_path / "reports" / "latest").resolve().rename(folder)
        folders.append(str(folder))
    merged = qgate_in(tmp_path, "merge", "--env", "demo", *folders)
    assert merged.code == 0, merged.out + merged.err
    run = latest(tmp_path)
    assert run["suites"]["security"]["metrics"]["security.tests"] == 6
    assert run["suites"]["smoke"]["metrics"]["smoke.tests"] == 1


@pytest.mark.parametrize(("criterion", "message"), [
    ('suite = "smok"\nname = "x"\nmetric = "smok.x"\nthreshold = 1',
     "criteria[0].suite: unknown suite 'smok'; did you mean 'smoke'?"),
    ('suite = "smoke"\nname = "x"\nmetric = "e2e.checkout.duration_ms"\nthreshold = 1',
     "criteria[0].metric: metric 'e2e.checkout.duration_ms' is not a smoke metric"),
    ('suite = "smoke"\nname = "x"\nmetric = "smoke.x"\nthreshold = 1\nenvironments = ["stagng"]',
     "criteria[0].environments[0]: unknown environment 'stagng'"),
])
def test_a_criterion_that_names_nothing_is_a_config_error(tmp_path: Path, criterion: str,
                                                          message: str) -> None:
    scratch(tmp_path, "def test_a():\n    pass\n",
            gate=f"{GATE}\n[[criteria]]\n{criterion}\n")
    result = qgate_in(tmp_path, "run", "--env", "demo")
    assert result.code == 2, result.out + result.err
    assert result.err.startswith(f"qgate: error: gate.toml: {message}"), result.err
    assert len(result.err.strip().splitlines()) == 1


def test_gate_requiring_a_suite_the_environment_forbids_is_a_config_error(tmp_path: Path
                                                                          ) -> None:
    scratch(tmp_path, "def test_a():\n    pass\n", gate='[required]\ndemo = ["smoke", "e2e"]\n')
    result = qgate_in(tmp_path, "run", "--env", "demo")
    assert result.code == 2
    assert "required.demo: requires 'e2e', which environments/demo.toml does not allow" in \
        result.err


# --- 3. skips are evidence of nothing -------------------------------------------------------


CORE = GATE + '\n[core_journeys.smoke]\n"buy something" = ["payment"]\n'


def test_core_journey_that_never_ran_is_inconclusive(tmp_path: Path) -> None:
    scratch(tmp_path, """
        import pytest

        def test_browse(evidence):
            evidence.step("search")

        def test_buy(evidence):
            evidence.step("add to cart")
            pytest.skip("adapter does not support 'pay'")
    """, gate=CORE)
    proc = pytest_in(tmp_path, "suites/smoke", "--env", "demo", "-q")
    run = latest(tmp_path)
    rows = {c["name"]: c for c in run["verdict"]["criteria"]}
    core = rows["core journey ran: buy something"]
    assert core["outcome"] == "error" and "'payment'" in core["reason"]
    assert "adapter does not support 'pay'" in core["reason"]
    skipped = rows["tests skipped (no evidence)"]
    assert skipped["observed"] == 1 and "adapter does not support 'pay'" in skipped["reason"]
    assert run["verdict"]["decision"] == "INCONCLUSIVE"
    assert proc.returncode == 3


def test_core_journey_reached_and_not_applicable_tests_are_go(tmp_path: Path) -> None:
    scratch(tmp_path, """
        from harness.plugin import not_applicable

        def test_buy(evidence):
            evidence.step("payment")

        def test_pincodes(evidence):
            not_applicable("e2e.capabilities.pincodes = false in environments/demo.toml")
    """, gate=CORE)
    proc = pytest_in(tmp_path, "suites/smoke", "--env", "demo", "-q")
    run = latest(tmp_path)
    assert outcomes(run) == {"test_buy": "passed", "test_pincodes": "not_applicable"}
    na = next(c for c in run["verdict"]["criteria"] if c["outcome"] == "n/a")
    assert "e2e.capabilities.pincodes = false" in na["reason"]
    assert run["verdict"]["decision"] == "GO", run["verdict"]
    assert proc.returncode == 0


# --- 4. production protection in every front-end -------------------------------------------


PROD = 'base_url = "https://shop.example.com"\nproduction = true\nsuites = ["smoke", "e2e"]\n'


def prod_project(root: Path) -> Path:
    scratch(root, "def test_a():\n    pass\n", suite="e2e",
            gate='[required]\nproduction = ["smoke"]\n', env="production", suites=("smoke", "e2e"), base_url="https://shop.example.com",
            extra="production = true\n")
    return root


@pytest.mark.parametrize("args", [["suites"], ["suites/"], ["."], ["suites/e2e/test_things.py"],
                                  ["suites/e2e"]])
def test_standalone_pytest_refuses_production_whatever_the_path(tmp_path: Path,
                                                                args: list[str]) -> None:
    prod_project(tmp_path)
    proc = pytest_in(tmp_path, *args, "--env", "production", "-q")
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    assert "environment 'production' is production; refusing e2e" in proc.stderr
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_qgate_demo_refuses_a_production_demo_environment(project_copy: Path) -> None:
    demo = project_copy / "environments" / "demo.toml"
    demo.write_text(demo.read_text().replace("production = false", "production = true"))
    result = run_qgate("demo", "--suites", "e2e", cwd=project_copy,
                       env={"QGATE_ROOT": str(project_copy)})
    assert result.code == 2, result.out + result.err
    assert "environment 'demo' is production; refusing e2e" in result.err


def test_qgate_merge_refuses_intrusive_shards_of_production(tmp_path: Path) -> None:
    from harness.results import SuiteResult, TestCase, write_suite_result
    from harness.runrecord import RunRecord, write_run
    from harness.verdict import Verdict

    prod_project(tmp_path)
    shard = tmp_path / "shard"
    e2e = SuiteResult("e2e", "passed", 1.0, "pytest",
                      tests=(TestCase("suites/e2e/test_things.py::test_a", "test_a", "passed"),))
    write_suite_result(shard, e2e)
    write_run(RunRecord("r1", "production", "https://shop.example.com", "", "t", "t",
                        Verdict("GO", (), ""), {"e2e": e2e}, shard="1/1"), shard)
    result = qgate_in(tmp_path, "merge", "--env", "production", str(shard))
    assert result.code == 2, result.out + result.err
    assert "is production; refusing e2e" in result.err


def test_base_url_cannot_retarget_an_environment_at_production(tmp_path: Path) -> None:
    prod_project(tmp_path)
    (tmp_path / "environments" / "demo.toml").write_text(
        'base_url = "http://127.0.0.1:9"\nsuites = ["smoke", "e2e"]\n' + SMOKE_CHECK)
    proc = pytest_in(tmp_path, "suites/e2e", "--env", "demo", "--base-url",
                     "https://shop.example.com/", "-q")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert ("--base-url host shop.example.com is the production target of "
            "environments/production.toml") in proc.stderr
    result = qgate_in(tmp_path, "run", "--env", "demo", "--base-url", "https://shop.example.com",
                      "--suites", "e2e")
    assert result.code == 2 and "refusing e2e" in result.err


# --- 5. shards ---------------------------------------------------------------------------


def fake_shard(folder: Path, shard: str) -> str:
    from harness.results import SuiteResult, TestCase, write_suite_result
    from harness.runrecord import RunRecord, write_run
    from harness.verdict import Verdict

    smoke = SuiteResult("smoke", "passed", 1.0, "pytest",
                        tests=(TestCase(f"suites/smoke/t.py::{shard}", "t", "passed"),))
    write_suite_result(folder, smoke)
    write_run(RunRecord(folder.name, "demo", "http://127.0.0.1:9", "", "t", "t",
                        Verdict("GO", (), ""), {"smoke": smoke}, shard=shard), folder)
    return str(folder)


@pytest.mark.parametrize(("shards", "message"), [
    (["1/3", "3/3"], "shard 2/3 missing (got 1/3, 3/3)"),
    (["1/2", "1/2"], "shard 1/2 is given twice"),
    (["1/2", "2/3"], "shards disagree on N"),
    (["", "2/2"], "not a shard run"),
])
def test_merge_refuses_an_incomplete_set_of_shards(tmp_path: Path, shards: list[str],
                                                   message: str) -> None:
    scratch(tmp_path, "def test_a():\n    pass\n")
    folders = [fake_shard(tmp_path / f"s{i}", s) for i, s in enumerate(shards)]
    result = qgate_in(tmp_path, "merge", "--env", "demo", *folders)
    assert result.code == 3, result.out + result.err
    assert message in result.err
    assert not (tmp_path / "reports").exists() or not [
        p for p in (tmp_path / "reports").iterdir() if p.name != "latest"]


def test_each_shard_records_its_place(clean_store: str, tmp_path: Path) -> None:
    scratch(tmp_path, "def test_a():\n    pass\n", base_url=clean_store)
    qgate_in(tmp_path, "run", "--env", "demo", "--shard", "2/3")
    assert latest(tmp_path)["shard"] == "2/3"


# --- 6. the right exit code for each failure ----------------------------------------------


@pytest.fixture(params=["reset", "half-closed"])
def rude_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A TCP server that resets (RST) or closes every connection without answering."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            if request.param == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            else:
                conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    server.close()


def test_a_rude_target_is_inconclusive_not_a_crash(rude_server: str) -> None:
    result = run_qgate("run", "--env", "demo", "--base-url", rude_server)
    assert result.code == 3, result.out + result.err
    assert "Traceback" not in result.err
    assert f"target {rude_server} is unreachable: " in result.out
    assert ("connection reset" in result.out or "closed the connection" in result.out
            or "reading the answer failed" in result.out), result.out


def test_corrupt_suite_result_is_an_error_not_a_crash(clean_store: str, tmp_path: Path) -> None:
    scratch(tmp_path, "def test_fine():\n    pass\n", base_url=clean_store, conftest="""
        from pathlib import Path

        def pytest_unconfigure(config):
            run_dir = config.getoption("qgate_run_dir")
            Path(run_dir, "suites", "smoke.json").write_text('{"suite": "smoke", "stat')
    """)
    result = qgate_in(tmp_path, "run", "--env", "demo")
    assert result.code == 3, result.out + result.err
    assert "smoke.json is corrupt or partial" in result.out


def test_non_numeric_metric_is_an_error_not_a_crash(tmp_path: Path) -> None:
    scratch(tmp_path, """
        def test_fine(evidence):
            evidence.metric("smoke.latency_ms", "fast")
    """)
    proc = pytest_in(tmp_path, "suites/smoke", "--env", "demo", "-q")
    run = latest(tmp_path)
    assert run["suites"]["smoke"]["status"] == "error"
    assert "non-numeric value 'fast'" in run["suites"]["smoke"]["error"]
    assert proc.returncode == 3


def test_doctor_exits_2_when_a_required_tool_is_missing(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    from harness import doctor

    missing = doctor.ToolStatus("scanner", False, "not on PATH", "apt-get install it", "x")
    monkeypatch.setattr(doctor, "CHECKS", [lambda: missing])
    assert doctor.doctor() == 2
    assert "1 required tool(s) missing" in capsys.readouterr().out


# --- 7. nothing leaks ------------------------------------------------------------------------


def test_credentials_in_the_base_url_never_reach_the_console(closed_port_url: str) -> None:
    url = closed_port_url.replace("http://", "http://ops:S3cr3t-pw@")
    result = run_qgate("run", "--env", "demo", "--base-url", url)
    assert result.code == 3
    assert "S3cr3t-pw" not in result.out + result.err
    assert "ops:***@" in result.out


@pytest.mark.parametrize(("text", "secret"), [
    ('{"authorization": "Bearer tok-123"}', "tok-123"),
    ('{"Set-Cookie": "sid=abc123; HttpOnly"}', "abc123"),
    ('{"name": "cookie", "value": "sid=abc123; theme=dark"}', "abc123"),
    ("Cookie: theme=dark; sid=abc123", "abc123"),
    ("< set-cookie: sid=abc123; Path=/; HttpOnly", "abc123"),
    ("proxy-authorization=Basic dXNlcjpwdw==", "dXNlcjpwdw=="),
])
def test_credentials_are_masked_by_shape(text: str, secret: str) -> None:
    from harness.redaction import redact
    assert secret not in redact(text)


def test_har_and_trace_structures_are_masked() -> None:
    from harness.redaction import redact_data

    entry = {"request": {"headers": [{"name": "Cookie", "value": "sid=abc123"},
                                     {"name": "Accept", "value": "text/html"}],
                         "cookies": [{"name": "sid", "value": "abc123"}]},
             "response": {"headers": [{"name": "set-cookie", "value": "sid=abc123; Path=/"}]}}
    masked = redact_data(entry)
    assert "abc123" not in json.dumps(masked)
    assert masked["request"]["headers"][1]["value"] == "text/html"  # evidence stays readable


def test_prose_about_cookies_stays_readable() -> None:
    from harness.redaction import redact
    assert redact("session cookie: missing HttpOnly") == "session cookie: missing HttpOnly"


# --- 9. junit.xml always parses ---------------------------------------------------------------


def test_junit_survives_ansi_escapes_and_nul_bytes(tmp_path: Path) -> None:
    import xmlschema

    scratch(tmp_path, r"""
        def test_noisy():
            print("\x1b[31mred\x1b[0m and a NUL \x00 and \x07 bell")
            assert False, "bad \x00 byte \x1b[1mbold\x1b[0m"
    """)
    pytest_in(tmp_path, "suites/smoke", "--env", "demo", "-q")
    junit = (tmp_path / "reports" / "latest" / "junit.xml").read_text()
    schema = xmlschema.XMLSchema(str(Path(__file__).parent / "data" / "junit.xsd"))
    schema.validate(junit)  # raises with the reason if the file is not valid JUnit XML
    assert "#x00" in junit and "#x1B[31m" not in junit or "#x1B" in junit


# --- 10. stop early on a broken deploy ------------------------------------------------------


def test_failed_smoke_stops_the_run_and_lists_the_rest_as_not_run() -> None:
    result = run_qgate("demo", "--fault", "health-down")
    assert result.code == 1, result.out + result.err
    assert "e2e: running" not in result.out
    from cli_support import run_dir_of
    run = json.loads((run_dir_of(result.out) / "run.json").read_text())
    assert set(run["suites"]) == {"smoke"}
    assert set(run["not_run"]) == set(run["scope"]["required"]) - {"smoke"}
    assert all("smoke failed" in why for why in run["not_run"].values())
    assert run["verdict"]["decision"] == "NO-GO"


def test_no_fail_fast_runs_every_suite(clean_store: str, tmp_path: Path) -> None:
    scratch(tmp_path, "def test_broken():\n    assert False\n", base_url=clean_store,
            suites=("smoke", "security"), gate='[required]\ndemo = ["smoke", "security"]\n')
    (tmp_path / "suites" / "security").mkdir()
    (tmp_path / "suites" / "security" / "test_j.py").write_text("def test_j():\n    pass\n")
    fast = qgate_in(tmp_path, "run", "--env", "demo")
    assert fast.code == 1, fast.out + fast.err
    run = latest(tmp_path)
    assert "security" not in run["suites"] and "smoke failed" in run["not_run"]["security"]
    full = qgate_in(tmp_path, "run", "--env", "demo", "--no-fail-fast")
    assert full.code == 1, full.out + full.err  # smoke still failed
    run = latest(tmp_path)
    assert run["suites"]["security"]["status"] == "passed" and run["not_run"] == {}


def test_adapter_that_cannot_pay_is_inconclusive_not_go(clean_store: str, project_copy: Path
                                                        ) -> None:
    """The issue's own example: checkout never tested must not be a GO."""
    (project_copy / "nopay.py").write_text(textwrap.dedent("""
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).parent))
        from harness.e2e.adapter import Unsupported
        from harness.suites.e2e.adapters.demostore import DemoStorefront


        class NoPayStorefront(DemoStorefront):
            name = "no-pay"

            def pay(self, payment, *, address, slot=None):
                raise Unsupported("this shop's payment page is not automated yet")
    """))
    demo = project_copy / "environments" / "demo.toml"
    text = demo.read_text()
    adapter = next(line for line in text.splitlines() if line.startswith("adapter = "))
    demo.write_text(text.replace(adapter, 'adapter = "nopay.py:NoPayStorefront"\n'
                                          'viewports = ["desktop"]'))
    gate = project_copy / "gate.toml"
    gate.write_text(re.sub(r'(?m)^demo = \[.*\]$', 'demo = ["e2e"]', gate.read_text()))
    journeys = "search_and_open or (checkout_places_order and not upi)"
    proc = pytest_in(project_copy, "suites/e2e", "--env", "demo", "--base-url", clean_store,
                     "-q", "-n", "2", "-k", journeys,
                     env={"QGATE_REPORTS_DIR": str(project_copy / "reports")})
    run = latest(project_copy)
    assert outcomes(run, "e2e") == {
        "test_search_and_open_product[desktop-chromium]": "passed",
        "test_checkout_places_order[desktop-chromium]": "skipped"}, run["suites"]["e2e"]
    rows = {c["name"]: c for c in run["verdict"]["criteria"] if c["suite"] == "e2e"}
    assert rows["core journey ran: find a product"]["outcome"] == "pass"
    assert rows["core journey ran: checkout and pay"]["outcome"] == "error"
    assert "payment page is not automated yet" in rows[
        "core journey ran: checkout and pay"]["reason"]
    assert run["verdict"]["decision"] == "INCONCLUSIVE"
    assert proc.returncode == 3, proc.stdout[-3000:]


def _members(root: Path) -> Iterator[tuple[str, bytes]]:
    import io
    import zipfile

    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            yield str(path), data
            if zipfile.is_zipfile(io.BytesIO(data)):
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    for name in archive.namelist():
                        yield f"{path}!{name}", archive.read(name)


def test_cookies_issued_during_the_run_and_url_credentials_never_reach_artifacts(
        project_copy: Path, tmp_path: Path) -> None:
    """The canary, extended: session cookies the shop sets while a journey runs (unknown in
    advance) and credentials in the base URL are masked in traces, logs and the console."""
    from demostore.process import start_store

    demo = project_copy / "environments" / "demo.toml"
    demo.write_text(demo.read_text().replace("[e2e]", '[e2e]\nviewports = ["desktop"]'))
    with start_store(faults=("wrong-total",), version="1.0.0") as store:
        url = store.base_url.replace("http://", "http://ops:S3cr3t-canary@")
        proc = pytest_in(project_copy, "suites/e2e", "--env", "demo", "--base-url", url,
                         "-q", "-k", "small_cart_totals", "--tracing", "retain-on-failure",
                         env={"QGATE_REPORTS_DIR": str(tmp_path)})
    assert proc.returncode == 1, proc.stdout[-3000:]  # the journey failed: evidence kept
    assert "S3cr3t-canary" not in proc.stdout + proc.stderr
    cookie_values, traces = [], 0
    for name, data in _members(tmp_path):
        assert b"S3cr3t-canary" not in data, f"URL credentials in {name}"
        if not name.endswith((".trace", ".network")):
            continue
        traces += 1
        for line in data.decode("utf-8", "replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            stack = [event]
            while stack:
                item = stack.pop()
                if isinstance(item, dict):
                    if str(item.get("name", "")).lower() in ("cookie", "set-cookie") and \
                            "value" in item:
                        cookie_values.append(item["value"])
                    stack += list(item.values())
                elif isinstance(item, list):
                    stack += item
    assert traces >= 1
    # the shop really issued and sent session cookies during the journey...
    assert cookie_values, "no cookie header was recorded: the scan would prove nothing"
    # ...and every one of them was masked
    assert set(cookie_values) == {"***"}, set(cookie_values)


# --- 8. every output renders from the run record -------------------------------------------


def test_smoke_outputs_are_the_redacted_run_record(clean_store: str, tmp_path: Path) -> None:
    from harness.report.oncall import render_prom, render_smoke_json, render_smoke_table
    from harness.runrecord import load_run

    url = clean_store.replace("http://", "http://oncall:Pr0d-S3cret@")
    prom = tmp_path / "qgate.prom"
    as_json = run_qgate("smoke", "--env", "demo", "--base-url", url, "--json",
                        "--prom-file", str(prom))
    as_table = run_qgate("smoke", "--env", "demo", "--base-url", url)
    for out in (as_json.out, as_table.out, prom.read_text()):
        assert "Pr0d-S3cret" not in out
    data = json.loads(as_json.out)
    run_dir = Path(data["run_dir"])
    assert as_json.out.strip() == render_smoke_json(load_run(run_dir), run_dir)
    table_dir = Path(as_table.out.strip().splitlines()[-1].removeprefix("report: ")).parent
    # the same lines as rendered from run.json; the rows came live, in the order checks finished
    assert sorted(as_table.out.strip().splitlines()) == sorted(
        render_smoke_table(load_run(table_dir), table_dir).splitlines())
    rebuilt = render_prom(load_run(run_dir), 0.0).splitlines()
    written = prom.read_text().splitlines()
    # identical but for the timestamp of the last line
    assert rebuilt[:-1] == written[:-1] and written[-1].startswith(rebuilt[-1].rsplit(" ", 1)[0])


def test_store_faults_say_what_is_caught_today() -> None:
    from demostore.faults import FAULTS, format_fault_table
    from harness.config import SUITE_SETTINGS

    only_smoke = format_fault_table(built={"smoke"})
    assert "not caught yet (e2e suite not built)" in only_smoke  # wrong-total
    assert "health-down" in only_smoke and "smoke\n" in only_smoke + "\n"
    shown = run_qgate("store", "faults").out
    for fault in FAULTS.values():
        line = next(x for x in shown.splitlines() if x.startswith(fault.name + " "))
        built = all(s in SUITE_SETTINGS for s in fault.suites)
        assert ("not caught yet" in line) is (not built), line
