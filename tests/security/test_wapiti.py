"""wapiti: its real JSON reports normalised, a command held to the target and bounded, and
one real (short) scan against a demo store with the xss-search fault."""

from __future__ import annotations

import json
from pathlib import Path

from harness.security.scan import ScanTarget, Seeds, seeds_from_requests
from harness.security.settings import SecuritySettings
from harness.security.wapiti import WapitiEngine, parse_report, plan_modules

DATA = Path(__file__).parent / "data"


def report(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_vulnerabilities_become_findings() -> None:
    findings = parse_report(report("wapiti-report-xss-search.json"))
    xss = next(f for f in findings if f.rule_id == "wapiti.reflected-cross-site-scripting")
    assert (xss.severity, xss.cwe, xss.wstg, xss.parameter, xss.location) == (
        "medium", "CWE-79", "WSTG-INPV-01", "q", "http://127.0.0.1:37051/search")
    assert xss.reproduce.startswith('curl "http://127.0.0.1:37051/search?q=')
    assert xss.source == "wapiti (xss)"
    assert "Reflected Cross Site Scripting vulnerability found via injection" in xss.evidence


def test_anomalies_are_findings_too() -> None:
    """A 500 that wapiti's payloads provoke (the demo's old CSRF comparison bug) is a finding."""
    findings = parse_report(report("wapiti-report-provoked-500.json"))
    errors = [f for f in findings if f.rule_id == "wapiti.internal-server-error"]
    assert {f.location.rsplit("/", 1)[1] for f in errors} == {"location", "login", "signup"}
    assert {f.severity for f in errors} == {"high"}
    assert all(f.reproduce.startswith("curl ") for f in errors)


def test_command_is_scoped_bounded_and_keeps_probes_on_loopback(tmp_path: Path) -> None:
    settings = SecuritySettings(active_scan=True, max_scan_time_s=20, max_attack_time_s=7,
                                exclude=["/static/*", "/*?sort=*"], remove_params=["sort"])
    target = ScanTarget("https://shop.example:8443", basic_auth=("qa", "pw"),
                        headers={"X-Staging-Token": "t0k"})
    engine = WapitiEngine(settings, target)
    seeds = seeds_from_requests([], target.base_url)
    cmd = engine.command(plan_modules(settings, False), tmp_path, seeds)
    pairs = list(zip(cmd, cmd[1:], strict=False))
    for option in (("-u", "https://shop.example:8443/"), ("--scope", "folder"),
                   ("--max-scan-time", "20"), ("--max-attack-time", "7"),
                   ("--endpoint", "http://127.0.0.1:9/"), ("--dns-endpoint", "127.0.0.1"),
                   ("-x", "https://shop.example:8443/static/*"),
                   ("-x", "https://shop.example:8443/*?sort=*"), ("-r", "sort"),
                   ("--auth-user", "qa"), ("--auth-method", "basic"),
                   ("-H", "X-Staging-Token: t0k"), ("-f", "json")):
        assert option in pairs, option
    assert "--no-bugreport" in cmd  # nothing is sent to wapiti's servers
    # crawl + 7 modules x 7 s (x 1.25 margin) + 120 s: a stuck scanner is stopped
    assert engine.wall_clock_limit(plan_modules(settings, False)) == 20 + 7 * 7 * 1.25 + 120


def test_attack_modules_are_opt_in_and_never_on_production() -> None:
    active = SecuritySettings(active_scan=True)
    assert "xss" in plan_modules(active, production=False).modules
    on_production = plan_modules(active, production=True)
    assert on_production.passive_only and set(on_production.modules) == {
        "http_headers", "cookieflags", "csp"}
    assert plan_modules(SecuritySettings(), production=False).passive_only  # default: off


def test_real_scan_finds_the_xss_on_search(tmp_path: Path) -> None:
    """A real wapiti run (short bounds, two modules) against the demo's xss-search fault."""
    from demostore.process import start_store

    settings = SecuritySettings(active_scan=True, modules=["xss", "http_headers"],
                                max_scan_time_s=10, max_attack_time_s=10,
                                exclude=["/static/*", "/p/*", "/c/*"])
    with start_store(faults=("xss-search",)) as store:
        engine = WapitiEngine(settings, ScanTarget(store.base_url))
        assert engine.prepare().startswith("3.")
        lines: list[str] = []
        outcome = engine.scan(Seeds(), tmp_path / "scan", lines.append)
    xss = [f for f in outcome.findings if f.cwe == "CWE-79"]
    assert [f.location for f in xss] == [f"{store.base_url}/search"]
    assert outcome.metrics["security.scan.pages"] > 0
    assert "wapiti: launching module xss" in lines
    assert (tmp_path / "scan" / "report.json").is_file()
