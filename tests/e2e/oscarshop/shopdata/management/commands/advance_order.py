"""Move an order one step along the status pipeline (what staff do from the dashboard)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from oscar.apps.order.models import Order


class Command(BaseCommand):
    help = "Advance an order to the next (non-cancel) status of OSCAR_ORDER_STATUS_PIPELINE"

    def add_arguments(self, parser):
        parser.add_argument("number")

    def handle(self, *args, **options):
        try:
            order = Order.objects.get(number=options["number"])
        except Order.DoesNotExist:
            raise CommandError(f"no order {options['number']}") from None
        onward = [s for s in settings.OSCAR_ORDER_STATUS_PIPELINE.get(order.status, ())
                  if s != "Cancelled"]
        if not onward:
            raise CommandError(f"order {order.number} is {order.status}: nothing follows")
        order.set_status(onward[0])
        self.stdout.write(f"{order.number}: {order.status}")
