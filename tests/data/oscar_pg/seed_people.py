"""Customers, addresses, orders and sessions in US, UK and Indian formats, through Oscar's
own models (run with `manage.py shell`; the people come from the file PEOPLE_JSON names)."""

import json
import os
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sites.models import Site
from oscar.apps.address.models import Country, UserAddress
from oscar.apps.order.models import BillingAddress, Order, ShippingAddress

with open(os.environ["PEOPLE_JSON"], encoding="utf-8") as handle:
    people = json.load(handle)
for code, a3, num, name in (("US", "USA", "840", "United States"), ("IN", "IND", "356", "India"),
                            ("GB", "GBR", "826", "United Kingdom")):
    Country.objects.update_or_create(iso_3166_1_a2=code, defaults={
        "iso_3166_1_a3": a3, "iso_3166_1_numeric": num, "printable_name": name, "name": name,
        "is_shipping_country": True})
site = Site.objects.get(id=1)
for n, p in enumerate(people, 1):
    first, last = p["name"].split(" ", 1)
    user = get_user_model().objects.create_user(
        username=p["email"], email=p["email"], password="x" * 12, first_name=first,
        last_name=last)
    address = {"first_name": first, "last_name": last, "line1": p["line1"], "line4": p["city"],
               "postcode": p["postcode"],
               "country": Country.objects.get(iso_3166_1_a2=p["country"])}
    UserAddress.objects.create(user=user, phone_number=p["e164"], **address)
    shipping = ShippingAddress.objects.create(phone_number=p["e164"],
                                              notes=f"Call {p['phone']}", **address)
    billing = BillingAddress.objects.create(**address)
    Order.objects.create(number=f"1000{n}", site=site, user=user, currency="GBP",
                         total_incl_tax=Decimal("12.50"), total_excl_tax=Decimal("10.40"),
                         shipping_incl_tax=Decimal(0), shipping_excl_tax=Decimal(0),
                         shipping_address=shipping, billing_address=billing,
                         status="Pending", guest_email="")
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["basket_note"] = f"deliver to {p['name']}"
    session.create()
