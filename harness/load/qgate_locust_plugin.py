"""Loaded by locust next to the team's locustfile (`-f theirs.py,qgate_locust_plugin.py`).

It never changes what the locustfile does; it only
- adds the environment's auth (basic credentials, extra headers) to every request of
  `HttpUser` and `FastHttpUser` clients, so a protected staging needs no edit to the file;
- refuses requests to any origin other than the target (`--host`): load goes to the target
  only, and a redirect to another origin (a login wall, an SSO provider) is not followed: the
  request fails with "qgate refused the redirect…" and counts as an answer from elsewhere;
- counts answers per request name: final status, redirects (status before → after, and
  whether they ended on another origin or a login page), 401/403, rate-limited answers (429,
  or 503 with Retry-After) with the limiter's headers, the response times of the answers
  that were not the shop's (rate limited, refused redirects: "excused", left out of its
  error ratios and percentiles), and the failures' messages with a body excerpt; across
  workers (locust's report_to_master / worker_report events);
- prints one `QGATE_PROGRESS {json}` line per second from the master (or the single
  process), for the harness's live progress, early abort and request bound;
- writes the counts to $QGATE_LOAD_EXTRAS when locust quits.

Configured through environment variables set by `harness.load.engine` (workers started on
other machines get the same ones, see loadprofiles/distributed/). Imports of locust and
gevent are inside `_install` so the harness's import rules hold for this file too.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any
from urllib.parse import urlsplit

PROGRESS_PREFIX = "QGATE_PROGRESS "
_MAX_NAMES = 200  # a locustfile that names every URL apart would flood the progress line
_MAX_COUNTED_NAMES = 1000  # … and the counts


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class OffTargetRequest(Exception):
    """A locustfile asked for a URL outside the target; qgate does not send it."""


def _refused_redirect(base: type, code: int, location: str) -> Exception:
    """The error of a redirect to another origin that qgate did not follow, as the client's
    own error class (`base`) so that locust reports it as the request's failure."""
    error = base(f"qgate refused the redirect ({code}) to {location}: not the target")
    error.qgate_redirect = (code, location)  # type: ignore[attr-defined]
    return error


def _off_target(url: str, base_url: str = "") -> bool:
    """Whether `url` is on another origin than the load's target (counted when it is)."""
    target = os.environ.get("QGATE_LOAD_TARGET") or base_url
    if not target or _origin(url) == _origin(target):
        return False
    COUNTS.off_target += 1
    COUNTS.off_target_example = COUNTS.off_target_example or url
    return True


#: a redirect that lands on one of these paths is a login wall, not the page asked for
#: (generic web words, not one shop's routes)
_LOGIN_PATH = re.compile(r"(?i)/(log-?in|sign-?in|sso|auth(orize)?|session/new|oauth2?|saml|cas)"
                         r"(/|$|\?|\.)")
#: the headers a rate limiter answers with (IETF RateLimit fields, the X- variants, Retry-After)
_LIMITER_HEADERS = re.compile(r"(?i)^(retry-after|(x-)?rate-?limit(-[a-z]+)?)$")
_MAX_MESSAGES = 10  # distinct error messages kept per request name
_EXCERPT = 240      # characters of a failing answer's body kept as an excerpt


def _new_name() -> dict[str, Any]:
    return {"status": {}, "redirects": {}, "off_origin": 0, "off_origin_example": "",
            "login": 0, "login_example": "", "denied": 0, "limited": 0, "limiter_headers": [],
            "excused": 0, "excused_failed": 0, "excused_times": {}, "errors": {}}


class _Counts:
    """Per request name: answers by final status, redirects (status before → after, where
    they ended), answers from another origin or a login page, answers refused by auth
    (401/403), rate-limited answers (and the limiter's headers), the answers that were not
    the shop's ("excused": rate limited, or a redirect to elsewhere refused) with their
    response times, the failures' messages with a body excerpt; plus the requests the plugin
    refused to send."""

    def __init__(self) -> None:
        self.names: dict[str, dict[str, Any]] = {}
        self.limited = 0
        self.excused = 0
        self.off_target = 0
        self.off_target_example = ""
        #: why an answer could not be described (a bug to report; the count still happened)
        self.problem = ""

    def add_answer(self, name: str, status: int, limited: bool) -> None:
        """Count one answer's final status (and whether a rate limiter gave it)."""
        mine = self._name(name)
        mine["status"][str(status)] = mine["status"].get(str(status), 0) + 1
        if limited:
            mine["limited"] += 1
            self.limited += 1

    def _name(self, name: str) -> dict[str, Any]:
        if name not in self.names and len(self.names) >= _MAX_COUNTED_NAMES:
            name = "(other request names)"  # a locustfile that names every URL apart
        mine = self.names.get(name)
        if mine is None:
            mine = self.names[name] = _new_name()
        return mine

    def add(self, name: str, answer: dict[str, Any], bucket: int | None = None) -> None:
        """Count one answer as `_describe` saw it; `bucket` is its response time as locust's
        histogram rounds it (an excused answer's is kept, so that the shop's percentiles can
        leave it out)."""
        self.add_answer(name, answer["status"], answer["limited"])
        mine = self._name(name)
        if answer["limited"] or answer["refused"]:
            mine["excused"] += 1
            self.excused += 1
            if answer["failed"]:
                mine["excused_failed"] += 1
            if bucket is not None:
                times = mine["excused_times"]
                times[str(bucket)] = times.get(str(bucket), 0) + 1
        for header in answer["limiter_headers"]:
            if header not in mine["limiter_headers"]:
                mine["limiter_headers"].append(header)
        if answer["redirect"]:
            mine["redirects"][answer["redirect"]] = mine["redirects"].get(answer["redirect"], 0) + 1
        for key in ("off_origin", "login"):
            if answer[key]:
                mine[key] += 1
                mine[f"{key}_example"] = mine[f"{key}_example"] or answer["final_url"]
        if answer["status"] in (401, 403) and not (answer["off_origin"] or answer["login"]):
            mine["denied"] += 1
        if answer["failed"]:
            errors = mine["errors"]
            message = answer["message"] if (answer["message"] in errors
                                            or len(errors) < _MAX_MESSAGES) else "(other errors)"
            entry = errors.setdefault(message, {"count": 0, "status": {}, "excerpt": ""})
            entry["count"] += 1
            code = str(answer["status"])
            entry["status"][code] = entry["status"].get(code, 0) + 1
            entry["excerpt"] = entry["excerpt"] or answer["excerpt"]

    def data(self) -> dict[str, Any]:
        """Everything counted, as JSON-ready data."""
        return {"names": self.names, "limited": self.limited, "excused": self.excused,
                "off_target": self.off_target,
                "off_target_example": self.off_target_example, "problem": self.problem,
                # final statuses per name (the shape older readers know)
                "status": {n: v["status"] for n, v in self.names.items()}}

    def take(self) -> dict[str, Any]:
        """Hand the counts to the master and start again (a worker's report)."""
        data = self.data()
        self.names, self.limited, self.excused, self.off_target = {}, 0, 0, 0
        return data

    def merge(self, data: dict[str, Any]) -> None:
        """Add a worker's counts."""
        for name, theirs in (data.get("names") or {}).items():
            mine = self._name(name)
            for key in ("status", "redirects", "excused_times"):
                for k, n in theirs.get(key, {}).items():
                    mine[key][k] = mine[key].get(k, 0) + int(n)
            for key in ("off_origin", "login", "denied", "limited", "excused", "excused_failed"):
                mine[key] += int(theirs.get(key) or 0)
            for key in ("off_origin_example", "login_example"):
                mine[key] = mine[key] or theirs.get(key, "")
            for header in theirs.get("limiter_headers", []):
                if header not in mine["limiter_headers"]:
                    mine["limiter_headers"].append(header)
            for message, entry in (theirs.get("errors") or {}).items():
                if message not in mine["errors"] and len(mine["errors"]) >= _MAX_MESSAGES:
                    message = "(other errors)"
                have = mine["errors"].setdefault(message,
                                                 {"count": 0, "status": {}, "excerpt": ""})
                have["count"] += int(entry.get("count") or 0)
                for code, n in (entry.get("status") or {}).items():
                    have["status"][code] = have["status"].get(code, 0) + int(n)
                have["excerpt"] = have["excerpt"] or entry.get("excerpt", "")
        self.limited += int(data.get("limited") or 0)
        self.excused += int(data.get("excused") or 0)
        self.off_target += int(data.get("off_target") or 0)
        self.off_target_example = self.off_target_example or data.get("off_target_example", "")
        self.problem = self.problem or data.get("problem", "")


COUNTS = _Counts()


def _site(url: str) -> str:
    """scheme://host[:port] of `url` (never its credentials)."""
    scheme, host, port = _origin(url)
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _canonical(header: str) -> str:
    """A header name spelt one way whatever the client kept (`ratelimit-limit` →
    `RateLimit-Limit`)."""
    return "-".join("RateLimit" if w.lower() == "ratelimit" else w.capitalize()
                    for w in header.split("-"))


def _describe(response: Any, exception: Any, target: str) -> dict[str, Any]:
    """One answer as the counts need it: final status, redirect chain, where it ended, the
    limiter's headers, and for a failure its message and a body excerpt."""
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    try:
        names = [str(k) for k in headers.keys()]
    except Exception:  # a header object without keys(): nothing to learn from it
        names = []
    limiter = sorted({_canonical(n) for n in names if _LIMITER_HEADERS.match(n)})
    limited = status == 429 or (status == 503 and any(n.lower() == "retry-after"
                                                      for n in names))
    # requests keeps the hops in .history; locust's FastResponse in ._history
    history = getattr(response, "history", None) or getattr(response, "_history", None) or []
    # the last hop's request: locust's HttpSession puts the request *name* in response.url
    # while it reports the answer
    final_url = str(getattr(getattr(response, "request", None), "url", "")
                    or getattr(response, "url", "") or "")
    redirect = ""
    off_origin = login = False
    refused = getattr(exception, "qgate_redirect", None)
    if refused is not None:  # not followed: the answer came from elsewhere, not the target
        code, final_url = refused
        off_origin = True
        walled = bool(_LOGIN_PATH.search(urlsplit(final_url).path + "/"))
        redirect = f"{code} → refused, to {_site(final_url)}" + (
            " (a login page)" if walled else "")
    elif history and final_url:
        first = int(getattr(history[0], "status_code", 0) or 0)
        off_origin = bool(target) and _origin(final_url) != _origin(target)
        # a login page on another origin is counted once, as off-origin
        login = not off_origin and bool(_LOGIN_PATH.search(urlsplit(final_url).path + "/"))
        where = _site(final_url) if off_origin else ""
        walled = bool(_LOGIN_PATH.search(urlsplit(final_url).path + "/"))
        redirect = f"{first} → {status}" + (f" at {where}" if where else "") + (
            " (a login page)" if walled else "")
    message = excerpt = ""
    if exception is not None:
        message = " ".join(str(exception).split())[:200] or type(exception).__name__
        try:
            text = str(getattr(response, "text", "") or "")
        except Exception:  # an answer cut short has no body to show
            text = ""
        excerpt = " ".join(text.split())[:_EXCERPT]
    return {"status": status, "limited": limited, "refused": refused is not None,
            "failed": exception is not None,
            "limiter_headers": limiter if (limited or status == 429) else [],
            "redirect": redirect, "off_origin": off_origin, "login": login,
            "final_url": _site(final_url) + urlsplit(final_url).path, "message": message,
            "excerpt": excerpt}


def _auth() -> tuple[dict[str, str], tuple[str, str] | None]:
    raw = os.environ.get("QGATE_LOAD_AUTH", "")
    if not raw:
        return {}, None
    data = json.loads(raw)
    basic = data.get("basic")
    return dict(data.get("headers") or {}), (str(basic[0]), str(basic[1])) if basic else None


def _wrap_request(session_class: Any, headers: dict[str, str],
                  basic: tuple[str, str] | None) -> None:
    """Patch `session_class.request`: target only, auth and headers on every request."""
    original = session_class.request
    if getattr(original, "_qgate", False):
        return

    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        full = self._build_url(url)
        if _off_target(full, self.base_url):
            target = os.environ.get("QGATE_LOAD_TARGET") or self.base_url
            raise OffTargetRequest(f"qgate refused {method} {full}: not the target {target}")
        if headers:
            given = kwargs.get("headers") or {}
            kwargs["headers"] = {**headers, **given}  # the locustfile's own headers win
        if basic and kwargs.get("auth") is None and not any(
                k.lower() == "authorization" for k in (kwargs.get("headers") or {})):
            kwargs["auth"] = basic
        return original(self, method, url, *args, **kwargs)

    request._qgate = True  # type: ignore[attr-defined]
    session_class.request = request


def _guard_requests_redirects(session_class: Any) -> None:
    """HttpSession (requests) follows no redirect to another origin: the hop is refused
    before it is sent. (`resolve_redirects` also runs, with `yield_requests`, when the
    locustfile asked not to follow: then nothing is refused.)"""
    from requests.compat import urljoin
    from requests.exceptions import RequestException

    resolve, target_of = session_class.resolve_redirects, session_class.get_redirect_target
    if getattr(resolve, "_qgate", False):
        return

    def resolve_redirects(self: Any, resp: Any, req: Any, *args: Any,
                          yield_requests: bool = False, **kwargs: Any) -> Any:
        self._qgate_following = not yield_requests
        try:
            yield from resolve(self, resp, req, *args, yield_requests=yield_requests, **kwargs)
        finally:
            self._qgate_following = False

    def get_redirect_target(self: Any, resp: Any) -> Any:
        location = target_of(self, resp)
        if location and getattr(self, "_qgate_following", False):
            full = urljoin(resp.url, location)
            if _off_target(full, getattr(self, "base_url", "")):
                raise _refused_redirect(RequestException, resp.status_code, full)
        return location

    resolve_redirects._qgate = True  # type: ignore[attr-defined]
    session_class.resolve_redirects = resolve_redirects
    session_class.get_redirect_target = get_redirect_target


def _guard_fast_redirects(request_class: Any) -> None:
    """FastHttpSession (geventhttpclient) follows no redirect to another origin."""
    from geventhttpclient.useragent import ConnectionError as FastConnectionError

    original = request_class.redirect
    if getattr(original, "_qgate", False):
        return

    def redirect(self: Any, code: int, location: str) -> None:
        full = str(self.url_split.redirect(location))
        if _off_target(full):
            raise _refused_redirect(FastConnectionError, code, full)
        original(self, code, location)

    redirect._qgate = True  # type: ignore[attr-defined]
    request_class.redirect = redirect


def _install() -> None:
    import gevent
    from locust import events
    from locust import stats as locust_stats
    from locust.clients import HttpSession
    from locust.runners import WorkerRunner

    headers, basic = _auth()
    _wrap_request(HttpSession, headers, basic)
    _guard_requests_redirects(HttpSession)
    try:
        from geventhttpclient.useragent import CompatRequest
        from locust.contrib.fasthttp import FastHttpSession
    except ImportError:  # geventhttpclient missing: FastHttpUser cannot run anyway
        pass
    else:
        _wrap_request(FastHttpSession, headers, basic)
        _guard_fast_redirects(CompatRequest)

    @events.request.add_listener
    def _on_request(name: str, response: Any = None, exception: Any = None,
                    response_time: float | None = None, **_: Any) -> None:
        try:
            answer = _describe(response, exception, os.environ.get("QGATE_LOAD_TARGET", ""))
        except Exception as exc:  # counting must never break the team's run; say why
            COUNTS.add_answer(name, int(getattr(response, "status_code", 0) or 0), False)
            COUNTS.problem = COUNTS.problem or f"{type(exc).__name__}: {exc}"
            return
        # the bucket locust's histogram put it in (looked up now: it may be replaced)
        bucket = None if response_time is None else locust_stats.bucket_response_time(
            response_time)
        COUNTS.add(name, answer, bucket)

    @events.report_to_master.add_listener
    def _report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        data["qgate"] = COUNTS.take()

    @events.worker_report.add_listener
    def _worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        COUNTS.merge(data.get("qgate") or {})

    @events.init.add_listener
    def _on_init(environment: Any, **_: Any) -> None:
        if isinstance(environment.runner, WorkerRunner):
            return
        interval = float(os.environ.get("QGATE_LOAD_PROGRESS_S", "1"))
        gevent.spawn(_progress_loop, environment, interval)

    @events.quit.add_listener
    def _on_quit(**_: Any) -> None:
        path = os.environ.get("QGATE_LOAD_EXTRAS")
        if not path:
            return
        data = COUNTS.data()
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)


def _progress_loop(environment: Any, interval: float) -> None:
    import gevent

    started = time.time()
    while True:
        gevent.sleep(interval)
        try:
            line = _progress(environment, time.time() - started)
        except Exception as exc:  # never let progress reporting break a run; say why
            line = {"error": f"{type(exc).__name__}: {exc}"}
        print(PROGRESS_PREFIX + json.dumps(line), flush=True)


def _progress(environment: Any, elapsed: float) -> dict[str, Any]:
    runner = environment.runner
    stats = runner.stats
    names: dict[str, list[float]] = {}
    for entry in list(stats.entries.values())[:_MAX_NAMES]:
        n, f = entry.num_requests, entry.num_failures
        p95 = entry.get_response_time_percentile(0.95) if n else 0.0
        mine = names.setdefault(entry.name, [0, 0, 0.0, 0.0])
        mine[0] += n
        mine[1] += f
        mine[2] = max(mine[2], float(p95 or 0))
        mine[3] = max(mine[3], float(_current_p95(entry) or 0))
    total = stats.total
    return {
        "t": round(elapsed, 1), "users": runner.user_count, "state": str(runner.state),
        "requests": total.num_requests, "failures": total.num_failures,
        "rps": round(float(total.current_rps or 0), 2),
        "failures_per_s": round(float(total.current_fail_per_sec or 0), 2),
        "p95": float(total.get_response_time_percentile(0.95) or 0)
        if total.num_requests else 0.0,
        "p95_now": float(_current_p95(total) or 0),
        "limited": COUNTS.limited,
        "excused": COUNTS.excused,
        # name -> [requests, failures, p95 over the run, p95 over the last ten seconds]
        "names": names,
    }


def _current_p95(entry: Any) -> float | None:
    try:
        value = entry.get_current_response_time_percentile(0.95)
    except (ValueError, AttributeError):  # no response-time cache on this runner
        return None
    return float(value) if value else None


_install()
