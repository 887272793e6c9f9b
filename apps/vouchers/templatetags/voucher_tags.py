"""Voucher figures for other apps' pages (the usage page, invoices) without those apps importing vouchers."""

from django import template
from django.db.models import Sum

from ..models import UsageSubsidy

register = template.Library()


@register.simple_tag
def vouchers_paid(*, organization=None, month=None, invoice=None) -> int:
    """Fen paid by compute vouchers for an organization's usage of a month, or of an invoice's lines."""
    if invoice is not None:
        queryset = UsageSubsidy.objects.filter(usage_record__invoice=invoice)
    elif organization is not None and month is not None:
        from apps.billing.invoicing import period_bounds

        start, end = period_bounds(month)
        queryset = UsageSubsidy.objects.filter(usage_record__organization=organization,
                                               usage_record__started_at__gte=start, usage_record__started_at__lt=end)
    else:
        return 0
    return queryset.aggregate(total=Sum("share_fen"))["total"] or 0
