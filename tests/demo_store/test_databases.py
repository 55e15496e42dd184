"""The core journey on SQLite, PostgreSQL and MariaDB (real servers; unreachable = failure)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from cli_support import wait_for
from demostore.process import StoreProcess, start_store

from .conftest import Shopper, stock

DB_TICK = 1.0  # the cancel below must land before dispatch (4 steps) even under load


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def db_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             ) -> Iterator[StoreProcess]:
    """A store on each database; stopped before its database is dropped."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'store.db'}"
    else:
        url = request.getfixturevalue(f"{request.param}_url")
    with start_store(db_url=url, tick_seconds=DB_TICK, ready_timeout=30) as proc:
        yield proc


@pytest.fixture(scope="module")
def postgresql_url(postgres_url: str) -> str:
    return postgres_url


def test_ready_and_seeded(db_store: StoreProcess) -> None:
    r = httpx.get(db_store.base_url + "/readyz")
    assert r.status_code == 200 and r.json()["database"] == "ok"
    items = httpx.get(db_store.base_url + "/api/products", params={"q": "milk"}).json()["items"]
    assert "MLK-001" in {i["sku"] for i in items}
    assert httpx.get(db_store.base_url + "/api/products",
                     params={"q": "100%"}).json()["items"] == []


def test_quote(db_store: StoreProcess) -> None:
    r = httpx.post(db_store.base_url + "/api/quote", json={
        "pincode": "560001", "items": [{"sku": "MLK-001", "qty": 2}], "coupon": "FREEDEL"})
    body = r.json()
    total = body["item_total"] - body["discount"] + sum(f["amount"] for f in body["fees"])
    assert round(total, 2) == body["payable"]
    r = httpx.post(db_store.base_url + "/api/quote", json={
        "pincode": "560001", "items": [{"sku": "MLK-001", "qty": 1}], "coupon": "EXPIRED20"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "coupon_expired"


def test_buy_decline_track_cancel(db_store: StoreProcess, shopper_for: Any) -> None:
    s: Shopper = shopper_for(db_store).signup()
    assert s.locate("560001").status_code == 200
    before = stock(db_store.base_url, "MLK-001")
    assert s.add("MLK-001", 3).status_code == 200
    declined = s.checkout("4000 0000 0000 0002")
    assert declined.status_code == 402
    assert stock(db_store.base_url, "MLK-001")["available"] == before["available"]
    key = "same-key-twice"
    first, second = s.checkout(key=key), s.checkout(key=key)
    assert first.status_code == second.status_code == 201
    assert first.json()["order"]["id"] == second.json()["order"]["id"]
    order_id = first.json()["order"]["id"]
    assert stock(db_store.base_url, "MLK-001")["available"] == before["available"] - 3
    # wait for the fulfilment clock to move the order on (a condition, not a guessed sleep)
    body = wait_for(lambda: (lambda b: b if b["status"] != "PLACED" else None)(
        s.http.get(f"/api/orders/{order_id}").json()), timeout=20 * DB_TICK,
        what=f"order {order_id} to leave PLACED")
    assert body["status"] in ("PICKING", "PACKED", "RIDER_ASSIGNED")
    stamps = [e["at"] for e in body["events"]]
    assert stamps == sorted(stamps)
    r = s.http.post(f"/api/orders/{order_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
    assert stock(db_store.base_url, "MLK-001")["available"] == before["available"]
    other = shopper_for(db_store).signup()
    assert other.http.get(f"/api/orders/{order_id}").status_code == 404


def test_delivery_consumes_stock(db_store: StoreProcess, shopper_for: Any) -> None:
    s: Shopper = shopper_for(db_store).signup()
    before = stock(db_store.base_url, "EGG-001")
    order = s.buy("EGG-001", 2)
    wait_for(lambda: s.http.get(f"/api/orders/{order['id']}").json()["status"] == "DELIVERED",
             timeout=20, interval=0.3, what="the order to be delivered")
    after = stock(db_store.base_url, "EGG-001")
    assert after["on_hand"] == before["on_hand"] - 2 and after["sold"] == before["sold"] + 2
    assert after["reserved"] == before["reserved"]


def test_concurrent_buyers_do_not_oversell(db_store: StoreProcess, shopper_for: Any) -> None:
    buyers = [shopper_for(db_store).signup() for _ in range(8)]
    for b in buyers:
        b.locate("560102")
        assert b.add("ICE-001", 10).status_code == 200
    with ThreadPoolExecutor(len(buyers)) as pool:
        results = list(pool.map(lambda b: b.checkout(), buyers))
    assert sorted(r.status_code for r in results) == [201] * 4 + [409] * 4, [
        r.text for r in results]
    figures = stock(db_store.base_url, "ICE-001", store="HSR-01")
    assert figures["oversold"] == 0 and figures["available"] >= 0


def test_readyz_is_503_when_the_database_goes_away() -> None:
    import uuid

    import psycopg2

    from .conftest import PG_ADMIN

    name = f"qgate_demostore_gone_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(**PG_ADMIN)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        with start_store(db_url=f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}",
                         ready_timeout=30) as proc:
            assert httpx.get(proc.base_url + "/readyz").status_code == 200
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            r = httpx.get(proc.base_url + "/readyz")
            assert r.status_code == 503 and r.json()["database"] == "error"
            assert httpx.get(proc.base_url + "/healthz").status_code == 200
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
