"""Loaded by locust next to the team's locustfile (`-f theirs.py,qgate_locust_plugin.py`).

It never changes what the locustfile does; it only
- adds the environment's auth (basic credentials, extra headers) to every request of
  `HttpUser` and `FastHttpUser` clients, so a protected staging needs no edit to the file;
- refuses requests to any origin other than the target (`--host`): load goes to the target
  only;
- counts answers per request name and status, and rate-limited ones (429, or 503 with
  Retry-After), across workers (locust's report_to_master / worker_report events);
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
import time
from typing import Any
from urllib.parse import urlsplit

PROGRESS_PREFIX = "QGATE_PROGRESS "
_MAX_NAMES = 200  # a locustfile that names every URL apart would flood the progress line


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class OffTargetRequest(Exception):
    """A locustfile asked for a URL outside the target; qgate does not send it."""


class _Counts:
    """Answers per request name and status, rate-limited answers, refused requests."""

    def __init__(self) -> None:
        self.status: dict[str, dict[str, int]] = {}
        self.limited = 0
        self.off_target = 0
        self.off_target_example = ""

    def add_answer(self, name: str, status: int, limited: bool) -> None:
        by_status = self.status.setdefault(name, {})
        by_status[str(status)] = by_status.get(str(status), 0) + 1
        if limited:
            self.limited += 1

    def take(self) -> dict[str, Any]:
        data = {"status": self.status, "limited": self.limited, "off_target": self.off_target,
                "off_target_example": self.off_target_example}
        self.status, self.limited, self.off_target = {}, 0, 0
        return data

    def merge(self, data: dict[str, Any]) -> None:
        for name, by_status in (data.get("status") or {}).items():
            mine = self.status.setdefault(name, {})
            for code, n in by_status.items():
                mine[code] = mine.get(code, 0) + int(n)
        self.limited += int(data.get("limited") or 0)
        self.off_target += int(data.get("off_target") or 0)
        self.off_target_example = self.off_target_example or data.get("off_target_example", "")


COUNTS = _Counts()


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
        target = os.environ.get("QGATE_LOAD_TARGET") or self.base_url
        full = self._build_url(url)
        if target and _origin(full) != _origin(target):
            COUNTS.off_target += 1
            COUNTS.off_target_example = COUNTS.off_target_example or full
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


def _install() -> None:
    import gevent
    from locust import events
    from locust.clients import HttpSession
    from locust.runners import WorkerRunner

    headers, basic = _auth()
    _wrap_request(HttpSession, headers, basic)
    try:
        from locust.contrib.fasthttp import FastHttpSession
    except ImportError:  # geventhttpclient missing: FastHttpUser cannot run anyway
        pass
    else:
        _wrap_request(FastHttpSession, headers, basic)

    @events.request.add_listener
    def _on_request(name: str, response: Any = None, **_: Any) -> None:
        status = int(getattr(response, "status_code", 0) or 0)
        limited = status == 429 or (status == 503 and bool(
            getattr(response, "headers", None) and response.headers.get("Retry-After")))
        COUNTS.add_answer(name, status, limited)

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
        data = {"status": COUNTS.status, "limited": COUNTS.limited,
                "off_target": COUNTS.off_target,
                "off_target_example": COUNTS.off_target_example}
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
