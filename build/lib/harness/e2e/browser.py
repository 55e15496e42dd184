"""Find the Chromium the e2e suite drives: configured path, Playwright's own, or the system's."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

from harness.config import AuthSettings
from harness.errors import ToolMissing

SYSTEM_CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Checked first by absolute path: PATH is often trimmed in CI and service units.
SYSTEM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")

# Flags for containers and CI: no sandbox (often no user namespaces), no GPU, /dev/shm is
# small in Docker, and nothing phones home during a run.
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def http_credentials(auth: AuthSettings, base_url: str) -> dict[str, str] | None:
    """Playwright `http_credentials` for basic auth, answering only the target's challenge."""
    credentials = auth.basic_credentials()
    if credentials is None:
        return None
    user, password = credentials
    scoped = {"username": user, "password": password}
    if base_url:
        parts = urlsplit(base_url)
        scoped["origin"] = f"{parts.scheme}://{parts.netloc}"
    return scoped


class BrowserNotFound(ToolMissing):
    """No usable Chromium: neither configured, nor installed by Playwright, nor on the system."""


def playwright_browsers_dir() -> Path:
    """Where `playwright install` puts browsers on this machine."""
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if configured == "0":
        import importlib.util

        spec = importlib.util.find_spec("playwright")
        origin = Path(spec.origin) if spec and spec.origin else Path(".")
        return origin.parent / "driver" / "package" / ".local-browsers"
    if configured:
        return Path(configured)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "ms-playwright"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "ms-playwright"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ms-playwright"


def _playwright_chromium_revisions() -> dict[str, str]:
    """Chromium revisions this Playwright version expects, read without starting its driver."""
    import importlib.util

    spec = importlib.util.find_spec("playwright")
    if spec is None or spec.origin is None:
        return {}
    manifest = Path(spec.origin).parent / "driver" / "package" / "browsers.json"
    try:
        browsers = json.loads(manifest.read_text())["browsers"]
    except (OSError, ValueError, KeyError):
        return {}
    return {b["name"]: str(b["revision"]) for b in browsers if "revision" in b}


def playwright_chromium_installed(browsers_dir: Path | None = None) -> bool:
    """True when `playwright install chromium` has put the matching build on this machine."""
    root = browsers_dir or playwright_browsers_dir()
    revisions = _playwright_chromium_revisions()
    candidates = []
    if "chromium" in revisions:
        candidates.append(root / f"chromium-{revisions['chromium']}")
    if "chromium-headless-shell" in revisions:
        candidates.append(root / f"chromium_headless_shell-{revisions['chromium-headless-shell']}")
    # Playwright writes the marker file last, so a half-finished download does not count.
    return any((c / "INSTALLATION_COMPLETE").exists() or any(c.glob("chrome*/chrome*"))
               for c in candidates if c.is_dir())


def discover_browser(
    configured_path: str = "",
    *,
    playwright_installed: bool | None = None,
    search_path: str | None = None,
) -> str | None:
    """Return the Chromium to launch: a path, or None for Playwright's own build.

    Precedence: the configured path, then Playwright's own Chromium, then a system Chromium
    (fixed locations, then PATH; `search_path` replaces both, for tests). Raises
    `BrowserNotFound` with a hint when there is none.
    """
    if configured_path:
        path = Path(configured_path).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BrowserNotFound(
                f"e2e.browser_path {configured_path!r} is not an executable file; "
                "fix the path or leave it empty to discover Chromium"
            )
        return str(path)
    if playwright_installed is None:
        playwright_installed = playwright_chromium_installed()
    if playwright_installed:
        return None
    if search_path is None:
        for candidate in SYSTEM_PATHS:
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    for name in SYSTEM_CHROMIUMS:
        found = shutil.which(name, path=search_path)
        if found:
            return found
    raise BrowserNotFound(
        "no Chromium found for the e2e suite",
        hint="run `playwright install chromium`, install the system `chromium` package, "
        "or set e2e.browser_path in the environment file",
    )
