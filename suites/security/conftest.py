"""The security suite: the environment's scanner (wapiti or ZAP) plus the checks no scanner
does. Every check sends only what `[security]` declares; on production only the tests marked
`production_safe` run (the others are not applicable there), and the scanner stays passive.

A check that did not run is no pass. Each test module here is one check, its key the module's
name without `test_` (`test_csrf.py` -> `csrf`; `@pytest.mark.security_check("key")` names
another): a new check registers itself by being a module of this folder. The environment's
`security.required_checks` (default: all) must each have run, or be declared not applicable
in `[security.not_applicable]` with a reason; after the last test the suite records how many
did as its coverage, so a missing one makes the run INCONCLUSIVE naming the key to declare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.plugin import Evidence, not_applicable
from harness.results import Finding
from harness.security.checks import ClientFactory, NotDeclared, Problem, make_clients
from harness.security.rules import Rules
from harness.security.scan import Engine, ScanTarget
from harness.security.session import CheckRuns, check_key
from harness.security.settings import SecuritySettings

# The scan attacks the login form and the API: it runs after the checks, so its failed
# log-ins cannot rate-limit the checks' own sign-ups and log-ins.
_LAST = "test_scan.py::test_scan"


class _CheckTracker:
    """Which check each test belongs to and how it ended; the coverage after the last test."""

    def __init__(self) -> None:
        self.runs = CheckRuns()
        self.settings: SecuritySettings | None = None
        self.last = ""  # the last security test: its teardown records the coverage

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Note how each check's tests ended (ran, not applicable, skipped and why)."""
        if report.nodeid not in self.runs.keys:
            return
        self.runs.reported(report.nodeid, report.when, report.outcome,
                           any(k == "qgate.not_applicable" for k, _ in report.user_properties),
                           _reason(report))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        """After the last test: which required checks ran, as the suite's coverage."""
        if item.nodeid != self.last or self.settings is None:
            return
        cov = self.runs.coverage(self.settings.required_checks, self.settings.not_applicable)
        Evidence(item).coverage(cov.key, cov.observed, cov.minimum, what=cov.what,
                                detail=cov.detail, hint=cov.hint, covers=cov.covers)


_TRACKER = "qgate-security-checks"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker naming a test's check, and the tracker of which checks ran."""
    config.addinivalue_line("markers", "security_check(key): the check this test belongs to "
                                       "(default: its module's name without test_)")
    if not config.pluginmanager.has_plugin(_TRACKER):
        config.pluginmanager.register(_CheckTracker(), _TRACKER)


def _tracker(config: pytest.Config) -> _CheckTracker:
    plugin = config.pluginmanager.get_plugin(_TRACKER)
    assert isinstance(plugin, _CheckTracker)
    return plugin


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the scanner's prepare step first and the (long) scan last."""
    first = [i for i in items if i.nodeid.endswith("test_scan.py::test_scanner_ready")]
    last = [i for i in items if i.nodeid.endswith(_LAST)]
    items[:] = first + [i for i in items if i not in first and i not in last] + last


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note each selected test's check (every selected check is required by default)."""
    tracker = _tracker(session.config)
    here = Path(__file__).parent
    for item in session.items:
        if here not in item.path.parents:
            continue
        marker = item.get_closest_marker("security_check")
        tracker.runs.collected(item.nodeid, str(marker.args[0]) if marker and marker.args
                               else check_key(item.nodeid))
        tracker.last = item.nodeid


@dataclass
class Security:
    """What every security test needs: settings, target, rules, HTTP clients."""

    env: Any
    settings: SecuritySettings
    target: ScanTarget
    rules: Rules
    clients: ClientFactory
    root: Path
    run_dir: Path

    def record(self, evidence: Any, findings: list[Finding]) -> list[Finding]:
        """Give the findings their rules-file levels and attach them as evidence."""
        leveled = list(self.rules.apply(findings))
        for finding in leveled:
            evidence.finding(finding)
        return leveled

    def run(self, check: Callable[..., list[Problem]], evidence: Any) -> list[Problem]:
        """Run a portable check; undeclared -> skipped with the reason (no evidence)."""
        try:
            problems = check(self.target, self.settings, self.clients)
        except NotDeclared as exc:
            pytest.skip(f"not declared: {exc}")
        self.record(evidence, [p.finding for p in problems])
        return problems


@pytest.fixture(scope="session")
def security(harness_config: Any, qgate_run_dir: Path, pytestconfig: pytest.Config) -> Security:
    """The environment's security settings, target and rules file."""
    from harness.security.session import rules_for, scan_target

    settings: SecuritySettings = harness_config.suite_settings("security")
    root = Path(str(pytestconfig.rootpath))
    target = scan_target(harness_config)
    return Security(harness_config, settings, target,
                    rules_for(settings, root, harness_config.file),
                    make_clients(target, settings), root, qgate_run_dir)


@pytest.fixture(autouse=True)
def _passive_only_on_production(request: pytest.FixtureRequest, harness_config: Any) -> None:
    """On production only `production_safe` tests run; the rest are not applicable there.
    A check the environment declares not applicable (`[security.not_applicable]`) is too."""
    settings: SecuritySettings = harness_config.suite_settings("security")
    _tracker(request.config).settings = settings
    key = _tracker(request.config).runs.key_of(request.node.nodeid)
    if key in settings.not_applicable:
        not_applicable(f"security.not_applicable.{key}: {settings.not_applicable[key]}")
    if harness_config.production and request.node.get_closest_marker("production_safe") is None:
        not_applicable("production: passive checks only (security.passive_on_production)")


@pytest.fixture(scope="session")
def progress(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Print a progress line past pytest's capture (a scan takes minutes)."""
    started: list[bool] = []

    def show(line: str) -> None:
        capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        reporter = pytestconfig.pluginmanager.getplugin("terminalreporter")
        if reporter is None:
            return
        text = ("" if started else "\n") + f"  {line}\n"  # off the line of progress dots
        started.append(True)
        if capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write(text)
        else:
            reporter.write(text)
    return show


@pytest.fixture(scope="session")
def engine(security: Security) -> Engine:
    """The configured scanner, prepared (tool found / daemon reachable) — seconds."""
    from harness.security.session import make_engine

    chosen = make_engine(security.settings, security.target)
    chosen.prepare()
    return chosen
