"""The pytest side of the load and stress suites (shared by suites/load and suites/stress).

`run_load` runs locust for a suite and derives its evidence; `attach` hands it to the gate
through the `evidence` fixture; `check_invariants` runs the business invariants. Problems
that stop evidence from being collected raise (the suite's fixtures turn them into errors,
i.e. INCONCLUSIVE); nothing here compares a figure with a threshold to pass or fail a test.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import Environment, project_root
from harness.errors import ConfigError, ProductionRefused
from harness.load.engine import LocustPlan, LocustRun, Progress, run_locust
from harness.load.evidence import (
    EarlyAbort,
    LoadEvidence,
    breaking_point,
    breaking_point_rule,
    derive_evidence,
    early_abort_rule,
    held_on_a_saturated_machine,
    plan_coverage,
    unanswered_on_a_saturated_machine,
)
from harness.load.invariants import InvariantResult, run_checks, validate_checks
from harness.load.settings import LoadSettings, StressSettings
from harness.load.stats import StatsError, read_history_csv, read_stats_json
from harness.machine import describe_machine, runs_here, saturation

#: overrides a run can set without editing the environment file (`qgate run --load-profile`)
PROFILE_VARIABLE = "QGATE_LOAD_PROFILE"
WORKERS_VARIABLE = "QGATE_LOAD_WORKERS"


class LoadRunError(RuntimeError):
    """Locust ran but left no usable statistics: no evidence was collected."""


@dataclass(frozen=True)
class LoadOutcome:
    """One suite's locust run and the evidence derived from it."""

    suite: str
    settings: LoadSettings
    locustfile: Path
    run: LocustRun
    evidence: LoadEvidence
    requests: int
    artifacts: tuple[tuple[Path, str, str], ...]


def effective_settings(env: Environment, suite: str, *, profile: str = "",
                       workers: int | None = None) -> LoadSettings:
    """The suite's table with run overrides applied (and stress borrowing load's objectives)."""
    settings: LoadSettings = env.suite_settings(suite)
    if isinstance(settings, StressSettings) and "load" in env.settings:
        load: LoadSettings = env.suite_settings("load")
        if not settings.slo:
            settings = dataclasses.replace(settings, slo=load.slo)
        if settings.use_load_invariants and not settings.invariants.checks:
            settings = dataclasses.replace(settings, invariants=load.invariants)
    if profile:
        settings = dataclasses.replace(settings, profile=profile)
    settings = settings.for_profile()
    if workers is not None:
        settings = dataclasses.replace(settings, locust_workers=workers)
    return settings


def export_overrides(profile: str | None, workers: int | None) -> None:
    """Pass `--load-profile` / `--load-workers` on to the suite processes (CLI front-end)."""
    if profile:
        os.environ[PROFILE_VARIABLE] = profile
    if workers is not None:
        if workers < 0:
            from harness.errors import UsageError
            raise UsageError(f"--load-workers must be 0 or more, got {workers}")
        os.environ[WORKERS_VARIABLE] = str(workers)


def overrides_from_environment(suite: str) -> dict[str, Any]:
    """`QGATE_LOAD_PROFILE` (load only) and `QGATE_LOAD_WORKERS`, as set by the CLI flags."""
    out: dict[str, Any] = {}
    if suite == "load" and os.environ.get(PROFILE_VARIABLE):
        out["profile"] = os.environ[PROFILE_VARIABLE]
    raw = os.environ.get(WORKERS_VARIABLE, "")
    if raw:
        try:
            out["workers"] = int(raw)
        except ValueError:
            raise ConfigError(WORKERS_VARIABLE, "", f"'{raw}' is not a number of workers") from None
    return out


def resolve_locustfile(env: Environment, suite: str, settings: LoadSettings) -> Path:
    """The locustfile to run; a missing one is a config error naming the key."""
    from harness.config import packaged_dir

    configured = settings.locustfile_path()
    path = Path(configured)
    if not path.is_absolute():
        path = project_root() / path
    shipped = packaged_dir("harness.loadprofiles")  # the demo's profiles, in a wheel install
    if not path.is_file() and not settings.locustfile and shipped is not None:
        path = shipped / f"{settings.profile}.py"
    if not path.is_file():
        folders = [project_root() / "loadprofiles", *([shipped] if shipped else [])]
        profiles = sorted({p.stem for f in folders for p in f.glob("[!_]*.py")})
        key = f"{suite}.locustfile" if settings.locustfile else f"{suite}.profile"
        raise ConfigError(env.file, key, f"no locustfile at {configured}",
                          hint=f"profiles in loadprofiles/: {', '.join(profiles)}"
                          if profiles else "name an existing locustfile")
    return path


_IMPORTABLE: set[Path] = set()


def check_locustfile(env: Environment, suite: str) -> None:
    """Plan time: the suite's locustfile exists, imports and defines users, and its invariants
    only read; else a config error naming the file and the error (exit 2, before any run)."""
    import subprocess
    import sys

    settings = effective_settings(env, suite, **overrides_from_environment(suite))
    path = resolve_locustfile(env, suite, settings)
    validate_checks(settings.invariants, env.file, suite)
    if path in _IMPORTABLE:
        return
    from harness.load.engine import ensure_locust
    ensure_locust()  # no locust at all: the missing tool, not the locustfile, is at fault
    key = f"{suite}.locustfile" if settings.locustfile else f"{suite}.profile"
    shown = os.path.relpath(path, project_root()) if path.is_relative_to(project_root()) \
        else str(path)
    try:
        done = subprocess.run([sys.executable, "-m", "locust", "-f", str(path), "--list"],
                              cwd=path.parent, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ConfigError(env.file, key, f"{shown} did not finish importing in 120 s",
                          hint="a locustfile should not do work at import time") from None
    if done.returncode == 0:
        _IMPORTABLE.add(path)
        return
    lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    where = [line for line in lines if line.startswith(f'File "{path}"')]
    error = next((line for line in reversed(lines) if not line.startswith(("[", "File "))),
                 f"locust exited with {done.returncode}")
    at = where[-1].split(",")[1].strip() if where and "," in where[-1] else ""
    raise ConfigError(env.file, key, f"{shown} cannot be loaded by locust: {error}"
                      + (f" ({at})" if at else ""),
                      hint=f"see the whole error with: locust -f {shown} --list")


def refuse_production(env: Environment, allow_production: bool) -> None:
    """Load never reaches production unless the run was explicitly allowed to."""
    if env.production and not allow_production:
        raise ProductionRefused(f"environment '{env.name}' is production; refusing load",
                                hint="pass --allow-production (recorded in the report)")


def run_load(env: Environment, suite: str, settings: LoadSettings, out_dir: Path, *,
             show: Any = None) -> LoadOutcome:
    """Run locust for `suite` against the environment's target and derive the evidence."""
    locustfile = resolve_locustfile(env, suite, settings)
    validate_checks(settings.invariants, env.file, suite)
    plan = LocustPlan(
        locustfile=locustfile, host=env.base_url, out_dir=out_dir, users=settings.users,
        spawn_rate=settings.spawn_rate, duration_s=settings.duration_s,
        max_requests=settings.max_requests, stop_timeout_s=settings.stop_timeout_s,
        workers=settings.locust_workers, remote_workers=settings.remote_workers,
        master_bind_host=settings.master_bind_host, master_port=settings.master_port,
        workers_timeout_s=settings.workers_timeout_s, user_classes=tuple(settings.user_classes),
        headers=dict(env.auth.headers), basic_auth=env.auth.basic_credentials())
    stress = isinstance(settings, StressSettings)
    rule = (breaking_point_rule(settings) if isinstance(settings, StressSettings)
            else early_abort_rule(settings, suite) if settings.abort_early else None)
    run = run_locust(plan, on_progress=show, stop_when=rule)
    _redact_outputs(run, env)
    try:
        stats = read_stats_json(run.stats_json)
    except StatsError as exc:
        raise LoadRunError(f"{exc} (locust exit code {run.exit_code}); locust said:\n"
                           f"{run.stderr_tail()}") from None
    history = read_history_csv(run.history_csv)
    evidence = derive_evidence(suite, stats, history, run.extras(), settings)
    if stress:
        breaking_point(suite, history, settings, evidence)  # type: ignore[arg-type]
    peak = max([run.peak_users, *(r.users for r in history)])
    achieved = run.test_s or stats.duration_s
    plan_coverage(evidence, suite, settings, achieved_s=achieved, peak_users=peak,
                  requests=stats.requests, stopped=run.stopped, stress=stress,
                  aborted_metric=rule.metric if isinstance(rule, EarlyAbort) and run.stopped
                  else "")
    evidence.saturated = saturation(run.machine, target_here=runs_here(env.base_url))
    unanswered_on_a_saturated_machine(evidence, suite, stats, run.extras(), settings)
    if isinstance(settings, StressSettings):
        held_on_a_saturated_machine(evidence, suite, settings)
    machine = describe_machine(run.machine)
    if machine:
        evidence.notes.append(machine + (" Saturated: a missed latency objective is not "
                                         "judged." if evidence.saturated else ""))
    if run.stopped:
        for metric, why in evidence.unmeasured.items():
            if why.startswith("only "):
                evidence.unmeasured[metric] = why + " — the run was stopped early"
    topology = (f"a locust master and {settings.locust_workers} local workers"
                if settings.locust_workers else "one locust process")
    if settings.remote_workers:
        topology += f" (+{settings.remote_workers} remote workers)"
    shown = os.path.relpath(locustfile, project_root()) if locustfile.is_relative_to(
        project_root()) else str(locustfile)
    evidence.notes.insert(0, (
        f"Profile {settings.profile} ({shown}): up to {settings.users} users, {topology}; "
        f"ran {stats.duration_s:.0f} s, {stats.requests} requests, "
        f"{stats.failures} failed."))
    if run.stopped:
        evidence.notes.insert(1, run.stopped[0].upper() + run.stopped[1:] + ".")
    artifacts = tuple((path, kind, label) for path, kind, label in (
        (run.stats_json, "locust-json", "locust statistics (JSON histograms)"),
        (run.history_csv, "locust-csv", "stats history per second (CSV)"),
        (run.failures_csv, "locust-csv", "failures (CSV)"),
        (run.extras_json, "json", "answers per status (qgate plugin)"),
        (run.log, "log", "locust log"),
    ) if path.is_file())
    return LoadOutcome(suite, settings, locustfile, run, evidence, stats.requests, artifacts)


def _redact_outputs(run: LocustRun, env: Environment) -> None:
    """Mask the environment's secrets in every text file locust left (before anyone reads)."""
    secrets = env.secret_values()
    if not secrets:
        return
    from harness.redaction import redact

    for path in run.out_dir.iterdir():
        if path.suffix in (".json", ".csv", ".log", ".stderr", ".stdout") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            clean = redact(text, secrets)
            if clean != text:
                path.write_text(clean, encoding="utf-8")


def attach(evidence: Any, outcome: LoadOutcome) -> None:
    """Hand the run's evidence to the gate through the `evidence` fixture."""
    ev = outcome.evidence
    for name, value in sorted(ev.metrics.items()):
        evidence.metric(name, value, "ms" if name.endswith("_ms") else "",
                        samples=ev.samples.get(name))
    for name, reason in sorted(ev.unmeasured.items()):
        evidence.unmeasured(name, reason)  # its reason says why (and how many samples)
    for cov in ev.coverage:
        evidence.coverage(cov.key, cov.observed, cov.minimum, what=cov.what, detail=cov.detail,
                          hint=cov.hint, covers=cov.covers)
    if ev.saturated:
        evidence.saturated(ev.saturated)
    for metric, text in sorted(ev.explain.items()):
        evidence.explain(metric, text)
    machine = outcome.run.machine
    evidence.details(plan=ev.plan, failures=ev.failures, machine={
        "generator_cpu_mean": machine.generator_cpu_mean,
        "generator_busy_share": machine.generator_busy_share,
        "host_pressure": machine.host_pressure,
        "host_load_per_core": machine.host_load_per_core, "samples": machine.samples})
    for name, points in ev.series.items():
        evidence.series(name, points)
    for note in ev.notes:
        evidence.note(note)
    for path, kind, label in outcome.artifacts:
        evidence.artifact(path, kind, label)


def check_invariants(env: Environment, suite: str,
                     settings: LoadSettings) -> list[InvariantResult] | None:
    """Run the declared invariants (None when none are declared)."""
    if not settings.invariants.checks:
        return None
    return run_checks(settings.invariants, table=suite)


def record_invariants(evidence: Any, outcome: LoadOutcome,
                      results: list[InvariantResult]) -> None:
    """Findings for broken invariants (naming the rows' keys), counts and a summary note."""
    from harness.load.invariants import finding_for, summarise

    suite = outcome.suite
    for result in results:
        if not result.holds:
            evidence.finding(finding_for(result, source=f"{suite} invariants"))
    evidence.metric(f"{suite}.invariants.checked", len(results))
    evidence.metric(f"{suite}.invariants.violated", sum(1 for r in results if not r.holds))
    evidence.note(f"Invariants after {suite}: {summarise(results)}.")


def record_run(evidence: Any, outcome: LoadOutcome) -> None:
    """The run's test in both suites: attach its evidence. A run that made no requests is
    no evidence, not a failure of the shop: its coverage (0 requests that reached the
    target) makes the verdict INCONCLUSIVE; locust's log tail is kept as a note."""
    attach(evidence, outcome)
    if outcome.requests == 0:
        tail = outcome.run.stderr_tail(5).strip()
        evidence.note(f"Locust made no requests in {outcome.run.wall_s:.0f} s"
                      + (f"; its log ends: {tail}" if tail else "."))


def invariants_not_evaluated(evidence: Any, outcome: LoadOutcome,
                             results: list[InvariantResult]) -> list[str]:
    """The invariants test in both suites: record the results; the declared checks that were
    not evaluated."""
    record_invariants(evidence, outcome, results)
    evaluated = {r.check.name for r in results}
    return [c.name for c in outcome.settings.invariants.checks if c.name not in evaluated]


def add_load_options(parser: Any) -> None:
    """`--load-profile` / `--load-workers` for plain pytest runs (both suites' conftests)."""
    group = parser.getgroup("qgate-load", "qgate load and stress suites")
    for flag, kwargs in (
            ("--load-profile", {"metavar": "NAME", "help": "run loadprofiles/NAME.py instead "
                                "of the environment's load profile"}),
            ("--load-workers", {"type": int, "metavar": "N",
                                "help": "a locust master plus N local workers"})):
        try:
            group.addoption(flag, default=None, **kwargs)
        except ValueError:  # the other suite's conftest registered it in this session
            pass


def suite_overrides(config: Any, suite: str) -> dict[str, Any]:
    """Overrides from the command line, else from QGATE_LOAD_PROFILE / QGATE_LOAD_WORKERS."""
    out = overrides_from_environment(suite)
    if suite == "load" and config.getoption("load_profile", default=None):
        out["profile"] = config.getoption("load_profile")
    if config.getoption("load_workers", default=None) is not None:
        out["workers"] = config.getoption("load_workers")
    return out


def run_suite_load(config: Any, env: Environment, run_dir: Path, suite: str) -> LoadOutcome:
    """Run locust for `suite` in a pytest session (production refused unless allowed)."""
    refuse_production(env, bool(config.getoption("qgate_allow_production", default=False)))
    settings = effective_settings(env, suite, **suite_overrides(config, suite))
    return run_load(env, suite, settings, run_dir / "artifacts" / suite / "locust",
                    show=progress_printer(config, suite))


def progress_printer(config: Any, suite: str, every_s: float = 5.0) -> Any:
    """A progress callback writing one line every `every_s` seconds past pytest's capture."""
    capman = config.pluginmanager.getplugin("capturemanager")
    writer = config.get_terminal_writer()
    last = [-every_s]

    def show(p: Progress) -> None:
        if p.t - last[0] < every_s:
            return
        last[0] = p.t
        ratio = p.failures / p.requests if p.requests else 0.0
        line = (f"{suite} {p.t:5.0f}s  users {p.users:>4}  {p.rps:7.1f} rps  "
                f"p95 {p.p95_now or p.p95:6.0f} ms  {p.requests} requests, "
                f"{p.failures} failed ({ratio:.1%})")
        if capman is not None:
            with capman.global_and_fixture_disabled():
                writer.line(line)
                writer.flush()
        else:
            writer.line(line)

    return show
