"""The synthetic data generator: a dataset spec in, Q-commerce rows out, batch by batch.

Same spec and seed, same rows: every entity draws from its own `random.Random` seeded from
the spec's seed and the entity's name, and Faker is only used to fill the pools
(`providers.Pools`). Orders are generated in chunks together with their lines, events and
payments, so memory stays one chunk deep at any size. Totals add up
(item total - discount + fees = payable) and order timestamps never go backwards.

Writers: any SQLAlchemy database (the spec's schema is created when the tables are
missing), CSV or Parquet files (one per table).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.data.progress import Progress
from harness.data.providers import CITIES, Pools, Sampler
from harness.data.spec import DatasetSpec
from harness.errors import ConfigError, UsageError

# entity -> ((column, kind), ...); kinds: int, str, bool, datetime
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "categories": (("slug", "str"), ("name", "str"), ("icon", "str"), ("position", "int")),
    "products": (("sku", "str"), ("name", "str"), ("category_slug", "str"),
                 ("price_paise", "int"), ("mrp_paise", "int"), ("unit", "str"),
                 ("net_weight_g", "int"), ("perishable", "bool"), ("storage", "str"),
                 ("max_per_order", "int"), ("min_age", "int"), ("tags", "str"), ("icon", "str"),
                 ("featured", "bool")),
    "stores": (("id", "int"), ("code", "str"), ("name", "str"), ("city", "str"),
               ("eta_minutes", "int"), ("opens_minute", "int"), ("closes_minute", "int"),
               ("paused", "bool"), ("pause_reason", "str")),
    "service_areas": (("pincode", "str"), ("store_id", "int")),
    "inventory": (("store_id", "int"), ("sku", "str"), ("on_hand", "int"), ("reserved", "int"),
                  ("sold", "int"), ("stocked", "int")),
    "coupons": (("code", "str"), ("kind", "str"), ("value", "int"),
                ("max_discount_paise", "int"), ("min_order_paise", "int"),
                ("valid_from", "datetime"), ("valid_until", "datetime"), ("usage_limit", "int"),
                ("used_count", "int"), ("description", "str")),
    "users": (("id", "int"), ("name", "str"), ("email", "str"), ("phone", "str"),
              ("password_hash", "str"), ("created_at", "datetime")),
    "orders": (("id", "int"), ("user_id", "int"), ("store_id", "int"), ("status", "str"),
               ("refund_status", "str"), ("pincode", "str"), ("address", "str"),
               ("slot", "str"), ("eta_minutes", "int"), ("item_total_paise", "int"),
               ("discount_paise", "int"), ("fees_json", "str"), ("payable_paise", "int"),
               ("coupon_code", "str"), ("created_at", "datetime"), ("placed_at", "datetime"),
               ("cancelled_at", "datetime")),
    "order_lines": (("id", "int"), ("order_id", "int"), ("sku", "str"), ("name", "str"),
                    ("price_paise", "int"), ("qty", "int")),
    "order_events": (("id", "int"), ("order_id", "int"), ("state", "str"),
                     ("at", "datetime")),
    "payments": (("id", "int"), ("order_id", "int"), ("method", "str"), ("instrument", "str"),
                 ("amount_paise", "int"), ("status", "str"), ("failure_code", "str"),
                 ("reference", "str"), ("created_at", "datetime")),
}
ORDER_ENTITIES = ("orders", "order_lines", "order_events", "payments")

# Q-commerce fee rules (DOMAIN.md ranges), in paise.
DELIVERY_BANDS = ((9900, 2800), (19900, 1500))
SMALL_CART_BELOW, SMALL_CART_FEE = 9900, 1500
PLATFORM_FEE = 200
SURGE_FEE, SURGE_HOURS = 3000, range(18, 21)  # IST
LATE_NIGHT_FEE, LATE_NIGHT_HOURS = 1500, {23, 0, 1, 2, 3, 4}
IST_SECONDS = 5 * 3600 + 1800
# Orders per hour of the day (IST): a breakfast bump and the evening peak.
HOURLY_WEIGHTS = (2, 1, 1, 1, 1, 2, 4, 7, 9, 8, 7, 7, 8, 7, 6, 6, 7, 9, 12, 14, 14, 12, 8, 4)
FLOW = ("PLACED", "PICKING", "PACKED", "RIDER_ASSIGNED", "OUT_FOR_DELIVERY", "DELIVERED")
# (status, weight): most orders are delivered; some cancelled, some never paid.
OUTCOMES = (("DELIVERED", 90), ("CANCELLED", 5), ("PAYMENT_FAILED", 5))
FAILURE_CODES = ("card_declined", "insufficient_funds", "upi_declined", "expired_card")


@dataclass(frozen=True)
class Batch:
    """Rows of one entity, in `COLUMNS[entity]` order."""

    entity: str
    rows: list[tuple[Any, ...]]


def _mix(value: int) -> int:
    """splitmix64: a fast, well-spread hash of an integer (stateless per-customer picks)."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


class Clock:
    """Timestamps as seconds after the first day's midnight (UTC), written as datetimes or,
    for SQLite and CSV, directly as the text SQLAlchemy stores (no second conversion)."""

    def __init__(self, start: dt.datetime, text: bool, days: int) -> None:
        self.start = start
        self.text = text
        self._days = {d: (start + dt.timedelta(days=d)).strftime("%Y-%m-%d")
                      for d in range(-3 * 365, days + 12 * 365)}

    def at(self, seconds: int) -> Any:
        """The timestamp `seconds` after the start."""
        if not self.text:
            return self.start + dt.timedelta(seconds=seconds)
        day, second = divmod(seconds, 86400)
        return (f"{self._days[day]} {second // 3600:02d}:{second // 60 % 60:02d}:"
                f"{second % 60:02d}.000000")


class Generator:
    """Generates a spec's dataset as a stream of batches."""

    def __init__(self, spec: DatasetSpec, *, text_times: bool = False) -> None:
        self.spec = spec
        self.clock = Clock(_midnight(spec.dates.start), text_times,
                           (spec.dates.end - spec.dates.start).days + 1)
        sizes = spec.sizes
        self.pools = Pools.build(spec.locale, spec.seed, names=spec.pool_names,
                                 buildings=spec.pool_buildings, skus=sizes.products,
                                 stores=sizes.stores)
        self.accounts = list(spec.reference.accounts)
        self.stores: list[dict[str, Any]] = []
        self.products: list[dict[str, Any]] = []
        self.coupons: list[dict[str, Any]] = []
        #: units delivered by the generated history, per (store id, sku): the inventory is
        #: written after the orders so that what was sold was also stocked
        self.delivered: dict[tuple[int, str], int] = {}

    def _rng(self, entity: str) -> random.Random:
        return random.Random(f"{self.spec.seed}:{entity}")

    def batches(self) -> Iterator[Batch]:
        """Every entity in foreign-key order; orders with their lines, events and payments."""
        yield Batch("categories", self._categories())
        yield from self._chunked("products", self._products())
        yield Batch("stores", self._stores())
        yield Batch("service_areas", self._service_areas())
        yield Batch("coupons", self._coupons())
        yield from self._users()
        yield from self._orders()
        # after the orders: the history's deliveries were stocked (stocked = on hand + sold),
        # so the store's business invariants hold on generated data too
        yield from self._chunked("inventory", self._inventory())

    def _chunked(self, entity: str, rows: Iterator[tuple[Any, ...]]) -> Iterator[Batch]:
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= self.spec.batch_size:
                yield Batch(entity, chunk)
                chunk = []
        if chunk:
            yield Batch(entity, chunk)

    # --- catalog and stores -------------------------------------------------------------

    def _categories(self) -> list[tuple[Any, ...]]:
        known = [(c["slug"], c["name"], c.get("icon", ""), i)
                 for i, c in enumerate(self.spec.reference.categories)]
        from harness.data.providers import CATALOG

        slugs = {row[0] for row in known}
        for slug, (name, _, _) in CATALOG.items():
            if slug not in slugs and self.spec.sizes.products:
                known.append((slug, name, "", len(known)))
        return known

    def _products(self) -> Iterator[tuple[Any, ...]]:
        columns = [c for c, _ in COLUMNS["products"]]
        defaults = {"perishable": False, "storage": "ambient", "max_per_order": 10, "min_age": 0,
                    "tags": "", "icon": "", "featured": False}
        for product in self.spec.reference.products:
            row = defaults | product
            self.products.append(row)
            yield tuple(row.get(c) for c in columns)
        rng = self._rng("products")
        counters: dict[str, int] = {}
        for sku in self.pools.skus:
            prefix = sku["category"].replace("-", "")[:3].upper()
            counters[prefix] = counters.get(prefix, 0) + 1
            row = defaults | {
                "sku": f"{prefix}-{counters[prefix]:05d}", "name": sku["name"],
                "category_slug": sku["category"], "price_paise": sku["price_paise"],
                "mrp_paise": sku["mrp_paise"], "unit": sku["unit"],
                "net_weight_g": sku["net_weight_g"], "perishable": sku["perishable"],
                "storage": sku["storage"], "max_per_order": rng.choice((3, 4, 5, 6, 8, 10, 12)),
                "tags": sku["tags"]}
            self.products.append(row)
            yield tuple(row.get(c) for c in columns)

    def _stores(self) -> list[tuple[Any, ...]]:
        rng = self._rng("stores")
        reserved = {p for s in self.spec.reference.stores for p in s.get("pincodes", [])}
        reserved |= set(self.spec.reference.unserviceable)
        for facts in self.spec.reference.stores:
            self.stores.append({**facts, "id": len(self.stores) + 1,
                                "pincodes": list(facts.get("pincodes", []))})
        for index, store in enumerate(self.pools.stores):
            prefix = CITIES[store["city"]][0]
            pincodes: list[str] = []
            while len(pincodes) < rng.randint(2, 3):
                pincode = f"{prefix}{rng.randrange(1000):03d}"
                if pincode not in reserved:
                    reserved.add(pincode)
                    pincodes.append(pincode)
            paused = rng.random() < 0.03
            self.stores.append({
                "id": len(self.stores) + 1, "code": f"{store['code'][:3]}-{100 + index}",
                "name": store["name"], "city": store["city"], "eta_minutes": rng.randint(8, 20),
                "pause_reason": rng.choice(("heavy rain", "staff shortage")) if paused else "",
                "pincodes": pincodes, "locality": store["locality"]})
        return [(s["id"], s["code"], s["name"], s["city"], s["eta_minutes"],
                 s.get("opens_minute", 0), s.get("closes_minute", 24 * 60),
                 bool(s.get("pause_reason")), s.get("pause_reason", ""))
                for s in self.stores]

    def _service_areas(self) -> list[tuple[Any, ...]]:
        return [(pincode, s["id"]) for s in self.stores for pincode in s["pincodes"]]

    def _inventory(self) -> Iterator[tuple[Any, ...]]:
        rand = self._rng("inventory").random
        stock = self.spec.reference.stock
        out = set(stock.out_of_stock)
        for store in self.stores:
            for product in self.products:
                sku = product["sku"]
                if sku in out:
                    level = 0
                elif sku == stock.hot_sku:
                    level = (stock.hot_stock if store["code"] == stock.hot_store
                             else stock.hot_stock_elsewhere)
                else:
                    level = stock.low + int(rand() * (stock.high - stock.low + 1))
                sold = self.delivered.get((store["id"], sku), 0)
                yield (store["id"], sku, level, 0, sold, level + sold)

    def _coupons(self) -> list[tuple[Any, ...]]:
        start, end = _midnight(self.spec.dates.start), _midnight(self.spec.dates.end)
        rows = []
        for facts in self.spec.reference.coupons:
            coupon = dict(facts)
            if coupon.pop("state", "valid") == "expired":
                window = (start - dt.timedelta(days=730), start - dt.timedelta(days=30))
            else:  # valid for years past the date range, so a demo never sees it lapse
                window = (start - dt.timedelta(days=1), end + dt.timedelta(days=3650))
            coupon.update(valid_from=window[0], valid_until=window[1])
            self.coupons.append(coupon)
            stamps = [self.clock.at(int((w - start).total_seconds())) for w in window]
            rows.append((coupon["code"], coupon["kind"], coupon.get("value", 0),
                         coupon.get("max_discount_paise"), coupon.get("min_order_paise", 0),
                         stamps[0], stamps[1], coupon.get("usage_limit"),
                         coupon.get("used_count", 0), coupon.get("description", "")))
        return rows

    # --- customers and orders -----------------------------------------------------------

    def _users(self) -> Iterator[Batch]:
        rng = self._rng("users")
        sampler = Sampler(self.pools, rng)
        at = self.clock.at
        yield Batch("users", [(index + 1, a["name"], a["email"], a["phone"], a["password_hash"],
                               at(0)) for index, a in enumerate(self.accounts)])
        first_id = len(self.accounts) + 1
        password = self.spec.password_hash
        seed_offset = self.spec.seed % 4_000_000_000
        rand = rng.random
        total = self.spec.sizes.customers
        for start in range(0, total, self.spec.batch_size):
            size = min(self.spec.batch_size, total - start)
            people = sampler.people(size, first_id + start)
            ids = range(first_id + start, first_id + start + size)
            # a bijection of the index onto 6000000000-9999999999: unique valid mobiles
            phones = [f"+91{6_000_000_000 + ((i - first_id + seed_offset) * 2_654_435_761) % 4_000_000_000}"  # noqa: E501
                      for i in ids]
            created = [at(-int(rand() * 180 * 86400)) for _ in ids]
            yield Batch("users", list(zip(ids, people["name"], people["email"], phones,
                                          [password] * size, created, strict=True)))

    def _orders(self) -> Iterator[Batch]:
        spec = self.spec
        total = spec.sizes.orders
        if not total:
            return
        rng = self._rng("orders")
        sampler = Sampler(self.pools, rng)
        rand, choices, getrandbits = rng.random, rng.choices, rng.getrandbits
        at = self.clock.at
        first_customer = len(self.accounts) + 1 if spec.sizes.customers else 1
        customer_count = spec.sizes.customers or len(self.accounts)
        products = self.products
        # Zipf-like popularity over a seeded shuffle: a few SKUs are hot, the tail is long.
        ranked = list(range(len(products)))
        rng.shuffle(ranked)
        weights = [0.0] * len(products)
        for rank, index in enumerate(ranked):
            weights[index] = 1.0 / (rank + 1) ** 0.9
        cumulative = list(itertools.accumulate(weights))
        product_rows = [(p["sku"], p["name"], p["price_paise"], max(1, p["max_per_order"]))
                        for p in products]
        product_indexes = range(len(products))
        stores = self.stores
        end = _midnight(spec.dates.end)
        coupons = [c for c in self.coupons
                   if c["kind"] in ("flat", "percent", "free_delivery")
                   and c["valid_until"] > end
                   and (c.get("usage_limit") is None or c.get("used_count", 0) <
                        c["usage_limit"])]
        hour_cdf = list(itertools.accumulate(HOURLY_WEIGHTS))
        days = (spec.dates.end - spec.dates.start).days + 1
        per_day = total / days
        outcome_cw = list(itertools.accumulate(w for _, w in OUTCOMES))
        outcome_total = outcome_cw[-1]
        low, high = spec.items_per_order
        span = high - low + 1
        events_mode, with_payments = spec.events, spec.payments
        fees_cache: dict[tuple[int, bool, int], tuple[str, int]] = {}
        line_id = event_id = payment_id = 1
        chunk = spec.batch_size
        for chunk_start in range(0, total, chunk):
            orders: list[tuple[Any, ...]] = []
            lines: list[tuple[Any, ...]] = []
            events: list[tuple[Any, ...]] = []
            payments: list[tuple[Any, ...]] = []
            for index in range(chunk_start, min(total, chunk_start + chunk)):
                order_id = index + 1
                # time: day by position, hour by the day's curve, so ids increase with time
                position = index / per_day
                day = min(days - 1, int(position))
                ist_hour = min(23, bisect.bisect_right(hour_cdf,
                                                       (position - day) * hour_cdf[-1]))
                created_s = day * 86400 + ist_hour * 3600 - IST_SECONDS + int(rand() * 3600)
                user_id = first_customer + int(customer_count * rand() ** 1.6)
                mixed = _mix(user_id ^ spec.seed)
                store = stores[mixed % len(stores)]
                pincodes = store["pincodes"] or ["560001"]
                pincode = pincodes[(mixed >> 8) % len(pincodes)]
                address = sampler.delivery_address(store["city"], pincode,
                                                   store.get("locality"))
                item_total = 0
                units: list[tuple[str, int]] = []
                seen: set[int] = set()
                for product_index in choices(product_indexes, cum_weights=cumulative,
                                             k=low + int(rand() * span)):
                    if product_index in seen:
                        continue
                    seen.add(product_index)
                    sku, name, price, max_qty = product_rows[product_index]
                    qty = (1 if max_qty == 1 or rand() < 0.6
                           else 2 + int(rand() * min(2, max_qty - 1)))
                    item_total += price * qty
                    lines.append((line_id, order_id, sku, name, price, qty))
                    units.append((sku, qty))
                    line_id += 1
                coupon_code = None
                discount = 0
                free_delivery = False
                if coupons and rand() < 0.12:
                    coupon = coupons[int(rand() * len(coupons))]
                    if item_total >= coupon.get("min_order_paise", 0):
                        coupon_code = coupon["code"]
                        if coupon["kind"] == "flat":
                            discount = min(coupon["value"], item_total)
                        elif coupon["kind"] == "percent":
                            discount = item_total * coupon["value"] // 100
                            cap = coupon.get("max_discount_paise")
                            if cap is not None:
                                discount = min(discount, cap)
                        else:
                            free_delivery = True
                band = next((below for below, _ in DELIVERY_BANDS if item_total < below), 0)
                fee_key = (band, free_delivery, ist_hour)
                fees = fees_cache.get(fee_key)
                if fees is None:
                    fees = fees_cache[fee_key] = _fees(item_total, free_delivery, ist_hour)
                fees_json, fee_total = fees
                payable = item_total - discount + fee_total
                outcome = OUTCOMES[bisect.bisect_right(outcome_cw, rand() * outcome_total)][0]
                placed_s = created_s + 3 + int(rand() * 38)
                created, placed = at(created_s), at(placed_s)
                eta = store["eta_minutes"]
                slot = f"Now, ~{eta} min"
                reference = f"pay_{getrandbits(64):016x}"
                if rand() < 0.55:
                    method, instrument = "card", f"card •••• {int(rand() * 10000):04d}"
                else:
                    method = "upi"
                    instrument = "upi example" if rand() < 0.5 else "upi sandbox"
                if outcome == "DELIVERED":
                    for sku, qty in units:
                        key = (store["id"], sku)
                        self.delivered[key] = self.delivered.get(key, 0) + qty
                    orders.append((order_id, user_id, store["id"], "DELIVERED", None, pincode,
                                   address, slot, eta, item_total, discount, fees_json, payable,
                                   coupon_code, created, placed, None))
                    if events_mode == "all":
                        moments = [placed_s]
                        for step in (90, 80, 60, 120, 300):
                            moments.append(moments[-1] + step // 2 + int(rand() * step * 1.5))
                        states = list(zip(FLOW, moments, strict=True))
                    else:
                        states = [("DELIVERED", placed_s + 600 + int(rand() * 900))]
                    pay_status, failure = "captured", None
                elif outcome == "CANCELLED":
                    cancelled_s = placed_s + 20 + int(rand() * 130)
                    states = [("PLACED", placed_s), ("CANCELLED", cancelled_s),
                              ("REFUND_INITIATED", cancelled_s),
                              ("REFUNDED", cancelled_s + 60 + int(rand() * 540))]
                    orders.append((order_id, user_id, store["id"], "CANCELLED", "REFUNDED",
                                   pincode, address, slot, eta, item_total, discount, fees_json,
                                   payable, coupon_code, created, placed, at(cancelled_s)))
                    pay_status, failure = "refunded", None
                else:
                    states = [("PAYMENT_FAILED", placed_s)]
                    orders.append((order_id, user_id, store["id"], "PAYMENT_FAILED", None,
                                   pincode, address, slot, eta, item_total, discount, fees_json,
                                   payable, coupon_code, created, None, None))
                    pay_status, failure = "failed", FAILURE_CODES[int(rand() * 4)]
                if events_mode == "all":
                    events.append((event_id, order_id, "CREATED", created))
                    events.append((event_id + 1, order_id, "PAYMENT_PENDING", created))
                    event_id += 2
                    for state, moment in states:
                        events.append((event_id, order_id, state, at(moment)))
                        event_id += 1
                elif events_mode == "final":
                    events.append((event_id, order_id, states[-1][0], at(states[-1][1])))
                    event_id += 1
                if with_payments:
                    payments.append((payment_id, order_id, method, instrument, payable,
                                     pay_status, failure, reference, placed))
                    payment_id += 1
            yield Batch("orders", orders)
            yield Batch("order_lines", lines)
            if events:
                yield Batch("order_events", events)
            if payments:
                yield Batch("payments", payments)


def _fees(item_total: int, free_delivery: bool, ist_hour: int) -> tuple[str, int]:
    """fees_json (as the store writes it) and the sum of the fees, in paise."""
    parts: list[tuple[str, str, int]] = []
    delivery = next((fee for below, fee in DELIVERY_BANDS if item_total < below), 0)
    parts.append(("delivery", "Delivery fee", 0 if free_delivery else delivery))
    if item_total < SMALL_CART_BELOW:
        parts.append(("small_cart", "Small cart fee", SMALL_CART_FEE))
    parts.append(("platform", "Platform fee", PLATFORM_FEE))
    if ist_hour in SURGE_HOURS:
        parts.append(("surge", "Peak-hour surge", SURGE_FEE))
    if ist_hour in LATE_NIGHT_HOURS:
        parts.append(("late_night", "Late-night fee", LATE_NIGHT_FEE))
    text = ", ".join(f'{{"code": "{code}", "label": "{label}", "amount": {paise / 100:.2f}}}'
                     for code, label, paise in parts)
    return f"[{text}]", sum(paise for _, _, paise in parts)


# --- writers ------------------------------------------------------------------------------

class DatabaseWriter:
    """Writes batches into any SQLAlchemy database in the spec's (mapped) schema."""

    def __init__(self, url: str, spec: DatasetSpec, *, replace: bool = False) -> None:
        from sqlalchemy import MetaData, inspect

        from harness.data.dburl import connect_check, make_engine

        self.spec = spec
        self.engine = make_engine(url, label="--db")
        connect_check(self.engine, "--db")
        if spec.schema:
            schema_metadata = _import_metadata(spec.schema, spec.file)
            if replace:
                schema_metadata.drop_all(self.engine)
            schema_metadata.create_all(self.engine)
        metadata = MetaData()
        tables = [spec.table_for(e) for e in COLUMNS]
        present = set(inspect(self.engine).get_table_names())
        missing = [t for t in tables if t not in present]
        if missing:
            raise ConfigError(spec.file, "schema", f"the database has no table(s) "
                              f"{', '.join(missing)}",
                              hint="name a schema to create (schema: pkg.module:Base) or map "
                                   "entities with tables:")
        metadata.reflect(self.engine, only=tables)
        self.tables = {e: metadata.tables[spec.table_for(e)] for e in COLUMNS}
        for entity, mapping in spec.tables.items():  # a mapped column must exist: a typo
            table = self.tables.get(entity)           # would otherwise be dropped silently
            for column, target in mapping.columns.items():
                if table is not None and target not in table.c:
                    from harness.schema import suggest
                    raise ConfigError(spec.file, f"tables.{entity}.columns.{column}",
                                      f"column '{target}' is not in table {table.name}",
                                      hint=suggest(target, list(table.c.keys())) or
                                      f"its columns: {', '.join(table.c.keys())}")
        self._check_empty()
        self.columns: dict[str, tuple[list[int], list[str]]] = {}
        for entity, columns in COLUMNS.items():
            table = self.tables[entity]
            keep = [(i, spec.column_for(entity, name)) for i, (name, _) in enumerate(columns)
                    if spec.column_for(entity, name) in table.c]
            self.columns[entity] = ([i for i, _ in keep], [name for _, name in keep])
        # SQLite gets timestamps as text straight from the generator (Clock), others datetimes
        self.text_times = self.engine.dialect.name == "sqlite"
        self.conn = self.engine.connect()
        if self.text_times:  # a bulk load: a crash means generating again, not a lost commit
            self.conn.exec_driver_sql("PRAGMA synchronous=OFF")

    def _check_empty(self) -> None:
        from sqlalchemy import func, select

        with self.engine.connect() as conn:
            for entity in ("stores", "users", "orders"):
                table = self.tables[entity]
                if conn.execute(select(func.count()).select_from(table)).scalar():
                    raise UsageError(f"--db: table {table.name} already has rows; the "
                                     "generator writes into an empty database",
                                     hint="use a fresh database or pass --replace")

    def write(self, batch: Batch) -> None:
        """Insert one batch inside the one transaction of the whole dataset (a failure
        leaves nothing behind, so the corrected spec writes into the same database)."""
        from harness.data.bulk import insert_rows

        indexes, names = self.columns[batch.entity]
        rows = batch.rows
        if len(indexes) != len(COLUMNS[batch.entity]):
            rows = [tuple(row[i] for i in indexes) for row in rows]
        insert_rows(self.conn, self.tables[batch.entity], names, rows)

    def close(self, commit: bool = True) -> None:
        """Move id sequences past the inserted ids and commit (or roll everything back);
        close the connection."""
        from harness.data.bulk import reset_sequences

        try:
            if commit:
                reset_sequences(self.conn, list(self.tables.values()))
                self.conn.commit()
            else:
                self.conn.rollback()
        finally:
            self.conn.close()
            self.engine.dispose()


class FileWriter:
    """Writes one CSV or Parquet file per table into a folder."""

    def __init__(self, out_dir: Path, spec: DatasetSpec, fmt: str) -> None:
        if fmt not in ("csv", "parquet"):
            raise UsageError(f"--format: '{fmt}' is not supported", hint="csv or parquet")
        self.out_dir, self.spec, self.fmt = out_dir, spec, fmt
        self.text_times = fmt == "csv"
        out_dir.mkdir(parents=True, exist_ok=True)
        self._csv: dict[str, Any] = {}
        self._parquet: dict[str, Any] = {}
        self._files: list[Any] = []

    def _path(self, entity: str) -> Path:
        return self.out_dir / f"{self.spec.table_for(entity)}.{self.fmt}"

    def write(self, batch: Batch) -> None:
        """Append one batch to its table's file."""
        names = [self.spec.column_for(batch.entity, c) for c, _ in COLUMNS[batch.entity]]
        if self.fmt == "csv":
            import csv

            writer = self._csv.get(batch.entity)
            if writer is None:
                handle = self._path(batch.entity).open("w", encoding="utf-8", newline="")
                self._files.append(handle)
                writer = self._csv[batch.entity] = csv.writer(handle)
                writer.writerow(names)
            writer.writerows([["" if v is None else v.isoformat(" ") if isinstance(v, dt.datetime)
                               else str(v).lower() if isinstance(v, bool) else v for v in row]
                              for row in batch.rows])
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"int": pa.int64(), "str": pa.string(), "bool": pa.bool_(),
                 "datetime": pa.timestamp("us")}
        schema = pa.schema([(n, types[k]) for n, (_, k) in
                            zip(names, COLUMNS[batch.entity], strict=True)])
        columns = list(zip(*batch.rows, strict=True)) if batch.rows else [()] * len(names)
        table = pa.Table.from_arrays([pa.array(list(c), type=f.type)
                                      for c, f in zip(columns, schema, strict=True)],
                                     schema=schema)
        writer = self._parquet.get(batch.entity)
        if writer is None:
            writer = self._parquet[batch.entity] = pq.ParquetWriter(self._path(batch.entity),
                                                                    schema)
        writer.write_table(table)

    def close(self) -> None:
        """Flush and close every file."""
        for handle in self._files:
            handle.close()
        for writer in self._parquet.values():
            writer.close()


def _import_metadata(path: str, file: str) -> Any:
    """The MetaData behind `package.module:Name` (a declarative base or a MetaData)."""
    import importlib

    module_name, _, attr = path.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr or "metadata")
    except (ImportError, AttributeError) as exc:
        raise ConfigError(file, "schema", f"cannot import '{path}' ({exc})") from None
    return getattr(obj, "metadata", obj)


@dataclass(frozen=True)
class GenerationReport:
    """What a generation wrote."""

    rows: dict[str, int]
    seconds: float

    @property
    def total(self) -> int:
        """Rows over every table."""
        return sum(self.rows.values())


_REFERENCE_ENTITIES = ("categories", "products", "stores", "service_areas", "coupons")
_KIND_CHECKS = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
                "bool": lambda v: isinstance(v, bool) or v in (0, 1),
                "str": lambda v: isinstance(v, str),
                "datetime": lambda v: isinstance(v, (dt.datetime, dt.date, str))}


def _check_reference(spec: DatasetSpec, batch: Batch) -> None:
    """The spec's reference rows have values of their columns' kinds (a ConfigError naming
    the row otherwise, before anything is committed)."""
    columns = COLUMNS[batch.entity]
    for number, row in enumerate(batch.rows):
        for (column, kind), value in zip(columns, row, strict=False):
            if value is not None and not _KIND_CHECKS[kind](value):
                raise ConfigError(spec.file, f"reference.{batch.entity}[{number}].{column}",
                                  f"expected {'a number' if kind == 'int' else kind}, got "
                                  f"{value!r}; nothing was written")


def generate(spec: DatasetSpec, *, db_url: str | None = None, out_dir: Path | None = None,
             fmt: str = "csv", replace: bool = False, show_progress: bool = True,
             entities: Sequence[str] = ()) -> GenerationReport:
    """Generate `spec` into a database or a folder of files."""
    writer: DatabaseWriter | FileWriter
    if db_url:
        writer = DatabaseWriter(db_url, spec, replace=replace)
    elif out_dir is not None:
        writer = FileWriter(out_dir, spec, fmt)
    else:
        raise UsageError("give --db URL or --out DIR")
    progress = Progress(f"generating {spec.name}", enabled=show_progress)
    orders = Progress("orders", spec.sizes.orders, enabled=False)
    rows: dict[str, int] = {}
    done = False
    entity = ""
    try:
        for batch in Generator(spec, text_times=writer.text_times).batches():
            entity = batch.entity
            if entities and batch.entity not in entities:
                continue
            if batch.entity in _REFERENCE_ENTITIES:
                _check_reference(spec, batch)
            try:
                writer.write(batch)
            except Exception as exc:
                from sqlalchemy.exc import DBAPIError

                if not isinstance(exc, DBAPIError) or batch.entity not in _REFERENCE_ENTITIES:
                    raise
                from harness.data.dburl import error_line

                raise ConfigError(spec.file, f"reference.{batch.entity}", "the database refused "
                                  f"a row ({error_line(exc)}); nothing was written") from None
            rows[batch.entity] = rows.get(batch.entity, 0) + len(batch.rows)
            if batch.entity == "orders":
                orders.advance(len(batch.rows))
            progress.advance(len(batch.rows),
                             f"{orders.done:,}/{spec.sizes.orders:,} orders" if orders.done
                             else batch.entity)
        done = True
    except (KeyError, TypeError, ValueError) as exc:
        if entity not in _REFERENCE_ENTITIES:
            raise
        raise ConfigError(spec.file, f"reference.{entity}" if entity else "reference",
                          f"a row cannot be generated ({type(exc).__name__}: {exc}); nothing "
                          "was written") from None
    finally:
        if isinstance(writer, DatabaseWriter):
            writer.close(commit=done)
        else:
            writer.close()
    seconds = progress.finish(f"{sum(rows.values()):,} rows in {len(rows)} tables")
    return GenerationReport(rows, seconds)
