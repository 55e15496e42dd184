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


# --- plan time (issue 16 item 10) --------------------------------------------------------


def test_wapiti_categories_are_the_installed_wapitis() -> None:
    """The rule ids qgate accepts for wapiti are the categories the real wapiti reports."""
    import subprocess

    from harness.security.rules import WAPITI_CATEGORIES
    from harness.security.wapiti import find_wapiti, rule_id

    python = Path(find_wapiti()).parent / "python"
    names = subprocess.run(
        [str(python), "-c", "from wapitiCore.definitions import vulnerabilities, anomalies, "
         "additionals\nfor g in (vulnerabilities, anomalies, additionals):\n"
         "    for v in g: print(v.name())"],
        capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()
    assert {rule_id(n) for n in names} == WAPITI_CATEGORIES


def test_unknown_rule_ids_are_named_with_a_suggestion() -> None:
    from harness.security.rules import unknown_rule_ids

    rules = parse_rules("10038\tWARN\t(CSP)\n10055-7\tWARN\tx\nCWE-79\tFAIL\tx\n"
                        "wapiti.cross-site-scripting\tFAIL\tx\nqgate.cookie-flag\tWARN\tx\n"
                        "qgate.cookie-flags\tWARN\tx\nwapiti.sql-injection\tFAIL\tx\n"
                        "*\tOUTOFSCOPE\thttp://s/static/.*\n", "r.tsv")
    assert unknown_rule_ids(rules) == [
        "line 4: 'wapiti.cross-site-scripting' is no rule id qgate knows (did you mean "
        "'wapiti.stored-cross-site-scripting' or 'wapiti.reflected-cross-site-scripting'?)",
        "line 5: 'qgate.cookie-flag' is no rule id qgate knows (did you mean "
        "'qgate.cookie-flags'?)"]


@pytest.mark.parametrize("typo, expected", [
    ("wapiti.xss", ["wapiti.stored-cross-site-scripting", "wapiti.reflected-cross-site-scripting"]),
    ("wapiti.sqli", ["wapiti.sql-injection", "wapiti.blind-sql-injection"]),
    ("wapiti.csrf", ["wapiti.cross-site-request-forgery"]),
    ("wapti.open-redirect", ["wapiti.open-redirect"]),
    ("qgate.hsts", ["qgate.transport-hsts"]),
    ("wapiti.log4j", []),
    ("wapiti.ss", []),
])
def test_a_typo_is_offered_only_close_ids(typo: str, expected: list[str]) -> None:
    """The scanner's prefix does not make two ids close: `wapiti.xss` used to be offered
    `wapiti.spring4shell`; nothing close, no suggestion (the id formats instead)."""
    from harness.security.rules import WAPITI_CATEGORIES, known_qgate_rules, unknown_rule_ids

    assert set(expected) <= WAPITI_CATEGORIES | known_qgate_rules()
    [message] = unknown_rule_ids(parse_rules(f"{typo}\tFAIL\tx\n", "r.tsv"))
    if expected:
        assert message.endswith("(did you mean " + " or ".join(map(repr, expected)) + "?)")
    else:
        assert "did you mean" not in message and "wapiti.<category>" in message
    assert "spring4shell" not in message


def test_the_docs_list_every_rule_id_the_error_points_to() -> None:
    """An id nothing is close to names where the valid ids are listed; that list is these."""
    import re

    from harness.security.rules import WAPITI_CATEGORIES, known_qgate_rules, unknown_rule_ids

    page = (Path(__file__).resolve().parents[2] / "docs" / "security-evidence.md").read_text()
    section = page.split("\n## Rule ids\n", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"`((?:wapiti|qgate)\.[^`]+)`", section)) == \
        WAPITI_CATEGORIES | known_qgate_rules()
    [message] = unknown_rule_ids(parse_rules("wapiti.log4j\tFAIL\tx\n", "r.tsv"))
    assert 'security-evidence page lists every id under "Rule ids"' in message


def _project(root: Path, security: str) -> None:
    (root / "environments").mkdir()
    (root / "suites").symlink_to(PROJECT / "suites")
    (root / "environments" / "stage.toml").write_text(
        'base_url = "http://127.0.0.1:9"\nsuites = ["security"]\n[security]\n' + security)


@pytest.mark.parametrize("rules, security, expected", [
    ("10038\tWARN\t(CSP)\n10020\tWRAN\t(typo)\n", 'rules = "r.tsv"\n',
     "r.tsv: line 2: unknown level 'WRAN'"),
    ("wapiti.xss\tFAIL\t(xss)\n", 'rules = "r.tsv"\n',
     "r.tsv: line 1: 'wapiti.xss' is no rule id qgate knows"),
    ("", 'engine = "zap"\nzap_url = "http://127.0.0.1:{port}"\n',
     "stage.toml: security.zap_url: ZAP daemon at http://127.0.0.1:{port} is unreachable"),
], ids=["bad-level", "unknown-rule-id", "zap-unreachable"])
def test_rules_file_errors_and_an_unreachable_zap_are_found_at_plan_time(
        tmp_path: Path, closed_port_url: str, rules: str, security: str, expected: str) -> None:
    """`qgate run` refuses them with exit 2 before any suite starts (it used to start the
    suite, which then errored: INCONCLUSIVE, exit 3, late)."""
    from tests.support.cli_support import run_qgate

    port = closed_port_url.rsplit(":", 1)[1].strip("/")
    (tmp_path / "r.tsv").write_text(rules)
    _project(tmp_path, security.replace("{port}", port))
    result = run_qgate("run", "--env", "stage", "--suites", "security", cwd=tmp_path,
                       env={"QGATE_ROOT": str(tmp_path),
                            "QGATE_REPORTS_DIR": str(tmp_path / "reports")}, timeout=120)
    assert result.code == 2, result.out + result.err
    assert expected.replace("{port}", port) in result.err
    assert "running" not in result.out  # no suite started


def test_a_declared_check_the_suite_does_not_have_is_found_at_plan_time(
        tmp_path: Path) -> None:
    """`[security.not_applicable] cookie = …` (for `cookies`) would leave the real check
    undeclared: exit 2 with a did-you-mean, before anything runs."""
    from tests.support.cli_support import run_qgate

    _project(tmp_path, '[security.not_applicable]\ncookie = "no sessions"\n')
    result = run_qgate("run", "--env", "stage", "--suites", "security", cwd=tmp_path,
                       env={"QGATE_ROOT": str(tmp_path),
                            "QGATE_REPORTS_DIR": str(tmp_path / "reports")}, timeout=120)
    assert result.code == 2, result.out + result.err
    assert ("stage.toml: security.not_applicable.cookie: the security suite has no check "
            "'cookie'; did you mean 'cookies'?") in result.err
