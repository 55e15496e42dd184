"""The built-in, deterministic seed of the demo store: the `reference` block of
`datasets/demo.yaml`.

`qgate demo` writes the whole dataset (these facts plus synthetic customers and orders) with
qgate's generator before the store starts; a store started on an empty database seeds these
facts alone.

Pincodes
========
| pincode | store                              | state                         |
|---------|------------------------------------|-------------------------------|
| 560001  | KOR-01 Koramangala Dark Store      | live, ETA 10 min              |
| 560034  | KOR-01 Koramangala Dark Store      | live, ETA 10 min              |
| 560102  | HSR-01 HSR Layout Dark Store       | live, ETA 12 min              |
| 110001  | CP-01 Connaught Place Dark Store   | paused (heavy rain)           |
| 400001  | -                                  | not serviceable (no store)    |

SKUs worth knowing
==================
| sku      | what                              | why                                            |
|----------|-----------------------------------|------------------------------------------------|
| MLK-001  | Amul Taaza toned milk 500 ml, ₹27 | in stock everywhere; perishable (chilled)      |
| ICE-001  | Party ice cubes 1 kg, ₹49         | hot SKU: 200 units in KOR-01, max 10 per order |
| AVO-001  | Hass avocado (1 pc)               | out of stock in every store                    |
| CIG-001  | Gold Flake Kings (10)             | age-restricted (21+); confirm age at checkout  |
| BRD-001  | Harvest Gold white bread          | perishable; max 3 per order                    |

Coupons
=======
| code      | rule                                     | state                       |
|-----------|------------------------------------------|-----------------------------|
| FLAT50    | ₹50 off, minimum order ₹199              | valid                       |
| SAVE10    | 10% off, at most ₹100, minimum order ₹99 | valid                       |
| FREEDEL   | free delivery                            | valid                       |
| EXPIRED20 | 20% off                                  | expired                     |
| ONCE      | ₹25 off, global usage limit 1            | exhausted (already used)    |

Accounts
========
`demo@example.com` / `demo-pass-123` and `other@example.com` / `other-pass-123`
(phones +919800000001 and +919800000002).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from demostore.models import Category, Coupon, Inventory, Product, ServiceArea, Store, User


def _dataset() -> Path:
    """datasets/demo.yaml: the checkout's top-level folder, or the copy a wheel ships inside
    this package (setup.py maps datasets/ to demostore/datasets/)."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "datasets" / "demo.yaml"
    return checkout if checkout.is_file() else here / "datasets" / "demo.yaml"


DATASET = _dataset()


def load_reference(path: Path = DATASET) -> dict[str, Any]:
    """The documented facts: the `reference` block of the demo dataset."""
    import yaml

    if not path.is_file():
        raise FileNotFoundError(f"the demo dataset {path} is missing (run from a qgate checkout)")
    reference: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))["reference"]
    return reference


def _stock_level(stock: dict[str, Any], store_index: int, store_code: str, product_index: int,
                 sku: str) -> int:
    """Deterministic per-store stock: the hot SKU is scarce, some SKUs are out everywhere."""
    if sku in stock["out_of_stock"]:
        return 0
    if sku == stock["hot_sku"]:
        return int(stock["hot_stock"] if store_code == stock["hot_store"]
                   else stock["hot_stock_elsewhere"])
    low, high = int(stock["low"]), int(stock["high"])
    return low + (product_index * 7 + store_index * 13) % (high - low + 1)


def seed(session: Session, *, now: datetime) -> None:
    """Insert the reference catalog, stores, stock, coupons and demo accounts."""
    reference = load_reference()
    for position, category in enumerate(reference["categories"]):
        session.add(Category(position=position, **category))
    for row in reference["products"]:
        session.add(Product(**row))
    session.flush()
    for store_index, facts in enumerate(reference["stores"]):
        store = Store(code=facts["code"], name=facts["name"], city=facts["city"],
                      eta_minutes=facts["eta_minutes"], paused=bool(facts["pause_reason"]),
                      pause_reason=facts["pause_reason"])
        session.add(store)
        session.flush()
        for pincode in facts["pincodes"]:
            session.add(ServiceArea(pincode=pincode, store_id=store.id))
        for product_index, row in enumerate(reference["products"]):
            level = _stock_level(reference["stock"], store_index, store.code, product_index,
                                 row["sku"])
            session.add(Inventory(store_id=store.id, sku=row["sku"], on_hand=level, reserved=0,
                                  sold=0, stocked=level))
    year = timedelta(days=365)
    for facts in reference["coupons"]:
        row = dict(facts)
        if row.pop("state", "valid") == "expired":
            window = (now - 2 * year, now - timedelta(days=30))
        else:
            window = (now - timedelta(days=1), now + year)
        session.add(Coupon(valid_from=window[0], valid_until=window[1], **row))
    for account in reference["accounts"]:
        session.add(User(created_at=now, **account))
    session.flush()
