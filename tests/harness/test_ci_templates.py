"""The CI and release templates: they parse, and their shell steps, run here in order with a
fake or real qgate, gate pull requests without an undeployed version, tell a fork or a missing
secret apart, and roll back on a NO-GO of the post-deploy smoke only (never on exit 2, 3, 4)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from ci_runner import fake_tools, run_github_job, run_gitlab_pipeline
from cli_support import run_qgate
from harness.cli import build_parser
from harness.config import packaged_dir

TEMPLATES = packaged_dir("harness.templates")
assert TEMPLATES is not None
GITHUB = yaml.safe_load((TEMPLATES / "ci" / "github-actions.yml").read_text())
GITLAB = yaml.safe_load((TEMPLATES / "ci" / "gitlab-ci.yml").read_text())
SECRETS = {"STAGING_BASE_URL": "https://staging.example.com", "STAGING_BASIC_USER": "qa",
           "STAGING_BASIC_PASSWORD": "pw", "PRODUCTION_BASE_URL": "https://shop.example.com"}
PR = {"event_name": "pull_request", "sha": "f00d", "actor": "dev", "run_id": "7",
      "event": {"pull_request": {"head": {"repo": {"fork": False}}}}}
RELEASE = {"event_name": "workflow_dispatch", "sha": "c0ffee", "actor": "rm", "run_id": "8"}


def qgate_calls(folder: Path) -> list[list[str]]:
    """The argument lists the fake qgate was called with."""
    path = folder / "qgate-calls.txt"
    return [shlex.split(line) for line in path.read_text().splitlines()] if path.exists() else []


def assert_parse(calls: list[list[str]]) -> None:
    parser = build_parser()
    for words in calls:
        parser.parse_args(words)  # argparse exits (SystemExit) on an unknown command or flag
        assert "--suites" not in words, "a partial run in CI can never be GO"


def test_a_pull_request_is_gated_without_a_version_nobody_deployed(tmp_path: Path) -> None:
    env = fake_tools(tmp_path)
    job = run_github_job(GITHUB, "gate", cwd=tmp_path, env=env, secrets=SECRETS, github=PR)
    assert not job.failed, job.steps
    calls = qgate_calls(tmp_path)
    assert calls == [["run", "--env", "staging"]]  # no --expect-version, no baseline yet
    assert_parse(calls)
    # later pushes compare with the last GO runs; a deploy-then-gate team names its version
    (tmp_path / "reports" / "history").mkdir(parents=True)
    (tmp_path / "reports" / "history" / "staging.jsonl").write_text(
        json.dumps({"decision": "GO", "run_id": "r1"}) + "\n")
    run_github_job(GITHUB, "gate", cwd=tmp_path, env=env, secrets=SECRETS, github=PR,
                   variables={"QGATE_STAGING_VERSION": "4.2.0"})
    assert qgate_calls(tmp_path)[-1] == ["run", "--env", "staging", "--expect-version", "4.2.0",
                                         "--baseline", "last-go:3"]
    assert_parse(qgate_calls(tmp_path))


def test_a_fork_pull_request_says_why_and_is_inconclusive(tmp_path: Path) -> None:
    env = fake_tools(tmp_path)
    fork = PR | {"event": {"pull_request": {"head": {"repo": {"fork": True}}}}}
    job = run_github_job(GITHUB, "gate", cwd=tmp_path, env=env, secrets={}, github=fork)
    gate = job.step("qgate run")
    assert gate.code == 3 and "pull request from a fork" in gate.out
    assert qgate_calls(tmp_path) == []


@pytest.mark.parametrize(("code", "rolled_back"), [(0, False), (1, True), (2, False),
                                                   (3, False), (4, False)])
def test_github_rolls_back_on_a_no_go_smoke_only(tmp_path: Path, code: int,
                                                 rolled_back: bool) -> None:
    env = fake_tools(tmp_path, qgate_exit={"smoke": code})
    job = run_github_job(GITHUB, "smoke", cwd=tmp_path, env=env, secrets=SECRETS,
                         github=RELEASE, variables={"QGATE_CHECK_VERSION": "true"})
    assert qgate_calls(tmp_path) == [["smoke", "--env", "production", "--timeout", "60",
                                      "--expect-version", "c0ffee"]]
    assert_parse(qgate_calls(tmp_path))
    assert (tmp_path / "rollback-ran.txt").exists() is rolled_back
    assert job.failed is (code != 0)
    page = job.step("page a person (no automatic rollback)")
    assert page.ran is (code not in (0, 1))
    if page.ran:
        assert f"could not judge the deploy (exit {code}" in page.out


def test_the_first_release_smoke_expects_no_version_until_the_shop_reports_one(
        tmp_path: Path) -> None:
    env = fake_tools(tmp_path)
    run_github_job(GITHUB, "smoke", cwd=tmp_path, env=env, secrets=SECRETS, github=RELEASE)
    run_gitlab_pipeline(GITLAB, cwd=tmp_path, env=env, variables=MAIN,
                        assume_passed=("gate", "approve", "deploy"))
    assert [c for c in qgate_calls(tmp_path) if c[0] == "smoke"] == [
        ["smoke", "--env", "production", "--timeout", "60"]] * 2


def test_github_release_path() -> None:
    jobs = GITHUB["jobs"]
    assert jobs["deploy"]["needs"] == "gate" and jobs["deploy"]["environment"] == "production"
    assert jobs["smoke"]["needs"] == "deploy"
    gate_steps = [str(s.get("run", "")) for s in jobs["gate"]["steps"]]
    assert any("GITHUB_STEP_SUMMARY" in s for s in gate_steps)


MAIN = SECRETS | {"CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main",
                  "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": "c0ffee",
                  "GITLAB_USER_LOGIN": "rm", "CI_PIPELINE_ID": "9", "CI_PROJECT_ID": "1"}


@pytest.mark.parametrize(("code", "rolled_back"), [(0, False), (1, True), (2, False),
                                                   (3, False)])
def test_gitlab_rolls_back_on_a_no_go_smoke_only(tmp_path: Path, code: int,
                                                 rolled_back: bool) -> None:
    env = fake_tools(tmp_path, qgate_exit={"smoke": code})
    runs = run_gitlab_pipeline(GITLAB, cwd=tmp_path, env=env, variables=MAIN)
    assert [n for n, r in runs.items() if r.ran][:4] == ["gate", "approve", "deploy", "smoke"]
    assert [c[0] for c in qgate_calls(tmp_path)] == ["run", "approve", "smoke"]
    assert_parse(qgate_calls(tmp_path))
    assert runs["smoke"].code == code
    assert (tmp_path / "rollback-ran.txt").exists() is rolled_back
    if code not in (0, 1):
        assert runs["rollback"].ran and runs["rollback"].code == 1
        assert f"could not judge the deploy (exit {code}" in runs["rollback"].out


def test_gitlab_a_failed_gate_deploys_nothing_and_rolls_nothing_back(tmp_path: Path) -> None:
    env = fake_tools(tmp_path, qgate_exit={"run": 1})
    runs = run_gitlab_pipeline(GITLAB, cwd=tmp_path, env=env, variables=MAIN)
    assert [n for n, r in runs.items() if r.ran] == ["gate", "rollback"]
    assert not (tmp_path / "deploy-ran.txt").exists()
    assert not (tmp_path / "rollback-ran.txt").exists()
    assert "exit none" in runs["rollback"].out


def test_gitlab_merge_request_runs_the_gate_only_without_a_version(tmp_path: Path) -> None:
    env = fake_tools(tmp_path)
    variables = SECRETS | {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_COMMIT_SHA": "f00d",
                           "CI_DEFAULT_BRANCH": "main", "CI_PROJECT_ID": "1",
                           "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "1"}
    runs = run_gitlab_pipeline(GITLAB, cwd=tmp_path, env=env, variables=variables)
    assert [n for n, r in runs.items() if r.ran] == ["gate"]
    assert qgate_calls(tmp_path) == [["run", "--env", "staging"]]
    fork = variables | {"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "2", "STAGING_BASE_URL": ""}
    runs = run_gitlab_pipeline(GITLAB, cwd=tmp_path, env=env, variables=fork)
    assert runs["gate"].code == 3 and "merge request from a fork" in runs["gate"].out


def test_gitlab_release_path() -> None:
    approve = GITLAB["approve"]
    assert "when" not in approve  # GitLab refuses a job-level `when` beside `rules`
    assert approve["rules"][0]["when"] == "manual" and approve["allow_failure"] is False
    assert GITLAB["deploy"]["needs"] == ["approve"] and GITLAB["smoke"]["needs"] == ["deploy"]
    assert GITLAB["rollback"]["rules"][0]["when"] == "on_failure"
    assert GITLAB["gate"]["artifacts"]["reports"]["junit"] == "qgate-report/junit.xml"
    for job in GITLAB.values():
        if isinstance(job, dict) and "rules" in job:
            assert "when" not in job


def test_zap_template_commands_parse() -> None:
    doc = yaml.safe_load((TEMPLATES / "ci" / "zap-github-actions.yml").read_text())
    lines = [str(s["run"]) for job in doc["jobs"].values() for s in job["steps"] if "run" in s]
    calls = [shlex.split(line.replace("${{", "").replace("}}", ""))[1:] for line in lines
             if line.startswith("qgate ")]
    assert {c[0] for c in calls} == {"doctor", "run"}
    assert_parse(calls)


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
