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

A rule id no engine emits would classify nothing, silently: `unknown_rule_ids` names them
(with a did-you-mean) and `qgate run` refuses them at plan time. ZAP's plugin ids are
numbers (any number is accepted: the daemon's add-ons decide which exist); wapiti's are its
finding categories (`WAPITI_CATEGORIES`, wapiti 3.2.3); qgate's own are the `qgate.*` ids its
checks emit (found in `harness/security`'s sources, so a new check's ids count at once).
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
_ZAP_RULE = re.compile(r"^\d+(-\d+)?$")
_CWE_RULE = re.compile(r"^CWE-\d+$")
_QGATE_RULE = re.compile(r"[\"'](qgate\.[a-z0-9-]+)[\"']")
#: wapiti's finding categories as rule ids (wapitiCore.definitions, wapiti 3.2.3)
WAPITI_CATEGORIES = frozenset(f"wapiti.{c}" for c in (
    "backup-file", "weak-credentials", "crlf-injection", "content-security-policy-configuration",
    "cross-site-request-forgery", "potentially-dangerous-file", "command-execution",
    "path-traversal", "fingerprint-web-application-framework", "fingerprint-web-server",
    "htaccess-bypass", "html-injection", "clickjacking-protection",
    "http-strict-transport-security-hsts", "mime-type-confusion", "httponly-flag-cookie",
    "unencrypted-channels", "ldap-injection", "log4shell", "open-redirect",
    "reflected-cross-site-scripting", "secure-flag-cookie", "spring4shell", "sql-injection",
    "tls-ssl-misconfigurations", "server-side-request-forgery", "stored-html-injection",
    "stored-cross-site-scripting", "subdomain-takeover", "blind-sql-injection",
    "unrestricted-file-upload", "vulnerable-software", "internal-server-error",
    "resource-consumption", "review-webserver-metafiles-for-information-leakage",
    "fingerprint-web-technology", "http-methods"))


@dataclass(frozen=True)
class Rules:
    """A parsed rules file: a level per rule id / CWE, and out-of-scope URL patterns."""

    levels: dict[str, FindingLevel] = field(default_factory=dict)
    out_of_scope: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    source: str = ""
    #: the line each rule id was named on (for unknown-id reports)
    lines: dict[str, int] = field(default_factory=dict)

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
    lines: dict[str, int] = {}
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
                lines.setdefault(_key(rule.strip()), number)
        elif level in _LEVELS:
            levels[_key(key)] = _LEVELS[level]
            lines.setdefault(_key(key), number)
        else:
            raise ConfigError(source, where, f"unknown level {level!r}",
                              hint="use IGNORE, INFO, WARN, FAIL or OUTOFSCOPE")
    return Rules(levels, out_of_scope, source, lines)


def known_qgate_rules() -> frozenset[str]:
    """The `qgate.*` rule ids qgate's security checks emit (read from their sources)."""
    folder = Path(__file__).parent
    return frozenset(m.group(1) for path in folder.glob("*.py")
                     for m in _QGATE_RULE.finditer(path.read_text(encoding="utf-8")))


def unknown_rule_ids(rules: Rules) -> list[str]:
    """`line N: <id> is no rule qgate knows (did you mean …?)` for each id no engine emits."""
    qgate = known_qgate_rules()
    out = []
    for rule, number in sorted(rules.lines.items(), key=lambda kv: kv[1]):
        if rule == "*" or _ZAP_RULE.match(rule) or _CWE_RULE.match(rule):
            continue
        if rule in WAPITI_CATEGORIES or rule in qgate:
            continue
        close = close_rule_ids(rule, WAPITI_CATEGORIES | qgate)
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?" if close else ""
        out.append(f"line {number}: {rule!r} is no rule id qgate knows"
                   + (f" ({hint})" if hint else " (ZAP plugin ids are numbers; wapiti's are "
                      "wapiti.<category>; qgate's are qgate.<check>; or CWE-<n>; the docs' "
                      "security-evidence page lists every id under \"Rule ids\")"))
    return out


#: common abbreviations of finding categories, expanded before matching a typo'd id
_ABBREVIATIONS = {"xss": "cross-site-scripting", "sqli": "sql-injection",
                  "rce": "command-execution", "lfi": "path-traversal"}


def close_rule_ids(rule: str, known: frozenset[str], limit: int = 3) -> list[str]:
    """The ids of `known` close to the unknown `rule`, nearest first (at most `limit`).

    The part after the scanner's prefix is compared, among the ids of the same scanner (of
    every scanner when the prefix is unknown or missing): `wapiti.xss` must not come out as
    `wapiti.spring4shell` just because both start with `wapiti.`. Abbreviations and initials
    count (`xss`, `csrf`), then difflib's close matches of the name."""
    import difflib

    prefix, _, name = rule.rpartition(".")
    prefixes = {k.split(".", 1)[0] for k in known}
    names: dict[str, list[str]] = {}
    for k in sorted(known):
        if prefix not in prefixes or k.startswith(prefix + "."):
            names.setdefault(k.split(".", 1)[1], []).append(k)
    word = _ABBREVIATIONS.get(name.lower(), name.lower())
    flat = word.replace("-", "").replace("_", "")

    def related(candidate: str) -> bool:
        return ("".join(p[0] for p in candidate.split("-") if p) == word
                or (len(flat) >= 4 and flat in candidate.replace("-", ""))
                or f"-{word}-" in f"-{candidate}-")

    def ratio(candidate: str) -> float:
        return difflib.SequenceMatcher(None, word, candidate).ratio()

    close = sorted((c for c in names if related(c)), key=ratio, reverse=True) or \
        difflib.get_close_matches(word, list(names), n=limit, cutoff=0.6)
    return [k for c in close for k in names[c]][:limit]


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
