"""wapiti: its real JSON reports normalised, a command held to the target and bounded, and
one real (short) scan against a demo store with the xss-search fault."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.policy import GatePolicy
from harness.results import SuiteResult, TestCase
from harness.security.scan import ScanOutcome, ScanTarget, Seeds, seeds_from_requests
from harness.security.settings import SecuritySettings
from harness.security.wapiti import WapitiEngine, parse_report, plan_modules, scan_coverage
from harness.verdict import judge

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
    """(Credentials are not on the command line: see the launcher test below.)"""
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
                   ("--detailed-report", "1"), ("-f", "json")):
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


# --- coverage (issue 16 item 8), leaks (item 19) -------------------------------------------

#: wapiti 3.2.3's own words (wapitiCore/controller/wapiti.py) for a module cut by its bound
CUT_LOG = "\n".join(
    ["[*] Wapiti found 66 URLs and forms during the scan", "[*] Launching module xss"]
    + [f"[+] GET http://shop.test/p/{i}?q=1 (1)" for i in range(7)]
    + ["Max attack time was reached for module xss, stopping.",
       "[*] Launching module http_headers", "[+] GET http://shop.test/ (0)",
       "[*] Generating report..."])


def _judged(outcome: ScanOutcome) -> Any:
    """The verdict on a security suite whose only evidence is this scan."""
    result = SuiteResult("security", "passed", 1.0, "pytest", metrics=outcome.metrics,
                         tests=(TestCase("s::test_scan", "test_scan", "passed", 1.0),),
                         findings=outcome.findings, coverage=outcome.coverage)
    return judge({"security": result}, GatePolicy(), [], environment="staging",
                 required=("security",), today=dt.date(2026, 12, 7))


def test_a_module_cut_at_its_time_limit_is_said_and_leaves_the_scan_unmeasured() -> None:
    """The crawl found 66 pages (all 200, one 429); xss stopped after 7: said, not judged."""
    pages = [{"request": {"url": f"http://shop.test/p/{i}", "status_code": 200}}
             for i in range(65)] + [{"request": {"url": "http://shop.test/x",
                                                 "status_code": 429}}]
    report = {"infos": {"crawled_pages_nbr": 66, "crawled_pages": pages}}
    covered = scan_coverage(report, CUT_LOG, ("xss", "http_headers"))
    assert (covered.pages, covered.pages_2xx, covered.cut) == (66, 65, ("xss",))
    assert covered.attacked == {"xss": 7, "http_headers": 1}
    assert covered.status_mix() == "200 ×65, 429 ×1"
    outcome = ScanOutcome("wapiti", (), coverage=covered.records("http://shop.test",
                                                                 SecuritySettings()))
    verdict = _judged(outcome)
    assert verdict.decision == "INCONCLUSIVE"
    row = next(r for r in verdict.criteria if "modules that finished" in r.name)
    assert "xss stopped at its time limit after 7 of 66 crawled requests" in row.reason
    assert "max_attack_time_s" in row.reason


@pytest.fixture
def stub_site() -> Iterator[Any]:
    """`start(status)`: a small site of the test's own answering `status` to everything."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int) -> str:
        class Handler(BaseHTTPRequestHandler):
            seen: list[dict[str, str]] = []

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                body = (b"<html><a href='/a?q=1'>a</a><form action='/s'><input name=q>"
                        b"</form></html>" if status == 200 else b"Request blocked by WAF")
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_SHORT = SecuritySettings(active_scan=True, modules=["xss", "http_headers"],
                          max_scan_time_s=4, max_attack_time_s=4)


def test_real_scan_of_a_waf_answering_403_is_inconclusive(stub_site: Any, tmp_path: Path,
                                                          ) -> None:
    """A real wapiti scan of a WAF that answers 403 everywhere: no 2xx page, INCONCLUSIVE.

    The staging's token header reaches the WAF but neither the kept report, the log nor the
    artifacts folder (wapiti's session database stores every request's headers)."""
    base = stub_site(403)
    target = ScanTarget(base, headers={"X-Staging-Token": "tok-4f9a2c"})
    outcome = WapitiEngine(_SHORT, target).scan(Seeds(), tmp_path / "scan", lambda _: None)
    verdict = _judged(outcome)
    assert verdict.decision == "INCONCLUSIVE"
    row = next(r for r in verdict.criteria if "answered 2xx" in r.name)
    assert row.outcome == "error" and "403 ×" in row.reason and "WAF" in row.reason
    assert outcome.metrics["security.scan.pages_2xx"] == 0
    kept = sorted(p.name for p in (tmp_path / "scan").rglob("*") if p.is_file())
    assert kept == ["report.json", "wapiti.log"]  # no session database among the artifacts
    for path in (tmp_path / "scan").rglob("*"):
        assert "tok-4f9a2c" not in path.read_text(errors="replace"), path


def test_real_scan_of_a_closed_port_is_inconclusive(tmp_path: Path) -> None:
    """wapiti exits 0 with an empty report when nothing listens: that is no evidence."""
    target = ScanTarget(f"http://127.0.0.1:{_closed_port()}")
    outcome = WapitiEngine(_SHORT, target).scan(Seeds(), tmp_path / "scan", lambda _: None)
    verdict = _judged(outcome)
    assert verdict.decision == "INCONCLUSIVE"
    row = next(r for r in verdict.criteria if "answered 2xx" in r.name)
    assert "reached no page" in row.reason and "0 pages crawled" in row.reason


def test_credentials_reach_wapiti_through_a_private_file_not_its_command_line(
        tmp_path: Path) -> None:
    """`ps` shows the command line to every user: the basic auth and token stay off it."""
    target = ScanTarget("https://shop.example", basic_auth=("qa", "pw-77aa"),
                        headers={"X-Staging-Token": "t0k-99"})
    engine = WapitiEngine(SecuritySettings(), target)
    engine.executable = str(Path(__file__).resolve().parents[2] / ".scanner-venv" / "bin"
                            / "wapiti")
    cmd = engine.command(plan_modules(SecuritySettings(), False), tmp_path / "w", Seeds(),
                         tmp_path)
    launched = engine.launch_command(cmd, tmp_path)
    assert not any("pw-77aa" in a or "t0k-99" in a for a in launched)
    args_file = tmp_path / "args.json"
    assert (args_file.stat().st_mode & 0o777) == 0o600
    assert json.loads(args_file.read_text()) == [
        "--auth-user", "qa", "--auth-password", "pw-77aa", "--auth-method", "basic",
        "-H", "X-Staging-Token: t0k-99"]
    assert launched[1] == "-c" and launched[3] == str(args_file)
