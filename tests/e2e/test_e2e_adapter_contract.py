"""The storefront adapter contract: protocol, records, loading by import path."""

from __future__ import annotations

import inspect
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from harness.e2e.adapter import (
    STEPS,
    BaseStorefront,
    Cart,
    CartLine,
    Storefront,
    StorefrontError,
    Unsupported,
    canonical_state,
    implemented_steps,
    load_adapter,
    parse_money,
)
from harness.e2e.journey import assert_totals_add_up
from harness.e2e.settings import DEMO_ADAPTER, E2ESettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "mark", "currency", "amount"),
    [
        ("₹27.00", ".", "INR", "27.00"),
        ("₹1,234.50", ".", "INR", "1234.50"),
        ("₹1,23,456.50", ".", "INR", "123456.50"),
        ("-₹50.00", ".", "INR", "-50.00"),
        ("− ₹50", ".", "INR", "-50"),
        ("FREE", ".", "INR", "0"),
        ("Rs. 5", ".", "INR", "5"),
        ("$1,234.50", ".", "USD", "1234.50"),
        ("£1.45", ".", "GBP", "1.45"),
        ("(£5.00)", ".", "GBP", "-5.00"),
        ("€1.234,50", ",", "EUR", "1234.50"),
        ("1 234,50 €", ",", "EUR", "1234.50"),
        ("1\u202f234,50\u00a0€", ",", "EUR", "1234.50"),
        ("12,5 €", ",", "EUR", "12.5"),
        ("€1.234", ",", "EUR", "1234"),
        ("$1,234", ".", "", "1234"),
    ],
)
def test_parse_money_follows_the_locale(text: str, mark: str, currency: str,
                                        amount: str) -> None:
    assert parse_money(text, decimal_mark=mark, currency=currency) == Decimal(amount)


@pytest.mark.parametrize(
    ("text", "mark", "currency", "problem"),
    [
        ("call us", ".", "", "cannot read an amount"),
        ("€1.234,50", ".", "EUR", "decimal mark '.'"),   # a locale mix-up is never a number
        ("$1,234.50", ",", "USD", "decimal mark ','"),
        ("12,50", ".", "", "decimal mark '.'"),
        ("€12.50", ".", "INR", "is in EUR, but e2e.currency is INR"),
    ],
)
def test_parse_money_refuses_what_it_cannot_read_for_sure(text: str, mark: str, currency: str,
                                                          problem: str) -> None:
    with pytest.raises(StorefrontError, match=problem.replace(".", r"\.").replace("'", "'")):
        parse_money(text, decimal_mark=mark, currency=currency)


def test_canonical_state_maps_the_shops_words() -> None:
    table = {"Being processed": "in_progress", "Dispatched": "out_for_delivery"}
    assert canonical_state("  being   PROCESSED ", table) == "in_progress"  # type: ignore[arg-type]
    assert canonical_state("Lost in space", table) == "unknown"  # type: ignore[arg-type]


def test_protocol_lists_every_journey_step() -> None:
    expected = {
        "set_location", "search", "browse_category", "open_product", "add_to_cart", "cart",
        "change_quantity", "remove_from_cart", "apply_coupon", "checkout", "pay", "order",
        "track_order", "order_history", "cancel_order", "sign_up", "log_in", "log_out",
        "signed_in_as", "clean_up",
    }
    assert expected <= set(STEPS)


def test_demo_adapter_implements_every_step_with_the_protocol_signature() -> None:
    adapter = load_adapter(DEMO_ADAPTER, str(ROOT))
    for name in STEPS:
        assert name in vars(adapter), f"demo adapter does not implement {name}"
        ours = inspect.signature(getattr(adapter, name))
        protocol = inspect.signature(getattr(Storefront, name))
        assert list(ours.parameters) == list(protocol.parameters), name


def test_base_storefront_raises_unsupported_for_every_step() -> None:
    store = BaseStorefront(page=None, base_url="http://x", settings=E2ESettings())  # type: ignore[arg-type]
    assert implemented_steps(BaseStorefront) == set()
    for name in STEPS:
        if name in ("clean_up", "track_order"):  # nothing to clean; tracking reloads order()
            continue
        method = getattr(store, name)
        params = inspect.signature(method).parameters.values()
        args = [None for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        kwargs = {p.name: 1 for p in params if p.kind is p.KEYWORD_ONLY}
        with pytest.raises(Unsupported, match="does not support"):
            method(*args, **kwargs)


def test_load_adapter_from_file_path(tmp_path: Path) -> None:
    (tmp_path / "acme.py").write_text(
        "from harness.e2e.adapter import BaseStorefront\n"
        "class Acme(BaseStorefront):\n    name = 'acme'\n"
    )
    adapter = load_adapter("acme.py:Acme", str(tmp_path))
    assert adapter.__name__ == "Acme"


def test_load_adapter_from_module_under_rootdir(tmp_path: Path) -> None:
    package = tmp_path / "shopadapters"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "bolt.py").write_text(
        "from harness.e2e.adapter import BaseStorefront\nclass Bolt(BaseStorefront):\n    pass\n"
    )
    try:
        assert load_adapter("shopadapters.bolt:Bolt", str(tmp_path)).__name__ == "Bolt"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("shopadapters.bolt", None)
        sys.modules.pop("shopadapters", None)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("no_colon_here", "must look like"),
        ("missing_module_xyz:Cls", "not found"),
        ("harness.e2e.adapter:NoSuchClass", "has no 'NoSuchClass'"),
        ("nope.py:Cls", "no file"),
    ],
)
def test_load_adapter_errors_name_the_spec(spec: str, problem: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=problem):
        load_adapter(spec, str(tmp_path))


def _cart(payable: str, fees: dict[str, str]) -> Cart:
    return Cart(
        lines=(CartLine("MLK-001", "Milk", 2, Decimal("54")),),
        item_total=Decimal("54"),
        discount=Decimal("0"),
        fees={k: Decimal(v) for k, v in fees.items()},
        payable=Decimal(payable),
    )


def test_totals_identity_holds() -> None:
    assert_totals_add_up(_cart("83", {"delivery": "25", "platform": "4"}))


def test_totals_identity_names_the_amounts_when_a_fee_is_left_out() -> None:
    with pytest.raises(AssertionError, match=r"payable 58 ≠ .*delivery 25.* = 83"):
        assert_totals_add_up(_cart("58", {"delivery": "25", "platform": "4"}))


def test_importing_harness_e2e_does_not_import_playwright() -> None:
    import subprocess

    code = "import harness.e2e, harness.e2e.settings, harness.e2e.browser, sys; " \
        "print('playwright' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
