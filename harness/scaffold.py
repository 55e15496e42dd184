"""`qgate init`: lay out a new project so a wheel-installed qgate gates a team's own shop.

Writes the environment files (the bundled demo store's, and starters for staging and
production), the gate policy, the waivers file, a root `conftest.py` (where a team
overrides fixtures) and an adapter skeleton. Never overwrites a file unless asked to.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError

#: target path in the project -> (where it comes from: "environments" or "templates", name)
FILES: dict[str, tuple[str, str]] = {
    "environments/demo.toml": ("environments", "demo.toml"),
    "environments/.env.example": ("environments", ".env.example"),
    "environments/security-rules.tsv": ("environments", "security-rules.tsv"),
    "environments/staging.toml": ("templates", "staging.toml"),
    "environments/production.toml": ("templates", "production.toml"),
    "gate.toml": ("templates", "gate.toml"),
    "waivers.toml": ("templates", "waivers.toml"),
    "conftest.py": ("templates", "conftest.py"),
    "adapters/__init__.py": ("", ""),
    "adapters/my_shop.py": ("templates", "my_shop.py"),
}
#: `qgate init --ci NAME` -> (the pipeline file in the project, its template)
CI_FILES = {"github": (".github/workflows/qgate.yml", "ci/github-actions.yml"),
            "gitlab": (".gitlab-ci.yml", "ci/gitlab-ci.yml")}
_IGNORED = ("reports/", ".env", ".env.*", "!environments/.env.example", ".scanner-venv/")


def init_project(root: Path, *, force: bool = False, ci: str = "") -> list[Path]:
    """Write the starter files (and a CI pipeline, with `ci`) into `root`; returns them."""
    from harness.config import packaged_dir

    files = dict(FILES)
    if ci:
        target, template = CI_FILES[ci]
        files[target] = ("templates", template)
    existing = [name for name in files if (root / name).exists()]
    if existing and not force:
        raise UsageError(f"{root}: already has {', '.join(existing)}",
                         hint="pass --force to overwrite them")
    written = []
    for target, (source, name) in files.items():
        text = ""
        if source:
            folder = packaged_dir(f"harness.{source}")
            if folder is None or not (folder / name).is_file():
                raise UsageError(f"qgate's packaged {source}/{name} is missing",
                                 hint="reinstall qcommerce-harness")
            text = (folder / name).read_text(encoding="utf-8")
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    ignore = root / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.is_file() else []
    missing = [line for line in _IGNORED if line not in lines]
    if missing:
        ignore.write_text("\n".join([*lines, *missing]) + "\n", encoding="utf-8")
        written.append(ignore)
    return written


def init_command(directory: str, force: bool, ci: str = "") -> int:
    """`qgate init [DIR] [--force] [--ci github|gitlab]`: print what was written and what to
    do next."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    for path in init_project(root, force=force, ci=ci):
        print(f"wrote {path}")
    print("\nnext (docs/guides/ in qgate's documentation):\n"
          "  export STAGING_BASE_URL=https://staging.example.com\n"
          "  qgate run --env staging --suites smoke   # a first verdict on staging (QA guide)\n"
          "  export PRODUCTION_BASE_URL=https://shop.example.com\n"
          "  qgate smoke --env production             # on-call smoke after a deploy\n"
          "  edit adapters/my_shop.py                 # your shop's page objects (e2e)\n"
          "  qgate doctor --env staging               # which journeys can run, what is missing\n"
          "  qgate demo                               # the whole gate on the bundled demo store")
    return 0
