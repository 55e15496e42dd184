"""How busy the measuring machine was: a response time measured on a saturated machine is
the machine's as much as the product's.

`MachineMonitor` samples, once a second, what the measuring processes (locust's master and
workers, or any suite's own) needed of a CPU — the CPU they used (psutil) plus the time they
sat runnable in the run queue (`/proc/<pid>/schedstat`) — and the host's CPU pressure
(`/proc/pressure/cpu`, else the load average per core). `saturation` says, by the thresholds
explained below, whether the run was saturated; a suite passes that to
`evidence.saturated(...)` and the verdict leaves a missed latency objective unjudged.
psutil is imported lazily (it comes with locust).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MachineLoad:
    """How busy the measuring machine was during a run (sampled once a second).

    A response time is measured by the load generator: when its process or its host is out
    of CPU, the wait for the CPU is counted into the product's latency.
    """

    #: seconds sampled
    samples: int = 0
    #: the busiest measuring process: mean CPU it used or waited for in the run queue over the
    #: run, % of one core (its demand: a starved process uses little yet is late everywhere)
    generator_cpu_mean: float = 0.0
    #: share of the sampled seconds that process spent at or above GENERATOR_BUSY_PERCENT
    generator_busy_share: float = 0.0
    #: % of the run's wall time in which runnable tasks waited for a CPU
    #: (/proc/pressure/cpu "some"); None where the kernel has no PSI
    host_pressure: float | None = None
    #: mean 1-minute load average per core over the run (the fallback without PSI)
    host_load_per_core: float | None = None


#: a locust process at or above this share of one core is busy (locust's own warning fires at
#: 90 %: "may even give inconsistent response time measurements")
GENERATOR_BUSY_PERCENT = 90.0


class MachineMonitor:
    """Samples, once a second, what the measuring processes needed of the CPU (psutil, and
    the time they waited in the run queue) and the host's CPU pressure: `start()`, then
    `finish()` returns the MachineLoad."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.done = threading.Event()
        self.cpu: dict[int, list[float]] = {}
        self.loads: list[float] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.psi_start: tuple[float, float] | None = None

    def start(self) -> None:
        """Start sampling (a daemon thread)."""
        self.psi_start = _psi_some_total()
        self.thread.start()

    def _run(self) -> None:
        try:
            import psutil
        except ImportError:  # locust requires psutil; without it only the host is sampled
            psutil = None
        procs = {}
        if psutil is not None:
            for pid in self.pids:
                try:
                    procs[pid] = psutil.Process(pid)
                    procs[pid].cpu_percent(None)  # the first call only starts the clock
                except psutil.Error:
                    continue
        waited = {pid: _run_queue_wait_s(pid) for pid in procs}
        cores = os.cpu_count() or 1
        last = time.monotonic()
        while not self.done.wait(1.0):
            now = time.monotonic()
            try:
                self.loads.append(os.getloadavg()[0] / cores)
            except OSError:
                pass
            for pid, proc in list(procs.items()):
                try:
                    used = float(proc.cpu_percent(None))
                except Exception:  # the process ended: stop sampling it
                    procs.pop(pid)
                    continue
                # what the process *wanted*: the CPU it got plus the time it sat runnable in
                # the run queue (a starved generator uses little CPU, yet is late everywhere)
                wait = _run_queue_wait_s(pid)
                before = waited.get(pid)
                waited[pid] = wait
                if wait is not None and before is not None and now > last:
                    used += 100 * max(0.0, wait - before) / (now - last)
                self.cpu.setdefault(pid, []).append(used)
            last = now

    def finish(self) -> MachineLoad:
        """Stop sampling; what the run looked like."""
        self.done.set()
        self.thread.join(timeout=3)
        pressure = _pressure_between(self.psi_start, _psi_some_total())
        busiest = max(self.cpu.values(), key=lambda v: sum(v) / len(v) if v else 0.0,
                      default=[])
        samples = max([len(self.loads), *(len(v) for v in self.cpu.values())])
        return MachineLoad(
            samples=samples,
            generator_cpu_mean=round(sum(busiest) / len(busiest), 1) if busiest else 0.0,
            generator_busy_share=round(sum(1 for v in busiest if v >= GENERATOR_BUSY_PERCENT)
                                       / len(busiest), 3) if busiest else 0.0,
            host_pressure=pressure,
            host_load_per_core=round(sum(self.loads) / len(self.loads), 2)
            if self.loads else None)


def _run_queue_wait_s(pid: int) -> float | None:
    """Seconds process `pid` has waited runnable for a CPU (/proc/<pid>/schedstat), or None."""
    try:
        fields = Path(f"/proc/{pid}/schedstat").read_text(encoding="ascii").split()
        return int(fields[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def _pressure_between(start: tuple[float, float] | None, end: tuple[float, float] | None
                      ) -> float | None:
    """% of the wall time between two PSI readings in which some task waited for a CPU."""
    if start is None or end is None or end[1] <= start[1]:
        return None
    return round(100 * (end[0] - start[0]) / 1e6 / (end[1] - start[1]), 1)


class PressureWindow:
    """The host's CPU pressure over a stretch of work too short for a sampling thread (an
    e2e step): made at its start, `saturated(what)` at its end."""

    def __init__(self) -> None:
        self.start = _psi_some_total()

    def percent(self) -> float | None:
        """% of the window in which some task waited for a CPU (None without PSI)."""
        return _pressure_between(self.start, _psi_some_total())

    def saturated(self, what: str) -> str:
        """Why the host was saturated during `what` ('' when it was not, or cannot say)."""
        pressure = self.percent()
        if pressure is None or pressure < HOST_PRESSURE_PERCENT:
            return ""
        return f"tasks waited for a CPU {pressure:g} % of {what} (/proc/pressure/cpu)"


def _psi_some_total() -> tuple[float, float] | None:
    """(microseconds some task waited for a CPU since boot, now in seconds), or None."""
    try:
        text = Path("/proc/pressure/cpu").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("some "):
            fields = dict(f.split("=", 1) for f in line.split()[1:])
            try:
                return float(fields["total"]), time.monotonic()
            except (KeyError, ValueError):
                return None
    return None


#: the host is saturated when runnable tasks waited for a CPU during at least this share
#: (%) of the run (/proc/pressure/cpu "some"): then practically always something that wanted
#: to run could not, and the shop's answers and locust's timing queue behind each other.
#: "some" counts any one waiting task, so a busy but sound machine reads 40-85 % (measured
#: on the 2-core reference box with other work beside a clean demo run whose figures held);
#: 90 % and above was only seen with the load average at 5+ per core, where they did not.
HOST_PRESSURE_PERCENT = 90.0
#: without PSI: the 1-minute load average per core at or above which the host is saturated
#: (twice as many runnable tasks as cores: each gets half a core at best)
HOST_LOAD_PER_CORE = 2.0
#: the load generator is saturated when its busiest process needed (used, or waited for in
#: the run queue) GENERATOR_BUSY_PERCENT of a core or more in at least this share of the
#: run's seconds: a gevent process is one thread, so then its greenlets queue behind each
#: other and every response time it records includes that wait
GENERATOR_BUSY_SHARE = 0.25


def saturation(machine: MachineLoad, *, target_here: bool = True) -> str:
    """Why the measuring machine was saturated over the run ('' when it was not).

    `target_here`: the target runs on this host too (a local demo). The host's pressure then
    slows the shop itself; for a target elsewhere only the generator's own demand (which
    includes its waits for a CPU) distorts what it measures.
    """
    if machine.samples == 0:
        return ""
    why = []
    if machine.generator_busy_share >= GENERATOR_BUSY_SHARE:
        why.append(f"the load generator needed ≥ {GENERATOR_BUSY_PERCENT:g} % of a core (CPU "
                   f"used or waited for) {machine.generator_busy_share:.0%} of the run (mean "
                   f"{machine.generator_cpu_mean:g} %)")
    if not target_here:
        return "; ".join(why)
    if machine.host_pressure is not None:
        if machine.host_pressure >= HOST_PRESSURE_PERCENT:
            why.append(f"tasks waited for a CPU {machine.host_pressure:g} % of the run "
                       "(/proc/pressure/cpu)")
    elif (machine.host_load_per_core is not None
          and machine.host_load_per_core >= HOST_LOAD_PER_CORE):
        why.append(f"load average {machine.host_load_per_core:g} per core")
    return "; ".join(why)


def describe_machine(machine: MachineLoad) -> str:
    """One line on how busy the machine was (shown whether or not it was saturated)."""
    if machine.samples == 0:
        return ""
    host = (f"host CPU pressure {machine.host_pressure:g} % of the run"
            if machine.host_pressure is not None else
            f"host load {machine.host_load_per_core:g} per core"
            if machine.host_load_per_core is not None else "host load unknown")
    return (f"Measuring machine: locust needed {machine.generator_cpu_mean:g} % of a core on "
            f"average (CPU used or waited for; ≥ {GENERATOR_BUSY_PERCENT:g} % for "
            f"{machine.generator_busy_share:.0%} of the run); {host}.")


def runs_here(url: str) -> bool:
    """Whether `url`'s host is this machine (loopback, or this host's own name)."""
    import socket
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "::1") or host.startswith("127."):
        return True
    try:
        return host in {socket.gethostname().lower(), socket.getfqdn().lower()}
    except OSError:
        return False
