"""The gate policy (`gate.toml`) and waivers (`waivers.toml`).

`gate.toml` says which suites each environment requires and the criteria (metric
thresholds, finding counts), each blocking or warning. Each suite also ships built-in
criteria (its settings' `gate_criteria`: security and data block on high findings, load
warns on rate limiting…); a gate.toml criterion of the same suite and name replaces one,
so a project can change its threshold or severity but never loses it silently.

`waivers.toml` lists time-boxed exceptions; each names one thing it waives (a finding's
rule + URL pattern, a test id or one file's tests, or a metric a criterion judges), an
owner, a reason and an expiry date at most `[waivers] max_days` away. A waiver that would
waive everything (`test = "*"`, a findings criterion named as a metric) is refused when the
run is planned (`load_gate`), before any suite runs.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from harness.errors import ConfigError
from harness.schema import build

if TYPE_CHECKING:
    from harness.config import Environment

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
class EvidencePolicy:
    """How much evidence a figure needs before the gate judges it (`[evidence]`).

    `min_samples`: the fewest samples behind any metric a suite reports a sample count for
    (requests behind a percentile, orders behind a rate); `samples` overrides it per metric.
    `minimum` overrides a suite's own coverage minimum by its key (`load.requests_on_target`).
    """

    min_samples: int = 20
    samples: dict[str, int] = field(default_factory=dict)
    minimum: dict[str, float] = field(default_factory=dict)

    def samples_needed(self, metric: str) -> int:
        """The fewest samples `metric` needs to be judged."""
        return self.samples.get(metric, self.min_samples)


@dataclass(frozen=True)
class WaiverPolicy:
    """`[waivers]` in gate.toml: how long a waiver may last."""

    #: the latest expiry a waiver may have, in days from today (a waiver is time-boxed)
    max_days: int = 90


@dataclass(frozen=True)
class GatePolicy:
    """Required suites per environment, the criteria, and the flaky-test policy."""

    required: dict[str, list[str]] = field(default_factory=dict)
    criteria: list[Criterion] = field(default_factory=list)
    fail_on_flaky: bool = False
    #: per suite, core journeys → the journey steps that exercise them; each must have been
    #: reached by a test that ran, else the run is INCONCLUSIVE (skips are no evidence)
    core_journeys: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    evidence: EvidencePolicy = field(default_factory=EvidencePolicy)
    waivers: WaiverPolicy = field(default_factory=WaiverPolicy)

    def with_criteria(self, extra: list[Criterion], environment: str = "") -> GatePolicy:
        """This policy plus criteria declared elsewhere (an environment's SLOs, a suite's
        built-in criteria).

        A criterion of this policy with the same suite and name that applies to
        `environment` replaces the declared one: gate.toml may change a built-in's
        threshold or severity, and where its version does not apply the built-in still does.
        """
        import dataclasses
        own = {(c.suite, c.name) for c in self.criteria
               if not environment or not c.environments or environment in c.environments}
        kept = [c for c in extra if (c.suite, c.name) not in own]
        return dataclasses.replace(self, criteria=[*self.criteria, *kept])

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
    #: environments it waives in; empty means all
    environments: list[str] = field(default_factory=list)

    def applies_to(self, environment: str) -> bool:
        """Whether it waives anything in `environment`."""
        return not self.environments or environment in self.environments

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
    for table in ("samples", "minimum"):
        for key in getattr(policy.evidence, table):
            check_suite(key.split(".", 1)[0], f"evidence.{table}.{key}")
    if policy.evidence.min_samples < 1:
        raise ConfigError(file, "evidence.min_samples", "must be at least 1",
                          hint="a figure from no sample is no evidence")
    if policy.waivers.max_days < 1:
        raise ConfigError(file, "waivers.max_days", "must be at least 1",
                          hint="a waiver lasts at least until tomorrow")
    return policy


def load_gate(root: Path, env: Environment, *, today: dt.date
              ) -> tuple[GatePolicy, list[Waiver]]:
    """The gate for `env`: gate.toml with the criteria the environment declares and its
    suites ship, and the waivers checked against them. `qgate run` calls it while planning,
    so a bad gate or waiver file fails before any suite runs."""
    policy = load_policy(root / "gate.toml").with_criteria(env.declared_criteria(), env.name)
    criteria = [c for c in policy.criteria if not c.environments or env.name in c.environments]
    waivers = load_waivers(root / "waivers.toml", today=today,
                           max_days=policy.waivers.max_days, criteria=criteria,
                           environment=env.name, suites=env.suites)
    return policy, waivers


def load_waivers(path: Path, *, today: dt.date | None = None, max_days: int = 90,
                 criteria: Sequence[Criterion] | None = None, environment: str = "",
                 suites: Sequence[str] | None = None) -> list[Waiver]:
    """Load and validate `waivers.toml`; a missing file means no waivers.

    Each waiver names one thing: a finding's rule (an id, + an optional URL pattern), a test
    id pattern that does not match every test, or a metric a metric criterion judges (checked
    against `criteria`, those of `environment`, when given; a waiver of a suite outside
    `suites`, the environment's, is checked where that suite runs). Its expiry is at most
    `max_days` after `today`.
    """
    if not path.is_file():
        return []
    from harness.config import SUITE_SETTINGS, available_environments, shown_path
    from harness.schema import suggest

    file = shown_path(path)
    today = today or dt.date.today()
    waivers = build(_WaiverFile, _read_toml(path), file).waiver
    known_envs = available_environments(path.parent)
    seen: set[str] = set()
    for i, w in enumerate(waivers):
        key = f"waiver[{i}]"

        def refuse(problem: str, hint: str = "", field_: str = "", key: str = key,
                   w: Waiver = w) -> None:
            raise ConfigError(file, f"{key}.{field_}" if field_ else key,
                              f"waiver '{w.id}' {problem}", hint=hint)

        if w.id in seen:
            refuse("is listed twice", "give each waiver its own id", "id")
        seen.add(w.id)
        kinds = [k for k in ("rule", "test", "metric") if getattr(w, k)]
        if not kinds:
            refuse("waives nothing", "set rule (+ url), test or metric")
        if len(kinds) > 1:
            refuse(f"sets {' and '.join(kinds)}: a waiver waives one thing",
                   "write one waiver per thing (rule + url, test or metric)")
        if w.suite and w.suite not in SUITE_SETTINGS:
            refuse(f"names unknown suite '{w.suite}'",
                   suggest(w.suite, SUITE_SETTINGS) or f"known: {', '.join(SUITE_SETTINGS)}",
                   "suite")
        for j, env in enumerate(w.environments):
            if known_envs and env not in known_envs:
                refuse(f"names unknown environment '{env}'",
                       suggest(env, known_envs) or f"environments: {', '.join(known_envs)}",
                       f"environments[{j}]")
        if w.url != "*" and not w.rule:
            refuse("has a url but no rule: a url needs a rule", "set rule to the finding's id",
                   "url")
        if w.rule and any(ch in w.rule for ch in "*?["):
            refuse(f"rule '{w.rule}' must be a rule id, not a pattern",
                   "name the finding's rule id (e.g. 10038); narrow by url", "rule")
        if w.test and _matches_every_test(w.test):
            refuse(f"test pattern '{w.test}' matches every test",
                   "name the test (suites/e2e/test_x.py::test_y) or one file's tests "
                   "(suites/e2e/test_x.py::*)", "test")
        if w.metric and criteria is not None and w.applies_to(environment) and (
                suites is None or _suite_of(w) in ("", *suites)):
            problem = _metric_problem(w, criteria, environment)
            if problem:
                refuse(*problem, "metric")
        latest = today + dt.timedelta(days=max_days)
        if w.expires > latest:
            refuse(f"expires {w.expires.isoformat()}, more than {max_days} days from today "
                   f"({today.isoformat()})", f"a waiver is time-boxed: expire it by "
                   f"{latest.isoformat()}, or raise [waivers] max_days in gate.toml",
                   "expires")
    return waivers


def _suite_of(w: Waiver) -> str:
    """The suite a waiver is about: its own, else its metric's prefix ('' when unknown)."""
    from harness.config import SUITE_SETTINGS
    prefix = w.metric.split(".", 1)[0]
    return w.suite or (prefix if prefix in SUITE_SETTINGS else "")


#: a test id no project has: a pattern matching it (or its variants) matches every test
_PROBE = "qgate_probe_abcdefghijklmnopqrstuvwxyz_0123456789"


def _matches_every_test(pattern: str) -> bool:
    from harness.config import SUITE_SETTINGS
    probes = [f"suites/{suite}/test_{_PROBE}.py::test_{_PROBE}" for suite in SUITE_SETTINGS]
    probes += [f"test_{_PROBE}.py::Test{_PROBE}::test_{_PROBE}[{_PROBE}]", f"{_PROBE}::{_PROBE}",
               _PROBE]
    return any(fnmatch.fnmatchcase(probe, pattern) for probe in probes)


def _metric_problem(w: Waiver, criteria: Sequence[Criterion],
                    environment: str) -> tuple[str, str] | None:
    """Why a metric waiver waives no metric criterion here (problem, hint), or None."""
    from harness.schema import suggest

    mine = [c for c in criteria if not w.suite or c.suite == w.suite]
    if any(c.metric and w.metric in (c.metric, c.name) for c in mine):
        return None
    if any(not c.metric and c.name == w.metric for c in mine):
        return (f"names '{w.metric}', which counts findings: it would waive every one",
                "waive each finding by its rule id (+ url), e.g. rule = \"10038\"")
    metrics = sorted({c.metric for c in mine if c.metric})
    where = f" for {environment}" if environment else ""
    known = suggest(w.metric, metrics) or (f"judged metrics: {', '.join(metrics[:6])}"
                                           if metrics else "no metric criterion applies")
    return (f"names '{w.metric}', but no metric criterion judges '{w.metric}'{where}",
            f"{known} (a waiver for another environment: set its environments)")


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"malformed TOML ({exc})") from None
