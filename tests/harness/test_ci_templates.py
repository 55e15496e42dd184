"""The CI and release templates: they parse, every qgate command in them exists, and the
release path is there (gate → approval → deploy → smoke → rollback)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from cli_support import run_qgate
from harness.cli import build_parser
from harness.config import packaged_dir

TEMPLATES = packaged_dir("harness.templates")
assert TEMPLATES is not None


def commands(node: object) -> list[str]:
    """Every shell line under a `run:` (GitHub) or `script:` (GitLab) key."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("run", "script", "after_script", "before_script"):
                text = "\n".join(value) if isinstance(value, list) else str(value)
                lines = text.replace("\\\n", " ").splitlines()
                found += [str(line) for line in lines]
            else:
                found += commands(value)
    elif isinstance(node, list):
        for item in node:
            found += commands(item)
    return found


def qgate_lines(path: Path) -> list[list[str]]:
    doc = yaml.safe_load(path.read_text())
    out = []
    for line in commands(doc):
        # ${{ … }} and $VARS are filled in by the CI; give them a plain value to parse
        line = re.sub(r"\$\{\{[^}]*\}\}", "X", line)
        line = re.sub(r"\$[A-Z_]+", "X", line)
        words = shlex.split(line)
        if words and words[0] == "qgate":
            out.append(words[1:])
    return out


@pytest.mark.parametrize(("name", "used"), [
    ("github-actions.yml", {"run", "approve", "smoke"}),
    ("gitlab-ci.yml", {"run", "approve", "smoke"}),
    ("zap-github-actions.yml", {"doctor", "run"}),
])
def test_every_qgate_command_in_the_template_parses(name: str, used: set[str]) -> None:
    lines = qgate_lines(TEMPLATES / "ci" / name)
    assert {words[0] for words in lines} == used
    parser = build_parser()
    for words in lines:
        parser.parse_args(words)  # argparse exits (SystemExit) on an unknown command or flag
        assert "--suites" not in words, "a partial run in CI can never be GO"


def test_github_release_path() -> None:
    jobs = yaml.safe_load((TEMPLATES / "ci" / "github-actions.yml").read_text())["jobs"]
    assert jobs["deploy"]["needs"] == "gate" and jobs["deploy"]["environment"] == "production"
    assert jobs["smoke"]["needs"] == "deploy"
    steps = jobs["smoke"]["steps"]
    rollback = next(s for s in steps if "rollback" in str(s.get("run", "")))
    assert rollback["if"] == "failure()"  # qgate smoke's exit code 1 (NO-GO) triggers it
    gate_steps = [str(s.get("run", "")) for s in jobs["gate"]["steps"]]
    assert any("GITHUB_STEP_SUMMARY" in s for s in gate_steps)


def test_gitlab_release_path() -> None:
    doc = yaml.safe_load((TEMPLATES / "ci" / "gitlab-ci.yml").read_text())
    assert doc["approve"]["when"] == "manual" and doc["approve"]["allow_failure"] is False
    assert doc["deploy"]["needs"] == ["approve"] and doc["smoke"]["needs"] == ["deploy"]
    assert doc["rollback"]["rules"][0]["when"] == "on_failure"
    assert doc["gate"]["artifacts"]["reports"]["junit"] == "qgate-report/junit.xml"


@pytest.mark.parametrize(("ci", "target"), [("github", ".github/workflows/qgate.yml"),
                                            ("gitlab", ".gitlab-ci.yml")])
def test_init_writes_the_pipeline(tmp_path: Path, ci: str, target: str) -> None:
    result = run_qgate("init", str(tmp_path), "--ci", ci)
    assert result.code == 0, result.err
    assert yaml.safe_load((tmp_path / target).read_text())


def fake_run(run_dir: Path, decision: str) -> None:
    from harness.results import SuiteResult, TestCase, write_suite_result
    from harness.runrecord import RunRecord, write_run
    from harness.verdict import Verdict

    # a complete run of the gate's required set for staging (gate.toml: smoke and e2e)
    results = {s: SuiteResult(s, "passed", 1.0, "pytest", tests=(TestCase("a", "a", "passed"),))
               for s in ("smoke", "e2e")}
    for result in results.values():
        write_suite_result(run_dir, result)
    write_run(RunRecord(run_dir.name, "staging", "https://s", "1.2.3", "t", "t",
                        Verdict(decision, (), "x"), results,  # type: ignore[arg-type]
                        required=("smoke", "e2e"), profile="default"), run_dir)


def test_approve_records_who_in_the_run_and_its_reports(tmp_path: Path) -> None:
    run_dir = tmp_path / "r1"
    fake_run(run_dir, "GO")
    result = run_qgate("approve", str(run_dir), "--by", "release-manager", "--note", "CHG-42")
    assert result.code == 0, result.err
    assert result.out.startswith("approved run r1 (staging, GO) by release-manager at ")
    run = json.loads((run_dir / "run.json").read_text())
    assert [a["by"] for a in run["approvals"]] == ["release-manager"]
    assert run["approvals"][0]["note"] == "CHG-42" and run["approvals"][0]["at"]
    assert "Approved for release** by release-manager" in (run_dir / "summary.md").read_text()
    assert "data-testid='approval'" in (run_dir / "report.html").read_text()


@pytest.mark.parametrize("decision", ["NO-GO", "INCONCLUSIVE"])
def test_only_a_go_can_be_approved(tmp_path: Path, decision: str) -> None:
    run_dir = tmp_path / "r1"
    fake_run(run_dir, decision)
    result = run_qgate("approve", str(run_dir), "--by", "someone")
    assert result.code == 2
    assert f"the verdict is {decision}; only a GO can be approved" in result.err
    assert "approvals" not in json.loads((run_dir / "run.json").read_text()) or \
        json.loads((run_dir / "run.json").read_text())["approvals"] == []
