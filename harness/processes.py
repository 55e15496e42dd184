"""Child processes qgate starts in their own process group (pytest suites, locust, wapiti):
stopping one stops everything it started, and nothing is left behind.

qgate stops a suite with SIGTERM to its pytest process group (Ctrl-C or SIGTERM on qgate,
a CI job cancelled). locust and wapiti run in process groups of their own, which only the
engine that started them stops, in a `finally`; Python's default SIGTERM kills pytest
without running it, so the suite process turns SIGTERM into KeyboardInterrupt
(`interrupt_on_sigterm`), and every engine's clean-up runs (scanner processes stopped,
ZAP's context removed) before pytest ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Any


def stop_process_group(proc: subprocess.Popen[Any], grace_s: float = 10.0) -> None:
    """SIGTERM a still-running process group, SIGKILL it after `grace_s`; reap the leader."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def interruptible() -> None:
    """`preexec_fn` for a child that is stopped with SIGINT (locust): a shell starts
    background jobs with SIGINT ignored, and an ignored signal stays ignored across exec, so
    a qgate started in the background (`cmd &` in a CI script) would otherwise start a locust
    that cannot be interrupted. The child gets the default disposition back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def interrupt_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM unwind like Ctrl-C in this process (main thread only); returns a
    function that puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)
    return restore
