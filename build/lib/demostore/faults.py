"""Fault switches: each one injects a single real defect into the demo store."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """A switchable defect and the gate suite expected to catch it."""

    name: str
    defect: str
    caught_by: str

    @property
    def suites(self) -> tuple[str, ...]:
        """The gate suites named in `caught_by` (its leading words, before any detail)."""
        head = self.caught_by.split("(")[0]
        return tuple(word.strip().split()[0] for word in head.split(",") if word.strip())


_TABLE: tuple[Fault, ...] = (
    Fault("slow-checkout", "placing an order takes ~1.5-3 s", "load (checkout p95)"),
    Fault("payment-errors", "~20% of payment calls return 5xx", "load, e2e"),
    Fault(
        "oversell",
        "stock check and decrement are not atomic; concurrent buyers of a hot SKU oversell",
        "load (post-run invariant: no negative stock, no more sold than stocked)",
    ),
    Fault(
        "broken-add-to-cart",
        "the add-to-cart button's JS fails in the browser; the API still works",
        "e2e",
    ),
    Fault(
        "wrong-total",
        "the displayed payable amount leaves out the delivery fee under some carts",
        "e2e (totals must add up)",
    ),
    Fault("xss-search", "the search page reflects the query unescaped", "security scan"),
    Fault(
        "no-security-headers",
        "security headers and cookie flags are dropped",
        "security scan",
    ),
    Fault(
        "idor-orders",
        "/api/orders/{id} returns other customers' orders, with their phone and address",
        "security (authorisation tests)",
    ),
    Fault("health-down", "/readyz answers 503", "smoke"),
    Fault(
        "version-mismatch",
        "/version reports a version other than the one deployed",
        "smoke",
    ),
    Fault(
        "pii-in-logs",
        "the store writes customers' phone numbers and emails into its access log",
        "data (artifact PII scan)",
    ),
)

FAULTS: dict[str, Fault] = {fault.name: fault for fault in _TABLE}


class UnknownFaultError(ValueError):
    """Raised for a fault name that is not in FAULTS."""


def validate_faults(names: Iterable[str]) -> frozenset[str]:
    """Return the names as a set, or raise UnknownFaultError naming the first unknown one."""
    chosen = frozenset(names)
    for name in sorted(chosen):
        if name not in FAULTS:
            raise UnknownFaultError(
                f"unknown fault {name!r}; known faults: {', '.join(FAULTS)}"
            )
    return chosen


def caught_by_today(fault: Fault, built: Collection[str] | None) -> str:
    """Which suite catches `fault` today, given the suites that exist (`None`: don't know)."""
    if built is None:
        return fault.caught_by
    missing = [s for s in fault.suites if s not in built]
    if not missing:
        return fault.caught_by
    today = [s for s in fault.suites if s in built]
    if today:
        return f"{', '.join(today)} (not caught yet by {', '.join(missing)}: not built)"
    return f"not caught yet ({', '.join(missing)} suite not built)"


def format_fault_table(built: Collection[str] | None = None) -> str:
    """Render FAULTS as a plain-text table for `qgate store faults`.

    `built` names the gate suites that exist; a fault whose suite is not among them is
    marked "not caught yet" rather than promised.
    """
    rows = [("FAULT", "DEFECT", "CAUGHT BY")]
    rows += [(f.name, f.defect, caught_by_today(f, built)) for f in FAULTS.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() for r in rows]
    return "\n".join(lines)
