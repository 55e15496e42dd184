"""Child processes qgate starts in their own process group (pytest suites, locust, wapiti):
stopping one stops everything it started, and nothing is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
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
