"""Adapter for the "Prairie Pantry" test shop (tests/e2e/codshop/shop.py), from the README's
guide: page objects by class names, the shop's words mapped to qgate's outcomes here only.

Nothing here works around the shop: no forwarded header, no retry on its limiter. Shipping is
chosen at checkout, so `checkout()` reports the shipping fee the summary shows by role
("delivery"); cash on delivery is the only way to pay.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from harness.e2e import adapter as qa

STATES: Any = {"Pending": "placed", "Shipped": "out_for_delivery", "Delivered": "delivered",
               "Cancelled": "cancelled"}
COUPON_REFUSALS = (("not a code we know", "unknown"), ("no longer valid", "expired"),
                   ("needs a basket of at least", "below_minimum"), ("needs ", "below_minimum"))
PAYMENT_STATES = (("to be paid to the courier", "pending"), ("nothing to pay", "none"),
                  ("paid", "captured"))


class PantryStorefront(qa.BaseStorefront):
    """Prairie Pantry's server-rendered pages."""

    name = "prairie-pantry"

    def _flash(self) -> str:
        flash = self.page.locator(".flash")
        return self.text(".flash") if flash.count() else ""

    def search(self, term: str) -> list[qa.ProductSummary]:
        self.goto(f"/search?q={quote(term)}")
        return [qa.ProductSummary(str(item.get_attribute("data-sku")), self.text("a", item),
                                  self.money(self.text(".price", item)),
                                  item.locator("em").count() == 0)
                for item in self.page.locator("li.product").all()]

    def open_product(self, sku: str) -> qa.ProductDetail:
        self.goto(f"/product/{sku}")
        return qa.ProductDetail(sku, self.text("h1"), self.money(self.text("main .price")),
                                self.text(".availability") == "In stock")

    def add_to_cart(self, sku: str) -> qa.CartChange:
        self.open_product(sku)
        self.submit("button.add")
        message = self._flash()
        accepted = "added to your basket" in message
        return qa.CartChange(accepted, message,
                             "" if accepted else self.reason(message, [("sold out",
                                                                        "out_of_stock")]))

    def cart(self) -> qa.Cart:
        if "/basket" not in self.page.url:
            self.goto("/basket")
        lines = tuple(qa.CartLine(str(row.get_attribute("data-sku")), self.text(".name", row),
                                  int(self.text(".qty", row)), self.money(self.text(".total", row)))
                      for row in self.page.locator("tr.line").all())
        return qa.Cart(lines, self.money(self.text(".totals .items")),
                       -self.money(self.text(".totals .discount")), {},
                       self.money(self.text(".totals .grand")), self._flash())

    def _line_action(self, sku: str, action: str) -> None:
        self.goto("/basket")
        self.submit(f"tr.line[data-sku='{sku}'] button.{action}")

    def change_quantity(self, sku: str, delta: int) -> qa.CartChange:
        before = self.cart().line(sku)
        self._line_action(sku, "more" if delta > 0 else "less")
        after = self.cart().line(sku)
        expected = (before.quantity if before else 0) + delta
        return qa.CartChange((after.quantity if after else 0) == expected, self._flash())

    def remove_from_cart(self, sku: str) -> qa.Cart:
        self._line_action(sku, "remove")
        return self.cart()

    def apply_coupon(self, code: str) -> qa.CouponResult:
        self.goto("/basket")
        self.page.fill("input[name=code]", code)
        self.submit("button.apply")
        message = self._flash()
        applied = message == f"{code} applied."
        return qa.CouponResult(applied, message,
                               "" if applied else self.reason(message, COUPON_REFUSALS))

    def checkout(self) -> qa.CheckoutSummary:
        self.goto("/checkout")
        if "/login" in self.page.url:
            raise qa.StorefrontError("checkout asked to sign in: the shopper is not logged in")
        shipping = self.money(self.text(".summary .shipping-fee"))
        return qa.CheckoutSummary(self.money(self.text(".summary .grand")),
                                  fees={"delivery": shipping})

    def pay(self, payment: qa.Payment, *, address: str, slot: str | None = None
            ) -> qa.PaymentOutcome:
        if not isinstance(payment, qa.CashOnDelivery):
            raise qa.Unsupported("Prairie Pantry takes cash on delivery only")
        if "/checkout" not in self.page.url:
            self.checkout()
        self.page.fill("input.address", address)
        self.submit("button.place-order")
        if "/orders/" not in self.page.url:
            return qa.PaymentOutcome(None, self._flash(), "other")
        return qa.PaymentOutcome(self.text(".order-id"))

    def order(self, order_id: str) -> qa.OrderView:
        self.goto(f"/orders/{order_id}")
        status = self.text("main .status")
        payment = self.reason(self.text(".payment"), PAYMENT_STATES, "")
        total = self.money(self.text(".summary .grand"))
        cancellable = self.page.locator("button.cancel").count() > 0
        return qa.OrderView(self.text(".order-id"), status, total,
                            qa.canonical_state(status, STATES), payment=payment,
                            cancellable=cancellable)

    def order_history(self) -> list[qa.OrderRow]:
        self.goto("/orders")
        return [qa.OrderRow(self.text("a", row), self.text(".status", row),
                            qa.canonical_state(self.text(".status", row), STATES))
                for row in self.page.locator("li.order").all()]

    def cancel_order(self, order_id: str) -> qa.OrderView:
        self.goto(f"/orders/{order_id}")
        self.submit("button.cancel")
        return self.order(order_id)

    def sign_up(self, shopper: qa.Shopper) -> None:
        self.goto("/login")
        form = self.page.locator("form.signup")
        form.locator("input[name=name]").fill(shopper.name)
        form.locator("input[name=email]").fill(shopper.email)
        form.locator("input[name=password]").fill(shopper.password)
        # whatever the shop answered, the journey checks who is logged in next (a limiter's
        # 429 is seen by qgate in the browser's responses, not read here)
        self.submit("button.create")

    def log_in(self, shopper: qa.Shopper) -> qa.LoginResult:
        self.goto("/login")
        form = self.page.locator("form.login")
        form.locator("input[name=email]").fill(shopper.email)
        form.locator("input[name=password]").fill(shopper.password)
        self.submit("button.sign-in")
        if self.page.locator("h1", has_text="Too many requests").count():
            return qa.LoginResult(False, self.text("main"), "rate_limited")
        message = self._flash()
        if "/login" in self.page.url:
            return qa.LoginResult(False, message, self.reason(
                message, [("email or password is incorrect", "wrong_credentials")]))
        return qa.LoginResult(True)

    def log_out(self) -> None:
        self.goto("/logout")

    def signed_in_as(self) -> str:
        self.goto("/account")
        return self.text(".account-email") if "/account" in self.page.url else ""


