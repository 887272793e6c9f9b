"""Issue the monthly invoices of one month (default: last month) for every customer with usage in it."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.billing.invoicing import invoices_close_month
from apps.billing.selectors import month_parse


class Command(BaseCommand):
    help = "Issue the invoices of a month (YYYY-MM; default: the previous month). Already issued ones are kept."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="the month to invoice, e.g. 2026-03")

    def handle(self, *args, month=None, **options):
        try:
            period = month_parse(month) if month else None
        except ValidationError as error:
            raise CommandError(error.message_dict["month"][0]) from error
        for invoice in invoices_close_month(now=timezone.now(), period_start=period):
            self.stdout.write(f"{invoice.number}  {invoice.customer_name}  total {invoice.total_fen / 100:.2f} CNY")
