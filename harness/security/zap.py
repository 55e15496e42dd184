"""ZAP through its Python API client (`zapv2`, PyPI `zaproxy`): a daemon next to the gate.

The engine connects to a running ZAP (URL + API key from the environment's secrets), limits
everything to a context holding only the target, reaches a protected staging through ZAP's
replacer (the declared auth headers, scoped to the target's URLs), seeds the site tree with
the e2e suite's recorded requests (HAR import through a shared folder, or replayed through
ZAP's proxy), spiders (and AJAX-spiders when enabled), waits for the passive scan, runs the
active scan only when opted in and never on production, and collects the alerts as
normalised findings. Every wait is bounded by the settings' time limits.

Each run starts a fresh ZAP session, so alerts of an earlier run (or of a run that failed
half-way) are never read as this run's. What the engine adds to the daemon (its context,
the auth replacer rules, its spider and active scans) is removed on every exit path,
whatever failed. How much it covered is evidence: the URLs the spider found in scope and
their status mix, and each phase (spider, AJAX spider, passive scan, active scan) finished
or stopped at its time limit; below the minimum the verdict leaves the scan unjudged.
"""

from __future__ import annotations

import base64
import re
import shlex
import shutil
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import ToolMissing
from harness.redaction import MASK, SENSITIVE_HEADERS
from harness.results import Coverage, Finding, Severity
from harness.security.scan import Progress, ScanError, ScanOutcome, ScanTarget, Seeds
from harness.security.settings import SecuritySettings

T = TypeVar("T")
_RISK: dict[str, Severity] = {"informational": "info", "info": "info", "low": "low",
                              "medium": "medium", "high": "high"}
_SOURCE = {"1": "active", "2": "manual", "3": "passive"}
# ApiException codes ZAP answers with (the client hands back the first JSON value)
_API_ERRORS = frozenset({
    "bad_api_key", "no_access", "bad_action", "bad_view", "bad_type", "bad_format",
    "missing_parameter", "illegal_parameter", "url_not_found", "does_not_exist",
    "already_exists", "internal_error", "context_not_found", "url_not_in_context",
    "scan_in_progress", "disabled", "bad_state", "bad_external_data", "mode_violation",
    "no_implementor"})
_WSTG_TAG = re.compile(r"^WSTG-v\d+-([A-Z]+-\d+)$")
_ALERT_PAGE = 500
_MAX_MESSAGES = 200


class ZapEngine:
    """Drives one ZAP daemon for one target."""

    name = "zap"

    def __init__(self, settings: SecuritySettings, target: ScanTarget, *,
                 poll_s: float = 2.0) -> None:
        self.settings = settings
        self.target = target
        self.poll_s = poll_s
        self.zap: Any = None
        self.version = ""

    # --- life cycle -------------------------------------------------------------------

    def prepare(self) -> str:
        """Connect to the daemon and read its version (unreachable or bad key: ScanError)."""
        try:
            from zapv2 import ZAPv2
        except ImportError:
            raise ToolMissing("the ZAP API client (zapv2) is not installed",
                              hint="pip install 'qcommerce-harness[security]'") from None
        url = self.settings.zap_url
        self.zap = ZAPv2(apikey=self.settings.zap_api_key or None,
                         proxies={"http": url, "https": url})
        self.version = str(self._call("core.version", lambda: self.zap.core.version))
        return self.version

    def scan(self, seeds: Seeds, workdir: Path, progress: Progress) -> ScanOutcome:
        """Fresh session, context, auth, seeds, spider(s), passive wait, optional active scan,
        alerts; everything added to the daemon is removed again, on every exit path."""
        if self.zap is None:
            self.prepare()
        zap, s, base = self.zap, self.settings, self.target.base_url.rstrip("/")
        started = time.monotonic()
        notes = [f"ZAP {self.version} at {s.zap_url}"]
        # a fresh session: alerts from earlier runs are never read as this run's
        self._expect_ok("core.newSession", lambda: zap.core.new_session(
            name=f"qgate-{uuid.uuid4().hex[:8]}", overwrite="true"))
        context = f"qgate-{uuid.uuid4().hex[:8]}"
        added = _Added()
        phases: dict[str, bool] = {}
        active = s.active_scan and not self.target.production
        try:
            context_id = self._expect_digit("context.newContext",
                                            lambda: zap.context.new_context(context))
            added.context = context
            scope = "^" + re.escape(base) + "(/.*)?$"
            self._expect_ok("context.includeInContext",
                            lambda: zap.context.include_in_context(context, scope))
            for pattern in s.exclude:
                regex = "^" + re.escape(base) + _glob_to_regex(pattern)
                self._expect_ok("context.excludeFromContext",
                                partial(zap.context.exclude_from_context, context, regex))
            self._add_auth_rules(scope, added.rules)
            seeded = self._seed(seeds, workdir, progress)
            if seeded:
                notes.append(seeded)
            progress(f"zap: spidering {base} (≤ {s.max_scan_time_s:g} s)")
            spider = self._expect_digit("spider.scan", lambda: zap.spider.scan(
                url=base + "/", recurse="true", contextname=context, subtreeonly="true"))
            added.spiders.append(spider)
            phases["spider"] = self._wait("spider", lambda: int(zap.spider.status(spider)) >= 100,
                                          s.max_scan_time_s, stop=lambda: zap.spider.stop(spider))
            statuses = self._spider_statuses(spider)
            if s.zap_ajax_spider:
                progress("zap: AJAX spider")
                minutes = max(1, int(round(s.max_scan_time_s / 60)))
                self._expect_ok("ajaxSpider.setOptionMaxDuration",
                                lambda: zap.ajaxSpider.set_option_max_duration(minutes))
                self._expect_ok("ajaxSpider.scan", lambda: zap.ajaxSpider.scan(
                    url=base + "/", contextname=context, subtreeonly="true"))
                added.ajax = True
                phases["AJAX spider"] = self._wait(
                    "AJAX spider", lambda: str(zap.ajaxSpider.status).lower() != "running",
                    s.max_scan_time_s, stop=lambda: zap.ajaxSpider.stop())
                added.ajax = not phases["AJAX spider"]
            progress("zap: waiting for the passive scan")
            phases["passive scan"] = self._wait(
                "passive scan", lambda: int(zap.pscan.records_to_scan) == 0, s.max_scan_time_s)
            if active:
                progress(f"zap: active scan (≤ {s.max_attack_time_s:g} s)")
                ascan = self._expect_digit("ascan.scan", lambda: zap.ascan.scan(
                    url=base + "/", recurse="true", contextid=context_id))
                added.ascans.append(ascan)
                phases["active scan"] = self._wait(
                    "active scan", lambda: int(zap.ascan.status(ascan)) >= 100,
                    s.max_attack_time_s, stop=lambda: zap.ascan.stop(ascan))
                phases["passive scan"] &= self._wait(
                    "passive scan", lambda: int(zap.pscan.records_to_scan) == 0,
                    s.max_scan_time_s)
            else:
                notes.append("production: passive checks only" if self.target.production
                             else "active_scan is off: spider and passive scan only")
            alerts = self._alerts(base)
            findings = tuple(self._finding(a, messages)
                             for messages in [self._messages(alerts)] for a in alerts)
        finally:
            left = self._clean_up(added)
        if left:
            notes.append("ZAP clean-up failed (remove by hand): " + "; ".join(left))
        elapsed = time.monotonic() - started
        cut = [name for name, finished in phases.items() if not finished]
        if cut:
            notes.append("stopped at its time limit: " + ", ".join(cut))
        ok = sum(n for code, n in statuses.items() if code.startswith("2"))
        mix = ", ".join(f"{code} ×{n}" for code, n in sorted(statuses.items())) or "none"
        found = sum(statuses.values())
        notes.append(f"coverage: the spider found {found} URLs in scope ({mix})")
        coverage = (
            Coverage("security.scan.pages_2xx", float(ok), 1.0,
                     what="spidered pages that answered 2xx",
                     detail=f"{found} URLs in scope: {mix}",
                     hint=(f"the spider found nothing at {base}: check base_url, the [auth] "
                           "and that ZAP can reach the target") if not found else
                     "every page was refused or failed: a WAF, rate limiter or the staging's "
                     "auth stops ZAP — declare [auth] or allow-list ZAP's address",
                     covers=("security.scan.",)),
            Coverage("security.scan.phases_finished", float(len(phases) - len(cut)),
                     float(len(phases)), what="scan phases that finished within their limit",
                     detail=("stopped at the limit: " + ", ".join(cut)) if cut
                     else ", ".join(phases),
                     hint=(f"raise security.max_scan_time_s (now {s.max_scan_time_s:g} s) / "
                           f"max_attack_time_s (now {s.max_attack_time_s:g} s) or exclude "
                           "paths (security.exclude)"),
                     covers=("security.scan.",)))
        return ScanOutcome(
            engine=self.name, findings=findings,
            metrics={"security.scan.duration_s": round(elapsed, 1),
                     "security.scan.alerts": float(len(alerts)),
                     "security.scan.pages": float(found),
                     "security.scan.pages_2xx": float(ok),
                     "security.scan.passive_only": float(not active)},
            notes=tuple(notes), coverage=coverage)

    def _spider_statuses(self, spider: str) -> dict[str, int]:
        """The status mix of the URLs the spider found in scope (`spider/view/fullResults`)."""
        full = self._call("spider.fullResults", lambda: self.zap.spider.full_results(spider))
        statuses: dict[str, int] = {}
        for part in full if isinstance(full, list) else []:
            for url in (part.get("urlsInScope") or []) if isinstance(part, dict) else []:
                code = str(url.get("statusCode") or "none")
                statuses[code] = statuses.get(code, 0) + 1
        return statuses

    # --- steps ------------------------------------------------------------------------

    def _add_auth_rules(self, scope: str, added: list[str]) -> None:
        """Replacer rules adding the staging's auth headers to requests to the target only
        (each noted in `added` as soon as it exists, so a failure half-way removes it)."""
        headers = dict(self.target.headers)
        if self.target.basic_auth:
            user, password = self.target.basic_auth
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        for name, value in headers.items():
            description = f"qgate auth {name} {uuid.uuid4().hex[:6]}"
            added.append(description)  # removing a rule that was never added is harmless
            self._expect_ok("replacer.addRule", partial(
                self.zap.replacer.add_rule, description=description, enabled="true",
                matchtype="REQ_HEADER", matchregex="false", matchstring=name,
                replacement=value, url=scope))

    def _seed(self, seeds: Seeds, workdir: Path, progress: Progress) -> str:
        s = self.settings
        if not seeds.requests:
            return ""
        if s.zap_shared_dir and seeds.har_files:
            shared = Path(s.zap_shared_dir)
            seen_by_daemon = s.zap_shared_dir_in_daemon or s.zap_shared_dir
            for i, har in enumerate(seeds.har_files):
                name = f"qgate-{uuid.uuid4().hex[:8]}-{i}.har"
                shutil.copyfile(har, shared / name)
                path = f"{seen_by_daemon.rstrip('/')}/{name}"
                self._expect_ok("exim.importHar", partial(self.zap.exim.import_har, path))
            return f"imported {len(seeds.har_files)} recorded HAR files into ZAP"
        progress(f"zap: replaying {len(seeds.requests)} recorded requests through ZAP")
        self._replay(seeds)
        return f"replayed {len(seeds.requests)} recorded requests through ZAP's proxy"

    def _replay(self, seeds: Seeds) -> None:
        """Send the recorded in-scope requests through ZAP, so its site tree holds them."""
        import httpx

        from harness.redaction import SENSITIVE_HEADERS as SECRET_HEADERS

        with httpx.Client(proxy=self.settings.zap_url, verify=False,
                          timeout=self.settings.request_timeout_s) as client:
            for request in seeds.requests:
                headers = {k: v for k, v in request.headers
                           if k.lower() not in SECRET_HEADERS | {"host", "content-length"}
                           and not k.startswith(":")}
                try:
                    client.request(request.method, request.url, headers=headers,
                                   content=request.body.encode() if request.body else None)
                except httpx.HTTPError as exc:
                    raise ScanError(f"replaying {request.method} {request.url} through ZAP at "
                                    f"{self.settings.zap_url} failed: {exc}") from None

    def _alerts(self, base: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start = 0
        while True:
            page = self._call("alert.alerts", partial(
                self.zap.alert.alerts, baseurl=base, start=start, count=_ALERT_PAGE))
            if not isinstance(page, list):
                raise ScanError(f"ZAP answered alert/view/alerts with {page!r}")
            out.extend(a for a in page if isinstance(a, dict))
            if len(page) < _ALERT_PAGE:
                return out
            start += _ALERT_PAGE

    def _messages(self, alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The recorded request of each alert (first ones only), for a reproducible curl."""
        ids = list(dict.fromkeys(str(a.get("messageId", "")) for a in alerts
                                 if str(a.get("messageId", "")).isdigit()))[:_MAX_MESSAGES]
        out = {}
        for message_id in ids:
            found = self._call("core.message", partial(self.zap.core.message, message_id))
            if isinstance(found, dict):
                out[message_id] = found
        return out

    def _finding(self, alert: dict[str, Any], messages: dict[str, dict[str, Any]]) -> Finding:
        plugin = str(alert.get("pluginId", ""))
        cwe = str(alert.get("cweid", "") or "")
        wstg = [f"WSTG-{m.group(1)}" for tag in (alert.get("tags") or {})
                for m in [_WSTG_TAG.match(str(tag))] if m]
        parts = [f"{label}: {alert[key]}" for key, label in
                 (("attack", "attack"), ("evidence", "evidence"), ("other", "other"))
                 if alert.get(key)]
        message = messages.get(str(alert.get("messageId", "")))
        reproduce = curl_from_message(message) if message else shlex.join(
            ["curl", "-i", "-X", str(alert.get("method") or "GET"), str(alert.get("url", ""))])
        return Finding(
            rule_id=str(alert.get("alertRef") or plugin), title=str(alert.get("name") or
                                                                    alert.get("alert", "")),
            severity=_RISK.get(str(alert.get("risk", "")).lower(), "info"),
            location=str(alert.get("url", "")), evidence="\n".join(parts),
            cwe=f"CWE-{cwe}" if cwe.isdigit() and int(cwe) > 0 else "",
            wstg=", ".join(dict.fromkeys(wstg)), confidence=str(alert.get("confidence", "")),
            parameter=str(alert.get("param", "") or ""), reproduce=reproduce,
            source=f"zap ({_SOURCE.get(str(alert.get('sourceid', '')), 'scan')})")

    def _clean_up(self, added: _Added) -> list[str]:
        """Leave the daemon as found: our scans, replacer rules and context go. Every step is
        tried whatever failed before; what could not be removed is returned, not raised (an
        error of the scan itself must not be hidden by one of its clean-up)."""
        zap = self.zap
        steps: list[tuple[str, Callable[[], Any]]] = []
        if added.ajax:
            steps.append(("ajaxSpider.stop", lambda: zap.ajaxSpider.stop()))
        steps += [("spider.removeScan", partial(zap.spider.remove_scan, i))
                  for i in added.spiders]
        steps += [("ascan.removeScan", partial(zap.ascan.remove_scan, i)) for i in added.ascans]
        steps += [("replacer.removeRule", partial(zap.replacer.remove_rule, d))
                  for d in added.rules]
        if added.context:
            context = added.context
            steps.append(("context.removeContext", lambda: zap.context.remove_context(context)))
        left = []
        for what, step in steps:
            try:
                self._call(what, step)
            except ScanError as exc:
                if "does_not_exist" not in exc.message:  # a rule never added: nothing to do
                    left.append(f"{what}: {exc.message}")
        return left

    # --- API plumbing -----------------------------------------------------------------

    def _call(self, what: str, call: Callable[[], T]) -> T:
        """One API call; an unreachable daemon or an API error code is a ScanError."""
        import requests

        try:
            value = call()
        except requests.RequestException as exc:
            raise ScanError(f"ZAP daemon at {self.settings.zap_url} is unreachable "
                            f"({type(exc).__name__})",
                            hint="start it (see harness/templates/ci/zap-compose.yml) or check "
                                 "security.zap_url") from None
        except ValueError as exc:  # not JSON: something else answers at zap_url
            raise ScanError(f"{self.settings.zap_url} did not answer {what} like a ZAP API "
                            f"({exc})", hint="check security.zap_url") from None
        if isinstance(value, str) and value in _API_ERRORS:
            hint = ("check security.zap_api_key (the daemon's api.key)" if value == "bad_api_key"
                    else "")
            raise ScanError(f"ZAP refused {what}: {value}", hint=hint)
        return value

    def _expect_digit(self, what: str, call: Callable[[], Any]) -> str:
        value = str(self._call(what, call))
        if not value.isdigit():
            raise ScanError(f"ZAP did not start {what}: it answered {value!r}")
        return value

    def _expect_ok(self, what: str, call: Callable[[], Any]) -> None:
        value = self._call(what, call)
        if str(value) != "OK":
            raise ScanError(f"ZAP refused {what}: it answered {value!r}")

    def _wait(self, what: str, done: Callable[[], bool], limit_s: float,
              stop: Callable[[], Any] | None = None) -> bool:
        """Poll until `done` (True); past `limit_s` stop the step (bounded) and go on with
        what is in (False: the phase was cut, so it did not cover everything)."""
        deadline = time.monotonic() + limit_s
        while not self._call(what, done):
            if time.monotonic() > deadline:
                if stop is not None:
                    self._call(f"{what} stop", stop)
                return False
            time.sleep(self.poll_s)
        return True


class _Added:
    """What one scan added to the daemon (so that it is removed again)."""

    def __init__(self) -> None:
        self.context = ""
        self.rules: list[str] = []
        self.spiders: list[str] = []
        self.ascans: list[str] = []
        self.ajax = False


def curl_from_message(message: dict[str, Any]) -> str:
    """A curl line from ZAP's recorded request (`core/view/message`); the session's cookies
    and auth headers are masked (a finding is kept and shared: a live session is not)."""
    head = str(message.get("requestHeader", "")).replace("\r\n", "\n").split("\n")
    method, url = (head[0].split(" ") + ["GET", ""])[:2] if head and head[0] else ("GET", "")
    parts = ["curl", "-i", "-X", method, url]
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name and name.lower() not in ("host", "content-length"):
            shown = MASK if name.strip().lower() in SENSITIVE_HEADERS else value.strip()
            parts += ["-H", f"{name.strip()}: {shown}"]
    body = str(message.get("requestBody", "") or "")
    if body:
        parts += ["--data-raw", body]
    return shlex.join(parts)


def _glob_to_regex(pattern: str) -> str:
    """A path pattern with `*` wildcards (relative to base_url) as a regex tail."""
    path = pattern if pattern.startswith("/") else "/" + pattern
    return "".join(".*" if c == "*" else re.escape(c) for c in path) + "$"
