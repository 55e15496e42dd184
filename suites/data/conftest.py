"""The data suite's evidence, collected in fixtures (a harness failure there is an error, not
a failed test): the database audit, the artifact and log scans and the schema comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.plugin import not_applicable


def _late(env: Any, key: str, value: str) -> str:
    """A `[data]` value with the `$VAR`s its file wrote read now (qgate demo exports the
    demo store's); a `$` inside a value `${VAR}` already brought in is left alone."""
    import tomllib

    from harness.config import environments_dir, project_root
    from harness.data.dburl import expand_late, late_names

    only: set[str] = set()
    try:
        raw = tomllib.loads((environments_dir(project_root()) / f"{env.name}.toml").read_text(
            encoding="utf-8")).get("data", {}).get(key)
    except (OSError, tomllib.TOMLDecodeError):
        raw = None
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, str):
            only |= late_names(item.replace("${", "\0{"))
    return expand_late(value, file=env.file, key=f"data.{key}", only=only)


@pytest.fixture(scope="session")
def data_settings(harness_config: Any) -> Any:
    """The environment's `[data]` table."""
    return harness_config.suite_settings("data")


@pytest.fixture(scope="session")
def database_url(harness_config: Any, data_settings: Any) -> str:
    """The database the audit reads; declared absent -> the database tests do not apply."""
    if not data_settings.database:
        not_applicable(f"{harness_config.file} declares no [data] database")
    return _late(harness_config, "database", data_settings.database)


@pytest.fixture(scope="session")
def db_audit(harness_config: Any, data_settings: Any, database_url: str) -> Any:
    """The database audit: PII patterns, surviving source values, orphans, duplicates."""
    from harness.config import project_root
    from harness.data.audit import audit_database

    source = (_late(harness_config, "source", data_settings.source)
              if data_settings.source else "")
    rules = data_settings.masking_rules
    if rules and not Path(rules).is_absolute():
        rules = str(project_root() / rules)
    audit = audit_database(database_url, source_url=source, rules_path=rules,
                           ignore=data_settings.ignore_tables,
                           batch_size=data_settings.batch_size)
    if not audit.tables:
        raise RuntimeError(f"the database {harness_config.file} names has no tables to audit")
    return audit


@pytest.fixture
def artifact_scan(qgate_run_dir: Path, data_settings: Any) -> Any:
    """This run's artifacts so far (other suites' traces, HARs, logs), scanned for PII."""
    from harness.data.audit import artifact_files, scan_files

    if not data_settings.scan_artifacts:
        not_applicable("[data] scan_artifacts = false")
    files = artifact_files(qgate_run_dir, exclude=("data",))
    return scan_files(files, context="artifacts", relative_to=qgate_run_dir,
                      synthetic=data_settings.synthetic_values)


@pytest.fixture
def log_scan(harness_config: Any, data_settings: Any) -> Any:
    """The target's own logs named by the environment, scanned for customer identifiers."""
    from harness.data.audit import expand_log_globs, scan_files

    if not data_settings.target_logs:
        not_applicable(f"{harness_config.file} declares no [data] target_logs")
    files, missing = expand_log_globs(
        [_late(harness_config, "target_logs", p) for p in data_settings.target_logs])
    if missing:
        raise FileNotFoundError(f"no file matches [data] target_logs {', '.join(missing)}")
    return scan_files(files, context="logs")


@pytest.fixture
def parity_diff(harness_config: Any, data_settings: Any, database_url: str) -> Any:
    """The database's schema compared with the reference's (both read-only)."""
    from harness.data.parity import schema_parity

    if not data_settings.reference:
        not_applicable(f"{harness_config.file} declares no [data] reference")
    reference = _late(harness_config, "reference", data_settings.reference)
    return schema_parity(reference, database_url, ignore=data_settings.ignore_tables,
                         labels=("[data] reference", "[data] database"))
