"""Environment files: `environments/<name>.toml`, validated at load.

An environment file declares the target (base_url, api_url), whether it is production,
which suites may run, auth for a protected staging, and one table per suite whose schema
is a frozen dataclass owned by that suite (see `SUITE_SETTINGS`). `${VAR}` placeholders are
resolved from the process environment, then `.env.<name>`, then `.env`; a missing variable
is a config error naming the file and the key (`${VAR:-default}` supplies a default).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import ConfigError, ProductionRefused, UsageError
from harness.schema import build, check_url, suggest

#: Suites qgate knows, with the dataclass that validates each one's table.
SUITE_SETTINGS: dict[str, str] = {
    "smoke": "harness.smoke.settings:SmokeSettings",
    "e2e": "harness.e2e.settings:E2ESettings",
    "security": "harness.security.settings:SecuritySettings",
    "data": "harness.data.settings:DataSettings",
    "load": "harness.load.settings:LoadSettings",
    "stress": "harness.load.settings:StressSettings",
}
#: Suites that write data or attack the target: refused on production without an override.
INTRUSIVE_SUITES = frozenset({"e2e", "load", "stress", "security", "data"})

# ${VAR}, or ${VAR:-default} for a value that may be absent (e.g. one `qgate demo` sets)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|api_?key|credential|cookie|authorization|dsn|db_url)", re.I)


@dataclass(frozen=True)
class AuthSettings:
    """How to get through a protected staging: basic auth, extra headers or a storage state."""

    #: HTTP basic auth user (with basic_password)
    basic_user: str = ""
    basic_password: str = ""
    #: headers sent with every request, e.g. { "X-Staging-Token" = "${STAGING_TOKEN}" }
    headers: dict[str, str] = field(default_factory=dict)
    #: a Playwright storage state file (a logged-in browser) for the e2e suite
    storage_state: str = ""

    def basic_credentials(self) -> tuple[str, str] | None:
        """(user, password) for HTTP basic auth, or None when none is configured."""
        if self.basic_user or self.basic_password:
            return self.basic_user, self.basic_password
        return None


@dataclass(frozen=True)
class _EnvironmentFile:
    """The top-level keys of an environment file (suite tables are checked separately)."""

    #: the storefront's URL; `--base-url` overrides it (and satisfies an unset ${VAR} here)
    base_url: str
    #: the API's URL (default: base_url + "/api")
    api_url: str = ""
    #: true refuses e2e, load, stress, security scans and data writes without
    #: --allow-production (recorded in the report)
    production: bool = False
    #: the suites allowed here; the gate requires them unless gate.toml's [required] says
    suites: list[str] = field(default_factory=lambda: ["smoke"])
    description: str = ""
    #: where the target reports its version (`qgate run`'s probe)
    version_path: str = "/version"
    auth: AuthSettings = field(default_factory=AuthSettings)


@dataclass(frozen=True)
class Environment:
    """A loaded, validated environment: the target and every suite's settings."""

    name: str
    file: str
    base_url: str
    api_url: str
    production: bool
    suites: tuple[str, ...]
    description: str
    version_path: str
    auth: AuthSettings
    settings: Mapping[str, Any]
    secrets: tuple[str, ...] = ()
    #: why this environment counts as production when its file does not say so
    production_reason: str = ""

    @property
    def shown_url(self) -> str:
        """base_url as it may be printed: credentials in it masked."""
        from harness.redaction import redact
        return redact(self.base_url, self.secret_values())

    def suite_settings(self, suite: str) -> Any:
        """The validated settings dataclass of `suite`."""
        return self.settings[suite]

    def secret_values(self) -> list[str]:
        """Every resolved secret, longest first, for redaction."""
        return sorted(set(self.secrets), key=len, reverse=True)

    def refuse_disallowed(self, suites: Iterable[str], *, allow_production: bool) -> None:
        """Apply the allow-list and production protection (both front-ends call this)."""
        suites = list(suites)
        for suite in suites:
            if suite not in self.suites:
                raise UsageError(f"suite '{suite}' is not allowed in environment '{self.name}'",
                                 hint=f"{self.file} allows: {', '.join(self.suites)}")
        # A suite whose settings say `passive_on_production = true` restricts itself to its
        # passive checks on production (security), so it is not refused there.
        intrusive = [s for s in suites if s in INTRUSIVE_SUITES and not getattr(
            self.settings.get(s), "passive_on_production", False)]
        if self.production and intrusive and not allow_production:
            why = f" ({self.production_reason})" if self.production_reason else ""
            raise ProductionRefused(
                f"environment '{self.name}' is production{why}; refusing "
                f"{', '.join(intrusive)} (writes data or loads the system)",
                hint="run smoke only, or pass --allow-production (recorded in the report)")

    def declared_criteria(self) -> list[Any]:
        """Gate criteria this environment declares in its suite tables (e.g. load SLOs).

        A suite's settings dataclass opts in with a `gate_criteria(suite) -> list[Criterion]`
        method; the verdict judges them next to `gate.toml`'s.
        """
        out: list[Any] = []
        for suite in self.suites:
            declare = getattr(self.settings.get(suite), "gate_criteria", None)
            if declare is not None:
                out.extend(declare(suite))
        return out

    def with_base_url(self, base_url: str, root: Path | None = None) -> Environment:
        """A copy pointed at another URL (api_url follows when it was derived).

        Retargeting cannot smuggle production past the guard: a URL whose host is the
        base_url host of an environment marked production makes this one production too.
        """
        url = check_url(base_url, "--base-url", "base_url")
        api = self.api_url
        if api == self.base_url + "/api":
            api = url + "/api"
        moved = dataclasses.replace(self, base_url=url, api_url=api)
        if self.production:
            return moved
        host = (urlsplit(url).hostname or "").lower()
        for name, prod_host in production_hosts(root or environments_dir().parent):
            if host == prod_host:
                return dataclasses.replace(
                    moved, production=True,
                    production_reason=f"--base-url host {host} is the production target of "
                                      f"environments/{name}.toml")
        return moved


def project_root() -> Path:
    """The folder holding environments/, suites/ and gate.toml.

    $QGATE_ROOT wins; else the current folder. There is no silent fall-back to the files of
    the installed package: a folder without environments/ is told so when an environment
    is loaded (`qgate demo` alone uses the packaged demo environment, see
    `load_environment`).
    """
    if os.environ.get("QGATE_ROOT"):
        return Path(os.environ["QGATE_ROOT"])
    return Path.cwd()


def reports_dir() -> Path:
    """Where runs are written: $QGATE_REPORTS_DIR, else `<project root>/reports`."""
    configured = os.environ.get("QGATE_REPORTS_DIR")
    return Path(configured) if configured else project_root() / "reports"


def environments_dir(root: Path | None = None) -> Path:
    """Where environment files live: `<project root>/environments`."""
    return (root or project_root()) / "environments"


def available_environments(root: Path | None = None) -> list[str]:
    """Names of the environment files present."""
    return sorted(p.stem for p in environments_dir(root).glob("*.toml"))


def packaged_dir(package: str) -> Path | None:
    """Where a folder shipped inside qgate lives (`harness.suites`, `harness.environments`):
    inside the package in a wheel (setup.py maps them there), the repository's top-level
    folder in a checkout."""
    name = package.removeprefix("harness.")
    here = Path(__file__).resolve().parent
    for candidate in (here / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    return None


def load_environment(name: str, root: Path | None = None, *,
                     base_url: str | None = None) -> Environment:
    """Load and validate `environments/<name>.toml`.

    `base_url` (`--base-url`) replaces the file's base_url before `${VAR}`s are resolved,
    so an unset variable there does not stop a run that names its target. The environment
    `demo` falls back to the packaged demo environment when the project has none, so
    `qgate demo` works from any folder.
    """
    directory = environments_dir(root)
    path = directory / f"{name}.toml"
    if not path.is_file() and name == "demo":
        packaged = packaged_dir("harness.environments")
        if packaged is not None and (packaged / "demo.toml").is_file():
            directory, path = packaged, packaged / "demo.toml"
    shown = shown_path(path)
    if not path.is_file():
        if not directory.is_dir():
            raise ConfigError(shown, "", f"no environments/ folder in {directory.parent.resolve()}",
                              hint="run qgate from your project's folder (the one `qgate init` "
                                   "wrote), or set QGATE_ROOT to it; `qgate init` starts one")
        known = available_environments(root)
        hint = suggest(name, known) or (f"known: {', '.join(known)}" if known else
                                        f"no environment files in {shown_path(directory)}; "
                                        "`qgate init` writes a project's files")
        raise ConfigError(shown, "", f"environment '{name}' not found", hint=hint)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(shown, "", f"malformed TOML ({exc})") from None
    variables = _dotenv(directory.parent, name)
    if base_url is not None and isinstance(raw, dict):
        raw["base_url"] = check_url(base_url, "--base-url", "base_url")
    secrets: list[str] = []
    resolved = _resolve(raw, variables, shown, "", secrets)
    suite_tables = {k: resolved.pop(k) for k in list(resolved) if k in SUITE_SETTINGS}
    top_keys = [f.name for f in dataclasses.fields(_EnvironmentFile)] + list(SUITE_SETTINGS)
    for key in resolved:
        if key not in top_keys:
            raise ConfigError(shown, key, "unknown key", hint=suggest(key, top_keys))
    top = build(_EnvironmentFile, resolved, shown)
    for i, suite in enumerate(top.suites):
        if suite not in SUITE_SETTINGS:
            raise ConfigError(shown, f"suites[{i}]", f"unknown suite '{suite}'",
                              hint=suggest(suite, SUITE_SETTINGS) or
                              f"known: {', '.join(SUITE_SETTINGS)}")
    settings = {suite: build(settings_class(suite), suite_tables.get(suite, {}), shown, suite)
                for suite in SUITE_SETTINGS}
    secrets += [v for v in (top.auth.basic_password, *top.auth.headers.values()) if v]
    if not top.base_url:
        raise ConfigError(shown, "base_url", "is empty", hint="write the target's URL, e.g. "
                          'base_url = "${STAGING_BASE_URL}", or pass --base-url')
    return Environment(
        name=name, file=shown, base_url=top.base_url, api_url=top.api_url or top.base_url + "/api",
        production=top.production, suites=tuple(top.suites), description=top.description,
        version_path=top.version_path, auth=top.auth, settings=settings,
        secrets=tuple(secrets),
    )


def production_hosts(root: Path) -> list[tuple[str, str]]:
    """(environment, host) for every environment file marked production whose base_url
    resolves (from the process environment and `.env` files); unresolvable ones are skipped."""
    out: list[tuple[str, str]] = []
    for path in sorted(environments_dir(root).glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if raw.get("production") is not True or not isinstance(raw.get("base_url"), str):
            continue
        url = _VAR.sub(partial(_lookup, _dotenv(root, path.stem)), raw["base_url"])
        host = urlsplit(url).hostname if "\0" not in url else None
        if host:
            out.append((path.stem, host.lower()))
    return out


def _lookup(variables: Mapping[str, str], match: re.Match[str]) -> str:
    return variables.get(match.group(1), "\0")  # NUL: unresolved, so no host


def settings_class(suite: str) -> type[Any]:
    """Import the settings dataclass registered for `suite` (light modules only)."""
    module, _, attr = SUITE_SETTINGS[suite].partition(":")
    cls: type[Any] = getattr(importlib.import_module(module), attr)
    return cls


def shown_path(path: Path) -> str:
    """`path` as error messages show it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _dotenv(root: Path, name: str) -> dict[str, str]:
    """Variables from `.env` then `.env.<name>` (later wins); the process env wins over both."""
    from dotenv import dotenv_values

    merged: dict[str, str] = {}
    for file in (root / ".env", root / f".env.{name}"):
        if file.is_file():
            merged.update({k: v for k, v in dotenv_values(file).items() if v is not None})
    merged.update(os.environ)
    return merged


def _resolve(value: Any, variables: Mapping[str, str], file: str, key: str,
             secrets: list[str]) -> Any:
    """Substitute `${VAR}` everywhere; values under secret-looking keys are remembered."""
    if isinstance(value, dict):
        return {k: _resolve(v, variables, file, f"{key}.{k}" if key else k, secrets)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, variables, file, f"{key}[{i}]", secrets) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        var, default = match.group(1), match.group(2)
        value = variables.get(var)
        if not value and default is not None:  # like the shell's ${VAR:-default}
            return default
        if value is None:
            raise ConfigError(file, key, f"variable ${{{var}}} is not set",
                              hint=f"export {var}=... or put it in .env" +
                              ("; or pass --base-url" if key == "base_url" else ""))
        if not value:  # a CI secret that does not exist arrives as an empty string
            raise ConfigError(file, key, f"variable ${{{var}}} is set but empty (a missing "
                              "CI secret?)", hint=f"give {var} a value, or write ${{{var}:-}} "
                              "where empty is meant")
        return value

    result = _VAR.sub(substitute, value)
    if _SECRET_KEY.search(key) or key.startswith("auth."):
        secrets.append(result)
    return result
