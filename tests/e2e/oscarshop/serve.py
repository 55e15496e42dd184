"""Build and serve the fixture django-oscar shop on 127.0.0.1, for qgate's own tests.

Oscar comes from PyPI into its own virtualenv (`.venv/shops/oscar`; Django's pins are not
qgate's). A migrated, seeded database and search index are built once per settings/seed
version and copied for each run, so a test gets a fresh shop in about a second.

    python tests/e2e/oscarshop/serve.py      # build if needed, serve until Ctrl-C
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
#: Oscar as its guide installs it, plus the thumbnailer and the search backend it names.
REQUIREMENTS = ("django-oscar==4.2.1", "sorl-thumbnail==13.4.0", "whoosh==2.7.4")
VENV = Path(os.environ.get("QGATE_OSCAR_VENV", ROOT / ".venv" / "shops" / "oscar"))


class ShopBuildError(RuntimeError):
    """The fixture shop could not be installed, built or started."""


@dataclass(frozen=True)
class OscarShop:
    """A running fixture shop."""

    base_url: str
    data: Path
    python: Path

    def manage(self, *args: str) -> list[str]:
        """The command line of `manage.py ARGS` against this shop's data."""
        return ["env", f"OSCAR_SHOP_DATA={self.data}", str(self.python),
                str(HERE / "manage.py"), *args]


def _python() -> Path:
    return VENV / "bin" / "python"


def _run(cmd: list[str], what: str, env: dict[str, str] | None = None,
         timeout: float = 600) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise ShopBuildError(f"{what} failed (exit {proc.returncode}): " + " | ".join(tail))


def ensure_venv() -> Path:
    """The shop's virtualenv with Oscar installed (created on first use)."""
    stamp = VENV / ".qgate-requirements"
    wanted = "\n".join(REQUIREMENTS)
    if stamp.is_file() and stamp.read_text() == wanted and _python().exists():
        return _python()
    if not _python().exists():
        _run([sys.executable, "-m", "venv", str(VENV)], "creating the Oscar virtualenv")
    _run([str(_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          *REQUIREMENTS], "pip install " + " ".join(REQUIREMENTS), timeout=900)
    stamp.write_text(wanted)
    return _python()


def _fingerprint() -> str:
    digest = hashlib.sha256("\n".join(REQUIREMENTS).encode())
    # What shapes the data: settings, URLs and the seed (not the adapter or this file).
    for path in sorted([HERE / "settings.py", HERE / "urls.py", *HERE.glob("shopdata/**/*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def template_data() -> Path:
    """A migrated, seeded, indexed data folder (database + search index), built once."""
    python = ensure_venv()
    template = VENV / f"data-{_fingerprint()}"
    if (template / ".complete").exists():
        return template
    shutil.rmtree(template, ignore_errors=True)
    template.mkdir(parents=True)
    env = {**os.environ, "OSCAR_SHOP_DATA": str(template)}
    manage = [str(python), str(HERE / "manage.py")]
    _run([*manage, "migrate", "--noinput", "-v0"], "migrating the Oscar database", env)
    _run([*manage, "seed_shop"], "seeding the Oscar catalogue", env)
    _run([*manage, "rebuild_index", "--noinput", "-v0"], "building the search index", env)
    (template / ".complete").write_text("ok\n")
    return template


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_shop(workdir: Path, *, start_timeout_s: float = 60.0) -> Iterator[OscarShop]:
    """A fresh copy of the shop, served on a free 127.0.0.1 port until the block ends."""
    data = workdir / "oscar-data"
    shutil.copytree(template_data(), data)
    python = _python()
    port = _free_port()
    log = (workdir / "oscar-server.log").open("w")
    env = {**os.environ, "OSCAR_SHOP_DATA": str(data), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [str(python), str(HERE / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload",
         "--insecure", "--skip-checks"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, proc, workdir / "oscar-server.log", start_timeout_s)
        yield OscarShop(base_url, data, python)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


def _wait_until_up(base_url: str, proc: subprocess.Popen[bytes], log: Path,
                   timeout_s: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ShopBuildError(f"the Oscar server exited {proc.returncode}: "
                                 + log.read_text()[-800:])
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base_url + "/catalogue/", timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)
    raise ShopBuildError(f"the Oscar server did not answer within {timeout_s:.0f} s")


if __name__ == "__main__":
    import tempfile

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # unwind: stop the server too
    with tempfile.TemporaryDirectory() as tmp, serve_shop(Path(tmp)) as shop:
        print(f"Oscar fixture shop at {shop.base_url} (data {shop.data}); Ctrl-C stops it",
              flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
