"""Reads of billing for pages, the API and other apps: quotes and price tables, usage, statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from . import pricing
from .models import OffPeakDiscount, PriceBook, PriceEntry, TierDiscount, VolumeBand
from .quotes import PriceQuote, customer_tier_of, price_book_at, price_quote

__all__ = [
    "PriceQuote",
    "PriceRow",
    "customer_tier_of",
    "price_book_at",
    "price_book_terms",
    "price_quote",
    "price_table",
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
