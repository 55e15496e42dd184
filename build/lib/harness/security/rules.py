"""Rules files in zap-baseline's tsv format, applied to findings as `Finding.level`.

A line is `<rule id> TAB <LEVEL> TAB <free text>` (`#` starts a comment), exactly what
zap-baseline's `-c` file holds, so a team's existing file works unchanged:

- LEVEL is `IGNORE`, `INFO`, `WARN` or `FAIL` (`PASS`, which zap-baseline also accepts, hides
  like `IGNORE`); the verdict turns FAIL into a blocking criterion, WARN into a warning, shows
  INFO, and leaves IGNORE out of every count;
- `OUTOFSCOPE` takes a URL regex as its third field (matched at the start of the URL, as
  zap-baseline does); the rule id may be `*` (every rule) or a comma-separated list;
- rule ids are ZAP's plugin ids (`10038`) or alert refs (`10055-7`), qgate's own
  (`wapiti.reflected-cross-site-scripting`, `qgate.error-page-5xx`), or — qgate's addition —
  `CWE-<n>`, which classifies every finding of that CWE whichever engine found it. An exact
  rule id wins over its parent plugin id, which wins over the CWE. zap-baseline reads a
  `CWE-79` line as a rule that never fires, so one file serves both tools.

A finding no line classifies keeps an empty level: the gate's `findings_at_least` criteria
judge it by severity.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError
from harness.results import Finding, FindingLevel

_LEVELS: dict[str, FindingLevel] = {
    "FAIL": "fail", "WARN": "warn", "INFO": "info", "IGNORE": "ignore", "PASS": "ignore"}
_SUB_RULE = re.compile(r"^(\d+)-\d+$")


@dataclass(frozen=True)
class Rules:
    """A parsed rules file: a level per rule id / CWE, and out-of-scope URL patterns."""

    levels: dict[str, FindingLevel] = field(default_factory=dict)
    out_of_scope: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    source: str = ""

    def level_for(self, finding: Finding) -> FindingLevel:
        """The level this file gives `finding` ("" when no line classifies it)."""
        for key in _keys(finding):
            if self._outside(key, finding.location):
                return "ignore"
        if self._outside("*", finding.location):
            return "ignore"
        for key in _keys(finding):
            if key in self.levels:
                return self.levels[key]
        return ""

    def apply(self, findings: Iterable[Finding]) -> tuple[Finding, ...]:
        """`findings` with their levels set (a level already set by the engine is kept)."""
        return tuple(f if f.level else dataclasses.replace(f, level=self.level_for(f))
                     for f in findings)

    def _outside(self, key: str, url: str) -> bool:
        return any(p.match(url) for p in self.out_of_scope.get(key, ()))


def _keys(finding: Finding) -> list[str]:
    """Rule ids that may classify `finding`, most specific first."""
    keys = [finding.rule_id]
    sub = _SUB_RULE.match(finding.rule_id)
    if sub:
        keys.append(sub.group(1))
    if finding.cwe:
        keys.append(normalise_cwe(finding.cwe))
    return keys


def normalise_cwe(cwe: str) -> str:
    """`79`, `cwe-79` or `CWE-79` -> `CWE-79`."""
    number = cwe.strip().upper().removeprefix("CWE-").strip()
    return f"CWE-{number}"


def parse_rules(text: str, source: str) -> Rules:
    """Parse a rules file's text; a bad line is a ConfigError naming `source` and the line."""
    levels: dict[str, FindingLevel] = {}
    out_of_scope: dict[str, list[re.Pattern[str]]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"line {number}"
        if line.count("\t") < 2:
            raise ConfigError(source, where, "expected 3 tab-separated fields (rule id, level, "
                              "description or URL regex)",
                              hint="zap-baseline's format: 10038<TAB>WARN<TAB>(CSP header)")
        key, level, rest = line.rstrip("\r\n").split("\t", 2)
        key, level = key.strip(), level.strip()
        if level == "OUTOFSCOPE":
            pattern = rest.split("\t", 1)[0]
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ConfigError(source, where, f"bad URL regex {pattern!r} ({exc})") from None
            for rule in key.split(","):
                out_of_scope.setdefault(_key(rule.strip()), []).append(compiled)
        elif level in _LEVELS:
            levels[_key(key)] = _LEVELS[level]
        else:
            raise ConfigError(source, where, f"unknown level {level!r}",
                              hint="use IGNORE, INFO, WARN, FAIL or OUTOFSCOPE")
    return Rules(levels, out_of_scope, source)


def _key(rule: str) -> str:
    return normalise_cwe(rule) if rule.upper().startswith("CWE-") else rule


def load_rules(path: Path, shown: str | None = None) -> Rules:
    """Read and parse the rules file at `path` (missing or unreadable: a ConfigError)."""
    name = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, "", "rules file not found",
                          hint="check security.rules in the environment file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, "", f"cannot read the rules file ({exc})") from None
    return parse_rules(text, name)
