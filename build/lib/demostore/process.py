"""Start and stop a demo store as a subprocess (own process group, no orphans, no port races)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from demostore.config import DEFAULT_TICK_SECONDS

LISTENING_PREFIX = "demostore listening on "


class StoreStartError(RuntimeError):
    """The store process did not come up; the message carries its stderr tail."""


class StoreProcess:
    """A running store subprocess. Use as a context manager, or call stop()."""

    def __init__(self, popen: subprocess.Popen[bytes], base_url: str, stderr_path: Path) -> None:
        self._popen = popen
        self.base_url = base_url
        self.stderr_path = stderr_path
        self._final_stderr: str | None = None

    @property
    def pid(self) -> int:
        """The store's process id (also its process group id)."""
        return self._popen.pid

    def poll(self) -> int | None:
        """The exit code if the process has ended."""
        return self._popen.poll()

    def stderr_tail(self, lines: int = 30) -> str:
        """The last lines the store wrote to stderr (kept in memory after stop)."""
        if self._final_stderr is not None:
            return "\n".join(self._final_stderr.splitlines()[-lines:])
        return _tail(self.stderr_path, lines)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the whole process group, SIGKILL it after the timeout."""
        _terminate_group(self._popen, timeout)
        if self._final_stderr is None:
            self._final_stderr = _tail(self.stderr_path, 200)
            self.stderr_path.unlink(missing_ok=True)

    def __enter__(self) -> StoreProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"StoreProcess(pid={self.pid}, base_url={self.base_url!r})"


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _terminate_group(popen: subprocess.Popen[bytes], timeout: float) -> None:
    if popen.poll() is None:
        try:
            os.killpg(popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    # Children of the store (none today) die with the group, even if the leader is gone.
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    if popen.stdout is not None:
        popen.stdout.close()


def _read_listening_line(popen: subprocess.Popen[bytes], deadline: float) -> str | None:
    """Wait for the announcement on stdout; None if the process exits or time runs out."""
    assert popen.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(popen.stdout, selectors.EVENT_READ)
    buffer = b""
    try:
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, min(0.2, deadline - time.monotonic()))):
                if popen.poll() is not None:
                    return None
                continue
            chunk = os.read(popen.stdout.fileno(), 4096)
            if not chunk:
                return None
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                text = line.decode("utf-8", errors="replace").strip()
                if text.startswith(LISTENING_PREFIX):
                    return text[len(LISTENING_PREFIX):]
        return None
    finally:
        selector.close()


def _drain(stream: object) -> None:
    """Keep reading stdout so a chatty store never blocks on a full pipe."""
    read = getattr(stream, "read", None)
    if read is None:
        return
    try:
        while read(65536):
            pass
    except (OSError, ValueError):
        pass


def _wait_healthy(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    return False


def start_store(
    *,
    faults: Iterable[str] = (),
    db_url: str | None = None,
    version: str = "1.0.0",
    commit: str = "demo",
    tick_seconds: float = DEFAULT_TICK_SECONDS,
    log_dir: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    ready_timeout: float = 15.0,
) -> StoreProcess:
    """Run `python -m demostore serve --port 0 ...` and return once /healthz answers 200."""
    cmd = [sys.executable, "-m", "demostore", "serve", "--host", host, "--port", "0",
           "--version", version, "--commit", commit, "--tick-seconds", str(tick_seconds)]
    if db_url:
        cmd += ["--db", db_url]
    if log_dir is not None:
        cmd += ["--log-dir", str(log_dir)]
    for fault in faults:
        cmd += ["--fault", fault]
    stderr_file = tempfile.NamedTemporaryFile(prefix="demostore-", suffix=".stderr", delete=False)
    stderr_path = Path(stderr_file.name)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr_file,
                             stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    stderr_file.close()
    deadline = time.monotonic() + ready_timeout
    try:
        url = _read_listening_line(popen, deadline)
        if url is None:
            raise StoreStartError(_failure("did not announce its URL", popen, stderr_path,
                                           ready_timeout))
        threading.Thread(target=_drain, args=(popen.stdout,), daemon=True).start()
        if not _wait_healthy(url, deadline):
            raise StoreStartError(_failure(f"did not answer {url}/healthz", popen, stderr_path,
                                           ready_timeout))
    except BaseException:
        _terminate_group(popen, timeout=3.0)
        stderr_path.unlink(missing_ok=True)
        raise
    return StoreProcess(popen, url, stderr_path)


def _failure(what: str, popen: subprocess.Popen[bytes], stderr_path: Path,
             timeout: float) -> str:
    try:  # stdout closing usually means the process is exiting: let it finish
        code = popen.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        code = None
    state = f"exited with code {code}" if code is not None else f"timed out after {timeout:g}s"
    tail = _tail(stderr_path, 20) or "(no stderr output)"
    return f"demo store {what} ({state}); stderr tail:\n{tail}"
