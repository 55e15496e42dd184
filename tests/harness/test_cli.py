"""The CLI in a subprocess: exit codes, one-line errors, lazy imports, real runs."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cli_support import (
    PROJECT,
    alive,
    assert_partial,
    descendants,
    heavy_modules_after,
    run_dir_of,
    run_qgate,
    wait_for,
)


def test_version() -> None:
    result = run_qgate("--version")
    assert result.code == 0
    assert result.out.startswith("qgate ")


@pytest.mark.parametrize("argv", [["--help"], ["smoke", "--help"], ["run", "--help"]])
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    assert heavy_modules_after(argv) == (0, [])


def test_unknown_environment_is_one_line_exit_2() -> None:
    result = run_qgate("run", "--env", "stagng")
    assert result.code == 2
    assert result.err.strip() == ("qgate: error: environments/stagng.toml: environment 'stagng' "
                                  "not found; did you mean 'staging'?")


def test_misspelt_key_is_one_line_exit_2(project_copy: Path) -> None:
    demo = project_copy / "environments" / "demo.toml"
    text = demo.read_text()
    assert 'workers = "2"' in text
    demo.write_text(text.replace('workers = "2"', 'workrs = "2"'))
    result = run_qgate("run", "--env", "demo", cwd=project_copy,
                       env={"QGATE_ROOT": str(project_copy)})
    assert result.code == 2
    assert result.err.strip() == ("qgate: error: environments/demo.toml: e2e.workrs: unknown key;"
                                  " did you mean 'workers'?")
    assert "Traceback" not in result.err


def test_malformed_toml_is_one_line_exit_2(project_copy: Path) -> None:
    (project_copy / "environments" / "demo.toml").write_text("base_url = [\n")
    result = run_qgate("run", "--env", "demo", cwd=project_copy,
                       env={"QGATE_ROOT": str(project_copy)})
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "environments/demo.toml: malformed TOML" in result.err


def test_unknown_suite_exit_2() -> None:
    result = run_qgate("run", "--env", "demo", "--suites", "smoke,ee2e")
    assert result.code == 2
    assert "unknown suite 'ee2e'; did you mean 'e2e'?" in result.err


def test_production_refuses_intrusive_suites(project_copy: Path) -> None:
    prod = project_copy / "environments" / "production.toml"
    prod.write_text(prod.read_text().replace('suites = ["smoke"]', 'suites = ["smoke", "e2e"]'))
    result = run_qgate("run", "--env", "production", "--suites", "e2e", cwd=project_copy,
                       env={"QGATE_ROOT": str(project_copy),
                            "PRODUCTION_BASE_URL": "https://shop.example.com"})
    assert result.code == 2
    assert "is production; refusing e2e" in result.err
    assert "--allow-production" in result.err


def test_store_down_is_inconclusive_and_names_the_url(closed_port_url: str, tmp_path: Path
                                                      ) -> None:
    result = run_qgate("run", "--env", "demo", "--base-url", closed_port_url)
    assert result.code == 3, result.out + result.err
    assert f"target {closed_port_url} is unreachable: connection refused" in result.out
    assert "VERDICT: INCONCLUSIVE" in result.out
    run_dir = Path(result.out.strip().splitlines()[-1].removeprefix("report: ")).parent
    data = json.loads((run_dir / "run.json").read_text())
    assert data["verdict"]["decision"] == "INCONCLUSIVE"
    assert {s["status"] for s in data["suites"].values()} == {"error"}


def test_partial_demo_run_is_inconclusive_naming_what_it_left_out() -> None:
    result = run_qgate("demo", "--suites", "smoke")
    # smoke passed, but the gate requires more for demo: a partial run never certifies GO
    assert result.code == 3, result.out + result.err
    assert "VERDICT: INCONCLUSIVE" in result.out and "left out of this run" in result.out
    run_dir = run_dir_of(result.out)
    run = json.loads((run_dir / "run.json").read_text())
    assert_partial(run, ran=["smoke"], left_out=[s for s in run["scope"]["required"]
                                                 if s != "smoke"])
    for name in ("run.json", "junit.xml", "summary.md", "report.html"):
        assert (run_dir / name).is_file(), name
    (run_dir / "report.html").unlink()
    again = run_qgate("report", str(run_dir))
    assert again.code == 3
    assert (run_dir / "report.html").is_file()


def test_demo_with_health_down_is_no_go() -> None:
    result = run_qgate("demo", "--suites", "smoke", "--fault", "health-down")
    assert result.code == 1, result.out + result.err
    assert "VERDICT: NO-GO" in result.out
    assert "readyz" in result.out


def test_demo_rejects_unknown_fault() -> None:
    result = run_qgate("demo", "--fault", "slow-checkot")
    assert result.code == 2
    assert "did you mean 'slow-checkout'?" in result.err


def test_report_on_a_folder_without_run_json(tmp_path: Path) -> None:
    result = run_qgate("report", str(tmp_path))
    assert result.code == 2
    assert "no run.json here" in result.err


def test_doctor_lists_tools() -> None:
    result = run_qgate("doctor")
    assert "chromium" in result.out and "postgresql" in result.out
    # CI installs every required tool, so a MISS here is a broken setup, not a skip
    assert result.code == 0, result.out
    assert "everything required is installed" in result.out


def test_doctor_wraps_at_the_terminal_width_keeping_its_columns() -> None:
    """Free text wraps under its own column (a hanging indent), words whole; it used to run
    past 200 columns."""
    result = run_qgate("doctor", "--env", "demo", env={"COLUMNS": "100"})
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    start = lines.index(next(line for line in lines if line.startswith("  race ")))
    column = lines[start].index("checkout retried")
    assert lines[start + 1].startswith(" " * column) and lines[start + 1][column] != " "
    assert "stock never below zero" in " ".join(line.strip() for line in lines[start:start + 4])


def test_a_bug_in_qgate_shows_its_traceback_and_exit_4() -> None:
    code = ("import sys, harness.cli as cli\n"
            "def broken(args):\n    return 1 / 0\n"
            "cli._dispatch = broken\nsys.exit(cli.main(['doctor']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 4
    assert "ZeroDivisionError" in proc.stderr and "Traceback" in proc.stderr
    assert "this is a bug in qgate; please report it" in proc.stderr


def test_debug_shows_the_traceback_of_a_user_error() -> None:
    result = run_qgate("--debug", "run", "--env", "nope")
    assert result.code == 2
    assert "Traceback" in result.err and "environment 'nope' not found" in result.err


def test_demo_store_that_cannot_start_is_one_line_exit_2(closed_port_url: str) -> None:
    port = closed_port_url.rsplit(":", 1)[1]
    result = run_qgate("demo", "--suites", "smoke", "--db",
                       f"postgresql+psycopg2://postgres@127.0.0.1:{port}/test")
    assert result.code == 2, result.err
    assert result.err.startswith("qgate: error: the demo store did not start: cannot prepare "
                                 "the database")
    assert "Traceback" not in result.err



def test_sigterm_stops_the_demo_store_and_the_suite_processes() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "demo", "--suites", "e2e"],
                            cwd=PROJECT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    store_url = ""
    for line in proc.stdout:
        if m := re.search(r"demo store up at (\S+)", line):
            store_url = m.group(1)
        if "e2e: running" in line:
            break
    # wait until the suite has really started a browser (only this run's own process tree)
    started = wait_for(lambda: (lambda tree: tree if any(
        "chromium" in cmd for cmd in tree.values()) else None)(descendants(proc.pid)),
        timeout=120, what="the e2e suite to start Chromium")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 3  # interrupted: no verdict, INCONCLUSIVE
    with pytest.raises(httpx.ConnectError):
        httpx.get(store_url + "/healthz", timeout=2)
    wait_for(lambda: not any(alive(pid, cmd) for pid, cmd in started.items()), timeout=15,
             what="every process the run started to exit")


# --- issue 19.7: CLI polish -----------------------------------------------------------------

def test_store_help_works() -> None:
    result = run_qgate("store", "--help")
    assert result.code == 0, result.err
    assert result.out.startswith("usage: qgate store")


@pytest.mark.parametrize("argv", [["run", "--env", "nope", "--debug"],
                                  ["smoke", "--debug", "--env", "nope"]])
def test_debug_is_accepted_after_the_subcommand(argv: list[str]) -> None:
    result = run_qgate(*argv)
    assert result.code == 2, result.err
    assert "Traceback" in result.err and "environment 'nope' not found" in result.err


def test_every_command_has_a_description_examples_and_exit_codes() -> None:
    import shlex

    from harness.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(commands) >= {"run", "merge", "demo", "smoke", "report", "doctor", "init",
                             "approve", "data", "store"}
    for name, sub in commands.items():
        assert sub.description and sub.epilog, name
        examples, _, exits = sub.epilog.partition("\n\nexit codes: ")
        assert examples.startswith("examples:\n") and exits, name
        for line in examples.splitlines()[1:]:
            words = shlex.split(line)
            assert words[:2] == ["qgate", name], line
            if name not in ("data", "store"):
                parser.parse_args(words[1:])  # every example is a valid command line


def test_list_flags_take_commas_and_repeats_alike() -> None:
    from harness.cli import build_parser, split_list

    parser = build_parser()
    args = parser.parse_args(["run", "--env", "x", "--suites", "smoke,e2e", "--suites", "load"])
    assert split_list(args.suites) == ["smoke", "e2e", "load"]
    args = parser.parse_args(["demo", "--fault", "health-down,slow-search", "--fault", "x"])
    assert split_list(args.fault) == ["health-down", "slow-search", "x"]
    result = run_qgate("demo", "--fault", "health-down,nope")
    assert result.code == 2 and "--fault: unknown fault 'nope'" in result.err


def test_an_unusable_prom_file_keeps_the_no_go(tmp_path: Path) -> None:
    from shop_app import ShopApp, serve_shop

    (tmp_path / "a-file").write_text("")
    prom = str(tmp_path / "a-file" / "qgate.prom")  # under a file: cannot be written
    with serve_shop(ShopApp(missing={"/"})) as shop:
        result = run_qgate("smoke", "--env", "production", "--base-url", shop.base_url,
                           "--prom-file", prom, "--timeout", "2")
    assert result.code == 1, result.out + result.err  # NO-GO, not an internal error
    assert "Traceback" not in result.err
    assert f"qgate: error: --prom-file {prom}: cannot write it" in result.err
    with serve_shop() as shop:
        result = run_qgate("smoke", "--env", "production", "--base-url", shop.base_url,
                           "--prom-file", prom)
    assert result.code == 2, result.out + result.err  # a GO whose metrics were lost


def test_merge_of_a_corrupt_run_json_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "shard").mkdir()
    (tmp_path / "shard" / "run.json").write_text("{not json")
    result = run_qgate("merge", "--env", "demo", str(tmp_path / "shard"))
    assert result.code == 2, result.err
    assert "run.json: not a qgate run record" in result.err and "Traceback" not in result.err


def test_data_generate_with_a_missing_driver_is_one_line(tmp_path: Path) -> None:
    result = run_qgate("data", "generate", "--spec", str(PROJECT / "datasets" / "demo.yaml"),
                       "--db", "mssql+pyodbc://u:p@127.0.0.1/shop")
    assert result.code == 2, result.err
    assert "--db: the database driver for 'mssql+pyodbc' is not installed (pyodbc)" in \
        result.err
    assert "Traceback" not in result.err


def test_a_typo_under_required_is_a_config_error(project_copy: Path) -> None:
    gate = project_copy / "gate.toml"
    gate.write_text(gate.read_text().replace("staging = [", "stagng = ["))
    result = run_qgate("run", "--env", "demo", cwd=project_copy,
                       env={"QGATE_ROOT": str(project_copy)})
    assert result.code == 2, result.out + result.err
    assert "gate.toml: required.stagng: unknown environment 'stagng'; did you mean " \
           "'staging'?" in result.err


# --- issue 19.5: progress on long work ------------------------------------------------------

def test_heartbeat_says_elapsed_and_what_is_left() -> None:
    from harness.runner import heartbeat

    assert heartbeat(30.2, 45.0, False) == "running for 30 s, about 15 s left (of 45 s)"
    assert heartbeat(20, 42.0, True) == "running for 20 s, at most 22 s left (of 42 s)"
    assert heartbeat(50, 45.0, False) == "running for 50 s, past the 45 s planned: finishing"
    assert heartbeat(12, None, False) == "running for 12 s"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "no_colour", "coloured"), [
    ("terminal", "", True), ("terminal", "1", False), ("pipe", "", False)])
def test_a_silent_suite_gets_a_heartbeat_and_colour_only_on_a_terminal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stream: str, no_colour: str,
        coloured: bool) -> None:
    from cli_support import SMOKE_CHECK
    from harness import runner
    from harness.config import load_environment
    from shop_app import serve_shop

    (tmp_path / "environments").mkdir()
    (tmp_path / "suites" / "smoke").mkdir(parents=True)
    (tmp_path / "suites" / "smoke" / "test_slow.py").write_text(
        "import time\n\n\ndef test_slow():\n    time.sleep(2.5)\n")
    monkeypatch.setenv("QGATE_ROOT", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", no_colour)
    monkeypatch.setattr(runner, "HEARTBEAT_S", 1.0)
    out = _Terminal() if stream == "terminal" else io.StringIO()
    with serve_shop() as shop:
        (tmp_path / "environments" / "demo.toml").write_text(
            f'base_url = "{shop.base_url}"\nsuites = ["smoke"]\n' + SMOKE_CHECK)
        plan = runner.plan_run(load_environment("demo"), [])
        record, _ = runner.run_gate(plan, out=out)
    text = out.getvalue()
    assert record.verdict.decision == "GO", text
    assert "… smoke: running for 1 s" in text  # said something while the suite was silent
    assert ("\033[" in text) is coloured


def test_e2e_lists_each_journey_as_it_finishes(tmp_path: Path) -> None:
    from harness import runner
    from harness.config import load_environment

    env = load_environment("demo")
    fake = runner.Plan(env, ("e2e", "smoke"), ("e2e",), (), False, "", None, "", True, "")
    e2e = runner.suite_command("e2e", fake, tmp_path)
    smoke = runner.suite_command("smoke", fake, tmp_path)
    assert "-v" in e2e and "-q" not in e2e  # one line per journey, with its outcome
    assert "-q" in smoke
    # xdist's "this test started" lines go to the log only; the outcome lines are shown
    assert runner._STARTED.match("suites/e2e/test_cart.py::test_add[desktop-chromium] \n")
    assert not runner._STARTED.match("[gw0] [ 56%] PASSED suites/e2e/test_cart.py::test_add \n")


def test_data_generate_with_a_column_the_schema_lacks_is_one_line(tmp_path: Path) -> None:
    spec = (PROJECT / "datasets" / "demo.yaml").read_text().replace(
        "schema: demostore.models:Base",
        "schema: demostore.models:Base\ntables:\n  users: {columns: {phone: mobile}}")
    (tmp_path / "spec.yaml").write_text(spec)
    result = run_qgate("data", "generate", "--spec", str(tmp_path / "spec.yaml"), "--db",
                       f"sqlite:///{tmp_path / 'shop.db'}")
    assert result.code == 2, result.err
    assert "tables.users.columns.phone: column 'mobile' is not in table users" in result.err
    assert "Traceback" not in result.err


def test_e2e_never_runs_more_workers_than_its_pool_has_accounts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two browsers in one test account would share its cart and orders: a pool of N
    accounts caps the e2e workers at N (one account: no xdist at all)."""
    from harness import runner
    from harness.config import load_environment
    from harness.e2e.settings import AccountSettings, PoolAccount

    env = load_environment("demo")
    fake = runner.Plan(env, ("e2e",), ("e2e",), (), False, "", None, "", True, "")
    settings = env.suite_settings("e2e")

    def workers(pool: int, wanted: str) -> list[str]:
        accounts = AccountSettings(pool=[PoolAccount(f"s{n}@shop.test", "pw")
                                         for n in range(pool)])
        patched = dataclasses.replace(settings, accounts=accounts, workers=wanted)
        monkeypatch.setattr(type(env), "suite_settings", lambda self, suite: patched)
        cmd = runner.suite_command("e2e", fake, tmp_path)
        return cmd[cmd.index("-n"):cmd.index("-n") + 2] if "-n" in cmd else []

    assert workers(1, "4") == [] and workers(1, "auto") == []
    assert workers(2, "4") == ["-n", "2"] and workers(3, "2") == ["-n", "2"]
    assert workers(0, "4") == ["-n", "4"]  # no pool: each journey signs up its own shopper
    assert workers(8, "auto") == ["-n", str(min(8, os.cpu_count() or 1))]


FAILING = '''
def test_ok():
    pass

def test_broken():
    value = {"total": 44}
    assert value["total"] == 72, "payable 44.00 != 72.00"
'''


def test_a_failures_tracebacks_stay_in_the_log_not_on_the_console(tmp_path: Path) -> None:
    """pytest's FAILURES section (1,400 lines for the demo's wrong-total fault) is left out
    of the console, with one line saying where it is; the failure's own line and the
    summary stay (before: every traceback scrolled past before the verdict)."""
    from harness.runner import _Fold

    (tmp_path / "test_it.py").write_text(FAILING)
    proc = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-v", "-p",
                           "no:cacheprovider", "-o", "addopts=", "--rootdir", str(tmp_path)],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    lines = proc.stdout.splitlines(keepends=True)
    assert any("= FAILURES =" in line for line in lines), proc.stdout
    fold, shown = _Fold(), []
    run_dir = tmp_path / "run"
    for line in lines:
        said = fold.said(line, run_dir / "artifacts" / "e2e" / "pytest.log", run_dir)
        if said is not None:
            shown += [said] if said else []
            shown.append(line.rstrip("\n"))
    text = "\n".join(shown)
    assert "test_it.py::test_broken FAILED" in text  # the failure's own line
    assert "short test summary info" in text and "1 failed, 1 passed" in text
    assert 'value = {"total": 44}' not in text and "FAILURES" not in text  # the traceback
    [note] = [line for line in shown if "lines of failure details left out here" in line]
    assert note.endswith("artifacts/e2e/pytest.log in the run's folder")
