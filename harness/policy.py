"""The gate policy (`gate.toml`) and waivers (`waivers.toml`).

`gate.toml` says which suites each environment requires and the criteria (metric
thresholds, finding counts), each blocking or warning. `waivers.toml` lists time-boxed
exceptions; each names what it waives (finding rule + URL pattern, test id, or metric),
an owner, a reason and an expiry date.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.errors import ConfigError
from harness.schema import build

Op = Literal["<", "<=", ">", ">=", "=="]
_RELATIVE = re.compile(r"^[+-]\d+(\.\d+)?%?$")


@dataclass(frozen=True)
class Criterion:
    """One configured criterion: a metric compared to a threshold, or a finding count."""

    suite: str
    name: str
    metric: str = ""
    op: Op = "<="
    threshold: float = 0.0
    severity: Literal["blocking", "warning"] = "blocking"
    #: when set, the observed value is the number of findings at or above this severity
    findings_at_least: Literal["", "info", "low", "medium", "high", "critical"] = ""
    #: environments this criterion applies to; empty means all
    environments: list[str] = field(default_factory=list)
    #: judge against the baseline run instead of `threshold`: "+20%" (baseline × 1.2),
    #: "+150" (baseline + 150), "-10%"; needs `--baseline`, else the criterion is n/a
    baseline: str = ""

    @property
    def blocking(self) -> bool:
        """Whether missing it blocks the release."""
        return self.severity == "blocking"


@dataclass(frozen=True)
class GatePolicy:
    """Required suites per environment, the criteria, and the flaky-test policy."""

    required: dict[str, list[str]] = field(default_factory=dict)
    criteria: list[Criterion] = field(default_factory=list)
    fail_on_flaky: bool = False
    #: per suite, core journeys → the journey steps that exercise them; each must have been
    #: reached by a test that ran, else the run is INCONCLUSIVE (skips are no evidence)
    core_journeys: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def with_criteria(self, extra: list[Criterion]) -> GatePolicy:
        """This policy plus criteria declared elsewhere (an environment's SLOs)."""
        import dataclasses
        return dataclasses.replace(self, criteria=[*self.criteria, *extra])

    def required_for(self, environment: str, allowed: Sequence[str]) -> list[str]:
        """Suites `environment` must have evidence from.

        An environment not listed under `[required]` requires every suite it allows: the
        required set never shrinks silently.
        """
        if environment in self.required:
            return list(self.required[environment])
        return list(allowed)

    def criteria_for(self, suite: str, environment: str) -> list[Criterion]:
        """The configured criteria that apply to `suite` in `environment`."""
        return [c for c in self.criteria
                if c.suite == suite and (not c.environments or environment in c.environments)]


@dataclass(frozen=True)
class Waiver:
    """A time-boxed exception to the gate."""

    id: str
    owner: str
    reason: str
    expires: dt.date
    suite: str = ""
    rule: str = ""
    url: str = "*"
    test: str = ""
    metric: str = ""

    def expired(self, today: dt.date) -> bool:
        """True once `today` is past the expiry date (the expiry day itself still waives)."""
        return today > self.expires


@dataclass(frozen=True)
class _WaiverFile:
    waiver: list[Waiver] = field(default_factory=list)


def load_policy(path: Path) -> GatePolicy:
    """Load and validate `gate.toml`; a missing file gives the default policy.

    Every name must mean something: a required suite, a criterion's suite, metric prefix or
    environment that matches nothing is a config error, never a rule that silently never
    applies.
    """
    if not path.is_file():
        return GatePolicy()
    from harness.config import shown_path
    policy = build(GatePolicy, _read_toml(path), shown_path(path))
    from harness.config import SUITE_SETTINGS, available_environments, shown_path
    from harness.schema import suggest

    known_envs = available_environments(path.parent)
    file = shown_path(path)

    def check_suite(suite: str, key: str) -> None:
        if suite not in SUITE_SETTINGS:
            raise ConfigError(file, key, f"unknown suite '{suite}'",
                              hint=suggest(suite, SUITE_SETTINGS) or
                              f"known suites: {', '.join(SUITE_SETTINGS)}")

    def check_env(env: str, key: str) -> None:
        if known_envs and env not in known_envs:
            raise ConfigError(file, key, f"unknown environment '{env}'",
                              hint=suggest(env, known_envs) or
                              f"environments: {', '.join(known_envs)}")

    for env, suites in policy.required.items():
        # a typo would leave the real environment on its default list, silently; a name
        # like no environment here is one this project does not have (a shared gate.toml)
        close = suggest(env, known_envs) if env not in known_envs else ""
        if close:
            raise ConfigError(file, f"required.{env}", f"unknown environment '{env}'",
                              hint=close)
        for i, suite in enumerate(suites):
            check_suite(suite, f"required.{env}[{i}]")
    for i, c in enumerate(policy.criteria):
        check_suite(c.suite, f"criteria[{i}].suite")
        if not c.metric and not c.findings_at_least:
            raise ConfigError(file, f"criteria[{i}]", f"criterion '{c.name}' judges nothing",
                              hint="set metric (with op and threshold) or findings_at_least")
        if c.baseline and not _RELATIVE.match(c.baseline):
            raise ConfigError(file, f"criteria[{i}].baseline",
                              f"'{c.baseline}' is not a change from the baseline",
                              hint='write it like "+20%", "-10%" or "+150"')
        if c.baseline and not c.metric:
            raise ConfigError(file, f"criteria[{i}].baseline",
                              "a baseline criterion needs a metric")
        if c.metric and not c.metric.startswith(f"{c.suite}."):
            raise ConfigError(file, f"criteria[{i}].metric",
                              f"metric '{c.metric}' is not a {c.suite} metric",
                              hint=f"{c.suite} metrics start with '{c.suite}.'")
        for j, env in enumerate(c.environments):
            check_env(env, f"criteria[{i}].environments[{j}]")
    for suite in policy.core_journeys:
        check_suite(suite, f"core_journeys.{suite}")
    return policy


def load_waivers(path: Path) -> list[Waiver]:
    """Load and validate `waivers.toml`; a missing file means no waivers."""
    if not path.is_file():
        return []
    waivers = build(_WaiverFile, _read_toml(path), str(path)).waiver
    for i, w in enumerate(waivers):
        if not (w.rule or w.test or w.metric):
            raise ConfigError(str(path), f"waiver[{i}]", f"waiver '{w.id}' waives nothing",
                              hint="set rule (+ url), test or metric")
    return waivers


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"malformed TOML ({exc})") from None
