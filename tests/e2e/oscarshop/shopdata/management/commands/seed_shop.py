"""Seed the fixture shop: a small grocery catalogue, stock, categories and vouchers."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand
from django.utils import timezone
from oscar.apps.address.models import Country
from oscar.apps.catalogue.categories import create_from_breadcrumbs
from oscar.apps.catalogue.models import Product, ProductCategory, ProductClass
from oscar.apps.offer.models import Benefit, Condition, ConditionalOffer, Range
from oscar.apps.partner.models import Partner, StockRecord
from oscar.apps.voucher.models import Voucher

# (sku, title, category, price, in stock)
PRODUCTS = [
    ("MILK-1L", "Organic Whole Milk 1 L", "Dairy", "1.45", 500),
    ("BUTTER-250", "Salted Butter 250 g", "Dairy", "2.10", 500),
    ("YOGURT-500", "Greek Yogurt 500 g", "Dairy", "2.75", 500),
    ("BREAD-800", "Sourdough Loaf 800 g", "Bakery", "3.20", 500),
    ("CROISSANT-4", "All-Butter Croissants x4", "Bakery", "2.60", 500),
    ("APPLE-6", "Braeburn Apples x6", "Fruit", "1.90", 500),
    ("BANANA-5", "Fairtrade Bananas x5", "Fruit", "1.05", 500),
    ("HAMPER-1", "Breakfast Hamper", "Fruit", "24.00", 500),
    ("MANGO-1", "Alphonso Mango", "Fruit", "2.40", 0),  # sold out
]


class Command(BaseCommand):
    help = "Seed the catalogue, stock and vouchers the fixture shop's environment declares"

    def handle(self, *args, **options):
        Site.objects.update_or_create(id=1, defaults={"domain": "127.0.0.1", "name": "shop"})
        Country.objects.update_or_create(
            iso_3166_1_a2="GB", defaults={"iso_3166_1_a3": "GBR", "iso_3166_1_numeric": "826",
                                          "printable_name": "United Kingdom",
                                          "name": "United Kingdom of Great Britain",
                                          "is_shipping_country": True})
        partner, _ = Partner.objects.get_or_create(name="Corner Grocer Ltd")
        groceries, _ = ProductClass.objects.get_or_create(
            name="Groceries", defaults={"requires_shipping": True, "track_stock": True})
        for sku, title, category, price, stock in PRODUCTS:
            product = Product.objects.create(title=title, product_class=groceries,
                                             upc=sku, is_public=True)
            ProductCategory.objects.create(product=product,
                                           category=create_from_breadcrumbs(category))
            StockRecord.objects.create(product=product, partner=partner, partner_sku=sku,
                                       price_currency="GBP", price=Decimal(price),
                                       num_in_stock=stock)
        everything, _ = Range.objects.get_or_create(name="Everything",
                                                    defaults={"includes_all_products": True})
        now = timezone.now()
        self.voucher("TENOFF", "£2 off orders of £10 or more", everything, Condition.VALUE, 10,
                     Benefit.FIXED, 2, now - timedelta(days=1), now + timedelta(days=365))
        self.voucher("SAVE10", "10% off", everything, Condition.COUNT, 1,
                     Benefit.PERCENTAGE, 10, now - timedelta(days=1), now + timedelta(days=365))
        self.voucher("SPRING5", "Last spring's £5 off", everything, Condition.COUNT, 1,
                     Benefit.FIXED, 5, now - timedelta(days=400), now - timedelta(days=300))

    def voucher(self, code, name, rng, condition_type, condition_value, benefit_type,
                benefit_value, start, end):
        condition = Condition.objects.create(range=rng, type=condition_type,
                                             value=condition_value)
        benefit = Benefit.objects.create(range=rng, type=benefit_type, value=benefit_value)
        offer = ConditionalOffer.objects.create(
            name=name, offer_type=ConditionalOffer.VOUCHER, condition=condition,
            benefit=benefit)
        voucher = Voucher.objects.create(name=name, code=code, usage=Voucher.MULTI_USE,
                                         start_datetime=start, end_datetime=end)
        voucher.offers.add(offer)
