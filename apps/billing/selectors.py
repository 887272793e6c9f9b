"""Reads of billing for pages, the API and other apps: quotes and price tables, usage, statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from . import pricing
from .funds import FundsStatus, Runway, funds_runway, funds_status
from .invoicing import invoice_preview, month_of, period_bounds
from .models import OffPeakDiscount, PriceBook, PriceEntry, TierDiscount, UsageRecord, VolumeBand
from .quotes import PriceQuote, customer_tier_of, price_book_at, price_quote

__all__ = [
    "FundsStatus",
    "PriceQuote",
    "PriceRow",
    "Runway",
    "customer_tier_of",
    "funds_runway",
    "funds_status",
    "invoice_preview",
    "month_parse",
    "price_book_at",
    "price_book_terms",
    "price_quote",
    "price_table",
    "provider_statement",
    "usage_by_day",
    "usage_by_workload",
]


@dataclass(frozen=True)
class PriceRow:
    """The list price of one whole card of a model in a region and mode, for the market and pricing pages."""

    accelerator_model: str
    accelerator_model_name: str
    vendor: str
    memory_mib: int
    region: str
    region_name: str
    billing_mode: str
    hourly: Decimal
    off_peak_hourly: Decimal | None
    price_book_id: int


def price_table(*, region=None, billing_mode: str | None = None, at: datetime | None = None) -> list[PriceRow]:
    """Current whole-card list prices per model × region × mode (optionally one region / mode)."""
    book = price_book_at(at=at)
    if book is None:
        return []
    entries = PriceEntry.objects.filter(book=book).select_related("accelerator_model", "region")
    if region is not None:
        entries = entries.filter(region=region)
    if billing_mode:
        entries = entries.filter(billing_mode=billing_mode)
    off_peak = dict(OffPeakDiscount.objects.filter(book=book).values_list("region_id", "discount"))
    rows = []
    for entry in entries.order_by("accelerator_model__vendor", "-accelerator_model__fp16_tflops", "region__code",
                                  "billing_mode"):
        discount = off_peak.get(entry.region_id)
        has_window = bool(entry.region.off_peak_hours) and bool(discount)
        rows.append(PriceRow(
            accelerator_model=entry.accelerator_model.code, accelerator_model_name=entry.accelerator_model.name,
            vendor=entry.accelerator_model.vendor, memory_mib=entry.accelerator_model.memory_mib,
            region=entry.region.code, region_name=entry.region.name, billing_mode=entry.billing_mode,
            hourly=entry.hourly, off_peak_hourly=pricing.discounted(entry.hourly, discount) if has_window else None,
            price_book_id=book.pk))
    return rows


@dataclass(frozen=True)
class BookTerms:
    """Everything of a price book besides the per-card prices: what the pricing page explains."""

    book: PriceBook
    tier_discounts: list[tuple[str, Decimal]]
    volume_bands: list[tuple[Decimal, Decimal | None, Decimal]]
    off_peak: list[tuple[object, Decimal]]  # (region, discount)


def price_book_terms(*, at: datetime | None = None) -> BookTerms | None:
    book = price_book_at(at=at or timezone.now())
    if book is None:
        return None
    bands = list(VolumeBand.objects.filter(book=book).order_by("from_card_hours").values_list(
        "from_card_hours", "discount"))
    ends = [start for start, _discount in bands[1:]] + [None]
    return BookTerms(
        book=book,
        tier_discounts=list(TierDiscount.objects.filter(book=book).order_by("discount")
                            .values_list("tier", "discount")),
        volume_bands=[(start, end, discount) for (start, discount), end in zip(bands, ends, strict=True)],
        off_peak=[(o.region, o.discount) for o in OffPeakDiscount.objects.filter(book=book).select_related("region")
                  .order_by("region__code")],
    )


# --- usage, invoices and statements --------------------------------------------------------------------

def month_parse(value: str | None, *, default: date | None = None) -> date:
    """``YYYY-MM`` → the month's first day; a field error for anything else."""
    if not value:
        return default or month_of(timezone.now())
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError) as exc:
        raise ValidationError({"month": [_("Give the month as YYYY-MM, e.g. 2026-03.")]}) from exc


def _records_of_month(*, period_start: date, **filters):
    start, end = period_bounds(period_start)
    return (UsageRecord.objects.filter(started_at__lt=end, accrued_through__gt=start, **filters)
            .select_related("workload", "accelerator_model", "region", "cluster"))


def _cost_between(record: UsageRecord, lo: datetime, hi: datetime) -> Decimal:
    lo, hi = max(lo, record.started_at), min(hi, record.accrued_through)
    if hi <= lo:
        return Decimal(0)
    total = int((hi - lo).total_seconds())
    off = pricing.off_peak_seconds(start=lo, end=hi, windows=record.region.off_peak_hours or [],
                                   timezone_name=record.region.timezone or settings.TIME_ZONE)
    if record.off_peak_hourly == record.hourly:
        off = 0
    return pricing.cost_fen(hourly=record.hourly, off_peak_hourly=record.off_peak_hourly, peak_seconds=total - off,
                            off_peak_seconds=off)


def usage_by_day(*, organization, period_start: date) -> list[tuple[date, int]]:
    """Cost per local day of a month (fen, each day rounded once), for the usage chart."""
    start, end = period_bounds(period_start)
    days = []
    day = start
    records = list(_records_of_month(organization=organization, period_start=period_start))
    while day < end:
        following = timezone.make_aware(datetime(day.year, day.month, day.day) + timedelta(days=1))
        exact = sum((_cost_between(r, day, following) for r in records), Decimal(0))
        days.append((day.date(), pricing.round_fen(exact)))
        day = following
    return days


@dataclass(frozen=True)
class WorkloadUsage:
    workload_id: object
    name: str
    accelerator_model: str
    region: str
    billing_mode: str
    card_hours: Decimal
    amount_fen: int
    charged_fen: int
    running: bool


def usage_by_workload(*, organization, period_start: date) -> list[WorkloadUsage]:
    """Per workload and month: card-hours and cost (each usage record rounded once, as on the invoice)."""
    rows: dict = {}
    for record in _records_of_month(organization=organization, period_start=period_start).order_by("started_at"):
        key = (record.workload_id, record.accelerator_model_id, record.region_id, record.billing_mode)
        previous = rows.get(key)
        rows[key] = WorkloadUsage(
            workload_id=record.workload_id, name=record.workload.name,
            accelerator_model=record.accelerator_model.name if record.accelerator_model else "",
            region=record.region.code, billing_mode=record.billing_mode,
            card_hours=(previous.card_hours if previous else 0) + pricing.rate(record.card_hours),
            amount_fen=(previous.amount_fen if previous else 0) + pricing.round_fen(record.cost_fen),
            charged_fen=(previous.charged_fen if previous else 0) + record.charged_fen,
            running=(previous.running if previous else False) or record.is_open)
    return sorted(rows.values(), key=lambda row: (-row.amount_fen, row.name))


@dataclass(frozen=True)
class StatementLine:
    cluster: str
    region: str
    accelerator_model: str
    card_hours: Decimal
    customer_fen: int
    earnings_fen: int
    paid_fen: int


def provider_statement(*, organization, period_start: date) -> list[StatementLine]:
    """A provider's earnings of a month per cluster and model, from the same usage records the customers
    are invoiced from (each record's share rounded once, half-up)."""
    start, end = period_bounds(period_start)
    lines: dict = {}
    records = (UsageRecord.objects.filter(provider_organization=organization, started_at__gte=start,
                                          started_at__lt=end)
               .select_related("cluster", "region", "accelerator_model"))
    for record in records:
        model = record.accelerator_model.name if record.accelerator_model else ""
        key = (record.cluster.name, record.region.code, model)
        line = lines.get(key) or StatementLine(*key, Decimal(0), 0, 0, 0)
        lines[key] = StatementLine(
            *key, card_hours=line.card_hours + pricing.rate(record.card_hours),
            customer_fen=line.customer_fen + pricing.round_fen(record.cost_fen),
            earnings_fen=line.earnings_fen + pricing.round_fen(record.provider_fen),
            paid_fen=line.paid_fen + record.provider_charged_fen)
    return [lines[key] for key in sorted(lines)]
