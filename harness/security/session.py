"""What the security suite needs from an environment: the scan target, the engine, its seeds
and the rules file. Kept apart from pytest so the harness's tests can call it directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.security.rules import Rules, load_rules
from harness.security.scan import Engine, ScanError, ScanTarget, Seeds, seeds_from_requests
from harness.security.settings import SecuritySettings


def scan_target(env: Any) -> ScanTarget:
    """The target of `env` (a loaded Environment) with its auth and secrets."""
    return ScanTarget(base_url=env.base_url, basic_auth=env.auth.basic_credentials(),
                      headers=dict(env.auth.headers), production=bool(env.production),
                      secrets=tuple(env.secret_values()))


def make_engine(settings: SecuritySettings, target: ScanTarget) -> Engine:
    """The configured engine (imports nothing heavy until it runs)."""
    if settings.engine == "zap":
        from harness.security.zap import ZapEngine
        return ZapEngine(settings, target)
    from harness.security.wapiti import WapitiEngine
    return WapitiEngine(settings, target)


def rules_for(settings: SecuritySettings, root: Path, env_file: str) -> Rules:
    """The environment's rules file (none configured: no levels)."""
    if not settings.rules:
        return Rules()
    path = Path(settings.rules)
    if not path.is_absolute():
        path = root / path
    if not path.is_file():
        raise ConfigError(env_file, "security.rules", f"rules file {settings.rules} not found")
    return load_rules(path, settings.rules)


def collect_seeds(settings: SecuritySettings, run_dir: Path, target: ScanTarget,
                  root: Path) -> tuple[Seeds, list[str]]:
    """Seeds from the recorded HAR(s) and the declared OpenAPI document; notes say what."""
    from harness.har import har_files, read_requests

    notes: list[str] = []
    requests = []
    files: list[Path] = []
    if settings.seed_har:
        path = Path(settings.seed_har)
        path = path if path.is_absolute() else run_dir / path
        files = har_files(path)
        if not files:
            notes.append(f"no recorded HAR at {settings.seed_har} (did the e2e suite run "
                         "before security?); the scan starts from the crawl alone")
        try:
            requests = read_requests(path) if files else []
        except ValueError as exc:
            raise ScanError(f"security.seed_har: {exc}") from None
    seeds = seeds_from_requests(requests, target.base_url, files)
    if settings.api_spec:
        spec = _load_api_spec(settings.api_spec, target, root)
        paths = spec.setdefault("paths", {})
        for path_name, operations in (seeds.openapi or {}).get("paths", {}).items():
            paths.setdefault(path_name, {}).update(operations)
        seeds = Seeds(seeds.get_urls, spec, seeds.har_files, seeds.requests)
        notes.append(f"API described by {settings.api_spec}: {len(paths)} paths")
    return seeds, notes


def _load_api_spec(where: str, target: ScanTarget, root: Path) -> dict[str, Any]:
    if where.startswith(("http://", "https://", "/")):
        import httpx

        url = where if where.startswith("http") else target.base_url.rstrip("/") + where
        try:
            response = httpx.get(url, auth=target.basic_auth, headers=target.headers,
                                 timeout=15.0)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ScanError(f"security.api_spec: cannot read {url} ({exc})") from None
    else:
        path = root / where
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ScanError(f"security.api_spec: cannot read {path} ({exc})") from None
    if not isinstance(data, dict) or "paths" not in data:
        raise ScanError(f"security.api_spec: {where} is not an OpenAPI document (no 'paths')")
    return data
