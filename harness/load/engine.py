"""Run locust as a subprocess: headless, bounded, in its own process groups, always cleaned up.

The harness never trusts locust's exit code (it is 1 whenever any request failed); the
evidence is the statistics locust writes (`--json-file`, `--csv --csv-full-history`) and
the counts `qgate_locust_plugin.py` adds. With `locust_workers = N` the harness starts a locust
master and N local workers (locust's own distribution); `remote_workers` makes the master
wait for workers started on other machines (loadprofiles/distributed/).

Bounds: `duration_s` (plus the stop timeout and a start-up grace) and `max_requests`. A
caller's `stop_when` callback sees every progress sample and may stop the run early (a
clearly broken objective, a stress run's breaking point); the stop is a SIGINT, on which
locust stops its users and still writes its statistics.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from harness.errors import ToolMissing
from harness.machine import MachineLoad, MachineMonitor
from harness.processes import interruptible, stop_process_group

PLUGIN = Path(__file__).with_name("qgate_locust_plugin.py")
PROGRESS_PREFIX = "QGATE_PROGRESS "
#: seconds locust may take to start (import the locustfile, connect workers): until its
#: first progress line; the run's time bound counts from there
STARTUP_GRACE_S = 20.0
#: seconds locust may take to write its statistics after the stop before it is killed
SHUTDOWN_GRACE_S = 20.0
#: seconds past duration + stop timeout before the run is stopped at its time bound
RUN_SLACK_S = 3.0


@dataclass(frozen=True)
class LocustPlan:
    """Everything one locust run needs (the RunContext of a load run)."""

    locustfile: Path
    host: str
    out_dir: Path
    users: int
    spawn_rate: float
    duration_s: float
    max_requests: int
    stop_timeout_s: float = 5.0
    workers: int = 0
    remote_workers: int = 0
    master_bind_host: str = "127.0.0.1"
    master_port: int = 0
    workers_timeout_s: float = 60.0
    user_classes: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None
    progress_interval_s: float = 1.0

    @property
    def distributed(self) -> bool:
        """Whether a master/worker topology is used."""
        return self.workers > 0 or self.remote_workers > 0


@dataclass(frozen=True)
class Progress:
    """One `QGATE_PROGRESS` sample printed by the plugin (cumulative unless `_now`)."""

    t: float
    users: int
    requests: int
    failures: int
    rps: float
    p95: float
    p95_now: float
    failures_per_s: float
    limited: int
    #: name -> (requests, failures, p95 over the run, p95 over the last ten seconds)
    names: dict[str, tuple[int, int, float, float]]
    #: locust's runner state: ready (e.g. waiting for workers), spawning, running, stopped…
    state: str = ""
    #: answers that were not the shop's: rate limited, or a redirect elsewhere refused
    excused: int = 0

    @property
    def started(self) -> bool:
        """Whether the test itself is under way (users spawned or spawning)."""
        return self.users > 0 or self.state in ("spawning", "running")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        """Parse the plugin's JSON."""
        return cls(
            t=float(data.get("t", 0)), users=int(data.get("users", 0)),
            requests=int(data.get("requests", 0)), failures=int(data.get("failures", 0)),
            rps=float(data.get("rps", 0)), p95=float(data.get("p95", 0)),
            p95_now=float(data.get("p95_now", 0)),
            failures_per_s=float(data.get("failures_per_s", 0)),
            limited=int(data.get("limited", 0)), state=str(data.get("state", "")),
            excused=int(data.get("excused", data.get("limited", 0))),
            names={str(k): (int(v[0]), int(v[1]), float(v[2]), float(v[3]))
                   for k, v in (data.get("names") or {}).items()})


@dataclass(frozen=True)
class LocustRun:
    """What a locust run left behind; the statistics files are the evidence."""

    out_dir: Path
    command: tuple[str, ...]
    exit_code: int | None
    wall_s: float
    #: why the harness stopped the run before locust ended it ('' if it did not)
    stopped: str
    last_progress: Progress | None
    progress_errors: tuple[str, ...] = ()
    #: the most users locust ran at once (from its progress lines)
    peak_users: int = 0
    #: seconds users ran: from the first to the last progress line with users running
    test_s: float = 0.0
    machine: MachineLoad = field(default_factory=MachineLoad)

    @property
    def stats_json(self) -> Path:
        """Locust's `--json-file` output."""
        return self.out_dir / "stats.json"

    @property
    def history_csv(self) -> Path:
        """Locust's per-second stats history."""
        return self.out_dir / "locust_stats_history.csv"

    @property
    def failures_csv(self) -> Path:
        """Locust's failures table."""
        return self.out_dir / "locust_failures.csv"

    @property
    def extras_json(self) -> Path:
        """Counts written by the plugin: statuses per name, rate-limited, refused."""
        return self.out_dir / "qgate_counts.json"

    @property
    def log(self) -> Path:
        """Locust's log (master, or the single process)."""
        return self.out_dir / "locust.log"

    def extras(self) -> dict[str, Any]:
        """The plugin's counts ({} when it wrote none)."""
        try:
            data = json.loads(self.extras_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def stderr_tail(self, lines: int = 15) -> str:
        """The end of locust's stderr and log, for error messages."""
        out = []
        for path in (self.out_dir / "locust.stderr", self.log):
            try:
                text = path.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                continue
            if text:
                out.append("\n".join(text.splitlines()[-lines:]))
        return "\n".join(out)


StopRule = Callable[[Progress], str]


def ensure_locust() -> None:
    """Fail fast, with the fix, when locust is not installed."""
    import importlib.util

    if importlib.util.find_spec("locust") is None:
        raise ToolMissing("locust is not installed (needed by the load and stress suites)",
                          hint="pip install 'qcommerce-harness[load]' (make setup does)")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (for the master's worker channel)."""
    with socket.socket() as sock:
        sock.bind((host if host not in ("0.0.0.0", "*", "") else "127.0.0.1", 0))
        return int(sock.getsockname()[1])


def master_command(plan: LocustPlan, port: int) -> list[str]:
    """The locust command line of the master (or of the single process)."""
    out = plan.out_dir
    cmd = [sys.executable, "-m", "locust", "-f", f"{plan.locustfile},{PLUGIN}", "--headless",
           "--host", plan.host, "--users", str(plan.users), "--spawn-rate", f"{plan.spawn_rate:g}",
           "--run-time", f"{max(1, int(plan.duration_s))}s",
           "--stop-timeout", f"{plan.stop_timeout_s:g}", "--json-file", str(out / "stats"),
           "--csv", str(out / "locust"), "--csv-full-history", "--only-summary",
           "--logfile", str(out / "locust.log"), "--loglevel", "INFO"]
    if plan.distributed:
        cmd += ["--master", "--master-bind-host", plan.master_bind_host,
                "--master-bind-port", str(port),
                "--expect-workers", str(plan.workers + plan.remote_workers),
                "--expect-workers-max-wait", f"{max(1, int(plan.workers_timeout_s))}"]
    return cmd + list(plan.user_classes)


def worker_command(plan: LocustPlan, port: int, index: int) -> list[str]:
    """The command line of local worker `index` (remote workers run the same, see docs)."""
    return [sys.executable, "-m", "locust", "-f", f"{plan.locustfile},{PLUGIN}", "--worker",
            "--master-host", "127.0.0.1", "--master-port", str(port),
            "--logfile", str(plan.out_dir / f"worker-{index}.log"), "--loglevel", "INFO",
            *plan.user_classes]


def plugin_environment(plan: LocustPlan) -> dict[str, str]:
    """Variables the plugin reads (auth stays out of argv and out of every artifact)."""
    auth: dict[str, Any] = {}
    if plan.headers:
        auth["headers"] = plan.headers
    if plan.basic_auth:
        auth["basic"] = list(plan.basic_auth)
    return {"QGATE_LOAD_TARGET": plan.host, "QGATE_LOAD_AUTH": json.dumps(auth) if auth else "",
            "QGATE_LOAD_EXTRAS": str(plan.out_dir / "qgate_counts.json"),
            "QGATE_LOAD_PROGRESS_S": f"{plan.progress_interval_s:g}", "PYTHONUNBUFFERED": "1"}


def run_locust(plan: LocustPlan, *, on_progress: Callable[[Progress], None] | None = None,
               stop_when: StopRule | None = None) -> LocustRun:
    """Run locust for `plan`; return its run record (statistics files in plan.out_dir)."""
    ensure_locust()
    plan = replace(plan, out_dir=plan.out_dir.resolve(), locustfile=plan.locustfile.resolve())
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    port = (plan.master_port or free_port(plan.master_bind_host)) if plan.distributed else 0
    env = {**os.environ, **plugin_environment(plan)}
    command = master_command(plan, port)
    started = time.monotonic()
    procs: list[subprocess.Popen[str]] = []
    watcher = _Watcher(plan, on_progress, stop_when)
    stderr = (plan.out_dir / "locust.stderr").open("w", encoding="utf-8")
    try:
        master = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                  env=env, cwd=plan.locustfile.parent, start_new_session=True,
                                  stdin=subprocess.DEVNULL, preexec_fn=interruptible)
        procs.append(master)
        for index in range(plan.workers):
            procs.append(subprocess.Popen(
                worker_command(plan, port, index), stdout=subprocess.DEVNULL, stderr=stderr,
                text=True, env=env, cwd=plan.locustfile.parent, start_new_session=True,
                stdin=subprocess.DEVNULL, preexec_fn=interruptible))
        reader = threading.Thread(target=watcher.read, args=(master.stdout, master),
                                  daemon=True)
        reader.start()
        monitor = MachineMonitor([p.pid for p in procs])
        monitor.start()
        startup = STARTUP_GRACE_S + (plan.workers_timeout_s if plan.distributed else 0.0)
        try:
            code = _wait(master, watcher, started + startup,
                         plan.duration_s + plan.stop_timeout_s + RUN_SLACK_S)
        finally:
            machine = monitor.finish()
        reader.join(timeout=5)
    finally:
        for proc in reversed(procs):
            _stop_group(proc)
        stderr.close()
    began, last = watcher.first_sample_at, watcher.last_started_at
    return LocustRun(plan.out_dir, tuple(command), code, round(time.monotonic() - started, 3),
                     watcher.stopped, watcher.last, tuple(watcher.errors),
                     peak_users=watcher.peak_users,
                     # every progress line stands for the interval before it
                     test_s=round(last - began + plan.progress_interval_s, 1)
                     if began is not None and last is not None else 0.0,
                     machine=machine)


def _wait(master: subprocess.Popen[str], watcher: _Watcher, startup_deadline: float,
          run_bound_s: float) -> int | None:
    """Wait for the master; interrupt it at a bound or when the watcher asks for a stop.

    Bounds: the test must have started by `startup_deadline` (workers connected), and end
    within `run_bound_s` of its start (a shape that never ends, a stuck user).
    """
    terminated_at: float | None = None
    while True:
        try:
            return master.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if terminated_at is None:
            if not watcher.stopped:
                began = watcher.first_sample_at
                if began is None and now > startup_deadline:
                    watcher.stopped = "locust did not start the test in time"
                elif began is not None and now > began + run_bound_s:
                    watcher.stopped = "stopped at the run's time bound"
            if watcher.stopped:
                # SIGINT, not SIGTERM: locust installs its SIGTERM handler only after a
                # headless shape has finished, but handles Ctrl-C everywhere (it stops the
                # users, quits the workers and still writes its statistics)
                _signal_group(master, signal.SIGINT)
                terminated_at = now
        elif now - terminated_at > SHUTDOWN_GRACE_S:
            _signal_group(master, signal.SIGKILL)
            return master.wait()


class _Watcher:
    """Reads the master's stdout: progress samples, the request bound and stop rules."""

    def __init__(self, plan: LocustPlan, on_progress: Callable[[Progress], None] | None,
                 stop_when: StopRule | None) -> None:
        self.plan = plan
        self.on_progress = on_progress
        self.stop_when = stop_when
        self.stopped = ""
        self.last: Progress | None = None
        #: monotonic time of the first progress line of a started test (the bound counts from it)
        self.first_sample_at: float | None = None
        self.errors: list[str] = []
        self.peak_users = 0
        #: monotonic time of the last progress line with users running
        self.last_started_at: float | None = None

    def read(self, stream: IO[str] | None, master: subprocess.Popen[str]) -> None:
        if stream is None:
            return
        with (self.plan.out_dir / "locust.stdout").open("w", encoding="utf-8") as log:
            for line in stream:
                if not line.startswith(PROGRESS_PREFIX):
                    log.write(line)
                    continue
                try:
                    data = json.loads(line[len(PROGRESS_PREFIX):])
                except ValueError:
                    continue
                if "error" in data:
                    if len(self.errors) < 5:
                        self.errors.append(str(data["error"]))
                    continue
                self.sample(Progress.from_json(data))

    def sample(self, progress: Progress) -> None:
        if progress.started:
            self.last_started_at = time.monotonic()
            if self.first_sample_at is None:
                self.first_sample_at = self.last_started_at
        self.last = progress
        self.peak_users = max(self.peak_users, progress.users)
        if self.on_progress is not None:
            self.on_progress(progress)
        if self.stopped:
            return
        if progress.requests >= self.plan.max_requests:
            self.stopped = f"stopped at the request bound ({self.plan.max_requests} requests)"
        elif self.stop_when is not None:
            self.stopped = self.stop_when(progress)


def _signal_group(proc: subprocess.Popen[str], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """Stop a still-running locust process group (harness.processes) and close its pipe."""
    stop_process_group(proc, grace_s=SHUTDOWN_GRACE_S)
    if proc.stdout is not None:
        proc.stdout.close()
