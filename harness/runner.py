"""Plan and run the gate: each suite in its own pytest subprocess, then judge and report.

The plan is checked before any long work starts (unknown or disallowed suites, production
protection, an unreachable target), so a mistake fails in seconds, not after a long suite.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from harness.config import (
    INTRUSIVE_SUITES,
    SUITE_SETTINGS,
    Environment,
    project_root,
    reports_dir,
    shown_path,
)
from harness.errors import TargetUnreachable, UsageError
from harness.processes import stop_process_group
from harness.results import SuiteResult, read_suite_result, write_suite_result
from harness.runrecord import (
    RunRecord,
    collect_provenance,
    command_line,
    new_run_dir,
    now_iso,
    write_run,
)
from harness.schema import suggest

#: The order suites run in: smoke first (seconds; a broken deploy stops the run there), then
#: the browser journeys, load and stress, the scanner (after everything that logs in: its
#: attacks on the login form trip the shop's rate limit), and data last because its audit
#: scans the artifacts and logs the other suites left behind.
SUITE_ORDER = ("smoke", "e2e", "load", "stress", "security", "data")


@dataclass(frozen=True)
class Plan:
    """What a run will do: suites in order, suites required by the gate, overrides."""

    environment: Environment
    suites: tuple[str, ...]
    required: tuple[str, ...]
    requested: tuple[str, ...] = ()
    production_override: bool = False
    expect_version: str = ""
    fail_on_flaky: bool | None = None
    shard: str = ""
    fail_fast: bool = True
    baseline: str = ""


def parse_suites(text: str | None) -> list[str]:
    """Split `a,b` into names, rejecting unknown suites with a did-you-mean."""
    if not text:
        return []
    names = [s.strip() for s in text.split(",") if s.strip()]
    for name in names:
        if name not in SUITE_SETTINGS:
            hint = suggest(name, SUITE_SETTINGS) or f"known suites: {', '.join(SUITE_SETTINGS)}"
            raise UsageError(f"--suites: unknown suite '{name}'", hint=hint)
    return names


def order_suites(suites: Sequence[str]) -> tuple[str, ...]:
    """`suites` in run order (SUITE_ORDER; suites it does not name run last, as given)."""
    rank = {name: i for i, name in enumerate(SUITE_ORDER)}
    unique = list(dict.fromkeys(suites))
    return tuple(sorted(unique, key=lambda s: (rank.get(s, len(rank)), unique.index(s))))


def required_suites(env: Environment, root: Path | None = None) -> tuple[str, ...]:
    """The suites the gate requires for `env` (gate.toml), checked against its allow-list.

    Every front-end (qgate run/demo/merge, standalone pytest) judges against this set, so
    narrowing a run never narrows what GO certifies.
    """
    from harness.errors import ConfigError
    from harness.policy import load_policy

    gate = (root or project_root()) / "gate.toml"
    required = load_policy(gate).required_for(env.name, env.suites)
    for suite in required:
        if suite not in env.suites:
            raise ConfigError(shown_path(gate), f"required.{env.name}",
                              f"requires '{suite}', which {env.file} does not allow",
                              hint=f"add it to suites in {env.file} or drop it from gate.toml")
    return tuple(required)


def plan_run(env: Environment, requested: Sequence[str] = (), *,
             allow_production: bool = False, expect_version: str = "",
             fail_on_flaky: bool | None = None, shard: str = "",
             fail_fast: bool = True, baseline: str = "") -> Plan:
    """Check the request against the environment's allow-list and production protection."""
    suites = order_suites(requested or env.suites)
    env.refuse_disallowed(suites, allow_production=allow_production)
    from harness.policy import load_gate
    load_gate(project_root(), env, today=dt.date.today())  # a bad gate or waiver fails now
    for suite in suites:  # a suite refuses a setup it cannot run with (e2e: its adapter)
        preflight = getattr(env.suite_settings(suite), "preflight", None)
        if preflight is not None:
            preflight(env)
    intrusive = [s for s in suites if s in INTRUSIVE_SUITES]
    if shard:
        from harness.merge import parse_shard
        parse_shard(shard)
    if baseline:  # a bad --baseline fails now, not after the suites ran
        from harness.history import resolve_baseline
        resolve_baseline(baseline, environment=env.name, profile=run_profile(env, suites),
                         reports_root=reports_dir())
    return Plan(env, suites, required_suites(env), tuple(requested),
                allow_production and bool(intrusive), expect_version, fail_on_flaky, shard,
                fail_fast, baseline)


def run_profile(env: Environment, suites: Sequence[str], load_profile: str = "") -> str:
    """Which history a run belongs to: runs of one environment are comparable when they ran
    the same load profile ("default" when no load profile ran). `load_profile` is a plain
    pytest run's `--load-profile`."""
    if "load" in suites:
        # the profile the suite really runs: `--load-profile` (QGATE_LOAD_PROFILE) wins
        from harness.load.suite import overrides_from_environment
        profile = (load_profile or overrides_from_environment("load").get("profile")
                   or getattr(env.settings.get("load"), "profile", ""))
        if profile:
            return str(profile)
    return "default"


def probe_target(env: Environment, timeout_s: float = 5.0) -> str:
    """Check the target answers; return the version it reports ('' if none).

    Raises TargetUnreachable when nothing answers at base_url at all (refused, reset,
    closed mid-answer, timed out).
    """
    import httpx

    from harness.net import describe_transport_error

    try:
        with httpx.Client(timeout=timeout_s, auth=env.auth.basic_credentials(),
                          headers=env.auth.headers) as client:
            client.get(env.base_url + "/")
            try:
                response = client.get(env.base_url + env.version_path)
                data = response.json() if response.status_code == 200 else {}
                return str(data.get("version", "")) if isinstance(data, dict) else ""
            except (httpx.HTTPError, ValueError):
                return ""
    except httpx.TimeoutException:
        raise TargetUnreachable(f"target {env.shown_url} did not answer within {timeout_s:g} s"
                                ) from None
    except httpx.TransportError as exc:
        raise TargetUnreachable(f"target {env.shown_url} is unreachable: "
                                f"{describe_transport_error(exc)}",
                                hint="is the store running? check base_url or --base-url"
                                ) from None


def recent_runs(environment: str, count: int = 9) -> tuple[dict[str, str], ...]:
    """The environment's last judged runs (from reports/history/), for the report's trend."""
    from harness.history import load_history
    return tuple({"run_id": e.run_id, "decision": e.decision, "finished_at": e.finished_at,
                  "profile": e.profile}
                 for e in load_history(reports_dir(), environment)[-count:])


def run_gate(plan: Plan, *, out: IO[str] = sys.stdout) -> tuple[RunRecord, Path]:
    """Run every planned suite; return the judged, written run record and its folder.

    With `plan.fail_fast` (the default) a failed smoke suite stops the run: a deploy that is
    not up is NO-GO in seconds, and the suites not started are listed as not run.
    """
    env = plan.environment
    started_at = now_iso()
    run_dir = new_run_dir(reports_dir(), env.name)
    print(f"qgate run {run_dir.name}: environment {env.name}, target {env.shown_url}, "
          f"suites {', '.join(plan.suites)}", file=out, flush=True)
    not_run: dict[str, str] = {}
    try:
        version = probe_target(env)
    except TargetUnreachable as exc:
        print(f"  {exc.one_line()}", file=out, flush=True)
        for suite in plan.suites:
            write_suite_result(run_dir, SuiteResult.errored(suite, exc.message,
                                                            started_at=started_at))
        version = ""
    else:
        for i, suite in enumerate(plan.suites, 1):
            if not_run:
                not_run[suite] = next(iter(not_run.values()))
                continue
            print(f"[{i}/{len(plan.suites)}] {suite}: running…", file=out, flush=True)
            result = run_suite(suite, plan, run_dir, out=out)
            from harness.report.text import paint, use_colour
            status = paint(result.status, result.status, use_colour(out))
            print(f"[{i}/{len(plan.suites)}] {suite}: {status} "
                  f"({len(result.tests)} tests, {result.duration_s:.1f}s)", file=out, flush=True)
            if plan.fail_fast and suite == "smoke" and result.status == "failed":
                not_run["_"] = ("not started: smoke failed, so the deploy is broken and the "
                                "gate stopped early (--no-fail-fast runs every suite)")
        not_run.pop("_", None)
        if not_run:
            print(f"  not started: {', '.join(not_run)} (smoke failed; fail fast)", file=out,
                  flush=True)
    record = finish_run(env, run_dir, plan.suites, started_at=started_at,
                        requested=plan.requested, production_override=plan.production_override,
                        version=version, fail_on_flaky=plan.fail_on_flaky, not_run=not_run,
                        shard=plan.shard, expected_version=plan.expect_version,
                        baseline=plan.baseline)
    return record, run_dir


def suite_dir(suite: str) -> Path:
    """Where `suite`'s tests live: the project's own `suites/<suite>` when it has one (a
    checkout, or a team's own suite), else the one shipped in the qgate package."""
    from harness.config import packaged_dir
    from harness.errors import ToolMissing

    own = project_root() / "suites" / suite
    if own.is_dir():
        return own
    shipped = packaged_dir("harness.suites")
    if shipped is not None and (shipped / suite).is_dir():
        return shipped / suite
    raise ToolMissing(f"the {suite} suite is not installed (no suites/{suite} in "
                      f"{project_root()} or in the qgate package)",
                      hint="reinstall qcommerce-harness")


def suite_command(suite: str, plan: Plan, run_dir: Path) -> list[str]:
    """The pytest command line that runs `suite` for `plan` into `run_dir`."""
    env = plan.environment
    cmd = [sys.executable, "-m", "pytest", str(suite_dir(suite)),
           "--env", env.name, "--base-url", env.base_url, "--qgate-run-dir", str(run_dir),
           "--qgate-suite", suite, "-p", "no:cacheprovider", "-o", "addopts=",
           "--rootdir", str(project_root())]
    # e2e journeys take seconds each: one line per journey as it finishes, not a row of dots
    cmd += ["-v", "--no-header"] if suite == "e2e" else ["-q"]
    if plan.expect_version:
        cmd += ["--expect-version", plan.expect_version]
    if plan.production_override:
        cmd += ["--allow-production"]
    if plan.shard:
        cmd += ["--qgate-shard", plan.shard]
    workers = str(getattr(env.suite_settings(suite), "workers", "") or "")
    if suite == "e2e":
        workers = one_account_each(len(env.suite_settings(suite).accounts.pool), workers)
    if workers and workers not in ("0", "1"):
        cmd += ["-n", workers]
    return cmd


def one_account_each(accounts: int, workers: str) -> str:
    """The e2e workers for a pool of test accounts: at most one per account (each worker
    logs its own account in; two browsers in one account would share its cart and orders,
    and each journey would read the other's)."""
    if not accounts:
        return workers
    if workers in ("auto", "logical"):
        workers = str(os.cpu_count() or 1)
    return str(min(int(workers), accounts)) if workers.isdigit() else workers


def run_suite(suite: str, plan: Plan, run_dir: Path, *, out: IO[str] = sys.stdout) -> SuiteResult:
    """Run one suite as its own pytest process; a crash there cannot lose the others' evidence."""
    log_path = run_dir / "artifacts" / suite / "pytest.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started, started_at = time.time(), now_iso()
    secrets = plan.environment.secret_values()
    from harness.redaction import redact
    from harness.report.text import paint, use_colour

    env_vars = {**os.environ, "QGATE_ROOT": str(project_root()), "PYTHONUNBUFFERED": "1"}
    colour = use_colour(out)
    command = suite_command(suite, plan, run_dir) + [f"--color={'yes' if colour else 'no'}"]
    planned, bound = planned_seconds(suite, plan.environment)
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env_vars, cwd=project_root(),
                                start_new_session=True)
        try:
            assert proc.stdout is not None
            lines: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
            last_said = time.monotonic()
            folded = _Fold()
            while True:
                try:
                    line = lines.get(timeout=1.0)
                except queue.Empty:
                    line = ""
                if line is None:
                    break
                if line:
                    clean = redact(line, secrets)
                    log.write(_ANSI.sub("", clean))
                    plain = _ANSI.sub("", clean)
                    if _STARTED.match(plain):
                        continue  # `-v` under xdist names each test as it starts: log only
                    if (said := folded.said(plain, log_path, run_dir)) is None:
                        continue  # a traceback section: in the log, not on the terminal
                    if said:
                        print(paint(f"    {said}", "dim", colour), file=out)
                    out.write(f"    {clean}")
                    out.flush()
                    last_said = time.monotonic()
                elif time.monotonic() - last_said >= HEARTBEAT_S:
                    # long work is never silent: elapsed, and what is left when it is known
                    said = heartbeat(time.time() - started, planned, bound)
                    print(paint(f"    … {suite}: {said}", "dim", colour), file=out, flush=True)
                    last_said = time.monotonic()
            if folded.folding:  # the output ended inside a folded section
                said = folded.said("=== end ===", log_path, run_dir)
                print(paint(f"    {said}", "dim", colour), file=out)
            code = proc.wait()
        finally:
            stop_process_group(proc)
    result = read_suite_result(run_dir, suite)
    if result is None:
        result = SuiteResult.errored(
            suite, f"the {suite} suite wrote no result (pytest exit code {code}); see "
            f"{os.path.relpath(log_path, run_dir)}", engine="pytest",
            duration_s=round(time.time() - started, 3), started_at=started_at)
        write_suite_result(run_dir, result, secrets)
    elif (problem := pytest_exit_problem(code, result)) and result.status != "error":
        result = replace(result, status="error", error="\n".join(
            e for e in (result.error, f"{problem}; see {os.path.relpath(log_path, run_dir)}")
            if e))
        write_suite_result(run_dir, result, secrets)
    return result


#: seconds without output from a suite before the runner says how long it has been running
HEARTBEAT_S = 10.0
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED = re.compile(r"^\S+::\S+ ?\n?$")


#: a pytest section header (`==== FAILURES ====`), and the qgate plugin's own (`--- qgate ---`)
_SECTION = re.compile(r"^=+ (.+?) =+$|^-+ (qgate) -+$")
#: the sections a run's console leaves to the log: every failure is named on its own line as
#: it finishes, and the verdict quotes the first lines of each
_FOLDED = ("FAILURES", "ERRORS", "warnings summary")


class _Fold:
    """Leaves pytest's traceback sections out of the console (they stay in pytest.log)."""

    def __init__(self) -> None:
        self.folding = False
        self.lines = 0

    def said(self, plain: str, log_path: Path, run_dir: Path) -> str | None:
        """None: leave this line out; else what to say before it ('' for nothing)."""
        header = _SECTION.match(plain.strip())
        if header and (header.group(1) or header.group(2)) in _FOLDED:
            self.folding = True
            return None
        if self.folding and not header:
            self.lines += 1
            return None
        if self.folding:  # the next section: say what was left out, and where it is
            self.folding = False
            return (f"… {self.lines} lines of failure details left out here: "
                    f"{os.path.relpath(log_path, run_dir)} in the run's folder")
        return ""


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def planned_seconds(suite: str, env: Environment) -> tuple[float | None, bool]:
    """How long `suite` is planned to take (load and stress: the profile's duration), or at
    most may take (security: the scan's bounds); (None, False) when unknown."""
    settings = env.suite_settings(suite)
    if suite in ("load", "stress"):
        duration = getattr(settings, "duration_s", None)
        return (float(duration), False) if duration else (None, False)
    if suite == "security":
        scan = float(getattr(settings, "max_scan_time_s", 0) or 0)
        attack = float(getattr(settings, "max_attack_time_s", 0) or 0) \
            if getattr(settings, "active_scan", False) else 0.0
        return (scan + attack, True) if scan else (None, False)
    return None, False


def heartbeat(elapsed: float, planned: float | None, bound: bool) -> str:
    """`running for 40 s, about 5 s left` (or `at most`, for a bounded scan)."""
    text = f"running for {elapsed:.0f} s"
    if planned:
        left = max(0.0, planned - elapsed)
        if left:
            text += f", {'at most' if bound else 'about'} {left:.0f} s left (of {planned:.0f} s)"
        else:
            text += f", past the {planned:.0f} s planned: finishing"
    return text


def pytest_exit_problem(code: int, result: SuiteResult) -> str:
    """Why pytest's exit code contradicts a suite result, or '' when it does not.

    0 and 5 (nothing collected) agree with what the result says; 1 must come with a failed
    or errored test; anything else (interrupted, internal error, usage error, a signal)
    means the evidence is incomplete.
    """
    if code in (0, 5):
        return ""
    if code == 1:
        if result.count("failed") or result.count("error"):
            return ""
        return "pytest exited 1 (tests failed) but no failed test was recorded"
    names = {2: "interrupted", 3: "internal error", 4: "usage error"}
    what = names.get(code, f"killed by signal {-code}" if code < 0 else "unexpected exit")
    return f"pytest stopped with exit code {code} ({what})"


def finish_run(env: Environment, run_dir: Path, suites: Sequence[str], *, started_at: str,
               requested: Sequence[str] = (), production_override: bool = False,
               version: str = "", fail_on_flaky: bool | None = None,
               notes: Sequence[str] = (), not_run: Mapping[str, str] | None = None,
               shard: str = "", scope: Sequence[str] | None = None,
               expected_version: str = "", baseline: str = "",
               load_profile: str = "") -> RunRecord:
    """Judge the suite results in `run_dir` against the gate's required suites, write run.json
    and render every report.

    `suites` are the suites this run attempted; the required set always comes from the gate
    policy (`required_suites`), so a partial run cannot be GO. `not_run` gives the reason a
    planned suite was not started (fail fast). Only `qgate smoke` passes `scope`: its
    record certifies "the deploy is up" (and says so), not a release. `baseline` is a
    `--baseline` spec (a run folder, last-go, last-go:N) to compare with; `load_profile` a
    plain pytest run's `--load-profile` (the run records the profile it really ran). Every
    judged run is appended to `reports/history/`.
    """
    from harness import __version__
    from harness.policy import load_gate
    from harness.report import render_reports
    from harness.verdict import judge

    root = project_root()
    policy, waivers = load_gate(root, env, today=dt.date.today())
    required = tuple(scope) if scope is not None else required_suites(env, root)
    attempted = [s for s in suites if s not in (not_run or {})]
    results = {s: r for s in attempted if (r := read_suite_result(run_dir, s)) is not None}
    absent = dict(not_run or {})
    for suite in required:
        if suite not in results and suite not in absent:
            absent[suite] = ("the suite did not run or wrote no result" if suite in attempted
                             else f"left out of this run (ran: {', '.join(suites) or 'none'}); "
                                  f"the gate requires it for {env.name}")
    all_notes = list(notes)
    left_out = [s for s in required if s not in suites]
    if left_out:
        all_notes.append(f"Partial run: the gate also requires {', '.join(left_out)} for "
                         f"{env.name}, so this run cannot be GO.")
    profile = "smoke-check" if scope is not None else run_profile(env, suites, load_profile)
    compared = None
    if baseline:
        from harness.history import resolve_baseline
        compared = resolve_baseline(baseline, environment=env.name, profile=profile,
                                    reports_root=reports_dir())
    verdict = judge(results, policy, waivers, environment=env.name, required=required,
                    today=dt.date.today(), fail_on_flaky=fail_on_flaky, absent=absent,
                    baseline=compared)
    record = RunRecord(
        run_id=run_dir.name, environment=env.name, base_url=env.base_url, version=version,
        started_at=started_at, finished_at=now_iso(), verdict=verdict, suites=results,
        requested=tuple(requested), required=required, production_override=production_override,
        qgate_version=__version__, notes=tuple(all_notes),
        not_run={s: r for s, r in absent.items() if s in suites or s in required},
        shard=shard, expected_version=expected_version,
        baseline=compared.source if compared else "", profile=profile,
        provenance=collect_provenance(root), command=command_line(),
        trend=recent_runs(env.name))
    write_run(record, run_dir, env.secret_values())
    from harness.history import append_history, entry_of
    if not shard:  # a shard is part of a run; the merged run goes into the history
        append_history(reports_dir(), entry_of(record, run_dir, profile))
    render_reports(run_dir)
    return record
