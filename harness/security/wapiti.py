"""wapiti3, the embedded default scanner: run as a bounded subprocess, JSON report normalised.

wapiti lives in its own virtualenv (`.scanner-venv/`, made by `make setup`) because its
pinned dependencies clash with qgate's. The scan is held to the target (`--scope folder` of
base_url), bounded on both sides (`--max-scan-time` bounds only the crawl, so
`--max-attack-time` bounds each attack module, and a wall-clock limit stops a stuck
process), and its out-of-band endpoints point at loopback (`--endpoint`, `--dns-endpoint`)
so no probe or DNS query leaves the machine. Both the report's vulnerabilities and its
anomalies (a 500 an attacker can provoke) become findings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from harness.errors import ToolMissing
from harness.processes import stop_process_group
from harness.redaction import redact
from harness.results import Finding, Severity
from harness.security.scan import Progress, ScanError, ScanOutcome, ScanTarget, Seeds
from harness.security.settings import WAPITI_PASSIVE_MODULES, SecuritySettings

#: wapiti's numeric levels (wapitiCore.language.vulnerability)
_SEVERITY: dict[int, Severity] = {0: "info", 1: "low", 2: "medium", 3: "high", 4: "critical"}
_SECTIONS = ("vulnerabilities", "anomalies", "additionals")
_CWE = re.compile(r"\bCWE-(\d+)\b")
_COOKIE_LABEL = re.compile(r"(?i)cookie\s*:\s*")
# Loopback endpoints: wapiti's Log4Shell/SSRF/XXE probes and DNS queries stay on this machine.
LOOPBACK_ENDPOINT = "http://127.0.0.1:9/"
LOOPBACK_DNS = "127.0.0.1"
_PASSIVE_DEFAULT = ("http_headers", "cookieflags", "csp")


def find_wapiti() -> str:
    """The wapiti executable: `.scanner-venv/bin/wapiti` in the project (or in the checkout
    qgate is installed from), else on PATH."""
    from harness.config import project_root

    checkout = Path(__file__).resolve().parents[2]
    for root in (project_root(), checkout):
        local = root / ".scanner-venv" / "bin" / "wapiti"
        if local.is_file():
            return str(local)
    found = shutil.which("wapiti")
    if found:
        return found
    raise ToolMissing("wapiti is not installed (the security suite's default scanner)",
                      hint="run `make setup` (installs wapiti3 in .scanner-venv)")


@dataclass(frozen=True)
class WapitiPlan:
    """The modules a scan runs and why some were left out."""

    modules: tuple[str, ...]
    passive_only: bool
    reason: str = ""


def plan_modules(settings: SecuritySettings, production: bool) -> WapitiPlan:
    """Attack modules only when active scanning is opted in and the target is not production."""
    if production or not settings.active_scan:
        passive = tuple(m for m in settings.modules if m in WAPITI_PASSIVE_MODULES)
        why = ("production: passive checks only" if production
               else "active_scan is off: passive checks only")
        return WapitiPlan(passive or _PASSIVE_DEFAULT, True, why)
    return WapitiPlan(tuple(settings.modules), False)


class WapitiEngine:
    """Runs wapiti against one target and normalises its JSON report."""

    name = "wapiti"

    def __init__(self, settings: SecuritySettings, target: ScanTarget) -> None:
        self.settings = settings
        self.target = target
        self.executable = ""
        self.version = ""

    def prepare(self) -> str:
        """Find wapiti and read its version (a missing tool fails in seconds)."""
        self.executable = find_wapiti()
        try:
            proc = subprocess.run([self.executable, "--version"], capture_output=True,
                                  text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ScanError(f"wapiti at {self.executable} does not run ({exc})",
                            hint="re-run `make setup`") from None
        lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
        if proc.returncode != 0 or not lines:
            raise ScanError(f"wapiti at {self.executable} does not run (exit {proc.returncode})",
                            hint="re-run `make setup`")
        self.version = lines[-1]
        return self.version

    def command(self, plan: WapitiPlan, workdir: Path, seeds: Seeds) -> list[str]:
        """The wapiti command line for this target (secrets included: never log it raw)."""
        s = self.settings
        base = self.target.base_url.rstrip("/") + "/"
        cmd = [self.executable or "wapiti", "-u", base, "--scope", "folder",
               "-m", ",".join(plan.modules),
               "--max-scan-time", f"{s.max_scan_time_s:g}",
               "--max-attack-time", f"{s.max_attack_time_s:g}",
               "--endpoint", LOOPBACK_ENDPOINT, "--dns-endpoint", LOOPBACK_DNS,
               "-t", f"{s.request_timeout_s:g}",
               "-f", "json", "-o", str(workdir / "report.json"),
               "--store-session", str(workdir / "session"),
               "--store-config", str(workdir / "config"),
               "--flush-session", "--no-bugreport", "-v", "1"]
        for pattern in s.exclude:
            cmd += ["-x", _absolute(pattern, base)]
        for param in s.remove_params:
            cmd += ["-r", param]
        if self.target.basic_auth:
            user, password = self.target.basic_auth
            cmd += ["--auth-user", user, "--auth-password", password, "--auth-method", "basic"]
        for name, value in self.target.headers.items():
            cmd += ["-H", f"{name}: {value}"]
        if seeds.get_urls:
            start = workdir / "start-urls.txt"
            start.write_text("\n".join(seeds.get_urls) + "\n", encoding="utf-8")
            cmd += ["-s", str(start)]
        if seeds.openapi:
            spec = workdir / "seeds-openapi.json"
            spec.write_text(json.dumps(seeds.openapi), encoding="utf-8")
            cmd += ["--swagger", str(spec)]
        return cmd

    def wall_clock_limit(self, plan: WapitiPlan) -> float:
        """The most a scan may take before it is stopped: crawl + every module + margin."""
        s = self.settings
        return s.max_scan_time_s + len(plan.modules) * s.max_attack_time_s * 1.25 + 120.0

    def scan(self, seeds: Seeds, workdir: Path, progress: Progress) -> ScanOutcome:
        """Crawl and check (and attack, when allowed) the target; normalise the report."""
        if not self.executable:
            self.prepare()
        plan = plan_modules(self.settings, self.target.production)
        workdir.mkdir(parents=True, exist_ok=True)
        cmd = self.command(plan, workdir, seeds)
        limit = self.wall_clock_limit(plan)
        log_path = workdir / "wapiti.log"
        progress(f"wapiti: crawling {self.target.base_url} (≤ {self.settings.max_scan_time_s:g} s)"
                 f", then modules {', '.join(plan.modules)} (≤ "
                 f"{self.settings.max_attack_time_s:g} s each)")
        started = time.monotonic()
        code = self._run(cmd, workdir, log_path, limit, progress)
        elapsed = time.monotonic() - started
        secrets = self.target.secrets
        _redact_file(log_path, secrets)
        report_path = workdir / "report.json"
        if code != 0 or not report_path.is_file():
            tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace")
                             .splitlines()[-15:])
            raise ScanError(f"wapiti exited with code {code} and no report; last output:\n"
                            f"{tail}")
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ScanError(f"wapiti's report {report_path} is not JSON ({exc})") from None
        # findings are redacted when the suite result is written; the raw file now
        findings = parse_report(report)
        _redact_file(report_path, secrets)
        infos = report.get("infos", {})
        pages = float(infos.get("crawled_pages_nbr") or 0)
        notes = [f"{infos.get('version') or self.version}: crawled {int(pages)} pages in scope "
                 f"{infos.get('scope', 'folder')}, modules {', '.join(plan.modules)}; "
                 f"{elapsed:.0f} s"]
        if plan.reason:
            notes.append(plan.reason)
        if seeds.get_urls or seeds.openapi:
            notes.append(f"seeded with {len(seeds.get_urls)} recorded GET URLs and "
                         f"{_count_operations(seeds.openapi)} recorded API requests "
                         f"(from {len(seeds.har_files)} HAR files)")
        return ScanOutcome(
            engine=self.name, findings=findings,
            metrics={"security.scan.pages": pages, "security.scan.duration_s": round(elapsed, 1),
                     "security.scan.seeded_requests": float(
                         len(seeds.get_urls) + _count_operations(seeds.openapi)),
                     "security.scan.passive_only": float(plan.passive_only)},
            notes=tuple(notes),
            artifacts=((report_path, "report", "wapiti JSON report"),
                       (log_path, "log", "wapiti output")))

    def _run(self, cmd: list[str], workdir: Path, log_path: Path, limit: float,
             progress: Progress) -> int:
        env = {**os.environ, "HOME": str(workdir / "home")}
        (workdir / "home").mkdir(exist_ok=True)
        timed_out = threading.Event()
        with log_path.open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, env=env, cwd=workdir, start_new_session=True,
                                    stdin=subprocess.DEVNULL, errors="replace")

            def stop() -> None:  # a silent, stuck scanner is stopped too
                timed_out.set()
                stop_process_group(proc)

            watchdog = threading.Timer(limit, stop)
            watchdog.start()
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    log.write(line)
                    if line.startswith("[*] Launching module"):
                        progress("wapiti: " + line.strip()[4:].lower())
                code = proc.wait()
            finally:
                watchdog.cancel()
                stop_process_group(proc)
        if timed_out.is_set():
            raise ScanError(f"wapiti did not finish within {limit:.0f} s (crawl bound "
                            f"{self.settings.max_scan_time_s:g} s + attack bounds); stopped",
                            hint="lower security.max_scan_time_s / max_attack_time_s or the "
                                 "number of modules")
        return code


def parse_report(report: dict[str, Any]) -> tuple[Finding, ...]:
    """Normalise wapiti's JSON report (vulnerabilities, anomalies, additionals) to Findings."""
    target = str(report.get("infos", {}).get("target", ""))
    classifications = report.get("classifications", {})
    out: list[Finding] = []
    for section in _SECTIONS:
        for category, items in (report.get(section) or {}).items():
            info = classifications.get(category, {})
            cwe = next((m.group(1) for ref in info.get("ref", {}) for m in [_CWE.search(ref)]
                        if m), "")
            for item in items or []:
                wstg = item.get("wstg") or info.get("wstg") or []
                out.append(Finding(
                    rule_id=rule_id(category), title=category,
                    severity=_SEVERITY.get(int(item.get("level", 0) or 0), "info"),
                    location=urljoin(target, str(item.get("path", ""))),
                    # "cookie : name" reads like a credential to the redactor; say it plainly
                    evidence=_COOKIE_LABEL.sub("cookie named ", str(item.get("info", ""))).strip(),
                    cwe=f"CWE-{cwe}" if cwe else "",
                    wstg=", ".join(str(w) for w in wstg),
                    parameter=str(item.get("parameter", "") or ""),
                    reproduce=str(item.get("curl_command") or item.get("http_request") or ""),
                    source=f"wapiti ({item.get('module', section)})"))
    return tuple(out)


def rule_id(category: str) -> str:
    """qgate's stable id for a wapiti finding category, e.g. `wapiti.sql-injection`."""
    return "wapiti." + re.sub(r"[^a-z0-9]+", "-", category.lower()).strip("-")


def _absolute(pattern: str, base: str) -> str:
    if pattern.startswith(("http://", "https://")):
        return pattern
    return base.rstrip("/") + "/" + pattern.lstrip("/")


def _count_operations(openapi: dict[str, Any] | None) -> int:
    return sum(len(ops) for ops in (openapi or {}).get("paths", {}).values())


def _redact_file(path: Path, secrets: tuple[str, ...]) -> None:
    if path.is_file():
        text = path.read_text(encoding="utf-8", errors="replace")
        clean = redact(text, secrets)
        if clean != text:
            path.write_text(clean, encoding="utf-8")


