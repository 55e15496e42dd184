"""The `qgate` command line. Heavy modules are imported inside the command that needs them,
so `qgate --help` and `qgate smoke` start fast (no playwright, locust, sqlalchemy, zapv2).

Exit codes (the contract): 0 GO, 1 NO-GO, 2 usage/config error, 3 INCONCLUSIVE,
4 internal error.
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from collections.abc import Sequence

from harness import __version__
from harness.errors import ExitCode, HarnessError

DEMO_VERSION = "1.0.0"
# Seconds per fulfilment state in `qgate demo`: quick enough for tracking journeys, slow
# enough that an order can still be cancelled before dispatch.
DEMO_TICK_SECONDS = 3.0

VERDICT_EXITS = "0 GO, 1 NO-GO, 2 usage/config error, 3 INCONCLUSIVE, 4 internal error"
EPILOG = f"""exit codes: {VERDICT_EXITS}
`qgate COMMAND --help` shows each command's examples.
docs: docs/ in qgate's source (guides for QA, CI and on-call; `mkdocs serve` shows the site)"""

#: command -> (one-line help, description, examples, exit codes): the CLI reference in
#: docs/reference/cli.md is generated from the parser, so this is the one place to edit
COMMANDS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "run": ("run the gate's suites against an environment",
            "Run the suites an environment allows (or --suites) against its base_url, judge "
            "the evidence against gate.toml and write reports/<run-id>/. A run that leaves "
            "out a suite the gate requires is INCONCLUSIVE, never GO.",
            ("qgate run --env staging",
             "qgate run --env staging --suites smoke",
             "qgate run --env staging --baseline last-go:3 --expect-version 1.4.2"),
            VERDICT_EXITS),
    "merge": ("merge shard runs into one judged run",
              "Merge the run folders of `qgate run --shard I/N` (every shard 1..N exactly "
              "once) into one run, judged against the gate's required suites.",
              ("qgate merge --env staging reports/RUN-1 reports/RUN-2",),
              VERDICT_EXITS),
    "demo": ("start the demo store, run the gate on it, stop it",
             "Start the bundled demo store (the `demo` extra) on a free port, run the gate "
             "on it and stop it. Works from any folder: without a project it uses the "
             "packaged demo environment.",
             ("qgate demo", "qgate demo --suites smoke",
              "qgate demo --fault health-down --suites smoke"),
             VERDICT_EXITS),
    "smoke": ("post-deploy smoke checks, in seconds",
              "Run the environment's [[smoke.checks]] in parallel, retrying a warming-up "
              "deploy (connection refused, 502/503/504) within --timeout, and print one "
              "verdict line with the version and readiness first. Only GET/HEAD checks run "
              "unless a check is declared `safe = true`. A target that never answered is "
              "INCONCLUSIVE (3), like `qgate run`: no evidence, so page a person rather "
              "than roll back.",
              ("qgate smoke --env production --expect-version 1.4.2",
               "qgate smoke --env production --json --prom-file /var/lib/node_exporter/qgate.prom",
               "qgate smoke --env production --base-url https://green.example.com "
               "--compare https://blue.example.com"),
              VERDICT_EXITS),
    "report": ("render the reports again from run.json",
               "Render report.html, junit.xml, summary.md and allure-results again from a "
               "run's run.json, and exit with its verdict's code.",
               ("qgate report", "qgate report reports/RUN-ID --allure"),
               VERDICT_EXITS),
    "doctor": ("check tools, browser, scanner, daemons and databases",
               "List what is installed and reachable for each suite; with --env, which e2e "
               "journeys the environment's adapter and facts can run.",
               ("qgate doctor", "qgate doctor --env staging"),
               "0 everything required is installed, 2 a required tool is missing"),
    "init": ("lay out a new project: environments, gate policy, conftest.py, an adapter "
             "skeleton",
             "Write a project's starter files: environments/ (staging and production with a "
             "generic smoke check, the demo), gate.toml, waivers.toml, conftest.py, "
             "adapters/my_shop.py, and with --ci a pipeline. Never overwrites without --force.",
             ("qgate init", "qgate init shop --ci github"),
             "0 written, 2 a file exists (pass --force)"),
    "approve": ("sign off a GO run for release (recorded in run.json and the reports)",
                "Record a person's approval of a GO run in its run.json, and render its "
                "reports again.",
                ('qgate approve reports/latest --by alice --note "CHG-42"',),
                "0 approved, 2 not a GO run or not a run folder"),
    "load": ("load tools: write a locustfile from the e2e journeys (qgate load record)",
             "Load tools. `qgate load record` writes a readable locustfile whose tasks are the "
             "e2e journeys a run recorded, to run with the load suite.",
             ("qgate load record --env staging",
              "qgate load record --env staging --mix browse=60,search=20,cart=12,checkout=8"),
             "0 written, 2 usage/config error (e.g. no run with recorded journeys)"),
    "data": ("synthetic data, masked copies, PII audit, schema parity (qgate data --help)",
             "Synthetic data, masked copies, the PII audit and schema parity.",
             ("qgate data --help", "qgate data audit --help"),
             "0 clean or done, 1 findings (audit, parity), 2 usage/config error"),
    "store": ("the bundled demo store (serve, faults)",
              "The bundled demo store (the `demo` extra): serve it, list its fault switches.",
              ("qgate store serve --port 8000", "qgate store faults"),
              "0 stopped cleanly, 2 usage error"),
}


def _command(commands: argparse._SubParsersAction, name: str, **kwargs: object
             ) -> argparse.ArgumentParser:
    """A subcommand with its description, examples and exit codes, and `--debug`."""
    help_, description, examples, exits = COMMANDS[name]
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) + f"\n\nexit codes: {exits}"
    sub: argparse.ArgumentParser = commands.add_parser(
        name, help=help_, description=description, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)  # type: ignore[arg-type]
    if sub.prefix_chars == "-":
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show tracebacks for errors")
    return sub


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = argparse.ArgumentParser(
        prog="qgate", description="qgate: one go/no-go release gate for Q-commerce platforms.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"qgate {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = _command(commands, "run")
    run.add_argument("--env", required=True, metavar="NAME", help="environments/NAME.toml")
    _gate_options(run)
    run.add_argument("--base-url", metavar="URL", help="override the environment's base_url "
                     "(satisfies an unset ${VAR} there)")
    run.add_argument("--allow-production", action="store_true",
                     help="run intrusive suites against production (recorded in the report)")
    run.add_argument("--shard", metavar="I/N", default="",
                     help="run only shard I of N of each suite's test files (merge with "
                          "`qgate merge`)")

    merge = _command(commands, "merge")
    merge.add_argument("--env", required=True, metavar="NAME", help="environments/NAME.toml")
    merge.add_argument("--allow-production", action="store_true",
                       help="accept intrusive suites' shards from a production environment")
    merge.add_argument("shard_dirs", nargs="+", metavar="RUN_DIR", help="the shards' run folders")

    demo = _command(commands, "demo")
    demo.add_argument("--fault", action="append", default=[], metavar="NAME[,NAME]",
                      help="switch on demo-store defects (comma-separated or repeated; see "
                           "`qgate store faults`)")
    demo.add_argument("--db", metavar="URL", help="demo store database URL (default SQLite)")
    _gate_options(demo)

    smoke = _command(commands, "smoke")
    smoke.add_argument("--env", required=True, metavar="NAME", help="environments/NAME.toml")
    smoke.add_argument("--base-url", metavar="URL", help="override the environment's base_url "
                       "(satisfies an unset ${VAR} there)")
    smoke.add_argument("--expect-version", metavar="V", help="the version that must be live")
    smoke.add_argument("--timeout", type=float, metavar="S",
                       help="total time budget in seconds, retries included")
    smoke.add_argument("--compare", metavar="URL2",
                       help="blue/green: also check URL2 (the old colour) and compare")
    smoke.add_argument("--json", action="store_true", help="print the result as JSON")
    smoke.add_argument("--prom-file", metavar="PATH",
                       help="write Prometheus textfile metrics (node_exporter)")
    smoke.add_argument("--browser", action="store_true",
                       help="also run the one-browser check (home → search → product)")

    report = _command(commands, "report")
    report.add_argument("run_dir", nargs="?", default="reports/latest", metavar="RUN_DIR",
                        help="a run directory (default reports/latest)")
    report.add_argument("--allure", action="store_true",
                        help="also render allure-results as HTML (RUN_DIR/allure-report)")

    doctor = _command(commands, "doctor")
    doctor.add_argument("--env", metavar="NAME",
                        help="also print which e2e journeys NAME's adapter and facts can run")

    init = _command(commands, "init")
    init.add_argument("directory", nargs="?", default=".", metavar="DIR",
                      help="where to write the files (default: the current folder)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.add_argument("--ci", choices=("github", "gitlab"), default="",
                      help="also write a CI pipeline: gate, approve, deploy, smoke, rollback")

    approve = _command(commands, "approve")
    approve.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (reports/<run-id>)")
    approve.add_argument("--by", required=True, metavar="WHO", help="who approves")
    approve.add_argument("--note", default="", metavar="TEXT", help="why, or a ticket")

    load = _command(commands, "load")
    load_commands = load.add_subparsers(dest="load_command", metavar="SUBCOMMAND",
                                        required=True)
    record = load_commands.add_parser(
        "record", help="write a locustfile from a run's recorded journeys",
        description="Write a readable locustfile whose tasks are the e2e journeys a run "
                    "recorded ([e2e] har_dir), with ids and tokens read from each answer, "
                    "request names from the request graph and weights from a funnel mix.")
    record.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for errors")
    record.add_argument("--env", required=True, metavar="NAME", help="environments/NAME.toml")
    record.add_argument("--run", metavar="RUN_DIR", default="",
                        help="the run to read (default: the newest run of NAME with a graph)")
    record.add_argument("-o", "--output", metavar="PATH", default="loadprofiles/recorded.py",
                        help="where to write it (default: loadprofiles/recorded.py)")
    record.add_argument("--mix", metavar="STAGE=W,…", default="",
                        help="task weights by funnel stage (default: browse=50,search=25,"
                             "cart=15,checkout=10)")

    # prefix_chars="+": every argument, --help included, is passed on to the command's own
    # parser (`qgate data`'s, the demo store's)
    data = _command(commands, "data", add_help=False, prefix_chars="+")
    data.add_argument("data_args", nargs=argparse.REMAINDER)
    store = _command(commands, "store", add_help=False, prefix_chars="+")
    store.add_argument("store_args", nargs=argparse.REMAINDER)
    return parser


def _gate_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--suites", action="append", metavar="NAME[,NAME]",
                     help="run only these suites (comma-separated or repeated)")
    sub.add_argument("--expect-version", metavar="V", help="the version that must be deployed")
    sub.add_argument("--fail-on-flaky", action="store_true", default=None,
                     help="a test that passes only on retry fails the gate")
    sub.add_argument("--baseline", metavar="RUN", default="",
                     help="compare with an earlier run: a run folder, last-go, or last-go:N "
                          "(the median of the last N GO runs of this environment)")
    sub.add_argument("--no-fail-fast", dest="fail_fast", action="store_false",
                     help="run every suite even when smoke fails (default: stop after a "
                          "failed smoke suite; the rest are listed as not run)")
    sub.add_argument("--load-profile", metavar="NAME",
                     help="load suite: run loadprofiles/NAME.py (ci, peak, stress, soak)")
    sub.add_argument("--load-workers", type=int, metavar="N",
                     help="load and stress suites: a locust master plus N local workers")


def split_list(values: Sequence[str] | None) -> list[str]:
    """A list flag's values: repeated, comma-separated, or both (`--suites a,b --suites c`)."""
    return [part.strip() for value in values or () for part in value.split(",")
            if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `qgate` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    passed_on = getattr(args, "data_args", None) or getattr(args, "store_args", None) or []
    if "--debug" in passed_on:  # `qgate data generate --debug …`: qgate's flag, not theirs
        passed_on.remove("--debug")
        args.debug = True
    args.debug = getattr(args, "debug", False)
    # SIGTERM (CI cancelling a job, a deploy pipeline's timeout) unwinds like Ctrl-C, so the
    # demo store and suite processes are stopped instead of orphaned.
    signal.signal(signal.SIGTERM, _terminate)
    if not args.command:
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(_dispatch(args))
    except HarnessError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"qgate: error: {exc.one_line()}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("qgate: interrupted", file=sys.stderr)
        return ExitCode.INCONCLUSIVE
    except Exception:  # a bug in qgate: show everything and ask for a report
        traceback.print_exc()
        print(f"qgate {__version__}: internal error — this is a bug in qgate; please report it "
              "with the traceback above.", file=sys.stderr)
        return ExitCode.INTERNAL


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args)
    if args.command == "demo":
        return _demo(args)
    if args.command == "smoke":
        from harness.smoke.command import smoke_command
        return smoke_command(args)
    if args.command == "report":
        return _report(args)
    if args.command == "merge":
        return _merge(args)
    if args.command == "doctor":
        from harness.doctor import doctor
        code = doctor()
        if args.env:
            from harness.e2e.coverage import print_coverage
            code = print_coverage(args.env) or code
            from harness.security.declared import print_declarations
            code = print_declarations(args.env) or code
        return code
    if args.command == "init":
        from harness.scaffold import init_command
        return init_command(args.directory, args.force, args.ci)
    if args.command == "approve":
        from harness.approval import approve_command
        return approve_command(args.run_dir, args.by, args.note)
    if args.command == "load":
        from harness.load.record import command as record_command
        return record_command(args)
    if args.command == "data":
        from harness.data.command import data_command
        return data_command(args.data_args)
    if args.command == "store":
        if args.store_args == ["faults"]:  # qgate knows which suites exist today
            from demostore.faults import format_fault_table
            from harness.config import SUITE_SETTINGS
            print(format_fault_table(built=set(SUITE_SETTINGS)))
            return ExitCode.GO
        from demostore.cli import main as store_main
        return store_main(args.store_args)
    raise AssertionError(args.command)


def _run(args: argparse.Namespace, *, base_url: str | None = None, env_name: str | None = None,
         expect_version: str | None = None) -> int:
    from harness.config import load_environment
    from harness.load.suite import export_overrides
    from harness.report.console import render_console
    from harness.runner import parse_suites, plan_run, run_gate
    export_overrides(args.load_profile, args.load_workers)
    target = base_url or getattr(args, "base_url", None)
    env = load_environment(env_name or args.env, base_url=target)
    if target:
        env = env.with_base_url(target)
    plan = plan_run(env, parse_suites(",".join(split_list(args.suites))),
                    allow_production=getattr(args, "allow_production", False),
                    expect_version=args.expect_version or expect_version or "",
                    fail_on_flaky=args.fail_on_flaky, shard=getattr(args, "shard", ""),
                    fail_fast=args.fail_fast, baseline=args.baseline)
    record, run_dir = run_gate(plan)
    print(_painted(render_console(record, run_dir / "report.html"), record.verdict.decision))
    return int(record.verdict.exit_code)


def _painted(console: str, decision: str) -> str:
    """The console summary with its VERDICT line in the decision's colour, on a terminal."""
    from harness.report.text import paint, use_colour
    colour = use_colour(sys.stdout)
    return "\n".join(paint(line, decision, colour) if line.startswith("VERDICT:") else line
                     for line in console.splitlines())


def _demo(args: argparse.Namespace) -> int:
    from demostore.faults import FAULTS
    from harness.errors import UsageError
    from harness.schema import suggest

    args.fault = split_list(args.fault)
    for fault in args.fault:
        if fault not in FAULTS:
            raise UsageError(f"--fault: unknown fault '{fault}'",
                             hint=suggest(fault, FAULTS) or "see `qgate store faults`")
    from demostore.process import StoreStartError, start_store
    from harness.config import project_root
    from harness.data.demo import demo_data
    from harness.errors import HarnessError

    faults = f" with faults: {', '.join(args.fault)}" if args.fault else ""
    print(f"starting the demo store{faults}…", flush=True)
    # the data suite reads the store's database and access log, load's invariants its
    # database: both reach the suites as QGATE_DEMO_DB_URL / _LOG_DIR (environments/demo.toml)
    with demo_data(args.db, project_root()) as data:
        print(f"demo data: {data.seeded}", flush=True)
        try:
            store = start_store(faults=tuple(args.fault), db_url=data.db_url,
                                version=DEMO_VERSION, tick_seconds=DEMO_TICK_SECONDS,
                                log_dir=data.log_dir)
        except StoreStartError as exc:
            # the store's own one-line error (e.g. an unreachable --db) is the last stderr line
            why = str(exc).strip().splitlines()[-1].removeprefix("qgate store: error: ")
            raise HarnessError(f"the demo store did not start: {why}") from None
        with store:
            print(f"demo store up at {store.base_url} (version {DEMO_VERSION})", flush=True)
            return _run(args, base_url=store.base_url, env_name="demo",
                        expect_version=DEMO_VERSION)


def _merge(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.config import load_environment, reports_dir
    from harness.merge import merge_runs
    from harness.report.console import render_console
    from harness.runner import finish_run
    from harness.runrecord import new_run_dir, now_iso

    env = load_environment(args.env)
    started_at = now_iso()
    shard_dirs = [Path(d) for d in args.shard_dirs]
    run_dir = new_run_dir(reports_dir(), env.name)
    try:
        merged = merge_runs(shard_dirs, run_dir)
        if merged.base_url:
            env = env.with_base_url(merged.base_url)
        env.refuse_disallowed(merged.suites, allow_production=args.allow_production
                              or merged.production_override)
    except BaseException:
        import shutil
        shutil.rmtree(run_dir, ignore_errors=True)  # a refused merge leaves no half run
        raise
    record = finish_run(env, run_dir, merged.suites, started_at=started_at,
                        version=merged.version,
                        production_override=merged.production_override,
                        load_profile=merged.profile,
                        notes=[f"Merged from {len(shard_dirs)} shard runs "
                               f"({', '.join(merged.shards)})."])
    print(render_console(record, run_dir / "report.html"))
    return int(record.verdict.exit_code)


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.errors import UsageError
    from harness.report import render_reports
    from harness.report.console import render_console
    from harness.runrecord import load_run

    run_dir = Path(args.run_dir)
    if not (run_dir / "run.json").is_file():
        raise UsageError(f"{run_dir}: no run.json here", hint="pass a reports/<run-id> folder")
    try:
        record = load_run(run_dir)
    except (ValueError, KeyError) as exc:
        raise UsageError(f"{run_dir / 'run.json'}: not a qgate run record ({exc})") from None
    paths = render_reports(run_dir, record)
    print(render_console(record, paths["html"]))
    if args.allure:
        from harness.allure_cli import generate_html
        out = generate_html(paths["allure"], run_dir / "allure-report")
        print(f"allure: {out / 'index.html'}")
    return int(record.verdict.exit_code)


if __name__ == "__main__":
    sys.exit(main())
