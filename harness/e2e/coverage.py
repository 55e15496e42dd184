"""Which journeys an adapter and an environment can run: the e2e suite's coverage map.

Each journey declares what it *needs* (a concept the shop must have: the journey is not
applicable where the environment declares it absent) and what it *uses* (a fact it must
know either way, e.g. whether to set a location first). `check_environment` runs before
anything else (`qgate run`, the pytest plugin): a broken adapter, or a fact a journey needs
that nobody declared, is a config error naming the key. `qgate doctor --env NAME` prints
the whole map (`print_coverage`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from harness.e2e.settings import E2ESettings
from harness.errors import ConfigError

State = Literal["present", "absent", "unset"]


@dataclass(frozen=True)
class Declared:
    """How the environment answers one need: present, declared absent, or not declared."""

    state: State
    key: str
    why: str = ""


def _path(settings: E2ESettings, dotted: str) -> Any:
    value: Any = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _fact(dotted: str, meaning: str) -> Callable[[E2ESettings], Declared]:
    """A plain key: None = unset; false, "" or [] = the shop has no such thing."""
    def read(settings: E2ESettings) -> Declared:
        value = _path(settings, dotted)
        key = f"e2e.{dotted}"
        if value is None:
            return Declared("unset", key, meaning)
        if value is False or value == "" or value == []:
            shown = "false" if value is False else ('""' if value == "" else "[]")
            return Declared("absent", key, f"{key} = {shown}")
        return Declared("present", key)
    return read


def _method(method: str, instrument: str = "") -> Callable[[E2ESettings], Declared]:
    """A payment method the shop offers (and, for journeys about failures, its instrument)."""
    def read(settings: E2ESettings) -> Declared:
        pay = settings.payment
        if pay.methods is None:
            return Declared("unset", "e2e.payment.methods",
                            'how shoppers pay: ["card"], ["upi"], ["cod"], ["none"] …')
        if method not in pay.methods:
            return Declared("absent", "e2e.payment.methods",
                            f"e2e.payment.methods = {pay.methods} has no {method!r}")
        if instrument:
            return _fact(f"payment.{instrument}", f"the sandbox {instrument.replace('_', ' ')}"
                         ' ("" if the sandbox has none)')(settings)
        success = {"card": "card_success", "upi": "upi_success"}.get(method)
        if success and not getattr(pay, success):
            return Declared("unset", f"e2e.payment.{success}", f"the sandbox {method} that pays")
        return Declared("present", "e2e.payment.methods")
    return read


def _pay(settings: E2ESettings) -> Declared:
    """Some way to complete checkout: the first declared method, with its instrument."""
    methods = settings.payment.methods
    if methods is None:
        return Declared("unset", "e2e.payment.methods",
                        'how shoppers pay: ["card"], ["upi"], ["cod"] (cash on delivery) or '
                        '["none"] (no-payment checkout)')
    if not methods:
        return Declared("absent", "e2e.payment.methods", "e2e.payment.methods = []")
    return _method(methods[0])(settings)


def _progress(settings: E2ESettings) -> Declared:
    orders = settings.orders
    if orders.progress is None:
        return Declared("unset", "e2e.orders.progress",
                        '"automatic", "hook" (with advance_hook) or "none"')
    if orders.progress == "none":
        return Declared("absent", "e2e.orders.progress",
                        'e2e.orders.progress = "none": orders do not move on this staging')
    if orders.progress == "hook" and not orders.advance_hook:
        return Declared("unset", "e2e.orders.advance_hook", "the command or URL moving an order")
    return Declared("present", "e2e.orders.progress")


def _coupons(which: str) -> Callable[[E2ESettings], Declared]:
    def read(settings: E2ESettings) -> Declared:
        coupons = settings.coupons
        if coupons is None:
            return Declared("unset", "e2e.coupons",
                            "[[e2e.coupons]] entries, or coupons = [] if the shop has none")
        if not coupons:
            return Declared("absent", "e2e.coupons", "e2e.coupons = []")
        live = [c for c in coupons if not c.expired]
        found = {"any": coupons, "live": live, "expired": [c for c in coupons if c.expired],
                 "minimum": [c for c in live if float(str(c.min_order) or 0) > 0]}[which]
        if found:
            return Declared("present", "e2e.coupons")
        meaning = {"live": "declares no coupon that is still valid",
                   "expired": "declares no expired coupon",
                   "minimum": "declares no valid coupon with a minimum order"}[which]
        return Declared("absent", "e2e.coupons", f"e2e.coupons {meaning}")
    return read


def _session(settings: E2ESettings) -> Declared:
    """The journey needs a logged-in shopper: sign up, OTP, or a stored login."""
    login = settings.login
    if login.method is None:
        return Declared("unset", "e2e.login.method", '"password", "otp" or "storage_state"')
    if login.method == "password" and not settings.accounts.pool:
        # a new shopper signs up (per test, or once per worker): the shop must allow it
        signup = _fact("login.sign_up", "whether a new shopper can create an account")(settings)
        if signup.state == "absent":
            return Declared("absent", signup.key, f'{signup.why} and e2e.login.method = '
                            '"password": no account to log in with')
        if signup.state == "unset":
            return signup
    if login.method == "storage_state" and not login.email:
        return Declared("unset", "e2e.login.email", "the account the stored state logs in as")
    if login.method == "otp" and not (login.otp_fixed or login.otp_url or login.otp_hook):
        return Declared("unset", "e2e.login.otp_fixed",
                        "where the one-time code comes from: otp_fixed, otp_url or otp_hook")
    return Declared("present", "e2e.login.method")


def _password(settings: E2ESettings) -> Declared:
    method = settings.login.method
    if method is None:
        return Declared("unset", "e2e.login.method", '"password", "otp" or "storage_state"')
    if method != "password":
        return Declared("absent", "e2e.login.method",
                        f'e2e.login.method = "{method}": no password to get wrong')
    return Declared("present", "e2e.login.method")


#: Every need a journey can name, and how the environment answers it.
NEEDS: dict[str, Callable[[E2ESettings], Declared]] = {
    "adapter": _fact("adapter", '"package.module:Class" of the shop\'s adapter'),
    "currency": _fact("currency", "the ISO code amounts are shown in (INR, EUR, GBP …)"),
    "location": _fact("location.pincode",
                      'a serviceable pincode, or "" if the shop has no location step'),
    "second store": _fact("location.second_store_pincode",
                          'a pincode another store serves, or "" if one store serves all'),
    "unserviceable area": _fact("location.unserviceable_pincode",
                                'a pincode no store serves, or "" if the shop serves everywhere'),
    "paused store": _fact("location.paused_pincode",
                          'a pincode whose store is paused, or "" if none can be'),
    "search term": _fact("catalog.search_term", "a word whose search lists catalog.sku"),
    "product": _fact("catalog.sku", "the adapter's id of an in-stock product"),
    "categories": _fact("catalog.categories", "whether the home page links categories"),
    "mrp": _fact("catalog.mrp", "whether product pages show an MRP"),
    "stock levels": _fact("catalog.stock_levels",
                          "whether product pages show the units available"),
    "max per order": _fact("catalog.max_per_order_sku",
                           'a product with a small max per order, or "" if the shop has none'),
    "out of stock": _fact("catalog.out_of_stock_sku",
                          'an out-of-stock product, or "" if none to test with'),
    "address": _fact("checkout.address", "the delivery address typed at checkout"),
    "slots": _fact("checkout.slots", "whether checkout offers delivery slots"),
    "fees": _fact("checkout.fees", 'fee roles a one-item cart shows, or [] for none'),
    "payment": _pay,
    "upi": _method("upi"),
    "cod": _method("cod"),
    "card decline": _method("card", "card_declined"),
    "upi failure": _method("upi", "upi_failure"),
    "order progress": _progress,
    "customer cancel": _fact("orders.customer_cancel",
                             "whether a shopper can cancel before dispatch"),
    "coupons": _coupons("any"),
    "valid coupon": _coupons("live"),
    "expired coupon": _coupons("expired"),
    "coupon minimum": _coupons("minimum"),
    "session": _session,
    "sign up": _fact("login.sign_up", "whether a new shopper can create an account"),
    "password login": _password,
}


@dataclass(frozen=True)
class JourneySpec:
    """One journey: the test implementing it, its steps, and what it needs from the shop."""

    test: str
    group: str
    title: str
    steps: tuple[str, ...]
    #: concepts the journey is about: declared absent → not applicable
    needs: tuple[str, ...]
    #: facts it must know either way (absent is fine, undeclared is a config error)
    uses: tuple[str, ...] = ()
    #: adapter steps it calls (an adapter that lacks one makes it skip: missing evidence)
    calls: tuple[str, ...] = ()


_CART = ("open_product", "add_to_cart", "cart")
_ORDER = ("checkout", "pay", "order")
_SHOP = ("location", "currency")


JOURNEYS: tuple[JourneySpec, ...] = (
    JourneySpec("test_serviceable_pincode_shows_delivery_eta", "1 location",
                "Serviceable pincode shows the store and a delivery ETA",
                ("set location", "check eta"), ("location",), calls=("set_location",)),
    JourneySpec("test_second_pincode_binds_another_store", "1 location",
                "Changing the pincode re-binds the shopper to the store serving it",
                ("set location", "check store"), ("location", "second store"),
                calls=("set_location",)),
    JourneySpec("test_unserviceable_pincode_is_refused", "1 location",
                "Unserviceable pincode is refused, as unserviceable",
                ("set location", "check refusal"), ("location", "unserviceable area"),
                calls=("set_location",)),
    JourneySpec("test_paused_store_is_reported", "1 location",
                "Paused store makes its area unserviceable and says it is paused",
                ("set location", "check refusal"), ("location", "paused store"),
                calls=("set_location",)),
    JourneySpec("test_search_and_open_product", "2 browse and search",
                "Search finds the product and its page shows price and availability",
                ("set location", "search", "check results", "open product", "check product"),
                ("search term", "product"), ("currency", "location", "mrp", "stock levels",
                                             "max per order"),
                calls=("search", "open_product")),
    JourneySpec("test_search_without_match_is_empty", "2 browse and search",
                "Search for nonsense shows an empty result, not an error",
                ("set location", "search", "check results"), (), ("location",),
                calls=("search",)),
    JourneySpec("test_browse_category", "2 browse and search",
                "A category page lists priced products",
                ("set location", "browse category", "check products"), ("categories",),
                _SHOP, calls=("browse_category",)),
    JourneySpec("test_add_change_quantity_and_remove", "3 cart",
                "Cart lines follow quantity changes and empty out on remove",
                ("set location", "open product", "add to cart", "read cart", "check line",
                 "change quantity", "remove from cart", "check cart"),
                ("product",), _SHOP, calls=(*_CART, "change_quantity", "remove_from_cart")),
    JourneySpec("test_max_per_order_is_enforced", "3 cart",
                "Cart refuses more than the max per order and keeps the quantity",
                ("set location", "open product", "add to cart", "read cart",
                 "exceed max per order", "check refusal"),
                ("max per order",), _SHOP, calls=(*_CART, "change_quantity")),
    JourneySpec("test_out_of_stock_is_flagged_and_refused", "3 cart",
                "Out-of-stock product is flagged and cannot be added",
                ("set location", "open product", "check product", "add to cart",
                 "check refusal"),
                ("out of stock",), (*_SHOP, "stock levels"), calls=_CART),
    JourneySpec("test_small_cart_totals_add_up", "4 fees and coupons",
                "Small cart shows its fees by role and item_total − discount + Σfees = payable",
                ("set location", "add to cart", "read cart", "check fees", "check totals"),
                ("product",), (*_SHOP, "fees"), calls=_CART),
    JourneySpec("test_declared_coupon_gives_its_discount", "4 fees and coupons",
                "Each declared coupon takes off what its rule computes from the cart lines",
                ("set location", "open product", "add to cart", "read cart",
                 "check delivery fee", "apply coupon", "check discount", "check totals"),
                ("valid coupon",), (*_SHOP, "product", "fees"),
                calls=(*_CART, "change_quantity", "apply_coupon")),
    JourneySpec("test_coupon_below_minimum_order_is_refused", "4 fees and coupons",
                "A coupon is refused, as below its minimum, while the cart is under it",
                ("set location", "add to cart", "read cart", "apply coupon", "check refusal",
                 "check totals"),
                ("coupon minimum", "product"), _SHOP, calls=(*_CART, "apply_coupon")),
    JourneySpec("test_expired_coupon_is_refused", "4 fees and coupons",
                "An expired coupon is refused, as expired",
                ("set location", "open product", "add to cart", "read cart", "apply coupon",
                 "check refusal"),
                ("expired coupon", "product"), _SHOP,
                calls=(*_CART, "change_quantity", "apply_coupon")),
    JourneySpec("test_unknown_coupon_is_refused", "4 fees and coupons",
                "A code the shop never issued is refused, as unknown",
                ("set location", "add to cart", "read cart", "apply coupon", "check refusal"),
                ("coupons", "product"), _SHOP, calls=(*_CART, "apply_coupon")),
    JourneySpec("test_checkout_places_order", "5 checkout and tracking",
                "Checkout with the first declared payment places an order the shopper can see",
                ("sign up", "log in", "check signed in", "set location", "add to cart", "read cart",
                 "check totals", "checkout", "payment", "order confirmation", "order history",
                 "check history"),
                ("payment", "product", "address", "session"), (*_SHOP, "slots"),
                calls=(*_CART, *_ORDER, "order_history")),
    JourneySpec("test_order_moves_through_states", "5 checkout and tracking",
                "A placed order moves forward through the canonical states",
                ("sign up", "log in", "check signed in", "set location", "add to cart", "read cart",
                 "checkout", "payment", "order confirmation", "advance order (hook)",
                 "tracking", "check progress"),
                ("order progress", "payment", "product", "address", "session"),
                (*_SHOP, "slots"), calls=(*_CART, *_ORDER)),
    JourneySpec("test_upi_checkout_places_order", "5 checkout and tracking",
                "UPI checkout with the sandbox success id places an order",
                ("sign up", "log in", "check signed in", "set location", "add to cart", "read cart",
                 "checkout", "payment", "order confirmation", "order history", "check history"),
                ("upi", "product", "address", "session"), (*_SHOP, "slots"),
                calls=(*_CART, *_ORDER, "order_history")),
    JourneySpec("test_cash_on_delivery_places_order_with_payment_pending",
                "5 checkout and tracking",
                "Cash on delivery places an order with its payment pending (nothing captured)",
                ("sign up", "log in", "check signed in", "set location", "add to cart",
                 "read cart", "checkout", "payment", "order confirmation", "order history",
                 "check history"),
                ("cod", "product", "address", "session"), (*_SHOP, "slots"),
                calls=(*_CART, *_ORDER, "order_history")),
    JourneySpec("test_declined_card_then_retry_succeeds", "6 payment declined",
                "Declined card places no order and keeps the stock; a retry succeeds",
                ("sign up", "log in", "check signed in", "set location", "read stock",
                 "add to cart", "read cart", "checkout", "declined payment", "check decline",
                 "order history", "check stock", "check cart", "payment", "order confirmation"),
                ("card decline", "product", "address", "session"),
                (*_SHOP, "slots", "stock levels"), calls=(*_CART, *_ORDER, "order_history")),
    JourneySpec("test_upi_failure_places_no_order", "6 payment declined",
                "Failed UPI payment is reported as declined and places no order",
                ("sign up", "log in", "check signed in", "set location", "add to cart", "read cart",
                 "checkout", "declined payment", "check decline", "order history"),
                ("upi failure", "product", "address", "session"), _SHOP,
                calls=(*_CART, "checkout", "pay", "order_history")),
    JourneySpec("test_sign_up_log_out_and_log_in", "7 account and cancel",
                "New shopper signs up, logs out and logs back in, and is shown as themself",
                ("sign up", "check signed in", "log out", "check signed out", "log in",
                 "check signed in"),
                ("sign up",), calls=("sign_up", "log_out", "log_in", "signed_in_as")),
    JourneySpec("test_wrong_password_is_refused", "7 account and cancel",
                "A wrong password is refused as wrong, and the right one still works",
                ("sign up", "log in", "check signed in", "log out",
                 "log in with a wrong password", "check refusal"),
                ("session", "password login"),
                calls=("sign_up", "log_out", "log_in", "signed_in_as")),
    JourneySpec("test_cancel_before_dispatch_refunds_and_restocks", "7 account and cancel",
                "Cancel before dispatch cancels (and refunds) the order and releases its stock",
                ("sign up", "log in", "check signed in", "set location", "read stock",
                 "add to cart", "read cart", "checkout", "payment", "order confirmation",
                 "order history", "check history", "cancel order", "check cancellation",
                 "check stock"),
                ("customer cancel", "payment", "product", "address", "session"),
                (*_SHOP, "slots", "stock levels"),
                calls=(*_CART, *_ORDER, "order_history", "cancel_order")),
)
BY_TEST: dict[str, JourneySpec] = {j.test: j for j in JOURNEYS}


def applicability(spec: JourneySpec, settings: E2ESettings) -> tuple[str, list[Declared]]:
    """("runs" | "n/a" | "unset", the declarations behind it) for one journey here."""
    answers = [NEEDS[name](settings) for name in spec.needs]
    absent = [a for a in answers if a.state == "absent"]
    if absent:
        return "n/a", absent
    unset = [a for a in answers if a.state == "unset"]
    unset += [a for a in (NEEDS[name](settings) for name in spec.uses) if a.state == "unset"]
    if unset:
        return "unset", unset
    return "runs", []


def not_applicable_reason(test: str, settings: E2ESettings) -> str:
    """Why `test` does not apply here ("" when it does): the declaring keys."""
    spec = BY_TEST.get(test)
    if spec is None:
        return ""
    verdict, declared = applicability(spec, settings)
    if verdict != "n/a":
        return ""
    return "; ".join(d.why for d in declared)


@dataclass(frozen=True)
class CoverageRow:
    """One journey's line in the coverage map."""

    spec: JourneySpec
    status: Literal["runs", "n/a", "unsupported", "undeclared"]
    reason: str = ""


def coverage(settings: E2ESettings, adapter: type | None) -> list[CoverageRow]:
    """The coverage map: every journey, and whether it runs here (and if not, why)."""
    from harness.e2e.adapter import implemented_steps

    implemented = implemented_steps(adapter) if adapter is not None else None
    rows = []
    for spec in JOURNEYS:
        verdict, declared = applicability(spec, settings)
        if verdict == "n/a":
            rows.append(CoverageRow(spec, "n/a", "; ".join(d.why for d in declared)))
        elif verdict == "unset":
            rows.append(CoverageRow(spec, "undeclared", "; ".join(
                f"{d.key} not declared ({d.why})" for d in declared)))
        else:
            missing = [c for c in _calls(spec, settings) if implemented is not None
                       and c not in implemented]
            rows.append(CoverageRow(spec, "unsupported", "adapter lacks " + ", ".join(missing))
                        if missing else CoverageRow(spec, "runs"))
    return rows


def _calls(spec: JourneySpec, settings: E2ESettings) -> tuple[str, ...]:
    """Adapter steps a journey calls here (the session step depends on how shoppers log in)."""
    calls = list(spec.calls)
    if "session" in spec.needs:
        calls += {"password": ["sign_up", "signed_in_as"], "otp": ["log_in"],
                  "storage_state": ["signed_in_as"]}.get(settings.login.method or "", [])
    if settings.location.pincode and ("location" in spec.uses or "location" in spec.needs):
        calls.append("set_location")
    return tuple(dict.fromkeys(calls))


def load_checked_adapter(env: Any) -> type:
    """The environment's adapter class, checked against the protocol; ConfigError otherwise."""
    from harness.config import project_root
    from harness.e2e.adapter import STEPS, Storefront, load_adapter

    settings: E2ESettings = env.suite_settings("e2e")
    spec = settings.adapter
    if not spec:
        raise ConfigError(env.file, "e2e.adapter", "not declared; name the storefront adapter",
                          hint='e.g. adapter = "adapters.acme:AcmeStorefront" '
                               '(README: "Writing an adapter")')
    try:
        adapter = load_adapter(spec, str(project_root()))
    except ValueError as exc:
        raise ConfigError(env.file, "e2e.adapter", str(exc).removeprefix(
            f"e2e.adapter {spec!r}: ")) from None
    except Exception as exc:  # importing someone's module can raise anything
        raise ConfigError(env.file, "e2e.adapter", f"importing {spec!r} failed: "
                          f"{type(exc).__name__}: {exc}") from None
    if not isinstance(adapter, type):
        raise ConfigError(env.file, "e2e.adapter", f"{spec!r} is not a class")
    import inspect

    missing = [name for name in STEPS if not callable(getattr(adapter, name, None))]
    if missing:
        raise ConfigError(env.file, "e2e.adapter",
                          f"{spec} lacks {', '.join(missing)}",
                          hint="subclass harness.e2e.adapter.BaseStorefront, which raises "
                               "Unsupported for every step you leave out")
    for name in STEPS:
        params = inspect.signature(getattr(adapter, name)).parameters
        ours, theirs = list(params), list(inspect.signature(getattr(Storefront, name)).parameters)
        # Extra parameters are fine when they have defaults: the journeys never pass them.
        extra_required = [p for p in ours[len(theirs):]
                          if params[p].default is inspect.Parameter.empty
                          and params[p].kind not in (inspect.Parameter.VAR_POSITIONAL,
                                                     inspect.Parameter.VAR_KEYWORD)]
        if ours[:len(theirs)] != theirs or extra_required:
            raise ConfigError(env.file, "e2e.adapter",
                              f"{spec}.{name} takes ({', '.join(ours)}), the protocol "
                              f"({', '.join(theirs)})")
    return adapter


def check_environment(env: Any, tests: Iterable[str] | None = None) -> list[CoverageRow]:
    """Refuse what the journeys cannot run with; return the coverage map otherwise.

    A bad adapter (path, class, missing or mis-declared step) and any fact a journey needs
    that nobody declared are config errors naming the key. `tests` limits the facts checked
    to those journeys (a `-k` subset); the adapter is always checked.
    """
    settings: E2ESettings = env.suite_settings("e2e")
    adapter = load_checked_adapter(env)
    currency = NEEDS["currency"](settings)  # every amount a journey reads depends on it
    if currency.state != "present":
        raise ConfigError(env.file, currency.key, f"not declared: {currency.why}")
    _check_accounts(env, settings)
    rows = coverage(settings, adapter)
    wanted = set(tests) if tests is not None else None
    undeclared = [r for r in rows if r.status == "undeclared"
                  and (wanted is None or r.spec.test in wanted)]
    if undeclared:
        raise _undeclared_facts(env, settings, undeclared)
    return rows


def _undeclared_facts(env: Any, settings: E2ESettings,
                      undeclared: list[CoverageRow]) -> ConfigError:
    """The facts the selected journeys need and nobody declared, as one config error: a
    short first line (how many, how many journeys), then the facts by table, then what to do;
    no line longer than `_WIDTH`."""
    facts: dict[str, str] = {}
    for row in undeclared:
        for declared in applicability(row.spec, settings)[1]:
            facts.setdefault(declared.key, declared.why)
    journeys = f"{len(undeclared)} journey{'s' if len(undeclared) != 1 else ''}"
    absent = '"" / false / [] says the shop has no such thing (its journeys become not applicable)'
    if len(facts) == 1:
        ((key, why),) = facts.items()
        lines = [f"not declared; {journeys} need{'s' if len(undeclared) == 1 else ''} it",
                 *_wrapped(f"{key}: {why}", "  "),
                 *_wrapped(f"declare it in {env.file}; {absent}; `qgate doctor --env "
                           f"{env.name}` shows which journeys need it")]
        return ConfigError(env.file, key, "\n".join(lines))
    tables: dict[str, list[str]] = {}
    for key in sorted(facts, key=lambda k: k.rpartition(".")):
        table, _, name = key.rpartition(".")
        tables.setdefault(table, []).append(name)
    label = max(len(table) for table in tables) + 5
    lines = [f"{len(facts)} facts are not declared ({journeys} need them)"]
    for table, names in tables.items():
        lines += _wrapped(", ".join(names), f"  [{table}]".ljust(label), " " * label)
    lines += _wrapped(f"declare them in {env.file}, under these tables; {absent}; "
                      f"`qgate doctor --env {env.name}` shows what each one is and which "
                      "journeys need it")
    parts = [table.split(".") for table in tables]
    common = next((n for n in range(min(map(len, parts)), 0, -1)
                   if all(p[:n] == parts[0][:n] for p in parts)), 1)
    return ConfigError(env.file, ".".join(parts[0][:common]), "\n".join(lines))


_WIDTH = 100


def _wrapped(text: str, first: str = "", rest: str | None = None) -> list[str]:
    from harness.terminal import wrap

    return wrap(text, first, first if rest is None else rest, _WIDTH)


def _check_accounts(env: Any, settings: E2ESettings) -> None:
    """A pool account must carry what the shop's login asks for; a buy-x-get-y coupon its
    offer (a config error naming the key, before any browser starts)."""
    need = {"password": "password", "otp": "phone"}.get(settings.login.method or "")
    for index, account in enumerate(settings.accounts.pool):
        if not account.email or (need and not getattr(account, need)):
            missing = "email" if not account.email else need
            raise ConfigError(env.file, f"e2e.accounts.pool[{index}].{missing}", "is empty",
                              hint="give each test account its secret, e.g. password = "
                                   '"${SHOPPER_1_PASSWORD}" (a missing variable is an error)')
    for coupon in settings.coupons or ():
        if coupon.kind == "buy_x_get_y" and (coupon.buy < 1 or coupon.get < 1
                                             or not (coupon.sku or settings.catalog.sku)):
            raise ConfigError(env.file, "e2e.coupons", f"{coupon.code}: a buy_x_get_y coupon "
                              "needs buy >= 1, get >= 1 and the sku the offer is on")
        if coupon.kind == "free_item" and not coupon.free_sku:
            raise ConfigError(env.file, "e2e.coupons", f"{coupon.code}: a free_item coupon "
                              "needs free_sku, the product given free")


def print_coverage(env_name: str) -> int:
    """`qgate doctor --env NAME`: the coverage map; exit 2 when it cannot run as declared."""
    from harness.config import load_environment
    from harness.errors import ExitCode, HarnessError
    from harness.terminal import print_wrapped

    env = load_environment(env_name)
    settings: E2ESettings = env.suite_settings("e2e")
    print()
    print_wrapped(f"e2e coverage for {env.name} ({env.file}), adapter "
                  f"{settings.adapter or '(none)'}", rest="  ")
    try:
        adapter: type | None = load_checked_adapter(env)
    except HarnessError as exc:
        print_wrapped(exc.one_line(), "  ERROR ")
        adapter = None
    for line in shop_facts(settings):
        print_wrapped(line, "  ", "    ")
    rows = coverage(settings, adapter)
    labels = {"runs": "runs", "n/a": "n/a", "unsupported": "SKIP", "undeclared": "ERROR"}
    width = max(len(r.spec.test) for r in rows)
    for row in rows:
        reason = row.reason
        if row.status == "runs" and row.spec.test == "test_declared_coupon_gives_its_discount":
            reason = "once per coupon: " + ", ".join(
                c.code for c in settings.coupons or () if not c.expired)
        print_wrapped(reason, f"  {labels[row.status]:<5} {row.spec.test:<{width}}  ")
    counts = {s: sum(1 for r in rows if r.status == s) for s in labels}
    print()
    print_wrapped(f"{counts['runs']} journeys run, {counts['n/a']} not applicable (declared), "
                  f"{counts['unsupported']} unsupported by the adapter (skipped: missing "
                  f"evidence), {counts['undeclared']} need undeclared facts", rest="  ")
    bad = adapter is None or counts["undeclared"] > 0 or settings.currency is None
    return int(ExitCode.USAGE if bad else ExitCode.GO)


def shop_facts(settings: E2ESettings) -> list[str]:
    """How the journeys will treat this shop: shoppers, fees, payment (for `qgate doctor`)."""
    login, accounts = settings.login, settings.accounts
    if login.method == "storage_state":
        shoppers = f"the stored login of {login.email or '(e2e.login.email)'}"
    elif accounts.pool:
        shoppers = (f"a pool of {len(accounts.pool)} test accounts, one per worker, logged in "
                    "once per worker and reused; only the sign-up journey signs up")
    elif accounts.signup == "once-per-worker":
        shoppers = ("one sign-up per worker, its login reused; only the sign-up journey signs "
                    "up more")
    else:
        shoppers = "a new sign-up per journey ([e2e.accounts] reuses test accounts)"
    cart_fees = ", ".join(settings.checkout.fees or ()) or "none"
    late = ", ".join(settings.checkout.fees_at_checkout) or "none"
    methods = settings.payment.methods
    names = {"card": "card", "upi": "UPI", "none": "no payment step",
             "cod": "cash on delivery (placed with payment pending, nothing captured)"}
    paid = ", ".join(names.get(m, m) for m in methods) if methods else "(not declared)"
    deals = [f"{c.code} buy {c.buy} get {c.get} of {c.sku or settings.catalog.sku}"
             if c.kind == "buy_x_get_y" else f"{c.code} gives {max(c.get, 1)} {c.free_sku} free"
             for c in settings.coupons or ()
             if c.kind in ("buy_x_get_y", "free_item") and not c.expired]
    lines = [f"shoppers: {shoppers}",
             f"fees: the cart shows {cart_fees}; added at checkout: {late} (the order must "
             "charge what checkout showed)" if settings.checkout.fees_at_checkout
             else f"fees: the cart shows {cart_fees}; none added at checkout",
             f"payment: {paid}"]
    if deals:
        lines.append("free-item coupons: " + "; ".join(deals))
    lines.append("rate limits: a 429 (or 503 + Retry-After) during a journey makes it an "
                 "error naming the request, never a failure")
    return lines


#: The key the README names for a need whose answer combines several keys.
_SHOWN_KEY = {"card decline": "e2e.payment.card_declined", "upi failure": "e2e.payment.upi_failure",
              "session": "e2e.login", "payment": "e2e.payment.methods"}


def journey_table() -> str:
    """The README's journey → steps table (Markdown), from the catalogue."""
    lines = ["| journey | test | steps | needs (not applicable where declared absent) |",
             "|---|---|---|---|"]
    for spec in JOURNEYS:
        needs = ", ".join(f"`{_SHOWN_KEY.get(n) or NEEDS[n](_EMPTY).key}`"
                          for n in spec.needs) or "—"
        lines.append(f"| {spec.group}: {spec.title} | `{spec.test}` | "
                     f"{' → '.join(spec.steps)} | {needs} |")
    return "\n".join(lines)


_EMPTY = E2ESettings()
