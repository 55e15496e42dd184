"""wapiti3, the embedded default scanner: run as a bounded subprocess, JSON report normalised.

wapiti lives in its own virtualenv (`.scanner-venv/`, made by `make setup`) because its
pinned dependencies clash with qgate's. The scan is held to the target (`--scope folder` of
base_url), bounded on both sides (`--max-scan-time` bounds only the crawl, so
`--max-attack-time` bounds each attack module, and a wall-clock limit stops a stuck
process), and its out-of-band endpoints point at loopback (`--endpoint`, `--dns-endpoint`)
so no probe or DNS query leaves the machine. Both the report's vulnerabilities and its
anomalies (a 500 an attacker can provoke) become findings.

How much the scan covered is evidence too (`scan_coverage`): the pages it crawled and their
status mix (from the report's `crawled_pages`, `--detailed-report 1`), the requests each
module attacked and whether it stopped at its time limit (from wapiti's output). The
staging's credentials never reach the command line (visible in `ps`): they go through a
private file that a small launcher reads and deletes; wapiti's session database (which
stores every request's headers) lives in a private temporary folder, deleted after the scan.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from harness.errors import ToolMissing
from harness.processes import stop_process_group
from harness.redaction import redact
from harness.results import Coverage, Finding, Severity
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
_MODULE_START = re.compile(r"^\[\*\] Launching module (\S+)")
_MODULE_CUT = re.compile(r"^Max attack time was reached for module (\S+), stopping")
_CRAWL_CUT = "Max scan time was reached"
# Runs wapiti with arguments read (then deleted) from a private file: credentials passed as
# arguments would show in `ps` for every user of the machine.
_LAUNCHER = (
    "import json, os, sys\n"
    "path = sys.argv[1]\n"
    "with open(path, encoding='utf-8') as f:\n"
    "    extra = json.load(f)\n"
    "os.unlink(path)\n"
    "sys.argv = ['wapiti'] + sys.argv[2:] + extra\n"
    "from wapitiCore.main.wapiti import wapiti_asyncio_wrapper\n"
    "sys.exit(wapiti_asyncio_wrapper())\n")


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

    def command(self, plan: WapitiPlan, workdir: Path, seeds: Seeds,
                private: Path | None = None) -> list[str]:
        """The wapiti command line for this target, without its credentials
        (`secret_arguments`); session and config go to `private` (default: `workdir`)."""
        s = self.settings
        private = private or workdir
        base = self.target.base_url.rstrip("/") + "/"
        cmd = [self.executable or "wapiti", "-u", base, "--scope", "folder",
               "-m", ",".join(plan.modules),
               "--max-scan-time", f"{s.max_scan_time_s:g}",
               "--max-attack-time", f"{s.max_attack_time_s:g}",
               "--endpoint", LOOPBACK_ENDPOINT, "--dns-endpoint", LOOPBACK_DNS,
               "-t", f"{s.request_timeout_s:g}",
               "-f", "json", "-o", str(workdir / "report.json"),
               "--detailed-report", "1",
               "--store-session", str(private / "session"),
               "--store-config", str(private / "config"),
               "--flush-session", "--no-bugreport", "-v", "1"]
        for pattern in s.exclude:
            cmd += ["-x", _absolute(pattern, base)]
        for param in s.remove_params:
            cmd += ["-r", param]
        if seeds.get_urls:
            start = workdir / "start-urls.txt"
            start.write_text("\n".join(seeds.get_urls) + "\n", encoding="utf-8")
            cmd += ["-s", str(start)]
        if seeds.openapi:
            spec = workdir / "seeds-openapi.json"
            spec.write_text(json.dumps(seeds.openapi), encoding="utf-8")
            cmd += ["--swagger", str(spec)]
        return cmd

    def secret_arguments(self) -> list[str]:
        """The staging's basic auth and headers, as wapiti arguments (kept off `ps`)."""
        args: list[str] = []
        if self.target.basic_auth:
            user, password = self.target.basic_auth
            args += ["--auth-user", user, "--auth-password", password, "--auth-method", "basic"]
        for name, value in self.target.headers.items():
            args += ["-H", f"{name}: {value}"]
        return args

    def launch_command(self, cmd: list[str], private: Path) -> list[str]:
        """`cmd` run so that the credentials reach wapiti through a private file, read and
        deleted at start; a wapiti that is not a Python script gets them as arguments."""
        secret = self.secret_arguments()
        if not secret:
            return cmd
        python = _interpreter(cmd[0])
        if not python:
            return cmd + secret
        args_file = private / "args.json"
        fd = os.open(args_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(secret, f)
        return [python, "-c", _LAUNCHER, str(args_file), *cmd[1:]]

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
        limit = self.wall_clock_limit(plan)
        log_path = workdir / "wapiti.log"
        progress(f"wapiti: crawling {self.target.base_url} (≤ {self.settings.max_scan_time_s:g} s)"
                 f", then modules {', '.join(plan.modules)} (≤ "
                 f"{self.settings.max_attack_time_s:g} s each)")
        started = time.monotonic()
        # wapiti's session database keeps every request's headers (the staging's auth): it
        # lives outside the artifacts and is deleted whatever happens
        private = Path(tempfile.mkdtemp(prefix="qgate-wapiti-"))
        try:
            cmd = self.command(plan, workdir, seeds, private)
            code = self._run(self.launch_command(cmd, private), private, log_path, limit,
                             progress)
        finally:
            shutil.rmtree(private, ignore_errors=True)
        elapsed = time.monotonic() - started
        secrets = _all_secrets(self.target)
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
        # the curl lines wapiti writes carry the staging's auth headers: scrubbed here too
        findings = tuple(dataclasses.replace(f, evidence=redact(f.evidence, secrets),
                                             reproduce=redact(f.reproduce, secrets))
                         for f in parse_report(report))
        _redact_file(report_path, secrets)
        infos = report.get("infos", {})
        covered = scan_coverage(report, log_path.read_text(encoding="utf-8", errors="replace"),
                                plan.modules)
        pages = float(infos.get("crawled_pages_nbr") or 0)
        notes = [f"{infos.get('version') or self.version}: crawled {int(pages)} pages in scope "
                 f"{infos.get('scope', 'folder')}, modules {', '.join(plan.modules)}; "
                 f"{elapsed:.0f} s", covered.summary()]
        if covered.crawl_cut:
            notes.append(f"the crawl stopped at its time limit (security.max_scan_time_s = "
                         f"{self.settings.max_scan_time_s:g} s): pages beyond it were not "
                         "scanned")
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
                     "security.scan.passive_only": float(plan.passive_only),
                     "security.scan.pages_2xx": float(covered.pages_2xx),
                     "security.scan.requests_attacked": float(sum(covered.attacked.values()))},
            notes=tuple(notes),
            coverage=covered.records(self.target.base_url, self.settings),
            artifacts=((report_path, "report", "wapiti JSON report"),
                       (log_path, "log", "wapiti output")))

    def _run(self, cmd: list[str], private: Path, log_path: Path, limit: float,
             progress: Progress) -> int:
        env = {**os.environ, "HOME": str(private / "home")}
        (private / "home").mkdir(exist_ok=True)
        timed_out = threading.Event()
        with log_path.open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, env=env, cwd=private, start_new_session=True,
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


@dataclass(frozen=True)
class ScanCoverage:
    """What a wapiti scan reached: crawled pages by status, requests each module attacked,
    the modules that stopped at their time limit, and whether the crawl did."""

    statuses: dict[str, int]
    attacked: dict[str, int]
    modules: tuple[str, ...]
    cut: tuple[str, ...]
    crawl_cut: bool

    @property
    def pages(self) -> int:
        """Pages (URLs and forms) the crawl found."""
        return sum(self.statuses.values())

    @property
    def pages_2xx(self) -> int:
        """Crawled pages that answered 2xx: the only ones whose content was scanned."""
        return sum(n for code, n in self.statuses.items() if code.startswith("2"))

    def status_mix(self) -> str:
        """`200 ×12, 403 ×3` (`none` = found but never fetched)."""
        return ", ".join(f"{code} ×{n}" for code, n in sorted(self.statuses.items())) or "none"

    def summary(self) -> str:
        """One line for the notes."""
        modules = ", ".join(f"{m} {self.attacked.get(m, 0)}" + (" (time limit)"
                                                               if m in self.cut else "")
                            for m in self.modules)
        return (f"coverage: {self.pages} pages crawled ({self.status_mix()}); requests "
                f"attacked per module: {modules or 'none'}")

    def records(self, base_url: str, settings: SecuritySettings) -> tuple[Coverage, ...]:
        """The coverage the verdict judges: at least one 2xx page, every module finished."""
        statuses = {int(c) for c in self.statuses if c.isdigit()}
        if not self.pages:
            hint = (f"the scanner reached no page of {base_url}: is the target up, base_url "
                    "right and its port open?")
        elif statuses and statuses <= {401, 403, 407}:
            hint = ("every page was refused: a WAF or the staging's auth stops the scanner "
                    "— declare [auth] or allow-list the scanner's address")
        elif 429 in statuses:
            hint = ("a rate limiter answered 429: allow-list the scanner's address or lower "
                    "the scan's pace")
        else:
            hint = "check base_url and security.exclude: nothing in scope answered 2xx"
        pages = Coverage("security.scan.pages_2xx", float(self.pages_2xx), 1.0,
                         what="crawled pages that answered 2xx",
                         detail=f"{self.pages} pages crawled: {self.status_mix()}", hint=hint,
                         covers=("security.scan.",))
        cut = [f"{m} stopped at its time limit after {self.attacked.get(m, 0)} of "
               f"{self.pages} crawled requests" for m in self.cut]
        modules = Coverage(
            "security.scan.modules_finished", float(len(self.modules) - len(self.cut)),
            float(len(self.modules)), what="scan modules that finished within their time limit",
            detail="; ".join(cut) or f"{len(self.modules)} modules finished",
            hint=(f"raise security.max_attack_time_s (now {settings.max_attack_time_s:g} s) or "
                  "crawl less (security.exclude, security.remove_params)"),
            covers=("security.scan.",))
        return (pages, modules)


def scan_coverage(report: dict[str, Any], log: str, modules: tuple[str, ...]) -> ScanCoverage:
    """Count what a scan reached from its report (`crawled_pages`) and its output."""
    infos = report.get("infos", {}) or {}
    statuses: Counter[str] = Counter()
    for page in infos.get("crawled_pages") or []:
        code = (page.get("request") or {}).get("status_code")
        statuses[str(code) if code is not None else "none"] += 1
    if not infos.get("crawled_pages") and infos.get("crawled_pages_nbr"):
        statuses["unknown"] += int(infos["crawled_pages_nbr"])
    attacked: Counter[str] = Counter()
    cut: list[str] = []
    current = ""
    crawl_cut = False
    for line in log.splitlines():
        if line.startswith(_CRAWL_CUT) and not current:
            crawl_cut = True
        elif started := _MODULE_START.match(line):
            current = started.group(1)
            attacked[current] += 0
        elif stopped := _MODULE_CUT.match(line):
            cut.append(stopped.group(1))
        elif current and line.startswith("[+] "):
            attacked[current] += 1
    return ScanCoverage(dict(statuses), dict(attacked), tuple(modules),
                        tuple(dict.fromkeys(cut)), crawl_cut)


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


def _interpreter(executable: str) -> str:
    """The Python that runs the `wapiti` script (its shebang), or "" when it is not one."""
    try:
        with open(executable, "rb") as f:
            first = f.readline(512).decode("utf-8", errors="replace").strip()
    except OSError:
        return ""
    if first.startswith("#!") and "python" in first:
        parts = first[2:].split()
        return parts[-1] if parts[0].endswith("/env") and len(parts) > 1 else parts[0]
    return ""


def _all_secrets(target: ScanTarget) -> tuple[str, ...]:
    """The target's secrets plus its auth as sent on the wire (header values, the basic
    password and the `user:password` base64 token)."""
    extra = [v for v in target.headers.values() if len(v) >= 4]
    if target.basic_auth:
        user, password = target.basic_auth
        extra += [password, base64.b64encode(f"{user}:{password}".encode()).decode()]
    return tuple(sorted({*target.secrets, *(e for e in extra if e)}, key=len, reverse=True))


def _redact_file(path: Path, secrets: tuple[str, ...]) -> None:
    if path.is_file():
        text = path.read_text(encoding="utf-8", errors="replace")
        clean = redact(text, secrets)
        if clean != text:
            path.write_text(clean, encoding="utf-8")


