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

EPILOG = """exit codes: 0 GO, 1 NO-GO, 2 usage/config error, 3 INCONCLUSIVE, 4 internal error
docs: README.md (quickstart, QA, CI and on-call guides)"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = argparse.ArgumentParser(
        prog="qgate", description="qgate: one go/no-go release gate for Q-commerce platforms.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"qgate {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run the gate's suites against an environment")
    run.add_argument("--env", required=True, metavar="NAME", help="environments/NAME.toml")
    _gate_options(run)
    run.add_argument("--base-url", metavar="URL", help="override the environment's base_url")
    run.add_argument("--allow-production", action="store_true",
                     help="run intrusive suites against production (recorded in the report)")
    run.add_argument("--shard", metavar="I/N", default="",
                     help="run only shard I of N of each suite's test files (merge with "
                          "`qgate merge`)")

    merge = commands.add_parser(
        "merge", help="merge shard runs into one judged run",
        description="Merge the run folders of `qgate run --shard I/N` (every shard 1..N exactly "
                    "once) into one run, judged against the gate's required suites.")
    merge.add_argument("--env", required=True, metavar="NAME", help="environments/NAME.toml")
    merge.add_argument("--allow-production", action="store_true",
                       help="accept intrusive suites' shards from a production environment")
    merge.add_argument("shard_dirs", nargs="+", metavar="RUN_DIR", help="the shards' run folders")

    demo = commands.add_parser("demo", help="start the demo store, run the gate on it, stop it")
    demo.add_argument("--fault", action="append", default=[], metavar="NAME",
                      help="switch on a demo-store defect (repeatable; see `qgate store faults`)")
    demo.add_argument("--db", metavar="URL", help="demo store database URL (default SQLite)")
    _gate_options(demo)

    smoke = commands.add_parser("smoke", help="post-deploy smoke checks, in seconds")
    smoke.add_argument("--env", required=True, metavar="NAME", help="environments/NAME.toml")
    smoke.add_argument("--base-url", metavar="URL", help="override the environment's base_url")
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

    report = commands.add_parser("report", help="render the reports again from run.json")
    report.add_argument("run_dir", nargs="?", default="reports/latest", metavar="RUN_DIR",
                        help="a run directory (default reports/latest)")
    report.add_argument("--allure", action="store_true",
                        help="also render allure-results as HTML (RUN_DIR/allure-report)")

    doctor = commands.add_parser("doctor",
                                 help="check tools, browser, scanner, daemons and databases")
    doctor.add_argument("--env", metavar="NAME",
                        help="also print which e2e journeys NAME's adapter and facts can run")

    init = commands.add_parser("init", help="lay out a new project: environments, gate policy, "
                                            "conftest.py, an adapter skeleton")
    init.add_argument("directory", nargs="?", default=".", metavar="DIR",
                      help="where to write the files (default: the current folder)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.add_argument("--ci", choices=("github", "gitlab"), default="",
                      help="also write a CI pipeline: gate, approve, deploy, smoke, rollback")

    approve = commands.add_parser("approve", help="sign off a GO run for release (recorded "
                                                  "in run.json and the reports)")
    approve.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (reports/<run-id>)")
    approve.add_argument("--by", required=True, metavar="WHO", help="who approves")
    approve.add_argument("--note", default="", metavar="TEXT", help="why, or a ticket")

    # prefix_chars="+": every argument, --help included, is passed on to `qgate data`'s parser
    data = commands.add_parser("data", help="synthetic data, masked copies, PII audit, schema "
                               "parity (qgate data --help)", add_help=False, prefix_chars="+")
    data.add_argument("data_args", nargs=argparse.REMAINDER)

    store = commands.add_parser("store", help="the bundled demo store (serve, faults)",
                                add_help=False)
    store.add_argument("store_args", nargs=argparse.REMAINDER)
    return parser


def _gate_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--suites", metavar="a,b", help="run only these suites (comma-separated)")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `qgate` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
        return code
    if args.command == "init":
        from harness.scaffold import init_command
        return init_command(args.directory, args.force, args.ci)
    if args.command == "approve":
        from harness.approval import approve_command
        return approve_command(args.run_dir, args.by, args.note)
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
    plan = plan_run(env, parse_suites(args.suites),
                    allow_production=getattr(args, "allow_production", False),
                    expect_version=args.expect_version or expect_version or "",
                    fail_on_flaky=args.fail_on_flaky, shard=getattr(args, "shard", ""),
                    fail_fast=args.fail_fast, baseline=args.baseline)
    record, run_dir = run_gate(plan)
    print(render_console(record, run_dir / "report.html"))
    return int(record.verdict.exit_code)


def _demo(args: argparse.Namespace) -> int:
    from demostore.faults import FAULTS
    from harness.errors import UsageError
    from harness.schema import suggest

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
