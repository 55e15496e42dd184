"""Safety of the data tools: databases known by what the server says, production found
wherever its URL lives, drivers named, dataset specs checked before anything is written."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, inspect, text

from cli_support import PROJECT, run_qgate

from .conftest import NewDatabase, sqlite_path


def seed_one_table(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(80))"))
        conn.execute(text("INSERT INTO customers VALUES (1, 'a@example.com')"))
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_masking_into_the_source_under_another_host_name_is_refused(
        backend: str, new_database: NewDatabase, mask_key: str, tmp_path: Path) -> None:
    source = new_database(backend)
    seed_one_table(source)
    same = source.replace("@127.0.0.1:", "@0.0.0.0:")  # the same server, spelt differently
    rules = tmp_path / "rules.yaml"
    rules.write_text("tables:\n  customers:\n    id: keep\n    email: email\n")
    for mode in ((), ("--check",)):
        result = run_qgate("data", "mask", "--source", source, "--target", same, "--rules",
                           str(rules), "--quiet", *mode)
        assert result.code == 2, result.out + result.err
        assert "--target is the source database (the server says so" in result.err
    engine = create_engine(source)
    assert "customers" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT email FROM customers")).scalar() == "a@example.com"
    engine.dispose()


def production_project(tmp_path: Path, db: Path) -> Path:
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "environments" / "production.toml").write_text(
        'base_url = "https://shop.example.com"\nproduction = true\nsuites = ["smoke"]\n\n'
        '[data]\ndatabase = "${PROD_DB_URL}"\n')
    (root / ".env.production").write_text(f"PROD_DB_URL=sqlite:///{db}\n")
    (root / "datasets").symlink_to(PROJECT / "datasets")
    return root


def test_a_production_url_in_dotenv_is_recognised(tmp_path: Path) -> None:
    db = tmp_path / "prod.db"
    seed_one_table(f"sqlite:///{db}")
    root = production_project(tmp_path, db)
    alias = tmp_path / "alias.db"
    alias.symlink_to(db)  # another spelling of the same file
    for url in (f"sqlite:///{db}", f"sqlite:///{alias}"):
        result = run_qgate("data", "generate", "--spec", "datasets/demo.yaml", "--db", url,
                           "--replace", "--quiet", cwd=root, env={"QGATE_ROOT": str(root)})
        assert result.code == 2, result.out + result.err
        assert "holds production data (environments/production.toml [data] database)" in \
            result.err
    demo = run_qgate("demo", "--db", f"sqlite:///{db}", "--suites", "smoke", cwd=root,
                     env={"QGATE_ROOT": str(root)}, timeout=120)
    assert demo.code == 2, demo.out + demo.err
    assert "--db sqlite:///" in demo.err and "holds production data" in demo.err
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar() == 1
    engine.dispose()


def test_plain_urls_work_and_a_missing_driver_is_one_line(new_database: NewDatabase) -> None:
    url = new_database("postgresql")
    seed_one_table(url)
    plain = url.replace("postgresql+psycopg2://", "postgresql://")
    result = run_qgate("data", "audit", "--db", plain, "--quiet")
    assert result.code == 0, result.out + result.err
    assert "audited postgresql://" in result.out
    missing = run_qgate("data", "audit", "--db", url.replace("+psycopg2", "+asyncpg"))
    assert missing.code == 2
    assert missing.err.count("\n") == 1 and "Traceback" not in missing.err
    assert "driver for 'postgresql+asyncpg' is not installed" in missing.err
    assert 'pip install "qcommerce-harness[data]"' in missing.err


def test_a_bad_reference_row_writes_nothing(tmp_path: Path, new_database: NewDatabase) -> None:
    spec = yaml.safe_load((PROJECT / "datasets" / "demo.yaml").read_text())
    spec["sizes"] = {"customers": 5, "orders": 5}
    spec["reference"]["products"][3]["price_paise"] = "149 rupees"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec, allow_unicode=True))
    url = new_database("sqlite")
    result = run_qgate("data", "generate", "--spec", str(bad), "--db", url, "--quiet")
    assert result.code == 2, result.out + result.err
    assert "reference.products[3].price_paise: expected a number, got '149 rupees'" in \
        result.err
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM categories")).scalar() == 0
    engine.dispose()
    spec["reference"]["products"][3]["price_paise"] = 14900
    bad.write_text(yaml.safe_dump(spec, allow_unicode=True))
    fixed = run_qgate("data", "generate", "--spec", str(bad), "--db", url, "--quiet")
    assert fixed.code == 0, fixed.out + fixed.err


def test_a_dollar_in_a_resolved_value_is_not_expanded_again(
        tmp_path: Path, new_database: NewDatabase, small_spec: Any) -> None:
    from harness.data.generate import generate

    from .test_data_suite import run_data_suite, scratch_project

    url = new_database("sqlite")
    generate(small_spec, db_url=url, show_progress=False)
    odd = sqlite_path(url).with_name("shop$HOME.db")  # as a password Pa$HOME would be
    shutil.copy(sqlite_path(url), odd)
    root = scratch_project(tmp_path, 'database = "${SHOP_DB}"')
    code, output, run = run_data_suite(root, {"SHOP_DB": f"sqlite:///{odd}"})
    assert run["suites"]["data"]["metrics"].get("data.db.rows_scanned", 0) > 100, output
