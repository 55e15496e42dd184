"""Fixtures for the demo store tests: real store subprocesses, real databases, HTTP shoppers."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from demostore.process import StoreProcess, start_store

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
MARIADB_ADMIN = {"host": "127.0.0.1", "port": 3306, "user": "root", "database": "test"}
SUCCESS_CARD = "4242 4242 4242 4242"
ADDRESS = "Flat 4B, 12 MG Road, Bengaluru"
FAST_TICK = 0.6  # seconds per fulfilment step in tests


def unique_email() -> str:
    """A fresh customer email (example.com, so no mail can reach anyone)."""
    return f"shopper-{uuid.uuid4().hex[:12]}@example.com"


def unique_phone() -> str:
    """A valid-looking Indian mobile number."""
    return "+9197" + "".join(secrets.choice("0123456789") for _ in range(8))


@dataclass
class Shopper:
    """One customer talking to the store over HTTP (keeps its cookies)."""

    base_url: str
    http: httpx.Client = field(init=False)
    email: str = ""
    password: str = "s3cret-pass!"
    user: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=30.0)

    def signup(self) -> Shopper:
        """Create an account and stay logged in."""
        self.email = unique_email()
        r = self.http.post("/api/auth/signup", json={
            "name": "Test Shopper", "email": self.email, "phone": unique_phone(),
            "password": self.password})
        assert r.status_code == 201, r.text
        self.user = r.json()["user"]
        return self

    def locate(self, pincode: str = "560001") -> httpx.Response:
        """Bind the session to the store serving a pincode."""
        return self.http.post("/api/location", json={"pincode": pincode})

    def add(self, sku: str, qty: int = 1) -> httpx.Response:
        """Add units to the cart."""
        return self.http.post("/api/cart/items", json={"sku": sku, "qty": qty})

    def cart(self) -> dict[str, Any]:
        """The priced cart."""
        r = self.http.get("/api/cart")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def checkout(self, card: str = SUCCESS_CARD, *, key: str | None = None,
                 upi: str | None = None, **extra: Any) -> httpx.Response:
        """Pay for the cart (a fresh Idempotency-Key unless given)."""
        payment = ({"method": "upi", "upi_id": upi} if upi else
                   {"method": "card", "card_number": card, "expiry": "12/34", "cvc": "123"})
        body = {"slot": "now", "address": ADDRESS, "payment": payment, **extra}
        return self.http.post("/api/checkout", json=body,
                              headers={"Idempotency-Key": key or uuid.uuid4().hex})

    def buy(self, sku: str = "MLK-001", qty: int = 1, pincode: str = "560001") -> dict[str, Any]:
        """Locate, add and pay; returns the placed order."""
        assert self.locate(pincode).status_code == 200
        r = self.add(sku, qty)
        assert r.status_code == 200, r.text
        r = self.checkout()
        assert r.status_code == 201, r.text
        return dict(r.json()["order"])

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()


def stock(base_url: str, sku: str, store: str = "KOR-01") -> dict[str, Any]:
    """Stock figures of one SKU.

    Compare `available` across a test: `on_hand`, `reserved` and `sold` also move when the
    fulfilment clock delivers other tests' orders of the same SKU in the background.
    """
    r = httpx.get(f"{base_url}/api/stores/{store}/inventory/{sku}", timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


StoreFactory = Callable[..., StoreProcess]


@pytest.fixture(scope="session")
def store_factory() -> Iterator[StoreFactory]:
    """Start stores on demand, one per distinct configuration, all stopped at the end."""
    started: dict[tuple[Any, ...], StoreProcess] = {}

    def get(*faults: str, db_url: str | None = None, tick_seconds: float = FAST_TICK,
            log_dir: str | None = None, fresh: bool = False, **kw: Any) -> StoreProcess:
        key = (tuple(sorted(faults)), db_url, tick_seconds, log_dir, tuple(sorted(kw.items())))
        if fresh or key not in started:
            if key in started:
                started.pop(key).stop()
            started[key] = start_store(faults=faults, db_url=db_url, tick_seconds=tick_seconds,
                                       log_dir=log_dir, **kw)
        return started[key]

    yield get
    with ThreadPoolExecutor(max(1, len(started))) as pool:  # graceful stops overlap
        list(pool.map(lambda proc: proc.stop(), started.values()))


@pytest.fixture(scope="session")
def store(store_factory: StoreFactory) -> StoreProcess:
    """The shared clean store (SQLite, fast fulfilment clock)."""
    return store_factory()


@pytest.fixture(scope="session")
def slow_store(store_factory: StoreFactory) -> StoreProcess:
    """A clean store whose orders stay cancellable for a while (dispatch after 8 s)."""
    return store_factory(tick_seconds=2.0)


@pytest.fixture
def shopper_for() -> Iterator[Callable[[StoreProcess], Shopper]]:
    """Make shoppers against a given store; their clients are closed afterwards."""
    made: list[Shopper] = []

    def make(proc: StoreProcess) -> Shopper:
        shopper = Shopper(proc.base_url)
        made.append(shopper)
        return shopper

    yield make
    for shopper in made:
        shopper.close()


@pytest.fixture
def shopper(store: StoreProcess, shopper_for: Callable[[StoreProcess], Shopper]) -> Shopper:
    """A fresh, logged-in shopper located in 560001 on the clean store."""
    s = shopper_for(store).signup()
    assert s.locate("560001").status_code == 200
    return s


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A uniquely named PostgreSQL database for this session (dropped afterwards)."""
    import psycopg2

    name = f"qgate_demostore_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(**PG_ADMIN)  # unreachable -> the test fails, never skips
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """A uniquely named MariaDB database for this session (dropped afterwards)."""
    import pymysql

    name = f"qgate_demostore_{uuid.uuid4().hex[:10]}"
    admin = pymysql.connect(**MARIADB_ADMIN, autocommit=True)  # type: ignore[arg-type]
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
