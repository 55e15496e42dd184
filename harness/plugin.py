"""qgate's pytest plugin: turns a pytest session over `suites/<name>` into SuiteResults.

Inert unless `--env NAME` is given, so the harness's own tests are unaffected. With it:
- loads and validates the environment (a config error is one line: pytest.UsageError);
- defaults pytest-base-url's `--base-url` to the environment's base_url;
- provides the fixtures `harness_config`, `evidence` and `qgate_run_dir`;
- records every test's final outcome (a pass after a rerun is *flaky*), the evidence
  tests attached through `evidence`, and collection errors;
- at session end writes `<run-dir>/suites/<suite>.json`. Run standalone (no
  `--qgate-run-dir`), it also judges and writes the full run record and reports.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.results import (
    Artifact,
    Coverage,
    Finding,
    SuiteResult,
    TestCase,
    outcome_counts,
    status_from_tests,
    write_suite_result,
)

_WORKER_RUN_DIR = "qgate_run_dir"  # key in xdist's workerinput: the controller's run dir
_WORKER_BANNER = re.compile(r"^\[gw\d+\] \S+ -- Python ")  # xdist's header in failure text
_MESSAGE_LIMIT = 6000


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register qgate's options (pytest-base-url supplies --base-url)."""
    group = parser.getgroup("qgate", "qgate release gate")
    group.addoption("--env", dest="qgate_env", default=None, metavar="NAME",
                    help="qgate environment (environments/NAME.toml); enables the plugin")
    group.addoption("--qgate-run-dir", dest="qgate_run_dir", default=None, metavar="DIR",
                    help="write suite results into this run directory (set by `qgate run`)")
    group.addoption("--qgate-suite", dest="qgate_suite", default=None, metavar="NAME",
                    help="record every test under this suite name")
    group.addoption("--expect-version", dest="qgate_expect_version", default=None,
                    metavar="V", help="the version that should be deployed (smoke checks it)")
    group.addoption("--qgate-shard", dest="qgate_shard", default=None, metavar="I/N",
                    help="run only the test files of shard I of N (CI machines; see qgate merge)")
    group.addoption("--allow-production", dest="qgate_allow_production", action="store_true",
                    help="run an intrusive suite against a production environment")


@pytest.hookimpl(tryfirst=True)  # before allure-pytest reads its --alluredir
def pytest_configure(config: pytest.Config) -> None:
    """Register markers; when --env is given, load the environment and start recording."""
    config.addinivalue_line("markers", "journey(name): a critical shopper journey (e2e)")
    config.addinivalue_line("markers", "production_safe: passive (reads only); the security "
                                       "suite runs only these on production")
    name = config.getoption("qgate_env", default=None)
    if not name:
        return
    from harness.config import load_environment
    from harness.errors import HarnessError

    try:
        env = load_environment(name, base_url=config.getoption("base_url", default=None))
        if config.getoption("base_url", default=None):
            env = env.with_base_url(config.option.base_url)
    except HarnessError as exc:
        raise pytest.UsageError(exc.one_line()) from None
    config.option.base_url = env.base_url
    refuse_disallowed_suites(env, suites_in_args(config),
                             config.getoption("qgate_allow_production"))
    worker_input = getattr(config, "workerinput", None)
    given = config.getoption("qgate_run_dir") or (worker_input or {}).get(_WORKER_RUN_DIR)
    standalone = not given
    if given:
        run_dir = Path(given)
    elif worker_input is not None:
        raise pytest.UsageError("xdist worker started without qgate's run directory")
    else:
        import datetime as dt

        from harness.config import project_root, reports_dir
        from harness.policy import load_gate
        from harness.runrecord import new_run_dir
        try:  # standalone runs judge at the end: a bad gate or waiver file fails now
            load_gate(project_root(), env, today=dt.date.today())
        except HarnessError as exc:
            raise pytest.UsageError(exc.one_line()) from None
        run_dir = new_run_dir(reports_dir(), env.name)
    if getattr(config.option, "output", None) == "test-results":  # pytest-playwright default
        config.option.output = str(run_dir / "artifacts" / (config.getoption("qgate_suite")
                                                             or "tests"))
    if config.pluginmanager.hasplugin("allure_pytest") and not getattr(
            config.option, "allure_report_dir", None):
        # suites record through allure-pytest into the run (steps, attachments, labels)
        config.option.allure_report_dir = str(run_dir / "allure-results")
    # SIGTERM (qgate stopping the suite) unwinds like Ctrl-C: engines stop the locust and
    # wapiti processes they started, and leave a ZAP daemon clean (harness.processes)
    from harness.processes import interrupt_on_sigterm
    config.add_cleanup(interrupt_on_sigterm())
    recorder = Recorder(config, env, run_dir.resolve(), standalone)
    config.stash[_RECORDER] = recorder
    config.pluginmanager.register(recorder, "qgate-recorder")
    if config.pluginmanager.has_plugin("playwright"):
        import harness.e2e.fixtures as e2e_fixtures
        config.pluginmanager.register(e2e_fixtures, "qgate-e2e-fixtures")
    _load_project_conftest(config)


def _load_project_conftest(config: pytest.Config) -> None:
    """Load the project's root `conftest.py` (where a team overrides fixtures) even when the
    suites run from the installed package, outside the project folder pytest would search."""
    from harness.config import project_root

    path = project_root() / "conftest.py"
    if not path.is_file() or any(
            getattr(p, "__file__", None) and Path(p.__file__).resolve() == path.resolve()
            for p in config.pluginmanager.get_plugins()):
        return
    import importlib.util

    spec = importlib.util.spec_from_file_location("qgate_project_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config.pluginmanager.register(module, f"qgate-project-conftest:{path}")


def suites_in_args(config: pytest.Config) -> set[str]:
    """The suites a session may run: --qgate-suite, else every `suites/<name>` its arguments
    reach — a file or folder inside one suite, `suites` itself, or a folder holding `suites/`
    (such as `.`)."""
    fixed = config.getoption("qgate_suite")
    if fixed:
        return {fixed}
    found: set[str] = set()
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        parts = path.parts
        if "suites" in parts[:-1]:
            found.add(parts[parts.index("suites") + 1])
            continue
        folder = path if path.name == "suites" else path / "suites"
        if folder.is_dir():
            found |= {p.name for p in folder.iterdir() if p.is_dir() and
                      not p.name.startswith(("_", "."))}
    return found


def refuse_disallowed_suites(env: Any, suites: set[str], allow_production: bool) -> None:
    """The environment's allow-list and production protection, as a pytest usage error.

    Tests outside `suites/<name>` cannot be shown to be production-safe, so on production
    they are refused too (fail closed).
    """
    from harness.config import SUITE_SETTINGS
    from harness.errors import HarnessError, ProductionRefused

    try:
        unknown = sorted(suites - set(SUITE_SETTINGS))
        if env.production and unknown and not allow_production:
            raise ProductionRefused(
                f"environment '{env.name}' is production; refusing tests outside qgate's "
                f"suites ({', '.join(unknown)}): they cannot be shown to be read-only",
                hint="run `qgate smoke`, or pass --allow-production (recorded in the report)")
        env.refuse_disallowed(sorted(suites & set(SUITE_SETTINGS)),
                              allow_production=allow_production)
    except HarnessError as exc:
        raise pytest.UsageError(exc.one_line()) from None


@dataclass
class _TestState:
    """What the recorder knows about one test so far.

    A test starts as an error ("no outcome recorded") and becomes `passed` only when its
    call phase reports a pass: a crash that never reports (or xdist's `when="???"` report
    for a crashed worker) can never read as a pass.
    """

    suite: str
    name: str
    outcome: str = "error"
    duration_s: float = 0.0
    attempts: int = 1
    message: str = "no outcome was recorded for this test (its process may have crashed)"
    step: str = ""
    steps: list[str] = field(default_factory=list)
    not_applicable: str = ""
    measured_s: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)


class Recorder:
    """Collects outcomes and evidence during the session; writes SuiteResults at the end."""

    def __init__(self, config: pytest.Config, env: Any, run_dir: Path, standalone: bool) -> None:
        self.config = config
        self.env = env
        self.run_dir = run_dir
        self.standalone = standalone
        self.fixed_suite: str | None = config.getoption("qgate_suite")
        self.tests: dict[str, _TestState] = {}
        self.metrics: dict[str, dict[str, float]] = {}
        self.collect_errors: dict[str, list[str]] = {}
        self.findings: dict[str, list[Finding]] = {}
        self.unmeasured: dict[str, dict[str, str]] = {}
        self.notes: dict[str, list[str]] = {}
        self.series: dict[str, dict[str, list[tuple[float, float]]]] = {}
        self.coverage: dict[str, dict[str, Coverage]] = {}
        self.samples: dict[str, dict[str, int]] = {}
        self.saturated: dict[str, str] = {}
        self.suite_artifacts: dict[str, list[Artifact]] = {}
        self.suite_details: dict[str, dict[str, Any]] = {}
        self.explanations: dict[str, dict[str, str]] = {}
        self.started = time.time()
        self.started_at = ""
        self.written: list[SuiteResult] = []
        self.refused = False

    def suite_of(self, nodeid: str) -> str:
        """The suite a test belongs to: --qgate-suite, else `suites/<name>/...`."""
        if self.fixed_suite:
            return self.fixed_suite
        parts = nodeid.replace("\\", "/").split("::")[0].split("/")
        if "suites" in parts[:-1]:
            return parts[parts.index("suites") + 1]
        return "tests"

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        """Refuse what the environment does not allow, judged on the tests actually collected
        (a second net behind the arguments check); label them for Allure; then apply
        --qgate-shard I/N."""
        try:
            refuse_disallowed_suites(self.env, {self.suite_of(i.nodeid) for i in items},
                                     config.getoption("qgate_allow_production"))
        except pytest.UsageError:
            self.refused = True
            raise
        for item in items:  # Allure groups results as qgate → suite → module
            item.add_marker(pytest.mark.allure_label("qgate", label_type="parentSuite"))
            item.add_marker(pytest.mark.allure_label(self.suite_of(item.nodeid),
                                                     label_type="suite"))
        shard = config.getoption("qgate_shard")
        if not shard:
            return
        from harness.errors import HarnessError
        from harness.merge import parse_shard, shard_of
        try:
            index, count = parse_shard(shard)
        except HarnessError as exc:
            raise pytest.UsageError(exc.one_line()) from None
        keep = [i for i in items if shard_of(i.nodeid.split("::")[0], count) == index]
        dropped = [i for i in items if i not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """pytest-xdist: every worker records into the controller's run directory."""
        node.workerinput[_WORKER_RUN_DIR] = str(self.run_dir)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Note the start time."""
        from harness.runrecord import now_iso
        self.started_at = now_iso()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Remember collection errors: the suite could not run those tests."""
        if report.failed:
            text = str(report.longrepr)[-_MESSAGE_LIMIT:]
            self.collect_errors.setdefault(self.suite_of(report.nodeid), []).append(
                f"collection error in {report.nodeid}: {text}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold setup/call/teardown (and reruns) reports into one final outcome per test.

        Goes by `report.outcome` the way pytest's own reporters do; a phase qgate does not
        expect (xdist reports a crashed worker with `when="???"`) is an error, never a pass.
        """
        state = self.tests.get(report.nodeid)
        if state is None:
            name = report.nodeid.split("::", 1)[-1]
            state = self.tests[report.nodeid] = _TestState(self.suite_of(report.nodeid), name)
        self._evidence(state, report)
        state.duration_s += report.duration
        if report.outcome == "rerun":  # pytest-rerunfailures: a failed attempt, retried
            state.attempts += 1
            state.message = f"attempt {state.attempts - 1} failed: " + _text(report)
            state.outcome = "error"  # the next attempt must report its own outcome
            return
        if report.when not in ("setup", "call", "teardown"):
            state.outcome = "error"
            state.message = (f"pytest reported an unexpected phase {report.when!r} "
                             f"({report.outcome}): " + _text(report))
            return
        if report.skipped:
            if report.when == "teardown":
                return
            if state.not_applicable:
                state.outcome, state.message = "not_applicable", state.not_applicable
            else:
                state.outcome, state.message = "skipped", _skip_reason(report)
            return
        if report.failed:
            # a suite's own hook said the harness could not judge (e2e: a rate limiter
            # answered): an error naming why, never a product failure
            cannot = next((str(v) for k, v in reversed(report.user_properties)
                           if k == "qgate.error"), "")
            if cannot and report.when in ("setup", "call"):
                state.outcome, state.message = "error", f"{cannot}\n\n{_text(report)}"[
                    :_MESSAGE_LIMIT]
            elif report.when == "call":
                state.outcome, state.message = "failed", _text(report)
            elif report.when == "setup":
                state.outcome, state.message = "error", _text(report)
            elif state.outcome in ("passed", "flaky"):
                state.outcome, state.message = "error", "teardown failed: " + _text(report)
            return
        if report.when == "call":  # the one phase whose pass makes the test pass
            state.outcome = "flaky" if state.attempts > 1 else "passed"
            if state.outcome == "passed":
                state.message = ""

    def _evidence(self, state: _TestState, report: pytest.TestReport) -> None:
        seen = {(a.path, a.kind) for a in state.artifacts}
        for key, raw in report.user_properties:
            value: Any = raw
            if key == "qgate.metric":
                self._metric(state.suite, report.nodeid, value)
            elif key == "qgate.artifact":
                path = Path(value["path"])
                rel = os.path.relpath(path, self.run_dir) if path.is_absolute() else str(path)
                if (rel, value["kind"]) not in seen:
                    state.artifacts.append(Artifact(rel, value["kind"], value.get("label", ""),
                                                    report.nodeid, state.attempts))
                    seen.add((rel, value["kind"]))
            elif key == "qgate.step":
                state.step = str(value)  # "" = between steps: a failure now is in no step
                if value and str(value) not in state.steps:
                    state.steps.append(str(value))
            elif key == "qgate.finding":
                finding = Finding(**value)
                if finding not in self.findings.setdefault(state.suite, []):
                    self.findings[state.suite].append(finding)
            elif key == "qgate.unmeasured":
                self.unmeasured.setdefault(state.suite, {})[value["metric"]] = value["reason"]
            elif key == "qgate.coverage":
                cov = Coverage(**(value | {"covers": tuple(value.get("covers", ()))}))
                self.coverage.setdefault(state.suite, {})[cov.key] = cov
            elif key == "qgate.samples":
                self.samples.setdefault(state.suite, {})[value["metric"]] = int(value["count"])
            elif key == "qgate.saturated":
                self.saturated[state.suite] = str(value)
            elif key == "qgate.explain":
                self.explanations.setdefault(state.suite, {})[value["metric"]] = _redact(
                    str(value["text"]), self.env)
            elif key == "qgate.series":
                self.series.setdefault(state.suite, {})[value["name"]] = [
                    (float(t), float(v)) for t, v in value["points"]]
            elif key == "qgate.note":
                if value not in self.notes.setdefault(state.suite, []):
                    self.notes[state.suite].append(str(value))
            elif key == "qgate.not_applicable":
                state.not_applicable = str(value)
            elif key == "qgate.duration":
                state.measured_s = float(value)
            elif key == "qgate.details":
                state.details.update(value)

    def _metric(self, suite: str, nodeid: str, value: Any) -> None:
        """Keep the worst (max) sample of a metric; a non-number is a harness error."""
        name = str(value.get("name", ""))
        try:
            number = float(value["value"])
        except (TypeError, ValueError, KeyError):
            self.collect_errors.setdefault(suite, []).append(
                f"{nodeid} reported metric {name!r} with a non-numeric value "
                f"{value.get('value')!r}")
            return
        if number != number:  # NaN: not a measurement
            self.unmeasured.setdefault(suite, {})[name] = f"{nodeid} measured NaN"
            return
        suite_metrics = self.metrics.setdefault(suite, {})
        suite_metrics[name] = max(number, suite_metrics.get(name, number))

    def add_suite_evidence(self, suite: str, *, note: str = "",
                           artifact: tuple[Path, str, str] | None = None,
                           metric: tuple[str, float] | None = None,
                           details: dict[str, Any] | None = None) -> None:
        """Evidence about the whole suite, gathered after its tests ran (a suite's own
        `pytest_sessionfinish`, before the results are written): a note, an artifact
        (path, kind, label), a metric, or structured details for the writers."""
        if details:
            self.suite_details.setdefault(suite, {}).update(details)
        if note and note not in self.notes.setdefault(suite, []):
            self.notes[suite].append(note)
        if artifact is not None:
            path, kind, label = artifact
            rel = os.path.relpath(path, self.run_dir) if path.is_absolute() else str(path)
            self.suite_artifacts.setdefault(suite, []).append(Artifact(rel, kind, label))
        if metric is not None:
            self.metrics.setdefault(suite, {})[metric[0]] = float(metric[1])

    def results(self, exitstatus: int) -> list[SuiteResult]:
        """One SuiteResult per suite seen (or the fixed suite, even with no tests)."""
        suites = {s.suite for s in self.tests.values()} | set(self.collect_errors)
        if self.fixed_suite:
            suites.add(self.fixed_suite)
        duration = time.time() - self.started
        out = []
        for suite in sorted(suites):
            tests = tuple(
                TestCase(id=nodeid, name=s.name, outcome=s.outcome,  # type: ignore[arg-type]
                         duration_s=round(s.duration_s if s.measured_s is None
                                          else s.measured_s, 3),
                         details=dict(s.details),
                         message=_redact(s.message, self.env), attempts=s.attempts, step=s.step,
                         steps=tuple(s.steps))
                for nodeid, s in self.tests.items() if s.suite == suite)
            artifacts = tuple(a for s in self.tests.values() if s.suite == suite
                              for a in s.artifacts) + tuple(self.suite_artifacts.get(suite, ()))
            error = "\n".join(self.collect_errors.get(suite, []))
            if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR,
                              pytest.ExitCode.USAGE_ERROR):
                error = error or f"pytest stopped early (exit status {int(exitstatus)})"
            elif exitstatus == pytest.ExitCode.TESTS_FAILED and not any(
                    s.outcome in ("failed", "error") for s in self.tests.values()):
                error = error or ("pytest reported failures (exit status 1) that qgate did not "
                                  "record; see the pytest output")
            status = "error" if error else status_from_tests(tests)
            metrics = outcome_counts(suite, tests) | self.metrics.get(suite, {})
            engine = "pytest + pytest-playwright" if suite == "e2e" else "pytest"
            out.append(SuiteResult(suite=suite, status=status,  # type: ignore[arg-type]
                                   duration_s=round(duration, 3), engine=engine,
                                   started_at=self.started_at, metrics=metrics,
                                   findings=tuple(self.findings.get(suite, ())),
                                   artifacts=artifacts, tests=tests,
                                   error=_redact(error, self.env),
                                   unmeasured=dict(self.unmeasured.get(suite, {})),
                                   notes=tuple(self.notes.get(suite, ())),
                                   series=dict(self.series.get(suite, {})),
                                   coverage=tuple(self.coverage.get(suite, {}).values()),
                                   samples=dict(self.samples.get(suite, {})),
                                   saturated=self.saturated.get(suite, ""),
                                   details=dict(self.suite_details.get(suite, {})),
                                   explanations=dict(self.explanations.get(suite, {}))))
        return out

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the suite results (controller only); standalone runs also judge."""
        if hasattr(self.config, "workerinput"):
            return
        if self.refused or self.config.option.collectonly:  # nothing ran: leave no run behind
            if self.standalone and not any(self.run_dir.joinpath("suites").iterdir()):
                import shutil
                shutil.rmtree(self.run_dir, ignore_errors=True)
            return
        secrets = self.env.secret_values()
        self.written = self.results(exitstatus)
        for result in self.written:
            write_suite_result(self.run_dir, result, secrets)
        allure_dir = getattr(self.config.option, "allure_report_dir", None)
        if allure_dir and Path(allure_dir).is_dir():
            from harness.redaction import scrub_folder
            scrub_folder(Path(allure_dir), secrets)
        if self.standalone:
            from harness.runner import finish_run
            override = bool(self.env.production and
                            self.config.getoption("qgate_allow_production"))
            self.record = finish_run(self.env, self.run_dir, [r.suite for r in self.written],
                                     started_at=self.started_at, production_override=override,
                                     shard=self.config.getoption("qgate_shard") or "",
                                     expected_version=self.config.getoption(
                                         "qgate_expect_version") or "",
                                     load_profile=self.config.getoption(
                                         "load_profile", default=None) or "")
            # the same verdict as `qgate run`, with qgate's exit codes
            session.exitstatus = int(self.record.verdict.exit_code)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Show where the evidence went (and the verdict, when standalone)."""
        if hasattr(self.config, "workerinput"):
            return
        terminalreporter.write_sep("-", "qgate")
        for result in self.written:
            terminalreporter.write_line(
                f"{result.suite}: {result.status} -> {self.run_dir / 'suites' / result.suite}.json")
        record = getattr(self, "record", None)
        if record is not None:
            from harness.report.console import render_console
            terminalreporter.write_line(render_console(record, self.run_dir / "report.html"))


_RECORDER = pytest.StashKey[Recorder]()


def _text(report: pytest.TestReport) -> str:
    """The failure's one-line cause first, then the traceback (without xdist's worker banner)."""
    full = "\n".join(line for line in report.longreprtext.splitlines()
                     if not _WORKER_BANNER.match(line)).strip()
    crash = getattr(getattr(report.longrepr, "reprcrash", None), "message", "")
    text = f"{crash.strip()}\n\n{full}" if crash else full
    return text[:_MESSAGE_LIMIT]


def _skip_reason(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return f"expected to fail (xfail){': ' + report.wasxfail if report.wasxfail else ''}"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _redact(text: str, env: Any) -> str:
    from harness.redaction import redact
    return redact(text, env.secret_values())


class NotApplicable(pytest.skip.Exception):  # type: ignore[misc, name-defined]
    """Raised (via `not_applicable`) when the environment declares a test's concept absent.

    Reported as `not_applicable`, not `skipped`: the shop has no such concept, so the test is
    not required, unlike an adapter gap (`Unsupported`) which is missing evidence.
    """


def not_applicable(reason: str) -> None:
    """Stop the running test as not applicable; `reason` should name the declaring key."""
    raise NotApplicable(f"not applicable: {reason}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Tag a report whose phase raised NotApplicable, so the recorder tells it from a skip."""
    report = yield
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(NotApplicable):
        reason = str(getattr(excinfo.value, "msg", excinfo.value))
        report.user_properties.append(("qgate.not_applicable",
                                       reason.removeprefix("not applicable: ")))
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    """pytest's own summary counts a not-applicable test as such, not as a skip."""
    if report.skipped and any(k == "qgate.not_applicable" for k, _ in report.user_properties):
        return "not applicable", "n", "N/A"
    return None


class Evidence:
    """What a test hands to the gate: metrics, findings and artifact files (xdist-safe).

    Everything travels in the test report's `user_properties`, so it reaches the recorder
    from xdist workers too. Tests collect evidence; they never judge (no thresholds here).
    """

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    def metric(self, name: str, value: float, unit: str = "", *,
               samples: int | None = None) -> None:
        """Record a metric sample; the suite's value is the max over all samples.

        `samples`: how many observations stand behind the value (requests behind a p95,
        orders behind a rate); below the policy's minimum the verdict does not judge it.
        """
        self._node.user_properties.append(
            ("qgate.metric", {"name": name, "value": value, "unit": unit}))
        if samples is not None:
            self.samples(name, samples)

    def samples(self, metric: str, count: int) -> None:
        """Say how many observations stand behind `metric`."""
        self._node.user_properties.append(("qgate.samples",
                                           {"metric": metric, "count": int(count)}))

    def coverage(self, key: str, observed: float, minimum: float, *, what: str = "",
                 detail: str = "", hint: str = "", covers: tuple[str, ...] = ()) -> None:
        """Say how much of the target the suite exercised (`harness.results.Coverage`):
        below `minimum` the figures it covers are not judged and the run is INCONCLUSIVE."""
        from dataclasses import asdict
        self._node.user_properties.append(("qgate.coverage", asdict(Coverage(
            key, float(observed), float(minimum), what, detail, hint, tuple(covers)))))

    def saturated(self, reason: str) -> None:
        """Say the measuring machine was saturated (`reason`: which figure, how much): a
        latency objective missed during the run is then not judged as the product's."""
        self._node.user_properties.append(("qgate.saturated", reason))

    def explain(self, metric: str, text: str) -> None:
        """Say what went wrong behind `metric` (which requests failed, how): a criterion on
        it that fails quotes `text` in its reason."""
        self._node.user_properties.append(("qgate.explain", {"metric": metric, "text": text}))

    def artifact(self, path: str | Path, kind: str, label: str = "") -> None:
        """Attach a file as evidence to this test (and to its Allure result)."""
        self._node.user_properties.append(
            ("qgate.artifact", {"path": str(Path(path).resolve()), "kind": kind,
                                "label": label}))
        if getattr(self._node.config.option, "allure_report_dir", None):
            import allure
            allure.attach.file(str(path), name=label or kind,
                               extension=Path(path).suffix.lstrip(".") or None)

    def step(self, name: str) -> None:
        """Name the step in progress, so a failure report says where it broke ("" = none)."""
        self._node.user_properties.append(("qgate.step", name))

    def duration(self, seconds: float) -> None:
        """The test's own duration, when its work ran in a shared batch (smoke checks run
        together in one fixture; each test reports its check's own time)."""
        self._node.user_properties.append(("qgate.duration", float(seconds)))

    def details(self, **observations: Any) -> None:
        """Structured observations for writers (JSON values): HTTP status, latency, …"""
        self._node.user_properties.append(("qgate.details", observations))

    def finding(self, finding: Finding) -> None:
        """Record a finding (security alert, PII match, broken invariant) for the suite."""
        from dataclasses import asdict
        self._node.user_properties.append(("qgate.finding", asdict(finding)))

    def unmeasured(self, metric: str, reason: str) -> None:
        """Say `metric` could not be measured meaningfully (the verdict: INCONCLUSIVE)."""
        self._node.user_properties.append(("qgate.unmeasured",
                                           {"metric": metric, "reason": reason}))

    def series(self, name: str, points: list[tuple[float, float]]) -> None:
        """Attach a time series for the report's charts: [(t_seconds, value), …]."""
        self._node.user_properties.append(
            ("qgate.series", {"name": name, "points": [[float(t), float(v)] for t, v in points]}))

    def note(self, text: str) -> None:
        """Context worth showing with the suite (an early abort, the profile used)."""
        self._node.user_properties.append(("qgate.note", text))


def recorder_of(config: pytest.Config) -> Recorder:
    """The session's recorder; a usage error when the session was started without --env."""
    recorder = config.stash.get(_RECORDER, None)
    if recorder is None:
        raise pytest.UsageError("qgate suites need --env NAME (e.g. --env demo)")
    return recorder


def environment_of(config: pytest.Config) -> Any:
    """The `harness.config.Environment` a session runs against (for collection-time hooks)."""
    return recorder_of(config).env


@pytest.fixture(scope="session")
def harness_config(pytestconfig: pytest.Config) -> Any:
    """The loaded `harness.config.Environment` (requires --env)."""
    return environment_of(pytestconfig)


@pytest.fixture(scope="session")
def qgate_run_dir(pytestconfig: pytest.Config) -> Path:
    """The run directory this session writes its evidence into."""
    return recorder_of(pytestconfig).run_dir


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Attach metrics, artifacts and the current step to the running test."""
    return Evidence(request.node)


@pytest.fixture(scope="session")
def expected_version(pytestconfig: pytest.Config) -> str | None:
    """--expect-version, when given."""
    value: str | None = pytestconfig.getoption("qgate_expect_version")
    return value
