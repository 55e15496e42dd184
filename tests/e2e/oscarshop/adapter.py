"""Adapter for a django-oscar 4 shop on its default templates; product ids are their URL paths."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from harness.e2e import adapter as qa

STATES: Any = {"Pending": "placed", "Being processed": "in_progress",
               "Dispatched": "out_for_delivery", "Complete": "delivered", "Cancelled": "cancelled"}
REFUSALS = (("no voucher found", "unknown"), ("has expired", "expired"),
            ("does not qualify", "below_minimum"))
WRONG = (("correct username and password", "wrong_credentials"),)


class OscarStorefront(qa.BaseStorefront):
    """Oscar's storefront pages, read through their ids and classes (basket edits are AJAX)."""

    def _listing(self, path: str, follow: str = "") -> list[qa.ProductSummary]:
        self.goto(path)
        self.submit(follow) if follow else None
        return [qa.ProductSummary(str(pod.locator("h3 a").get_attribute("href")),
                                  str(pod.locator("h3 a").get_attribute("title")),
                                  self.money(self.text(".price_color", pod)),
                                  pod.locator(".instock").count() > 0)
                for pod in self.page.locator("article.product_pod").all()]

    def search(self, term: str) -> list[qa.ProductSummary]:
        return self._listing(f"/search/?q={quote(term)}")

    def browse_category(self) -> list[qa.ProductSummary]:
        return self._listing("/catalogue/", follow=".side_categories a")

    def open_product(self, sku: str) -> qa.ProductDetail:
        self.goto(sku)
        shown = self.text(".product_main .availability")  # "In stock (500 available)"
        return qa.ProductDetail(sku, self.text(".product_main h1"),
                                self.money(self.text(".product_main .price_color")),
                                shown.startswith("In stock"),
                                available=int(re.sub(r"\D", "", shown) or 0))

    def add_to_cart(self, sku: str) -> qa.CartChange:
        self.open_product(sku)
        if self.page.locator("#add_to_basket_form").count() == 0:  # Oscar shows no button
            return qa.CartChange(False, self.text(".product_main .availability"), "out_of_stock")
        self.submit("#add_to_basket_form button")
        message = self.text("#messages")
        return qa.CartChange("added to your basket" in message, message)

    def cart(self) -> qa.Cart:
        self.goto("/basket/")
        lines = tuple(qa.CartLine(str(row.locator("h3 a").get_attribute("href")),
                                  self.text("h3 a", row),
                                  int(row.locator("input[name$=quantity]").input_value()),
                                  self.money(self.text(".price_color >> nth=-1", row)))
                      for row in self.page.locator("#basket_formset .basket-items").all())
        cells = [[" ".join(c.split()) for c in tr.locator("th, td").all_inner_texts()]
                 for tr in self.page.locator("#basket_totals tr").all()]
        rows = [(c[0], self.money(c[-1])) for c in cells if re.search(r"\d", c[-1])] or [
            ("an empty basket shows no totals", Decimal(0))] * 3
        # Oscar lists: basket total, voucher discounts (negative), shipping, order total.
        discount = -sum((amount for _, amount in rows if amount < 0), Decimal(0))
        return qa.Cart(lines, rows[0][1], discount, {"delivery": rows[-2][1]}, rows[-1][1])

    def _edit_line(self, sku: str, delta: int | None) -> tuple[int, str]:
        """Change a basket line by `delta` (None: remove it): its quantity before, the answer."""
        self.goto("/basket/")
        row = self.page.locator(".basket-items").filter(has=self.page.locator(f"a[href='{sku}']"))
        quantity = int(row.locator("input[name$=quantity]").input_value())
        if delta is not None:
            row.locator("input[name$=quantity]").fill(str(quantity + delta))
        with self.page.expect_response(lambda r: r.request.method == "POST") as answer:
            row.locator("a[data-behaviours~=remove]" if delta is None else "button").click()
        return quantity, " ".join(sum(answer.value.json().get("messages", {}).values(), []))

    def change_quantity(self, sku: str, delta: int) -> qa.CartChange:
        before, message = self._edit_line(sku, delta)
        line = self.cart().line(sku)
        return qa.CartChange((line.quantity if line else 0) == before + delta, message)

    def remove_from_cart(self, sku: str) -> qa.Cart:
        self._edit_line(sku, None)
        return self.cart()

    def apply_coupon(self, code: str) -> qa.CouponResult:
        self.goto("/basket/")
        self.page.wait_for_load_state("load")  # Oscar's script opens the voucher form
        self.page.locator("#voucher_form_link a").click()
        self.page.fill("#id_code", code)
        self.submit("#voucher_form button[type=submit]")
        message = self.text("#messages")
        applied = f"'{code}' added" in message
        return qa.CouponResult(applied, message, "" if applied else self.reason(message, REFUSALS))

    def checkout(self, address: str = "") -> qa.CheckoutSummary:
        self.goto("/checkout/")
        if "/shipping-address/" in self.page.url:
            line1 = address or str(self.settings.checkout.address)
            for field, value in {**self.settings.adapter_options, "line1": line1}.items():
                self.page.fill(f"#new_shipping_address [name={field}]", value)
            self.submit("#new_shipping_address button[type=submit]")
        self.submit("#view_preview")  # Oscar's payment-details placeholder: nothing to pay
        return qa.CheckoutSummary(self.money(self.text("tr:has-text('Order total') >> td")))

    def pay(self, payment: qa.Payment, *, address: str, slot: Any = None) -> qa.PaymentOutcome:
        if not isinstance(payment, qa.NoPayment):
            raise qa.Unsupported("this Oscar shop checks out without a payment step")
        if "/checkout/preview/" not in self.page.url:
            self.checkout(address)
        self.submit("#place-order")
        placed = re.search(r"Order (\S+): confirmation", self.text("h1"))
        return qa.PaymentOutcome(placed.group(1)) if placed else qa.PaymentOutcome(
            None, self.text("#messages"), "other")

    def order(self, order_id: str) -> qa.OrderView:
        self.goto(f"/accounts/orders/{order_id}/")
        status, shown = self.text("h2:has-text('Status') + p"), self.text("h1")
        return qa.OrderView(shown.rsplit(" ", 1)[-1].lstrip("#"), status,
                            self.money(self.text("tr:has-text('Order total') >> td >> nth=-1")),
                            qa.canonical_state(status, STATES))

    def order_history(self) -> list[qa.OrderRow]:
        self.goto("/accounts/orders/")
        numbers = self.page.locator("td a[href*='/orders/']").all_inner_texts()
        return [qa.OrderRow(number.strip()) for number in numbers]

    def sign_up(self, shopper: qa.Shopper) -> None:
        self.goto("/accounts/login/")
        for field in ("email", "password1", "password2"):
            self.page.fill(f"#id_registration-{field}", getattr(shopper, field.rstrip("12")))
        self.submit("button[name=registration_submit]")  # journeys then check who is logged in

    def log_in(self, shopper: qa.Shopper) -> qa.LoginResult:
        self.goto("/accounts/login/")
        self.page.fill("#id_login-username", shopper.email)
        self.page.fill("#id_login-password", shopper.password)
        self.submit("button[name=login_submit]")
        refused = self.page.locator("#login_form .alert-danger").count() > 0
        message = self.text("#login_form .alert-danger >> nth=-1") if refused else ""
        return qa.LoginResult(not refused, message, self.reason(message, WRONG) if refused else "")

    def log_out(self) -> None:
        self.goto("/accounts/logout/")

    def signed_in_as(self) -> str:
        self.goto("/accounts/profile/")
        return "" if "/login/" in self.page.url else self.text("tr:has-text('Email') >> td")
