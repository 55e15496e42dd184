"""The generator: same spec and seed give the same rows; every value is valid and safe."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cli_support import PROJECT, run_qgate
from harness.data import pii
from harness.data.generate import COLUMNS, Generator, generate
from harness.data.providers import make_faker
from harness.data.spec import DatasetSpec, load_spec


def rows_by_entity(spec: DatasetSpec) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for batch in Generator(spec).batches():
        names = [c for c, _ in COLUMNS[batch.entity]]
        out.setdefault(batch.entity, []).extend(dict(zip(names, r, strict=True))
                                                for r in batch.rows)
    return out


@pytest.fixture(scope="module")
def dataset(small_spec: DatasetSpec) -> dict[str, list[dict[str, Any]]]:
    return rows_by_entity(small_spec)


def test_same_spec_and_seed_same_files(small_spec: DatasetSpec, tmp_path: Path) -> None:
    digests = []
    for run in ("a", "b"):
        generate(small_spec, out_dir=tmp_path / run, show_progress=False)
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in sorted((tmp_path / run).iterdir())})
    assert digests[0] == digests[1] and len(digests[0]) == len(COLUMNS)
    other = dataclasses.replace(small_spec, seed=small_spec.seed + 1)
    generate(other, out_dir=tmp_path / "c", show_progress=False)
    assert (tmp_path / "c" / "users.csv").read_bytes() != (tmp_path / "a" / "users.csv"
                                                          ).read_bytes()


def test_values_are_valid_and_safe(dataset: dict[str, list[dict[str, Any]]]) -> None:
    users = dataset["users"]
    assert len(users) == 2 + 40
    assert all(pii.is_indian_mobile(u["phone"]) and u["phone"].startswith("+91") for u in users)
    assert len({u["phone"] for u in users}) == len(users)
    assert len({u["email"] for u in users}) == len(users)
    assert all(pii.email_is_reserved(u["email"].split("@")[1]) for u in users)
    assert all(pii.is_pincode(a["pincode"]) for a in dataset["service_areas"])
    assert all(pii.is_pincode(o["pincode"]) for o in dataset["orders"])
    for entity, rows in dataset.items():  # nothing a PII audit would flag
        for row in rows:
            for value in row.values():
                if isinstance(value, str):
                    found = [m for m in pii.find_pii(value) if not m.synthetic]
                    assert not [m for m in found if m.kind != "mobile"], (entity, value)


def test_orders_add_up_and_move_forward(dataset: dict[str, list[dict[str, Any]]]) -> None:
    lines: dict[int, int] = Counter()
    for line in dataset["order_lines"]:
        lines[line["order_id"]] += line["price_paise"] * line["qty"]
    events: dict[int, list[Any]] = {}
    for event in dataset["order_events"]:
        events.setdefault(event["order_id"], []).append(event["at"])
    payments = {p["order_id"]: p for p in dataset["payments"]}
    for order in dataset["orders"]:
        fees = sum(round(f["amount"] * 100) for f in json.loads(order["fees_json"]))
        assert order["item_total_paise"] == lines[order["id"]]
        assert order["item_total_paise"] - order["discount_paise"] + fees == \
            order["payable_paise"]
        assert events[order["id"]] == sorted(events[order["id"]])
        assert payments[order["id"]]["amount_paise"] == order["payable_paise"]
    created = [o["created_at"] for o in dataset["orders"]]
    assert created == sorted(created)  # ids increase with time


def test_reference_facts_are_kept(dataset: dict[str, list[dict[str, Any]]]) -> None:
    stock = {(i["store_id"], i["sku"]): i["on_hand"] for i in dataset["inventory"]}
    stores = {s["code"]: s for s in dataset["stores"]}
    assert stock[(stores["KOR-01"]["id"], "ICE-001")] == 200
    assert all(level == 0 for (_, sku), level in stock.items() if sku == "AVO-001")
    assert {a["pincode"] for a in dataset["service_areas"]} >= {"560001", "560034", "560102",
                                                                "110001"}
    assert "400001" not in {a["pincode"] for a in dataset["service_areas"]}
    assert stores["CP-01"]["paused"] is True
    assert {c["code"] for c in dataset["coupons"]} == {"FLAT50", "SAVE10", "FREEDEL",
                                                       "EXPIRED20", "ONCE"}
    assert {u["email"] for u in dataset["users"]} >= {"demo@example.com", "other@example.com"}


def test_synthetic_stores_and_skus(small_spec: DatasetSpec) -> None:
    spec = dataclasses.replace(small_spec, sizes=dataclasses.replace(
        small_spec.sizes, stores=6, products=50, orders=200))
    data = rows_by_entity(spec)
    assert len(data["stores"]) == 3 + 6 and len(data["products"]) == 40 + 50
    codes = [p["sku"] for p in data["products"]]
    assert len(set(codes)) == len(codes)
    pincodes = [a["pincode"] for a in data["service_areas"]]
    assert len(set(pincodes)) == len(pincodes) and all(pii.is_pincode(p) for p in pincodes)
    assert {o["sku"] for o in data["order_lines"]} - set(codes) == set()


def test_provider_per_row() -> None:
    fake = make_faker("en_IN", 3)
    for _ in range(200):
        assert pii.is_indian_mobile(fake.indian_mobile())
        assert pii.is_pincode(fake.pincode("Bengaluru")) and fake.pincode("Mumbai")[:3] == "400"
        assert pii.email_is_reserved(fake.safe_email().split("@")[1])
        upi = pii.find_pii(fake.upi_id())
        assert upi and upi[0].kind == "upi" and upi[0].synthetic
        assert not [m for m in pii.find_pii(fake.delivery_address()) if m.kind != "mobile"]
        assert fake.sku("dairy")["category"] == "dairy"


def test_parquet_and_csv(small_spec: DatasetSpec, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    generate(small_spec, out_dir=tmp_path / "pq", fmt="parquet", show_progress=False)
    table = pq.read_table(tmp_path / "pq" / "orders.parquet")
    assert table.num_rows == 80 and "payable_paise" in table.column_names
    generate(small_spec, out_dir=tmp_path / "csv", show_progress=False)
    with (tmp_path / "csv" / "orders.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 80


def test_cli_generate_into_sqlite_and_refuse_a_full_one(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text((PROJECT / "datasets" / "demo.yaml").read_text()
                    .replace("customers: 120", "customers: 10")
                    .replace("orders: 300", "orders: 25"))
    db = f"sqlite:///{tmp_path / 'g.db'}"
    first = run_qgate("data", "generate", "--spec", str(spec), "--db", db, "--quiet")
    assert first.code == 0, first.err
    assert "orders" in first.out and "25" in first.out
    again = run_qgate("data", "generate", "--spec", str(spec), "--db", db, "--quiet")
    assert again.code == 2 and "already has rows" in again.err
    assert len(again.err.strip().splitlines()) == 1


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace("seed: 20261126", "seed: many"), "seed: expected an integer"),
    (lambda t: t.replace("items_per_order: [1, 4]", "items_per_order: [4, 1]"),
     "items_per_order"),
    (lambda t: t.replace("events: all", "events: some"), "events: 'some' is not allowed"),
    (lambda t: t + "\n  bad: [\n", "malformed YAML"),
])
def test_spec_mistakes_are_one_line(tmp_path: Path, edit: Any, message: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(edit((PROJECT / "datasets" / "demo.yaml").read_text()))
    result = run_qgate("data", "generate", "--spec", str(spec), "--out", str(tmp_path / "o"))
    assert result.code == 2, result.err
    assert message in result.err and len(result.err.strip().splitlines()) == 1


def test_peak_spec_loads() -> None:
    spec = load_spec(PROJECT / "datasets" / "peak.yaml")
    assert spec.sizes.orders == 1_000_000 and len(spec.reference.products) == 40


def test_generated_history_keeps_the_stores_business_invariants(small_spec: DatasetSpec,
                                                                tmp_path: Path) -> None:
    """What the load suite checks after a run must already hold on the seeded data: every
    unit the generated history sold was stocked (inventory is written after the orders)."""
    import tomllib

    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'store.db'}"
    generate(small_spec, db_url=url, show_progress=False)
    demo = tomllib.loads((PROJECT / "environments" / "demo.toml").read_text())
    checks = demo["load"]["invariants"]["checks"]
    engine = create_engine(url)
    with engine.connect() as conn:
        sold = conn.execute(text("SELECT SUM(sold) FROM inventory")).scalar()
        broken = {c["name"]: conn.execute(text(c["sql"])).fetchall() for c in checks}
    engine.dispose()
    assert sold and sold > 0  # the history really delivered something
    assert all(not rows for rows in broken.values()), broken
