"""Monthly invoices: one line per usage record (a workload's model, region and price version), then the
monthly volume discount, then the total. Every amount is rounded once, half-up, at its line.

Volume tiers count the month's card-hours. Graduated: each band's card-hours get the band's discount,
and a band's share of the usage amount is its share of the card-hours (order of use does not matter,
so a late event never reshuffles who got which rate). Volume: the whole usage amount gets the discount
of the highest band reached. The bands are those of the price book in force at the end of the month.
The discount is credited to the customer's wallet (or postpaid account) when the invoice is issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.ledger.models import Account, LedgerTransaction
from apps.ledger.services import customer_payer_account, platform_account, transaction_post
from apps.tenancy.models import Organization

from . import pricing
from .charging import usage_charge
from .funds import billing_profile_get
from .metering import next_month_start
from .models import Invoice, InvoiceLine, UsageRecord, VolumeBand
from .quotes import price_book_at


def period_bounds(period_start: date) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a month, in the platform's time zone."""
    start = timezone.make_aware(datetime(period_start.year, period_start.month, 1))
    return start, next_month_start(start)


def month_of(moment: datetime) -> date:
    local = timezone.localtime(moment)
    return date(local.year, local.month, 1)


def _records_due(*, organization: Organization, end: datetime):
    """Closed usage of the month (and late usage of earlier months) not yet on an invoice."""
    return (UsageRecord.objects.filter(organization=organization, invoice__isnull=True, started_at__lt=end,
                                       ended_at__isnull=False, ended_at__lte=end)
            .select_related("workload", "accelerator_model", "region").order_by("workload__name", "started_at", "id"))


@dataclass(frozen=True)
class Draft:
    """An invoice's numbers before it is saved: the same arithmetic serves the issue and the preview."""

    lines: list[dict]
    card_hours: Decimal
    usage_fen: int
    volume_discount_fen: int
    charged_fen: int
    volume_book_id: int | None
    volume_scheme: str


def _usage_line(record: UsageRecord) -> dict:
    return {
        "kind": InvoiceLine.Kind.USAGE, "description": record.formula, "workload_id": record.workload_id,
        "workload_name": record.workload.name,
        "accelerator_model": record.accelerator_model.name if record.accelerator_model else "",
        "region": record.region.code, "billing_mode": record.billing_mode, "price_book_id": record.price_book_id,
        "started_at": record.started_at, "ended_at": record.ended_at or record.accrued_through,
        "card_fraction": record.card_fraction, "card_hours": pricing.rate(record.card_hours),
        "peak_seconds": record.peak_seconds, "off_peak_seconds": record.off_peak_seconds,
        "hourly": record.hourly, "off_peak_hourly": record.off_peak_hourly, "exact_fen": record.cost_fen,
        "amount_fen": pricing.round_fen(record.cost_fen),
    }


def _band_label(start: Decimal, end: Decimal | None) -> str:
    return f"{start.normalize():f}–{end.normalize():f}" if end is not None else f"≥ {start.normalize():f}"


def draft_build(*, records: list[UsageRecord], scheme: str, end: datetime) -> Draft:
    lines = [_usage_line(record) for record in records]
    usage_fen = sum(line["amount_fen"] for line in lines)
    card_hours = sum((record.card_hours for record in records), Decimal(0))
    book = price_book_at(at=end - timedelta(microseconds=1))
    bands = list(VolumeBand.objects.filter(book=book).values_list("from_card_hours", "discount")) if book else []
    discount_fen = 0
    for share in pricing.volume_bands_apply(card_hours=card_hours, bands=bands, scheme=scheme):
        if not share.discount:
            continue
        # The band's part of the usage amount is its part of the card-hours.
        exact = (Decimal(usage_fen) * share.card_hours / card_hours * share.discount).quantize(pricing.FEN_PLACES)
        amount = pricing.round_fen(exact)
        discount_fen += amount
        lines.append({"kind": InvoiceLine.Kind.VOLUME_DISCOUNT,
                      "description": _band_label(share.from_card_hours, share.to_card_hours),
                      "card_hours": pricing.rate(share.card_hours), "discount": share.discount,
                      "price_book_id": book.pk, "exact_fen": -exact, "amount_fen": -amount})
    return Draft(lines=lines, card_hours=pricing.rate(card_hours), usage_fen=usage_fen,
                 volume_discount_fen=discount_fen, charged_fen=sum(r.charged_fen for r in records),
                 volume_book_id=book.pk if book else None, volume_scheme=scheme)


def _bring_up_to_date(*, organization: Organization, end: datetime, now: datetime) -> None:
    """Charge (and so split at the month end) everything of the organization that is not settled."""
    for record_id in UsageRecord.objects.filter(organization=organization, settled=False,
                                                started_at__lt=end).values_list("pk", flat=True):
        usage_charge(record_id=record_id, now=now)


def invoice_issue(*, organization: Organization, period_start: date, now: datetime | None = None) -> Invoice:
    """Issue the organization's invoice for a month (the existing one if it was already issued)."""
    now = now or timezone.now()
    existing = Invoice.objects.filter(organization=organization, period_start=period_start).first()
    if existing is not None:
        return existing
    _start, end = period_bounds(period_start)
    _bring_up_to_date(organization=organization, end=end, now=now)
    profile = billing_profile_get(organization=organization)
    try:
        with transaction.atomic():
            records = list(_records_due(organization=organization, end=end).select_for_update(of=("self",)))
            draft = draft_build(records=records, scheme=profile.volume_scheme, end=end)
            invoice = _invoice_save(organization=organization, period_start=period_start, end=end, draft=draft,
                                    tier=profile.tier, now=now)
            UsageRecord.objects.filter(pk__in=[r.pk for r in records]).update(invoice=invoice)
            _volume_credit_post(invoice=invoice)
            return invoice
    except IntegrityError:  # issued concurrently: the first one stands
        return Invoice.objects.get(organization=organization, period_start=period_start)


def _invoice_save(*, organization: Organization, period_start: date, end: datetime, draft: Draft, tier: str,
                  now: datetime) -> Invoice:
    total = draft.usage_fen - draft.volume_discount_fen
    organization = Organization.objects.get(pk=organization.pk)  # the profile as it is now (title, tax id)
    invoice = Invoice.objects.create(
        organization=organization, number=f"TG-{period_start:%Y%m}-{organization.pk.hex[:8].upper()}",
        period_start=period_start, period_end=month_of(end), issued_at=now, customer_name=organization.name,
        invoice_title=organization.invoice_title or organization.name, tax_id=organization.tax_id,
        customer_tier=tier, volume_scheme=draft.volume_scheme, volume_price_book_id=draft.volume_book_id,
        card_hours=draft.card_hours, usage_fen=draft.usage_fen, volume_discount_fen=draft.volume_discount_fen,
        total_fen=total, charged_fen=draft.charged_fen, outstanding_fen=draft.usage_fen - draft.charged_fen)
    InvoiceLine.objects.bulk_create([InvoiceLine(invoice=invoice, position=index, **line)
                                     for index, line in enumerate(draft.lines, start=1)])
    return invoice


def _volume_credit_post(*, invoice: Invoice) -> None:
    """The month's volume discount goes back to the customer: platform revenue pays it."""
    if invoice.volume_discount_fen <= 0:
        return
    organization = invoice.organization
    transaction_post(
        idempotency_key=f"invoice:{invoice.pk}:volume-discount", kind=LedgerTransaction.Kind.ADJUSTMENT,
        memo=f"Volume discount {invoice.number}", organization=organization,
        lines=[(platform_account(Account.Kind.PLATFORM_REVENUE), -invoice.volume_discount_fen),
               (customer_payer_account(organization=organization), invoice.volume_discount_fen)],
        details={"invoice": str(invoice.pk), "number": invoice.number})
    Invoice.objects.filter(pk=invoice.pk).update(volume_credit_posted=True)
    invoice.volume_credit_posted = True


def invoice_preview(*, organization: Organization, period_start: date) -> Draft:
    """The month so far, as the invoice would read if issued now (nothing is written)."""
    start, end = period_bounds(period_start)
    records = list(UsageRecord.objects.filter(organization=organization, invoice__isnull=True, started_at__gte=start,
                                              started_at__lt=end)
                   .select_related("workload", "accelerator_model", "region").order_by("workload__name", "started_at"))
    profile = billing_profile_get(organization=organization)
    return draft_build(records=records, scheme=profile.volume_scheme, end=end)


def invoices_close_month(*, now: datetime, period_start: date | None = None) -> list[Invoice]:
    """Issue every customer's invoice for a month (default: the month before ``now``)."""
    if period_start is None:
        previous = timezone.localtime(now).replace(day=1) - timedelta(days=1)
        period_start = date(previous.year, previous.month, 1)
    _start, end = period_bounds(period_start)
    organization_ids = set(UsageRecord.objects.filter(invoice__isnull=True, started_at__lt=end)
                           .values_list("organization_id", flat=True))
    return [invoice_issue(organization=organization, period_start=period_start, now=now)
            for organization in Organization.objects.filter(pk__in=organization_ids).order_by("name")]
