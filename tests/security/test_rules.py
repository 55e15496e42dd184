"""Rules files: zap-baseline's tsv read unchanged, CWE lines, precedence, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.results import Finding
from harness.security.rules import load_rules, parse_rules

PROJECT = Path(__file__).resolve().parents[2]


def finding(rule: str, cwe: str = "", url: str = "http://s/a") -> Finding:
    return Finding(rule, "t", "medium", url, cwe=cwe)


@pytest.mark.parametrize("rule, cwe, url, expected", [
    ("40012", "79", "http://s/search", "fail"),           # exact rule id
    ("10055-7", "693", "http://s/", "warn"),               # alert ref -> parent plugin id
    ("10055-4", "693", "http://s/", "ignore"),             # exact alert ref wins over parent
    ("wapiti.xss", "CWE-79", "http://s/", "fail"),         # CWE line covers another engine
    ("wapiti.other", "CWE-200", "http://s/", ""),          # nothing classifies it
    ("10020", "1021", "http://s/static/x.js", "ignore"),   # OUTOFSCOPE for that rule
    ("10021", "693", "http://s/health", "ignore"),         # OUTOFSCOPE for every rule (*)
    ("10020", "1021", "http://s/cart", "info"),
])
def test_levels(rule: str, cwe: str, url: str, expected: str) -> None:
    rules = parse_rules(
        "# comment\n40012\tFAIL\t(XSS)\n10055\tWARN\t(CSP)\n10055-4\tIGNORE\t(x)\n"
        "10020\tINFO\t(XFO)\n10020\tOUTOFSCOPE\thttp://s/static/.*\n"
        "*\tOUTOFSCOPE\thttp://s/health\nCWE-79\tFAIL\t(any XSS)\n", "rules.tsv")
    found = rules.level_for(finding(rule, cwe and f"CWE-{cwe.removeprefix('CWE-')}", url))
    assert found == expected


def test_project_rules_file_loads() -> None:
    rules = load_rules(PROJECT / "environments" / "security-rules.tsv")
    assert rules.levels["CWE-79"] == "fail" and rules.levels["40012"] == "fail"


@pytest.mark.parametrize("text, message", [
    ("40012 FAIL (spaces, not tabs)\n", "rules.tsv: line 1: expected 3 tab-separated fields"),
    ("40012\tBLOCK\t(x)\n", "rules.tsv: line 1: unknown level 'BLOCK'; use IGNORE, INFO, WARN"),
    ("# ok\n10020\tOUTOFSCOPE\t(unclosed\n", "rules.tsv: line 2: bad URL regex '(unclosed'"),
])
def test_bad_lines_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_rules(text, "rules.tsv")
    assert exc.value.one_line().startswith(message)


def test_engine_level_is_kept() -> None:
    rules = parse_rules("40012\tIGNORE\t(x)\n", "r")
    kept = Finding("40012", "t", "high", level="fail")
    assert rules.apply([kept])[0].level == "fail"
