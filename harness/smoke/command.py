"""`qgate smoke`: the on-call command. Checks in parallel, one table, one verdict line.

Also writes a normal run record (run.json, report.html, junit.xml, summary.md), so a smoke
run is judged and reported exactly like a full gate run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from harness.config import Environment, load_environment, reports_dir
from harness.errors import ExitCode
from harness.results import SuiteResult, TestCase, write_suite_result
from harness.runrecord import new_run_dir, now_iso
from harness.smoke.engine import (
    CheckResult,
    SmokeTarget,
    check_details,
    deployed_version,
    run_checks,
    suite_result,
)
from harness.smoke.settings import Check, SmokeSettings


def smoke_command(args: argparse.Namespace) -> int:
    """Run `qgate smoke` and return its exit code.

    The table, `--json` and `--prom-file` are all rendered from the run record as written
    (redacted) to run.json, so `qgate report` can rebuild exactly what on-call saw.
    """
    env = load_environment(args.env, base_url=args.base_url)
    if args.base_url:
        env = env.with_base_url(args.base_url)
    settings: SmokeSettings = env.suite_settings("smoke")
    settings.require(env.file)  # no checks, or an undeclared POST: exit 2 before any request
    expect = args.expect_version or settings.expect_version
    timeout = args.timeout if args.timeout is not None else settings.timeout_s
    if timeout <= 0:
        from harness.errors import UsageError
        raise UsageError(f"--timeout must be positive, got {timeout:g}")
    if expect and not any(c.version_field for c in settings.checks):
        from harness.errors import ConfigError
        raise ConfigError(env.file, "smoke.checks", f"--expect-version {expect}: no check "
                          "declares version_field, so the version cannot be verified",
                          hint='declare a check like [[smoke.checks]] name = "version" '
                               'path = "/version" version_field = "version"')
    if args.browser or settings.browser.enabled:
        settings.browser.require(env.file)  # before any check runs: a config error is exit 2
    checks, refused = select_checks(env, settings)
    started, started_at = time.perf_counter(), now_iso()
    live = None if args.json else LiveTable(env, expect, [c.name for c in settings.checks])
    results, old = asyncio.run(_run_both(env, settings, checks, expect, timeout, args.compare,
                                         live))
    result = suite_result(results, duration_s=time.perf_counter() - started,
                          started_at=started_at, target=env.shown_url)
    extra = [TestCase(id=f"smoke::{c.name}", name=c.name, outcome="skipped",
                      message="writes data: not allowed in this environment") for c in refused]
    browser_ms: dict[str, float] = {}
    if args.browser or settings.browser.enabled:
        extra.append(_browser_check(env, settings))
        browser_ms["smoke.browser.duration_ms"] = round(extra[-1].duration_s * 1000, 1)
    notes: list[str] = []
    if old is not None:
        extra += compare_tests(results, old)
        old_version, new_version = deployed_version(old), deployed_version(results)
        if old_version != new_version:
            notes.append(f"Blue/green: new colour {env.shown_url} runs {new_version or '?'}, "
                         f"old colour {args.compare} runs {old_version or '?'}.")
    if extra:
        from harness.results import outcome_counts, status_from_tests
        tests = result.tests + tuple(extra)
        result = replace(result, tests=tests, status=status_from_tests(tests),
                         metrics=result.metrics | outcome_counts("smoke", tests) | browser_ms)
    run_dir = _record(env, result, deployed_version(results), started_at, notes, expect)
    from harness.report.oncall import render_prom, render_smoke_json, render_smoke_table
    from harness.runrecord import load_run

    record = load_run(run_dir)  # what was written (redacted) is what on-call sees
    print(render_smoke_json(record, run_dir) if args.json else
          render_smoke_table(record, run_dir, shown=frozenset(live.shown if live else ())))
    code = int(record.verdict.exit_code)
    if args.prom_file:
        try:
            write_prom_file(Path(args.prom_file), render_prom(record, time.time()))
        except OSError as exc:  # the verdict stands; a GO whose metrics were lost is exit 2
            print(f"qgate: error: --prom-file {args.prom_file}: cannot write it "
                  f"({exc.strerror or exc})", file=sys.stderr)
            return code or int(ExitCode.USAGE)
    return code


def select_checks(env: Environment, settings: SmokeSettings) -> tuple[list[Check], list[Check]]:
    """Split the declared checks into those to run and write checks refused here."""
    writes_ok = settings.allow_writes and not env.production
    run = [c for c in settings.checks if writes_ok or not c.writes]
    return run, [c for c in settings.checks if c not in run]


def target_for(env: Environment, base_url: str) -> SmokeTarget:
    """The HTTP target with the environment's auth."""
    return SmokeTarget(base_url, env.auth.basic_credentials(), dict(env.auth.headers))


class LiveTable:
    """The on-call screen while checks run: the header at once, each check's row as soon as
    it is final, and a line when a check starts retrying, so nothing is silent for the
    whole retry budget. Colour only on a terminal, never with NO_COLOR."""

    def __init__(self, env: Environment, expect: str, names: list[str]) -> None:
        from harness.report.oncall import name_width, smoke_header
        self.width = name_width(names)
        self.shown: list[str] = []
        self.colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        for line in smoke_header(env.name, env.shown_url, expect, self.width):
            print(line, flush=True)
        self.secrets = env.secret_values()

    def result(self, result: CheckResult) -> None:
        """Print a finished check's row."""
        from harness.redaction import redact
        from harness.report.oncall import smoke_row
        row = smoke_row(result.name, "passed" if result.ok else "failed",
                        check_details(result), "", self.width)
        if self.colour:
            row = f"\033[{'32' if result.ok else '31'}m{row}\033[0m"
        print(redact(row, self.secrets), flush=True)
        self.shown.append(result.name)

    def retry(self, name: str, reason: str) -> None:
        """Say that a check is being retried (a deploy warming up), once per check."""
        from harness.redaction import redact
        print(redact(f"  … {name}: {reason}; retrying within the time budget", self.secrets),
              flush=True)


async def _run_both(env: Environment, settings: SmokeSettings, checks: Sequence[Check],
                    expect: str, timeout: float, compare: str | None,
                    live: LiveTable | None = None
                    ) -> tuple[list[CheckResult], list[CheckResult] | None]:
    attempt = settings.attempt_timeout_s
    new = run_checks(checks, target_for(env, env.base_url), expect_version=expect,
                     timeout_s=timeout, attempt_timeout_s=attempt,
                     on_result=live.result if live else None,
                     on_retry=live.retry if live else None)
    if not compare:
        return await new, None
    from harness.schema import check_url
    old_url = check_url(compare, "--compare", "URL2")
    # the old colour runs whatever it runs: no version expectation there
    old = run_checks(checks, target_for(env, old_url), timeout_s=timeout,
                     attempt_timeout_s=attempt)
    both = await asyncio.gather(new, old)
    return both[0], both[1]


def compare_tests(new: Sequence[CheckResult], old: Sequence[CheckResult]) -> list[TestCase]:
    """One test per check: the new colour must not fail where the old one passes.

    A latency regression counts when it breaks the check's budget on the new colour only
    (then the new check fails while the old passes); single-sample latency differences
    within budget are shown, not judged, because they are mostly noise.
    """
    out = []
    for n, o in zip(new, old, strict=True):
        reason = ""
        if o.ok and not n.ok:
            reason = f"passes on the old colour but fails on the new one: {n.reason}"
        out.append(TestCase(id=f"smoke::compare::{n.name}", name=f"compare: {n.name}",
                            outcome="failed" if reason else "passed",
                            duration_s=round(n.latency_ms / 1000, 4), message=reason,
                            details={"check": n.name, "old": check_details(o) | {"ok": o.ok}}))
    return out


def _browser_check(env: Environment, settings: SmokeSettings) -> TestCase:
    """The optional one-browser pass; imports playwright only when asked for."""
    from harness.smoke.browser import browser_check
    return browser_check(env, settings.browser)


def _record(env: Environment, result: SuiteResult, version: str, started_at: str,
            notes: list[str], expect: str) -> Path:
    """Write and judge the smoke run; `qgate smoke` certifies one thing: the deploy is up."""
    from harness.runner import finish_run

    run_dir = new_run_dir(reports_dir(), env.name)
    write_suite_result(run_dir, result, env.secret_values())
    finish_run(env, run_dir, ["smoke"], started_at=started_at, version=version,
               notes=["Smoke check (qgate smoke): certifies that the deploy is up and can "
                      "sell, not a full release.", *notes], scope=("smoke",),
               expected_version=expect)
    return run_dir


def write_prom_file(path: Path, text: str) -> None:
    """Write Prometheus textfile metrics atomically (node_exporter never reads half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
