"""`qgate approve`: only a complete GO of the gate's required set is approved (issue 16, 16)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from cli_support import run_qgate
from harness.approval import approve_run
from harness.errors import UsageError
from harness.results import SuiteResult, TestCase, write_suite_result
from harness.runrecord import RunRecord, write_run
from harness.verdict import Verdict


def passed(suite: str) -> SuiteResult:
    return SuiteResult(suite, "passed", 1.0, "pytest", tests=(TestCase("a", "a", "passed"),))


def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose gate requires smoke and e2e on staging."""
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "environments" / "staging.toml").write_text(
        'base_url = "${STAGING_URL}"\nsuites = ["smoke", "e2e"]\n')  # unset: not needed
    (root / "gate.toml").write_text('[required]\nstaging = ["smoke", "e2e"]\n')
    monkeypatch.setenv("QGATE_ROOT", str(root))
    return root


def go_run(run_dir: Path, suites: tuple[str, ...] = ("smoke", "e2e"), **fields: object
           ) -> Path:
    results = {s: passed(s) for s in suites}
    for result in results.values():
        write_suite_result(run_dir, result)
    record = RunRecord(run_dir.name, "staging", "https://s", "1.2.3", "t", "t",
                       Verdict("GO", (), "all passed"), results, required=("smoke", "e2e"),
                       profile="default")
    write_run(dataclasses.replace(record, **fields), run_dir)  # type: ignore[arg-type]
    return run_dir


REFUSED = [
    # id, how the GO run was made, words of the refusal
    ("qgate smoke", {"profile": "smoke-check", "required": ("smoke",)}, ("smoke",),
     "a qgate smoke run"),
    ("one shard", {"shard": "1/2"}, ("smoke", "e2e"), "shard 1/2"),
    ("a partial --suites run", {"requested": ("smoke",), "required": ("smoke",)}, ("smoke",),
     "partial run"),
    ("a run judged against a smaller required set", {"required": ("smoke",)}, ("smoke",),
     "the gate requires smoke, e2e for staging"),
]


@pytest.mark.parametrize(("fields", "suites", "words"), [c[1:] for c in REFUSED],
                         ids=[c[0] for c in REFUSED])
def test_only_a_complete_go_of_the_required_set_is_approved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fields: dict,
        suites: tuple[str, ...], words: str) -> None:
    project(tmp_path, monkeypatch)
    run_dir = go_run(tmp_path / "r1", suites, **fields)
    with pytest.raises(UsageError) as caught:
        approve_run(run_dir, "release-manager")
    assert words in caught.value.one_line()
    assert json.loads((run_dir / "run.json").read_text())["approvals"] == []


def test_a_complete_go_is_approved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project(tmp_path, monkeypatch)
    record = approve_run(go_run(tmp_path / "r1"), "release-manager", "CHG-1")
    assert [a["by"] for a in record.approvals] == ["release-manager"]


def test_a_refusal_is_one_line_with_exit_2(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, monkeypatch)
    run_dir = go_run(tmp_path / "r1", ("smoke",), profile="smoke-check", required=("smoke",))
    result = run_qgate("approve", str(run_dir), "--by", "release-manager", cwd=root,
                       env={"QGATE_ROOT": str(root)})
    assert result.code == 2, result.out + result.err
    assert result.err.startswith("qgate: error: ") and "a qgate smoke run" in result.err
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
