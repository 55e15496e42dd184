"""Money helpers: integer paise inside, rupees at the edges."""

from __future__ import annotations


def rupees(paise: int) -> float:
    """Paise as a JSON-friendly rupee amount with at most 2 decimals."""
    return round(paise / 100, 2)


def format_inr(paise: int) -> str:
    """Paise as display text with Indian digit grouping, e.g. `₹1,23,456.50`."""
    sign = "-" if paise < 0 else ""
    whole, frac = divmod(abs(paise), 100)
    digits = str(whole)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join(groups) + "," + tail
    return f"{sign}₹{digits}.{frac:02d}"
