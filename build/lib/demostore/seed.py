"""The built-in, deterministic seed of the demo store.

Kept behind `seed(session, now=...)` so a later issue can swap in the harness's synthetic
data generator.

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

from sqlalchemy.orm import Session

from demostore.models import Category, Coupon, Inventory, Product, ServiceArea, Store, User

CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("fruits-veg", "Fruits & Vegetables", "🥦"),
    ("dairy", "Dairy, Bread & Eggs", "🥛"),
    ("snacks", "Snacks & Munchies", "🍿"),
    ("beverages", "Cold Drinks & Juices", "🥤"),
    ("frozen", "Ice & Frozen", "🧊"),
    ("personal-care", "Personal Care", "🧴"),
    ("baby", "Baby Care", "🍼"),
    ("pet", "Pet Care", "🐾"),
    ("otc", "Pharmacy & OTC", "💊"),
    ("paan-corner", "Paan Corner", "🚬"),
)

# sku, name, category, price ₹, mrp ₹, unit, grams, perishable, storage, max/order, min age,
# tags, icon, featured
_P = tuple[str, str, str, float, float, str, int, bool, str, int, int, str, str, bool]
PRODUCTS: tuple[_P, ...] = (
    ("FRU-001", "Banana Robusta", "fruits-veg", 48, 60, "6 pcs", 900, True, "ambient", 5, 0, "vegan", "🍌", True),  # noqa: E501
    ("FRU-002", "Onion", "fruits-veg", 39, 52, "1 kg", 1000, True, "ambient", 5, 0, "vegan", "🧅", False),  # noqa: E501
    ("FRU-003", "Tomato Hybrid", "fruits-veg", 29, 40, "500 g", 500, True, "ambient", 5, 0, "vegan", "🍅", False),  # noqa: E501
    ("AVO-001", "Hass Avocado", "fruits-veg", 149, 199, "1 pc", 200, True, "ambient", 4, 0, "vegan", "🥑", False),  # noqa: E501
    ("MLK-001", "Amul Taaza Toned Milk", "dairy", 27, 28, "500 ml", 515, True, "chilled", 6, 0, "vegetarian", "🥛", True),  # noqa: E501
    ("MLK-002", "Amul Gold Full Cream Milk", "dairy", 34, 35, "500 ml", 515, True, "chilled", 6, 0, "vegetarian", "🥛", False),  # noqa: E501
    ("BRD-001", "Harvest Gold White Bread", "dairy", 40, 45, "400 g", 400, True, "ambient", 3, 0, "vegetarian", "🍞", False),  # noqa: E501
    ("EGG-001", "Farm Fresh Eggs", "dairy", 84, 96, "12 pcs", 720, True, "chilled", 4, 0, "", "🥚", False),  # noqa: E501
    ("PNR-001", "Milky Mist Paneer", "dairy", 95, 110, "200 g", 200, True, "chilled", 4, 0, "vegetarian", "🧀", False),  # noqa: E501
    ("CHP-001", "Lay's Classic Salted Chips", "snacks", 20, 20, "52 g", 52, False, "ambient", 10, 0, "vegetarian", "🥔", True),  # noqa: E501
    ("CHP-002", "Kurkure Masala Munch", "snacks", 20, 20, "82 g", 82, False, "ambient", 10, 0, "vegetarian", "🌶", False),  # noqa: E501
    ("NUT-001", "Happilo Roasted Almonds", "snacks", 299, 399, "200 g", 200, False, "ambient", 5, 0, "vegan", "🥜", False),  # noqa: E501
    ("CHO-001", "Cadbury Dairy Milk Silk", "snacks", 80, 85, "60 g", 60, False, "cool", 8, 0, "vegetarian", "🍫", False),  # noqa: E501
    ("BIS-001", "Parle-G Gold Biscuits", "snacks", 25, 25, "200 g", 200, False, "ambient", 10, 0, "vegetarian", "🍪", False),  # noqa: E501
    ("SOD-001", "Coca-Cola Original", "beverages", 40, 40, "750 ml", 750, False, "cool", 12, 0, "vegan", "🥤", True),  # noqa: E501
    ("SOD-002", "Thums Up", "beverages", 40, 40, "750 ml", 750, False, "cool", 12, 0, "vegan", "🥤", False),  # noqa: E501
    ("JUI-001", "Real Fruit Power Mixed Fruit Juice", "beverages", 110, 125, "1 l", 1000, False, "ambient", 6, 0, "vegan", "🧃", False),  # noqa: E501
    ("WAT-001", "Bisleri Mineral Water", "beverages", 20, 20, "1 l", 1000, False, "ambient", 12, 0, "vegan", "💧", False),  # noqa: E501
    ("CUP-001", "Disposable Party Cups", "beverages", 49, 60, "25 pcs", 150, False, "ambient", 5, 0, "", "🥤", False),  # noqa: E501
    ("ICE-001", "Party Ice Cubes", "frozen", 49, 60, "1 kg", 1000, True, "frozen", 10, 0, "vegan", "🧊", True),  # noqa: E501
    ("ICE-002", "Kwality Walls Cornetto", "frozen", 45, 50, "105 ml", 105, True, "frozen", 6, 0, "vegetarian", "🍦", False),  # noqa: E501
    ("FRZ-001", "McCain French Fries", "frozen", 125, 150, "420 g", 420, True, "frozen", 4, 0, "vegan", "🍟", False),  # noqa: E501
    ("FRZ-002", "Safal Frozen Green Peas", "frozen", 65, 75, "500 g", 500, True, "frozen", 4, 0, "vegan", "🫛", False),  # noqa: E501
    ("PER-001", "Dove Cream Beauty Bar", "personal-care", 162, 180, "3 x 100 g", 300, False, "ambient", 5, 0, "", "🧼", False),  # noqa: E501
    ("PER-002", "Colgate Strong Teeth Toothpaste", "personal-care", 99, 110, "200 g", 200, False, "ambient", 5, 0, "", "🪥", False),  # noqa: E501
    ("PER-003", "Head & Shoulders Shampoo", "personal-care", 189, 210, "180 ml", 180, False, "ambient", 4, 0, "", "🧴", False),  # noqa: E501
    ("PER-004", "Gillette Guard Razor", "personal-care", 55, 60, "1 pc", 30, False, "ambient", 5, 0, "", "🪒", False),  # noqa: E501
    ("BAB-001", "Pampers Baby Dry Pants M", "baby", 699, 899, "56 pcs", 1600, False, "ambient", 3, 0, "", "👶", False),  # noqa: E501
    ("BAB-002", "Himalaya Baby Wipes", "baby", 149, 175, "72 pcs", 400, False, "ambient", 5, 0, "", "🧻", False),  # noqa: E501
    ("BAB-003", "Cerelac Wheat Apple", "baby", 245, 260, "300 g", 300, False, "ambient", 4, 0, "", "🥣", False),  # noqa: E501
    ("PET-001", "Pedigree Adult Dog Food Chicken", "pet", 215, 240, "1.2 kg", 1200, False, "ambient", 4, 0, "", "🐶", False),  # noqa: E501
    ("PET-002", "Whiskas Ocean Fish Cat Food", "pet", 199, 215, "480 g", 480, False, "ambient", 4, 0, "", "🐱", False),  # noqa: E501
    ("PET-003", "Drools Chew Bones", "pet", 120, 150, "4 pcs", 120, False, "ambient", 4, 0, "", "🦴", False),  # noqa: E501
    ("OTC-001", "Dolo 650 Tablets", "otc", 31, 33, "15 tablets", 15, False, "ambient", 2, 0, "", "💊", False),  # noqa: E501
    ("OTC-002", "Vicks VapoRub", "otc", 95, 99, "25 ml", 25, False, "ambient", 3, 0, "", "🫙", False),  # noqa: E501
    ("OTC-003", "Band-Aid Washproof Strips", "otc", 45, 50, "20 pcs", 20, False, "ambient", 3, 0, "", "🩹", False),  # noqa: E501
    ("OTC-004", "ORS Electrolyte Drink Lemon", "otc", 38, 40, "200 ml", 200, False, "ambient", 6, 0, "", "🍋", False),  # noqa: E501
    ("CIG-001", "Gold Flake Kings", "paan-corner", 190, 190, "10 sticks", 20, False, "ambient", 2, 21, "", "🚬", False),  # noqa: E501
    ("PAN-001", "Pan Rasna Mouth Freshener", "paan-corner", 30, 35, "40 g", 40, False, "ambient", 5, 0, "", "🌿", False),  # noqa: E501
    ("LTR-001", "Cricket Lighter", "paan-corner", 35, 40, "1 pc", 20, False, "ambient", 3, 18, "", "🔥", False),  # noqa: E501
)

# store code -> (name, city, eta, paused reason or "", pincodes)
STORES: tuple[tuple[str, str, str, int, str, tuple[str, ...]], ...] = (
    ("KOR-01", "Koramangala Dark Store", "Bengaluru", 10, "", ("560001", "560034")),
    ("HSR-01", "HSR Layout Dark Store", "Bengaluru", 12, "", ("560102",)),
    ("CP-01", "Connaught Place Dark Store", "New Delhi", 14, "heavy rain", ("110001",)),
)

HOT_SKU = "ICE-001"
HOT_SKU_STOCK = 200
OUT_OF_STOCK_SKU = "AVO-001"

# name, email, phone, scrypt hash (precomputed: hashing at every start costs ~0.1 s).
# The passwords are demo-pass-123 and other-pass-123; tests check the hashes still match.
DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    ("Demo Shopper", "demo@example.com", "+919800000001",
     "scrypt$16384$8$1$ssXM/ipp751ypQgaANoVFA==$Ti1GNxI+e3d/vr0J9IUiEveDzSLAXUbbo7ymySkwc04="),
    ("Other Shopper", "other@example.com", "+919800000002",
     "scrypt$16384$8$1$ykQ+qS0c4JC/N4R59RctfA==$qz9c9Qm4SbIgXuhCwcCL1hSs6zijBlN3QQIXpwh9lyI="),
)


def _stock_level(store_index: int, product_index: int, sku: str) -> int:
    """Deterministic per-store stock: the hot SKU is scarce, one SKU is out everywhere."""
    if sku == OUT_OF_STOCK_SKU:
        return 0
    if sku == HOT_SKU:
        return HOT_SKU_STOCK if store_index == 0 else 40
    return 30 + (product_index * 7 + store_index * 13) % 60


def seed(session: Session, *, now: datetime) -> None:
    """Insert the built-in catalog, stores, stock, coupons and demo accounts."""
    for position, (slug, name, icon) in enumerate(CATEGORIES):
        session.add(Category(slug=slug, name=name, icon=icon, position=position))
    for row in PRODUCTS:
        sku, name, cat, price, mrp, unit, grams, perishable, storage, max_q, age, tags, icon, feat = row  # noqa: E501
        session.add(
            Product(
                sku=sku,
                name=name,
                category_slug=cat,
                price_paise=round(price * 100),
                mrp_paise=round(mrp * 100),
                unit=unit,
                net_weight_g=grams,
                perishable=perishable,
                storage=storage,
                max_per_order=max_q,
                min_age=age,
                tags=tags,
                icon=icon,
                featured=feat,
            )
        )
    session.flush()
    for store_index, (code, name, city, eta, paused, pincodes) in enumerate(STORES):
        store = Store(
            code=code,
            name=name,
            city=city,
            eta_minutes=eta,
            paused=bool(paused),
            pause_reason=paused,
        )
        session.add(store)
        session.flush()
        for pincode in pincodes:
            session.add(ServiceArea(pincode=pincode, store_id=store.id))
        for product_index, row in enumerate(PRODUCTS):
            level = _stock_level(store_index, product_index, row[0])
            session.add(
                Inventory(store_id=store.id, sku=row[0], on_hand=level, reserved=0, sold=0,
                          stocked=level)
            )
    year = timedelta(days=365)
    coupons = (
        Coupon(code="FLAT50", kind="flat", value=5000, min_order_paise=19900,
               description="₹50 off on orders above ₹199"),
        Coupon(code="SAVE10", kind="percent", value=10, max_discount_paise=10000,
               min_order_paise=9900, description="10% off up to ₹100 on orders above ₹99"),
        Coupon(code="FREEDEL", kind="free_delivery", description="Free delivery"),
        Coupon(code="EXPIRED20", kind="percent", value=20, description="20% off (expired)",
               valid_from=now - 2 * year, valid_until=now - timedelta(days=30)),
        Coupon(code="ONCE", kind="flat", value=2500, usage_limit=1, used_count=1,
               description="₹25 off, one use only"),
    )
    for coupon in coupons:
        if coupon.valid_from is None:
            coupon.valid_from = now - timedelta(days=1)
        if coupon.valid_until is None:
            coupon.valid_until = now + year
        session.add(coupon)
    for name, email, phone, password_hash in DEMO_USERS:
        session.add(User(name=name, email=email, phone=phone, password_hash=password_hash,
                         created_at=now))
    session.flush()
