"""Storefront adapter for a django-oscar 4 shop on Oscar's default templates (README guide).

A product's id is its URL slug (`/catalogue/<sku>/`), as Oscar's listings link it. Oscar
checks out without a payment step by default (`NoPayment`); basket edits are in-page AJAX.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from harness.e2e.adapter import (
    BaseStorefront,
    Cart,
    CartChange,
    CartLine,
    CheckoutSummary,
    CouponResult,
    LoginResult,
    NoPayment,
    OrderRow,
    OrderView,
    Payment,
    PaymentOutcome,
    ProductDetail,
    ProductSummary,
    Shopper,
    StorefrontError,
    Unsupported,
    canonical_state,
)

STATES = {"Pending": "placed", "Being processed": "in_progress",
          "Dispatched": "out_for_delivery", "Complete": "delivered", "Cancelled": "cancelled"}
REFUSALS = (("no voucher found", "unknown"), ("has expired", "expired"),
            ("does not qualify", "below_minimum"))


class OscarStorefront(BaseStorefront):
    """Oscar's storefront pages, read through their ids and classes."""

    name = "oscar"

    def _go(self, path: str) -> None:
        self.page.goto(self.base_url + path, wait_until="domcontentloaded")

    def _submit(self, button: Any) -> None:
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            button.click()

    def _text(self, locator: Any) -> str:
        return " ".join(locator.inner_text().split())

    def _slug(self, link: Any) -> str:
        return str(link.get_attribute("href") or "").rstrip("/").rsplit("/", 1)[-1]

    def _listing(self) -> list[ProductSummary]:
        return [ProductSummary(sku=self._slug(pod.locator("h3 a")),
                               name=pod.locator("h3 a").get_attribute("title") or "",
                               price=self.money(self._text(pod.locator(".price_color"))),
                               in_stock=pod.locator(".availability.instock").count() > 0)
                for pod in self.page.locator("article.product_pod").all()]

    def search(self, term: str) -> list[ProductSummary]:
        self._go(f"/search/?q={quote(term)}")
        return self._listing()

    def browse_category(self) -> list[ProductSummary]:
        self._go("/catalogue/")
        self._submit(self.page.locator(".side_categories a").first)
        return self._listing()

    def open_product(self, sku: str) -> ProductDetail:
        self._go(f"/catalogue/{sku}/")
        main = self.page.locator(".product_main")
        units = re.search(r"\((\d+) available\)", self._text(main.locator(".availability")))
        return ProductDetail(sku=sku, title=self._text(main.locator("h1")),
                             price=self.money(self._text(main.locator(".price_color"))),
                             in_stock=main.locator(".availability.instock").count() > 0,
                             available=int(units.group(1)) if units else 0)

    def add_to_cart(self, sku: str) -> CartChange:
        self.open_product(sku)
        button = self.page.locator("#add_to_basket_form button")
        if button.count() == 0:
            shown = self._text(self.page.locator(".product_main .availability"))
            return CartChange(False, f"no add-to-basket button ({shown})", "out_of_stock")
        self._submit(button)
        message = self._text(self.page.locator("#messages"))
        return CartChange("added to your basket" in message, message)

    def cart(self) -> Cart:
        self._go("/basket/")
        lines = tuple(CartLine(sku=self._slug(row.locator("h3 a")),
                               name=self._text(row.locator("h3 a")),
                               quantity=int(row.locator("input[name$=quantity]").input_value()),
                               line_total=self.money(self._text(row.locator(".price_color").last)))
                      for row in self.page.locator("#basket_formset .basket-items").all())
        totals = {"item": Decimal(0), "discount": Decimal(0), "payable": Decimal(0)}
        fees, section = {}, ""
        for row in self.page.locator("#basket_totals tr").all():
            cells = [" ".join(c.split()) for c in row.locator("th, td").all_inner_texts()]
            label, amount = cells[0], cells[-1]
            if not re.search(r"\d", amount):
                section = label or section  # a heading: Basket, Vouchers, Shipping
            elif label.startswith("Basket total") and "after" not in label:
                totals["item"] = self.money(amount)
            elif label == "Order total":
                totals["payable"] = self.money(amount)
            elif section == "Shipping":
                fees["delivery"] = self.money(amount)
            elif amount.startswith("-"):
                totals["discount"] += abs(self.money(amount))
        return Cart(lines, totals["item"], totals["discount"], fees, totals["payable"])

    def _update_basket(self, sku: str, action: Any) -> tuple[int, str]:
        """Edit a basket line (Oscar posts it with AJAX): its quantity before, the answer."""
        self._go("/basket/")
        row = self.page.locator("#basket_formset .basket-items").filter(
            has=self.page.locator(f"a[href='/catalogue/{sku}/']"))
        if row.count() == 0:
            raise StorefrontError(f"{sku} is not in the basket")
        quantity = int(row.locator("input[name$=quantity]").input_value())
        with self.page.expect_response(lambda r: r.request.method == "POST") as answer:
            action(row, quantity)
        data = answer.value.json()
        return quantity, " ".join(m for ms in data.get("messages", {}).values() for m in ms)

    def change_quantity(self, sku: str, delta: int) -> CartChange:
        before, message = self._update_basket(sku, lambda row, quantity: (
            row.locator("input[name$=quantity]").fill(str(quantity + delta)),
            row.locator("button[type=submit]").click()))
        wanted = before + delta
        after = self.cart().line(sku)
        if (after.quantity if after else 0) == wanted:
            return CartChange(True, message)
        return CartChange(False, message, "insufficient_stock" if "available" in message
                          else "other")

    def remove_from_cart(self, sku: str) -> Cart:
        self._update_basket(sku, lambda row, _: row.locator("a[data-behaviours~=remove]").click())
        return self.cart()

    def apply_coupon(self, code: str) -> CouponResult:
        self._go("/basket/")
        self.page.wait_for_load_state("load")  # Oscar's script opens the voucher form
        self.page.locator("#voucher_form_link a").click()
        self.page.locator("#id_code").fill(code)
        self._submit(self.page.locator("#voucher_form button[type=submit]"))
        message = self._text(self.page.locator("#messages"))
        if f"'{code}' added" in message:
            return CouponResult(True, message)
        return CouponResult(False, message, next((r for words, r in REFUSALS
                                                  if words in message.lower()), "other"))

    def checkout(self) -> CheckoutSummary:
        return self._checkout(str(self.settings.checkout.address))

    def _checkout(self, address: str) -> CheckoutSummary:
        self._go("/checkout/")
        if "/accounts/login/" in self.page.url:
            raise StorefrontError("checkout sent the shopper to the login page")
        if "/shipping-address/" in self.page.url:
            options = self.settings.adapter_options
            for field, value in (("first_name", "E2E"), ("last_name", "Shopper"),
                                 ("line1", address),
                                 ("line4", options["city"]), ("postcode", options["postcode"])):
                self.page.fill(f"#new_shipping_address [name={field}]", value)
            self._submit(self.page.locator("#new_shipping_address button[type=submit]"))
        if "/payment-details/" in self.page.url:  # Oscar's placeholder: nothing to pay
            self._submit(self.page.locator("#view_preview"))
        total = self.page.locator("tr", has_text="Order total").last.locator("td")
        return CheckoutSummary(payable=self.money(self._text(total)))

    def pay(self, payment: Payment, *, address: str, slot: str | None = None) -> PaymentOutcome:
        if not isinstance(payment, NoPayment):
            raise Unsupported("this Oscar shop checks out without a payment step")
        if "/checkout/preview/" not in self.page.url:
            self._checkout(address)
        self._submit(self.page.locator("#place-order"))
        placed = re.search(r"Order (\S+): confirmation", self._text(self.page.locator("h1")))
        if placed is None:
            return PaymentOutcome(None, self._text(self.page.locator("#messages")), "other")
        return PaymentOutcome(placed.group(1))

    def order(self, order_id: str) -> OrderView:
        self._go(f"/accounts/orders/{order_id}/")
        status = self._text(self.page.locator("h2:has-text('Status') + p"))
        total = self.page.locator("tr", has_text="Order total").last.locator("td").last
        shown = re.search(r"Order #?(\S+)", self._text(self.page.locator("h1")))
        return OrderView(order_id=shown.group(1) if shown else "", status=status,
                         payable=self.money(self._text(total)),
                         state=canonical_state(status, STATES))

    def order_history(self) -> list[OrderRow]:
        self._go("/accounts/orders/")
        return [OrderRow(self._text(link))
                for link in self.page.locator("table a[href*='/accounts/orders/']").all()]

    def sign_up(self, shopper: Shopper) -> None:
        self._go("/accounts/login/")
        for field, value in (("email", shopper.email), ("password1", shopper.password),
                             ("password2", shopper.password)):
            self.page.fill(f"#id_registration-{field}", value)
        self._submit(self.page.locator("button[name=registration_submit]"))
        refused = self.page.locator("#register_form .alert-danger, #register_form .error-block")
        if refused.count():
            raise StorefrontError(f"sign up refused: {self._text(refused.first)}")

    def log_in(self, shopper: Shopper) -> LoginResult:
        self._go("/accounts/login/")
        self.page.fill("#id_login-username", shopper.email)
        self.page.fill("#id_login-password", shopper.password)
        self._submit(self.page.locator("button[name=login_submit]"))
        refused = self.page.locator("#login_form .alert-danger")
        if refused.count() == 0:
            return LoginResult(True)
        message = self._text(refused.last)
        wrong = "correct username and password" in message
        return LoginResult(False, message, "wrong_credentials" if wrong else "other")

    def log_out(self) -> None:
        self._go("/accounts/logout/")

    def signed_in_as(self) -> str:
        self._go("/accounts/profile/")
        if "/accounts/login/" in self.page.url:
            return ""
        return self._text(self.page.locator("tr", has_text="Email address").locator("td"))
