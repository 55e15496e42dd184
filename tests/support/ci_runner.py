"""Run the shell logic of qgate's CI templates here, the way the CI would.

Not a CI emulator: just enough of GitHub Actions (steps in order, `if:` with success(),
failure(), always(), step outputs, `${{ … }}` contexts) and GitLab CI (stages in order,
`rules` with `when`, `on_failure` jobs, before/after scripts) to run a template's own shell
steps with bash, so a test proves what the pipeline does on each qgate exit code. `uses:`
steps (actions) are recorded as not run; so is the step that installs qgate (the test puts
the qgate it means to test on PATH).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StepRun:
    """One step or job as it went."""

    name: str
    ran: bool
    code: int | None = None
    out: str = ""


@dataclass
class JobRun:
    """Every step of a job, and its status."""

    steps: list[StepRun] = field(default_factory=list)
    failed: bool = False

    def step(self, name: str) -> StepRun:
        """The step named (or whose id is) `name`."""
        return next(s for s in self.steps if s.name == name)


def bash(script: str, cwd: Path, env: Mapping[str, str]) -> tuple[int, str]:
    """Run `script` as the CI does: bash with -e and pipefail; (exit code, stdout+stderr)."""
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=600,
                          check=False)
    return proc.returncode, proc.stdout + proc.stderr


# --- GitHub Actions -------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(\|\||&&|==|!=|!|\(|\)|'[^']*'|[A-Za-z_][A-Za-z0-9_.\-]*)")


class _Expression:
    """A GitHub `${{ }}` expression: contexts, literals, ==, !=, !, &&, ||, status calls."""

    def __init__(self, text: str, context: Mapping[str, Any], failed: bool) -> None:
        self.tokens = _TOKEN.findall(text)
        if "".join(self.tokens).replace(" ", "") != text.replace(" ", ""):
            raise ValueError(f"unsupported expression: {text!r}")
        self.pos, self.context, self.failed = 0, context, failed

    def value(self) -> Any:
        result = self._or()
        if self.pos != len(self.tokens):
            raise ValueError(f"trailing tokens in {self.tokens!r}")
        return result

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _take(self) -> str:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            left = left or right
        return left

    def _and(self) -> Any:
        left = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            left = left and right
        return left

    def _compare(self) -> Any:
        left = self._unary()
        while self._peek() in ("==", "!="):
            op = self._take()
            right = self._unary()
            equal = str(left).lower() == str(right).lower()
            left = equal if op == "==" else not equal
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not self._unary()
        if self._peek() == "(":
            self._take()
            inner = self._or()
            assert self._take() == ")"
            return inner
        token = self._take()
        if token.startswith("'"):
            return token[1:-1]
        if token in ("true", "false"):
            return token == "true"
        if self._peek() == "(":  # success() failure() always()
            self._take()
            assert self._take() == ")"
            return {"success": not self.failed, "failure": self.failed, "always": True}[token]
        node: Any = self.context
        for part in token.split("."):
            node = node.get(part, "") if isinstance(node, Mapping) else ""
        return node


def evaluate(text: str, context: Mapping[str, Any], failed: bool = False) -> Any:
    """The value of a GitHub expression (with or without `${{ }}`)."""
    text = text.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return _Expression(text, context, failed).value()


def substitute(text: str, context: Mapping[str, Any]) -> str:
    """Fill every `${{ … }}` in `text`, as the runner does before the shell sees it."""
    def fill(match: re.Match[str]) -> str:
        value = evaluate(match.group(1), context)
        return str(value).lower() if isinstance(value, bool) else str(value)
    return re.sub(r"\$\{\{(.*?)\}\}", fill, text)


def run_github_job(doc: Mapping[str, Any], job: str, *, cwd: Path, env: Mapping[str, str],
                   secrets: Mapping[str, str] | None = None,
                   variables: Mapping[str, str] | None = None,
                   github: Mapping[str, Any] | None = None) -> JobRun:
    """Run the `run:` steps of `job` in order, honouring `if:` and step outputs."""
    steps_ctx: dict[str, Any] = {}
    context: dict[str, Any] = {"secrets": dict(secrets or {}), "vars": dict(variables or {}),
                               "github": dict(github or {}), "steps": steps_ctx}
    result = JobRun()
    for i, step in enumerate(doc["jobs"][job]["steps"]):
        name = step.get("name") or step.get("id") or step.get("uses") or f"step {i}"
        condition = step.get("if", "success()")
        if "uses" in step or name == "install qgate" or \
                not evaluate(str(condition), context, result.failed):
            result.steps.append(StepRun(name, ran=False))
            continue
        output = cwd / f".github-output-{i}"
        output.write_text("")
        step_env = {**env, "GITHUB_OUTPUT": str(output),
                    "GITHUB_STEP_SUMMARY": str(cwd / ".github-step-summary")}
        step_env |= {k: substitute(str(v), context) for k, v in step.get("env", {}).items()}
        code, out = bash(substitute(step["run"], context), cwd, step_env)
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines()
                       if "=" in line)
        if "id" in step:
            steps_ctx[step["id"]] = {"outputs": outputs,
                                     "outcome": "success" if code == 0 else "failure"}
        result.steps.append(StepRun(name, ran=True, code=code, out=out))
        result.failed = result.failed or code != 0
    return result


# --- GitLab CI ------------------------------------------------------------------------------

def _gitlab_if(text: str, variables: Mapping[str, str]) -> bool:
    """`$A == $B`, `$A == "x"` and `$A` (set and not empty): what the templates use."""
    def operand(word: str) -> str:
        word = word.strip()
        if word.startswith("$"):
            return variables.get(word[1:], "")
        return word.strip('"')
    if "==" in text:
        left, right = text.split("==", 1)
        return operand(left) == operand(right)
    if "!=" in text:
        left, right = text.split("!=", 1)
        return operand(left) != operand(right)
    return bool(operand(text))


def _gitlab_when(job: Mapping[str, Any], variables: Mapping[str, str]) -> str | None:
    """The job's `when` in this pipeline, or None when its rules leave it out."""
    if "rules" not in job:
        return str(job.get("when", "on_success"))
    for rule in job["rules"]:
        if "if" not in rule or _gitlab_if(rule["if"], variables):
            return str(rule.get("when", "on_success"))
    return None


def run_gitlab_pipeline(doc: Mapping[str, Any], *, cwd: Path, env: Mapping[str, str],
                        variables: Mapping[str, str],
                        assume_passed: tuple[str, ...] = ()) -> dict[str, StepRun]:
    """Run the jobs stage by stage; manual jobs are run as if a person started them; jobs
    named in `assume_passed` are taken as run and passed without running them."""
    jobs = {name: job for name, job in doc.items()
            if isinstance(job, dict) and "script" in job}
    default = doc.get("default", {})
    runs: dict[str, StepRun] = {}
    failed = False
    for stage in doc["stages"]:
        for name, job in jobs.items():
            if job.get("stage", "test") != stage:
                continue
            if name in assume_passed:
                runs[name] = StepRun(name, ran=True, code=0, out="(assumed passed)")
                continue
            when = _gitlab_when(job, variables)
            needs_ok = all(runs.get(n, StepRun(n, False)).ran for n in job.get("needs", []))
            go = {"on_success": not failed, "manual": not failed, "always": True,
                  "on_failure": failed}.get(when or "never", False)
            if when is None or not go or (when != "on_failure" and not needs_ok):
                runs[name] = StepRun(name, ran=False)
                continue
            before = job.get("before_script", default.get("before_script", []))
            script = "\n".join([*before, *job["script"]])
            code, out = bash(script, cwd, {**env, **variables})
            if job.get("after_script"):
                bash("\n".join(job["after_script"]), cwd, {**env, **variables})
            runs[name] = StepRun(name, ran=True, code=code, out=out)
            failed = failed or code != 0
    return runs


def fake_tools(folder: Path, qgate: str | None = None,
               qgate_exit: Mapping[str, int] | None = None) -> dict[str, str]:
    """A bin folder with a no-op `pip`, and a fake `qgate` (unless `qgate` names a real one)
    that records its arguments in qgate-calls.txt and exits with `qgate_exit[subcommand]`
    (0 for the others); scripts/
    deploy.sh and rollback.sh in `folder` that record their runs. Returns the PATH to use."""
    bin_dir = folder / ".fake-bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "pip").write_text("#!/bin/sh\nexit 0\n")
    if qgate:
        (bin_dir / "qgate").symlink_to(qgate)
    else:
        cases = "".join(f"  {cmd}) exit {code};;\n" for cmd, code in (qgate_exit or {}).items())
        (bin_dir / "qgate").write_text(
            '#!/bin/bash\n{ printf "%q " "$@"; echo; } >> qgate-calls.txt\n'
            'echo "fake qgate $*"\n'
            f'case "$1" in\n{cases}esac\nexit 0\n')
    scripts = folder / "scripts"
    scripts.mkdir(exist_ok=True)
    for name in ("deploy", "rollback"):
        (scripts / f"{name}.sh").write_text(f'#!/bin/sh\necho "$*" >> {name}-ran.txt\n')
    for path in [*bin_dir.iterdir(), *scripts.iterdir()]:
        if not path.is_symlink():
            path.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
