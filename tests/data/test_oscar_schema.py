"""django-oscar's own PostgreSQL schema (its migrations: 94 tables, written by people who never
heard of qgate) with customers in US, UK and Indian formats, masked end to end with the
rules `--init` drafts, not edited: exit 0, nothing personal in the copy by plain SQL, the
audit with the source clean, parity clean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import real_schema
from cli_support import PROJECT, run_qgate

from .conftest import NewDatabase
from .test_real_schemas import dump_text, leaks

SHOP = PROJECT / "tests" / "e2e" / "oscarshop"
HERE = Path(__file__).resolve().parent / "oscar_pg"

pytestmark = pytest.mark.integration


def oscar_python() -> Path:
    """The fixture shop's Python (Oscar's own virtualenv), with PostgreSQL's driver."""
    sys.path.insert(0, str(SHOP))
    from serve import ensure_venv

    python = ensure_venv()
    if subprocess.run([str(python), "-c", "import psycopg2"], capture_output=True,
                      check=False).returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "psycopg2-binary"], check=True,
                       timeout=600)
    return python


def manage(python: Path, database: str, data: Path, *args: str,
           env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(
        [str(python), str(SHOP / "manage.py"), *args], capture_output=True, text=True,
        timeout=600, check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "oscar_pg_settings",
             "PYTHONPATH": str(HERE), "OSCAR_PG_DB": database, "OSCAR_SHOP_DATA": str(data),
             **(env or {})})
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_oscar_schema_masked_with_drafted_rules(new_database: NewDatabase, mask_key: str,
                                                 tmp_path: Path) -> None:
    import phonenumbers

    python = oscar_python()
    source, target = new_database("postgresql"), new_database("postgresql")
    name = source.rsplit("/", 1)[1]
    manage(python, name, tmp_path, "migrate", "-v0")
    manage(python, name, tmp_path, "seed_shop")
    people = [{"name": p.name, "email": p.email, "phone": p.phone, "line1": p.line1,
               "city": p.city, "postcode": p.postcode, "country": p.country,
               "e164": phonenumbers.format_number(phonenumbers.parse(p.phone, p.country),
                                                  phonenumbers.PhoneNumberFormat.E164)}
              for p in real_schema.PEOPLE]
    (tmp_path / "people.json").write_text(json.dumps(people))
    manage(python, name, tmp_path, "shell", "-c", (HERE / "seed_people.py").read_text(),
           env={"PEOPLE_JSON": str(tmp_path / "people.json")})
    assert leaks(dump_text(source))
    rules = tmp_path / "rules.yaml"
    drafted = run_qgate("data", "mask", "--source", source, "--rules", str(rules), "--init")
    assert drafted.code == 0, drafted.err
    masked = run_qgate("data", "mask", "--source", source, "--target", target, "--rules",
                       str(rules), "--quiet")
    assert masked.code == 0, masked.out + masked.err
    copy = dump_text(target)
    assert len(copy) >= 90 and {t: len(r) for t, r in copy.items()} == {
        t: len(r) for t, r in dump_text(source).items()}
    assert leaks(copy) == [], "\n".join(leaks(copy))
    audited = run_qgate("data", "audit", "--db", target, "--source", source, "--rules",
                        str(rules), "--quiet")
    assert audited.code == 0 and "0 finding(s)" in audited.out, audited.out
    parity = run_qgate("data", "parity", "--reference", source, "--candidate", target)
    assert parity.code == 0 and "0 difference(s)" in parity.out, parity.out
