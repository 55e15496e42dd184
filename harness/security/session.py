"""What the security suite needs from an environment: the scan target, the engine, its seeds
and the rules file. Kept apart from pytest so the harness's tests can call it directly."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.results import Coverage
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


# --- required checks -----------------------------------------------------------------


def check_key(nodeid: str) -> str:
    """The check a test belongs to: its module's name without `test_` (`csrf`)."""
    module = nodeid.split("::", 1)[0].replace("\\", "/").rsplit("/", 1)[-1]
    return module.removesuffix(".py").removeprefix("test_")


class CheckRuns:
    """Which check each test belongs to and how its tests ended (collected by the suite)."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        #: nodeid -> "ran", "not_applicable", "skipped" or "error", and why
        self.ends: dict[str, tuple[str, str]] = {}

    def collected(self, nodeid: str, key: str) -> None:
        """Test `nodeid` belongs to check `key`."""
        self.keys[nodeid] = key

    def key_of(self, nodeid: str) -> str:
        """The check of `nodeid` (its module's when it was not collected here)."""
        return self.keys.get(nodeid) or check_key(nodeid)

    def reported(self, nodeid: str, when: str, outcome: str, not_applicable: bool,
                 reason: str) -> None:
        """Fold one pytest report of `nodeid` into how it ended."""
        if outcome == "skipped" and when != "teardown":
            self.ends[nodeid] = ("not_applicable" if not_applicable else "skipped", reason)
        elif when == "call":
            self.ends[nodeid] = ("ran", "")
        elif outcome == "failed" and when == "setup":
            self.ends[nodeid] = ("error", reason or "its set-up failed")

    def coverage(self, required: Sequence[str], declared: Mapping[str, str]) -> Coverage:
        """How many required checks ran or are not applicable (each of its tests did one or
        the other); the others are named with why, and the key to declare."""
        every = list(dict.fromkeys(self.keys.values()))
        wanted = list(dict.fromkeys(required)) or every
        missing: list[str] = []
        for key in wanted:
            tests = [n for n, k in self.keys.items() if k == key]
            ends = [self.ends.get(n, ("skipped", "did not run")) for n in tests]
            if key in declared:
                continue
            if not tests:
                missing.append(f"{key} (no such test ran in this run)")
                continue
            stuck = [(end, why) for end, why in ends if end not in ("ran", "not_applicable")]
            if stuck:
                end, why = stuck[0]
                missing.append(f"{key} ({'errored' if end == 'error' else 'skipped'}"
                               + (f": {_first_line(why)}" if why else "") + ")")
        keys = ", ".join(m.split(" ", 1)[0] for m in missing)
        return Coverage(
            "security.checks_ran", float(len(wanted) - len(missing)), float(len(wanted)),
            what="required security checks that ran or are declared not applicable",
            detail=("did not run: " + "; ".join(missing)) if missing
            else f"{len(wanted)} checks: {', '.join(wanted)}",
            hint=(f"declare what each needs in [security], or declare it not applicable with "
                  f"a reason in [security.not_applicable] ({keys} = \"why\")") if missing
            else "",
            covers=("security.checks.",))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else ""


# --- plan time -----------------------------------------------------------------------


def preflight(env: Any, settings: SecuritySettings) -> None:
    """What `qgate run` checks before any suite starts (exit 2 on a problem): the rules file
    parses and names only rule ids some engine emits; a configured ZAP daemon answers."""
    from harness.config import project_root
    from harness.security.rules import unknown_rule_ids

    rules = rules_for(settings, project_root(), env.file)
    unknown = unknown_rule_ids(rules)
    if unknown:
        raise ConfigError(rules.source, "", "; ".join(unknown),
                          hint="fix the rule id or remove the line (a rule id that matches "
                               "nothing classifies nothing)")
    _check_declared_keys(env, settings)
    if settings.engine == "zap":
        from harness.security.zap import ZapEngine

        try:
            ZapEngine(settings, scan_target(env)).prepare()
        except ScanError as exc:
            raise ConfigError(env.file, "security.zap_url", exc.message,
                              hint=exc.hint) from None


def suite_check_keys() -> set[str]:
    """The keys of the security suite's checks: its test modules (and their markers)."""
    import re

    from harness.runner import suite_dir

    keys = set()
    for path in suite_dir("security").glob("test_*.py"):
        keys.add(check_key(path.name))
        keys.update(re.findall(r"security_check\(\s*[\"'](\w+)[\"']",
                               path.read_text(encoding="utf-8")))
    return keys


def _check_declared_keys(env: Any, settings: SecuritySettings) -> None:
    """A required or not-applicable check that the suite does not have is a typo (exit 2)."""
    from harness.schema import suggest

    declared = [("security.required_checks", k) for k in settings.required_checks]
    declared += [(f"security.not_applicable.{k}", k) for k in settings.not_applicable]
    if not declared:
        return
    known = suite_check_keys()
    for where, key in declared:
        if key not in known:
            raise ConfigError(env.file, where, f"the security suite has no check '{key}'",
                              hint=suggest(key, known) or f"checks: {', '.join(sorted(known))}")
