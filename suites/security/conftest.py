"""The security suite: the environment's scanner (wapiti or ZAP) plus the checks no scanner
does. Every check sends only what `[security]` declares; on production only the tests marked
`production_safe` run (the others are not applicable there), and the scanner stays passive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.plugin import not_applicable
from harness.results import Finding
from harness.security.checks import ClientFactory, NotDeclared, Problem, make_clients
from harness.security.rules import Rules
from harness.security.scan import Engine, ScanTarget
from harness.security.settings import SecuritySettings

# The scan attacks the login form and the API: it runs after the checks, so its failed
# log-ins cannot rate-limit the checks' own sign-ups and log-ins.
_LAST = "test_scan.py::test_scan"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the scanner's prepare step first and the (long) scan last."""
    first = [i for i in items if i.nodeid.endswith("test_scan.py::test_scanner_ready")]
    last = [i for i in items if i.nodeid.endswith(_LAST)]
    items[:] = first + [i for i in items if i not in first and i not in last] + last


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
    """On production only `production_safe` tests run; the rest are not applicable there."""
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
