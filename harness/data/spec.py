"""Dataset specs (`datasets/*.yaml`): what the generator writes, from which seed.

A spec names the sizes per entity, the seed, the Faker locale, the date range, the schema to
create when the target is empty, and a `reference` block of fixed facts (categories, dark
stores and their pincodes, the catalog, coupons, accounts) that every generated dataset
contains verbatim. `reference_from: other.yaml` reuses another spec's facts.

Entities are the generator's own names (stores, service_areas, categories, products,
inventory, coupons, users, orders, order_lines, order_events, payments); `tables` maps them
onto another schema's table and column names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import ConfigError
from harness.schema import build

ENTITIES = ("categories", "products", "stores", "service_areas", "inventory", "coupons",
            "users", "orders", "order_lines", "order_events", "payments")


@dataclass(frozen=True)
class Sizes:
    """How many synthetic records to add to the reference facts."""

    stores: int = 0
    products: int = 0
    customers: int = 100
    orders: int = 300


@dataclass(frozen=True)
class DateRange:
    """Orders and sign-ups fall between these dates (inclusive)."""

    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class StockFacts:
    """Stock rules: the hot SKU's scarce stock, SKUs out everywhere, the usual range."""

    hot_sku: str = ""
    hot_store: str = ""
    hot_stock: int = 200
    hot_stock_elsewhere: int = 40
    out_of_stock: list[str] = field(default_factory=list)
    low: int = 30
    high: int = 89


@dataclass(frozen=True)
class Reference:
    """Fixed facts every dataset of the spec contains (rows in the target's column names)."""

    categories: list[dict[str, Any]] = field(default_factory=list)
    stores: list[dict[str, Any]] = field(default_factory=list)
    unserviceable: list[str] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    stock: StockFacts = field(default_factory=StockFacts)
    coupons: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TableMapping:
    """Where an entity goes in the target schema."""

    table: str = ""
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSpec:
    """A validated dataset spec."""

    name: str
    seed: int
    dates: DateRange
    locale: str = "en_IN"
    #: "package.module:Base" (a declarative base or MetaData) created when tables are missing
    schema: str = ""
    sizes: Sizes = field(default_factory=Sizes)
    items_per_order: list[int] = field(default_factory=lambda: [1, 4])
    #: order_events per order: every state reached, only the final one, or none
    events: Literal["all", "final", "none"] = "all"
    payments: bool = True
    #: the password hash every synthetic customer gets (so testers can log in as any of them)
    password_hash: str = ""
    batch_size: int = 5000
    #: pool sizes: how many times Faker is called before sampling takes over
    pool_names: int = 1500
    pool_buildings: int = 800
    tables: dict[str, TableMapping] = field(default_factory=dict)
    reference_from: str = ""
    reference: Reference = field(default_factory=Reference)
    #: the file it was read from (set by load_spec)
    file: str = ""

    def table_for(self, entity: str) -> str:
        """The target table of `entity`."""
        mapped = self.tables.get(entity)
        return mapped.table if mapped and mapped.table else entity

    def column_for(self, entity: str, column: str) -> str:
        """The target column of `entity.column`."""
        mapped = self.tables.get(entity)
        return mapped.columns.get(column, column) if mapped else column


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error is a ConfigError naming the file and line."""
    import yaml

    if not path.is_file():
        raise ConfigError(str(path), "", "file not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(str(path), "", f"malformed YAML{where} ({problem})") from None


def load_spec(path: str | Path) -> DatasetSpec:
    """Load and validate a dataset spec."""
    import dataclasses

    path = Path(path)
    raw = read_yaml(path)
    spec = build(DatasetSpec, raw, str(path))
    if spec.reference_from:
        other = load_spec(path.parent / spec.reference_from)
        spec = dataclasses.replace(spec, reference=other.reference)
    _check(spec, str(path))
    return dataclasses.replace(spec, file=str(path))


def _check(spec: DatasetSpec, file: str) -> None:
    if spec.dates.end < spec.dates.start:
        raise ConfigError(file, "dates.end", "is before dates.start")
    low_high = spec.items_per_order
    if len(low_high) != 2 or not 1 <= low_high[0] <= low_high[1]:
        raise ConfigError(file, "items_per_order", "expected [min, max] with 1 <= min <= max")
    for key in ("stores", "products", "customers", "orders"):
        if getattr(spec.sizes, key) < 0:
            raise ConfigError(file, f"sizes.{key}", "must not be negative")
    if spec.batch_size < 1:
        raise ConfigError(file, "batch_size", "must be at least 1")
    for entity in spec.tables:
        if entity not in ENTITIES:
            from harness.schema import suggest
            raise ConfigError(file, f"tables.{entity}", "unknown entity",
                              hint=suggest(entity, ENTITIES) or f"one of {', '.join(ENTITIES)}")
    if spec.sizes.orders and not (spec.sizes.customers or spec.reference.accounts):
        raise ConfigError(file, "sizes.customers", "orders need at least one customer")
    if spec.sizes.orders and not (spec.sizes.stores or spec.reference.stores):
        raise ConfigError(file, "sizes.stores", "orders need at least one dark store")
    if spec.sizes.orders and not (spec.sizes.products or spec.reference.products):
        raise ConfigError(file, "sizes.products", "orders need at least one product")
