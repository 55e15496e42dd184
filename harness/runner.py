"""Plan and run the gate: each suite in its own pytest subprocess, then judge and report.

The plan is checked before any long work starts (unknown or disallowed suites, production
protection, an unreachable target), so a mistake fails in seconds, not after a long suite.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.config import INTRUSIVE_SUITES, SUITE_SETTINGS, Environment, project_root, reports_dir
from harness.errors import TargetUnreachable, UsageError
from harness.results import SuiteResult, read_suite_result, write_suite_result
from harness.runrecord import RunRecord, new_run_dir, now_iso, write_run
from harness.schema import suggest


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


def plan_run(env: Environment, required_by_policy: Sequence[str], requested: Sequence[str] = (),
             *, allow_production: bool = False, expect_version: str = "",
             fail_on_flaky: bool | None = None, shard: str = "") -> Plan:
    """Check the request against the environment's allow-list and production protection."""
    suites = tuple(requested) if requested else env.suites
    env.refuse_disallowed(suites, allow_production=allow_production)
    for suite in suites:  # a suite refuses a setup it cannot run with (e2e: its adapter)
        preflight = getattr(env.suite_settings(suite), "preflight", None)
        if preflight is not None:
            preflight(env)
    intrusive = [s for s in suites if s in INTRUSIVE_SUITES]
    required = tuple(requested) if requested else tuple(required_by_policy)
    if shard:
        from harness.merge import parse_shard
        parse_shard(shard)
    return Plan(env, suites, required, tuple(requested), allow_production and bool(intrusive),
                expect_version, fail_on_flaky, shard)


def probe_target(env: Environment, timeout_s: float = 5.0) -> str:
    """Check the target answers; return the version it reports ('' if none).

    Raises TargetUnreachable when nothing answers at base_url at all.
    """
    import httpx

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
    except httpx.ConnectError as exc:
        from harness.net import describe_connect_error
        why = describe_connect_error(exc)
        raise TargetUnreachable(f"target {env.base_url} is unreachable: {why}",
                                hint="is the store running? check base_url or --base-url"
                                ) from None
    except httpx.TimeoutException:
        raise TargetUnreachable(f"target {env.base_url} did not answer within {timeout_s:g} s"
                                ) from None


def run_gate(plan: Plan, *, out: IO[str] = sys.stdout) -> tuple[RunRecord, Path]:
    """Run every planned suite; return the judged, written run record and its folder."""
    env = plan.environment
    started_at = now_iso()
    run_dir = new_run_dir(reports_dir(), env.name)
    print(f"qgate run {run_dir.name}: environment {env.name}, target {env.base_url}, "
          f"suites {', '.join(plan.suites)}", file=out, flush=True)
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
            print(f"[{i}/{len(plan.suites)}] {suite}: running…", file=out, flush=True)
            result = run_suite(suite, plan, run_dir, out=out)
            print(f"[{i}/{len(plan.suites)}] {suite}: {result.status} "
                  f"({len(result.tests)} tests, {result.duration_s:.1f}s)", file=out, flush=True)
    record = finish_run(env, run_dir, plan.suites, started_at=started_at,
                        required=plan.required, requested=plan.requested,
                        production_override=plan.production_override, version=version,
                        fail_on_flaky=plan.fail_on_flaky)
    return record, run_dir


def suite_command(suite: str, plan: Plan, run_dir: Path) -> list[str]:
    """The pytest command line that runs `suite` for `plan` into `run_dir`."""
    env = plan.environment
    cmd = [sys.executable, "-m", "pytest", str(project_root() / "suites" / suite),
           "--env", env.name, "--base-url", env.base_url, "--qgate-run-dir", str(run_dir),
           "--qgate-suite", suite, "-p", "no:cacheprovider", "-q", "-o", "addopts=",
           "--rootdir", str(project_root())]
    if plan.expect_version:
        cmd += ["--expect-version", plan.expect_version]
    if plan.production_override:
        cmd += ["--allow-production"]
    if plan.shard:
        cmd += ["--qgate-shard", plan.shard]
    workers = str(getattr(env.suite_settings(suite), "workers", "") or "")
    if workers and workers not in ("0", "1"):
        cmd += ["-n", workers]
    return cmd


def run_suite(suite: str, plan: Plan, run_dir: Path, *, out: IO[str] = sys.stdout) -> SuiteResult:
    """Run one suite as its own pytest process; a crash there cannot lose the others' evidence."""
    log_path = run_dir / "artifacts" / suite / "pytest.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started, started_at = time.time(), now_iso()
    secrets = plan.environment.secret_values()
    from harness.redaction import redact

    env_vars = {**os.environ, "QGATE_ROOT": str(project_root()), "PYTHONUNBUFFERED": "1"}
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(suite_command(suite, plan, run_dir), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env_vars,
                                cwd=project_root(), start_new_session=True)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                clean = redact(line, secrets)
                log.write(clean)
                out.write(f"    {clean}")
                out.flush()
            code = proc.wait()
        finally:
            _stop_group(proc)
    result = read_suite_result(run_dir, suite)
    if result is None:
        result = SuiteResult.errored(
            suite, f"the {suite} suite wrote no result (pytest exit code {code}); see "
            f"{os.path.relpath(log_path, run_dir)}", engine="pytest",
            duration_s=round(time.time() - started, 3), started_at=started_at)
        write_suite_result(run_dir, result, secrets)
    return result


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """Stop the suite's process group (pytest, xdist workers, browsers) if still running."""
    import signal

    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def finish_run(env: Environment, run_dir: Path, suites: Sequence[str], *, started_at: str,
               required: Sequence[str] | None = None, requested: Sequence[str] = (),
               production_override: bool = False, version: str = "",
               fail_on_flaky: bool | None = None, notes: Sequence[str] = ()) -> RunRecord:
    """Judge the suite results in `run_dir`, write run.json and render every report."""
    from harness import __version__
    from harness.policy import load_policy, load_waivers
    from harness.report import render_reports
    from harness.verdict import judge

    root = project_root()
    policy = load_policy(root / "gate.toml").with_criteria(env.declared_criteria())
    waivers = load_waivers(root / "waivers.toml")
    results = {s: r for s in suites if (r := read_suite_result(run_dir, s)) is not None}
    must = tuple(required) if required is not None else tuple(suites)
    all_notes = list(notes)
    if requested:
        skipped = [s for s in policy.required_for(env.name) if s not in requested]
        if skipped:
            all_notes.append(f"Partial run: only {', '.join(requested)} requested; the gate "
                             f"also requires {', '.join(skipped)} for {env.name}.")
    verdict = judge(results, policy, waivers, environment=env.name, required=must,
                    today=dt.date.today(), fail_on_flaky=fail_on_flaky)
    record = RunRecord(
        run_id=run_dir.name, environment=env.name, base_url=env.base_url, version=version,
        started_at=started_at, finished_at=now_iso(), verdict=verdict, suites=results,
        requested=tuple(requested), required=must, production_override=production_override,
        qgate_version=__version__, notes=tuple(all_notes))
    write_run(record, run_dir, env.secret_values())
    render_reports(run_dir)
    return record
