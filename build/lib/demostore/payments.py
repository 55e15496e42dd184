"""A sandbox payment gateway that behaves like the test modes of Stripe and Razorpay.

| instrument               | outcome                                   |
|--------------------------|-------------------------------------------|
| 4242 4242 4242 4242      | captured                                  |
| 4000 0000 0000 0002      | declined (card_declined)                  |
| any card ending 9995     | declined (insufficient_funds)             |
| any card ending 0069     | declined (expired_card)                   |
| any card ending 0127     | declined (incorrect_cvc)                  |
| 4000 0027 6000 3184      | requires_action: a 3-D Secure challenge to approve or deny |
| other Luhn-valid numbers | captured                                  |
| UPI success@razorpay     | captured                                  |
| UPI failure@razorpay     | declined (upi_declined)                   |
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime

from demostore.errors import StoreError

UPI_RE = re.compile(r"^[A-Za-z0-9._-]{2,64}@[A-Za-z][A-Za-z0-9]{1,31}$")
THREE_DS_CARD = "4000002760003184"
DECLINES_BY_NUMBER = {"4000000000000002": ("card_declined", "Your card was declined.")}
DECLINES_BY_SUFFIX = {
    "9995": ("insufficient_funds", "Your card has insufficient funds."),
    "0069": ("expired_card", "Your card has expired."),
    "0127": ("incorrect_cvc", "Your card's security code is incorrect."),
}


@dataclass(frozen=True)
class PaymentDetails:
    """What the customer entered (validated by validate_payment)."""

    method: str  # card | upi
    card_number: str = ""
    card_expiry: str = ""
    card_cvc: str = ""
    upi_id: str = ""

    @property
    def instrument(self) -> str:
        """A masked label safe to store and show: card last 4 or the UPI handle's bank."""
        if self.method == "card":
            return "card •••• " + self.card_number[-4:]
        return "upi " + self.upi_id.split("@", 1)[-1]


@dataclass(frozen=True)
class ChargeResult:
    """The gateway's answer to one charge."""

    captured: bool
    reference: str
    code: str = ""
    message: str = ""


class GatewayUnavailableError(Exception):
    """The gateway answered with a server error (the payment-errors fault)."""


def luhn_ok(number: str) -> bool:
    """Whether a digit string passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def validate_payment(details: PaymentDetails, now: datetime) -> PaymentDetails:
    """Normalise the details or raise 422 naming the bad field."""
    if details.method == "upi":
        upi = (details.upi_id or "").strip()
        if not UPI_RE.match(upi):
            raise StoreError(422, "invalid_upi_id", "Enter a UPI id like name@bank.")
        return PaymentDetails(method="upi", upi_id=upi)
    if details.method != "card":
        raise StoreError(422, "invalid_payment_method", "Choose card or UPI.")
    number = re.sub(r"[\s-]", "", details.card_number or "")
    if not (number.isdigit() and 12 <= len(number) <= 19 and luhn_ok(number)):
        raise StoreError(422, "invalid_card_number", "That card number is not valid.")
    match = re.match(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$", details.card_expiry or "")
    if not match or not 1 <= int(match.group(1)) <= 12:
        raise StoreError(422, "invalid_expiry", "Enter the expiry date as MM/YY.")
    month, year = int(match.group(1)), int(match.group(2)[-2:]) + 2000
    if (year, month) < (now.year, now.month):
        raise StoreError(422, "invalid_expiry", "That card's expiry date is in the past.")
    cvc = (details.card_cvc or "").strip()
    if not (cvc.isdigit() and len(cvc) in (3, 4)):
        raise StoreError(422, "invalid_cvc", "Enter the 3 or 4 digit security code.")
    return PaymentDetails(method="card", card_number=number,
                          card_expiry=f"{month:02d}/{year % 100:02d}", card_cvc=cvc)


class SandboxGateway:
    """Deterministic sandbox; with fail_every=5 the 1st, 6th, 11th... call answers 5xx."""

    def __init__(self, fail_every: int = 0) -> None:
        self._fail_every = fail_every
        self._calls = 0
        self._lock = threading.Lock()

    def charge(self, details: PaymentDetails, amount_paise: int) -> ChargeResult:
        """Try to capture the amount."""
        with self._lock:
            self._calls += 1
            call = self._calls
        if self._fail_every and call % self._fail_every == 1:
            raise GatewayUnavailableError("payment gateway returned 503")
        reference = "pay_" + secrets.token_hex(8)
        if details.method == "upi":
            if details.upi_id.lower() == "failure@razorpay":
                return ChargeResult(False, reference, "upi_declined",
                                    "The UPI payment was declined by your bank.")
            return ChargeResult(True, reference)
        number = details.card_number
        if number == THREE_DS_CARD:
            return ChargeResult(False, reference, "requires_action",
                                "Your bank asks you to confirm this payment (3-D Secure).")
        if number in DECLINES_BY_NUMBER:
            code, message = DECLINES_BY_NUMBER[number]
            return ChargeResult(False, reference, code, message)
        if number[-4:] in DECLINES_BY_SUFFIX:
            code, message = DECLINES_BY_SUFFIX[number[-4:]]
            return ChargeResult(False, reference, code, message)
        return ChargeResult(True, reference)
