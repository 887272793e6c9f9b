"""Price quotes: what one GPU shape costs per hour, for whom, and why (the formula shown to customers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.booking.validation import gpu_shape_errors
from apps.catalog.models import AcceleratorModel, Region

from . import pricing
from .models import BillingMode, BillingProfile, CustomerTier, OffPeakDiscount, PriceBook, PriceEntry, TierDiscount


@dataclass(frozen=True)
class PriceQuote:
    hourly: Decimal  # CNY per hour for the shape, customer tier discount applied, before monthly volume tiers
    list_hourly: Decimal  # the same shape at list price
    off_peak_hourly: Decimal | None  # ``hourly`` inside the region's off-peak hours (None: no off-peak window)
    card_fraction: Decimal  # card-equivalents billed (what monthly volume tiers count)
    formula: str
    price_book_id: int
    card_hourly: Decimal  # list price of one whole card
    compute_share: Decimal
    memory_share: Decimal
    customer_tier: str
    tier_discount: Decimal
    off_peak_discount: Decimal
    off_peak_hours: tuple
    provider_hourly: Decimal  # paid to the provider per hour of this shape (peak)
    provider_off_peak_hourly: Decimal | None
    accelerator_model: str
    region: str
    billing_mode: str
    currency: str = "CNY"


def price_book_at(*, at: datetime | None = None) -> PriceBook | None:
    """The published price book in force at ``at`` (now by default)."""
    at = at or timezone.now()
    return (PriceBook.objects.filter(published_at__isnull=False, effective_from__lte=at)
            .order_by("-effective_from").first())


def customer_tier_of(organization) -> str:
    if organization is None:
        return CustomerTier.LIST
    profile = BillingProfile.objects.filter(organization=organization).only("tier").first()
    return profile.tier if profile else CustomerTier.LIST


def shape_units(*, model: AcceleratorModel, gpu_count: int, gpu_milli: int, gpu_memory_mib: int,
                 profile: str) -> tuple[int, int, int]:
    """The shape as (whole cards, milli, memory); field errors for anything but exactly one valid shape."""
    errors = gpu_shape_errors(gpu_count=gpu_count, gpu_milli=gpu_milli, gpu_memory_mib=gpu_memory_mib,
                              profile=profile)
    if errors:
        raise ValidationError(errors)
    if gpu_count:
        return gpu_count, 0, 0
    if gpu_milli:
        if gpu_memory_mib > model.memory_mib:
            raise ValidationError({"gpu_memory_mib": [_("A slice needs its GPU memory: between 1 and %(max)d "
                                                        "MiB on this card.") % {"max": model.memory_mib}]})
        return 0, gpu_milli, gpu_memory_mib
    found = next((p for p in model.profiles if p.get("name") == profile), None)
    if found is None:
        names = ", ".join(p["name"] for p in model.profiles) or _("none")
        raise ValidationError({"profile": [_("%(model)s has no profile %(profile)s (it has: %(names)s).")
                                           % {"model": model.name, "profile": profile, "names": names}]})
    return 0, int(found["compute_milli"]), int(found["memory_mib"])


def _entry(*, book: PriceBook, model: AcceleratorModel, region: Region, billing_mode: str) -> PriceEntry:
    entry = PriceEntry.objects.filter(book=book, accelerator_model=model, region=region,
                                      billing_mode=billing_mode).first()
    if entry is None:
        raise ValidationError({"accelerator_model": [_(
            "There is no %(mode)s price for %(model)s in %(region)s.")
            % {"mode": BillingMode(billing_mode).label, "model": model.name, "region": region.name}]})
    return entry


def price_quote(*, organization=None, accelerator_model: AcceleratorModel, region: Region, billing_mode: str,
                gpu_count: int = 0, gpu_milli: int = 0, gpu_memory_mib: int = 0, profile: str = "",
                at: datetime | None = None) -> PriceQuote:
    """The hourly price of one GPU shape for an organization (list price without one) at ``at``."""
    if billing_mode not in BillingMode.values:
        raise ValidationError({"billing_mode": [_("Choose one of: %(modes)s.")
                                                % {"modes": ", ".join(BillingMode.values)}]})
    book = price_book_at(at=at)
    if book is None:
        raise ValidationError({"accelerator_model": [_("No prices are published yet.")]})
    count, milli, memory = shape_units(model=accelerator_model, gpu_count=gpu_count, gpu_milli=gpu_milli,
                                        gpu_memory_mib=gpu_memory_mib, profile=profile)
    entry = _entry(book=book, model=accelerator_model, region=region, billing_mode=billing_mode)
    share = pricing.card_share(card_memory_mib=accelerator_model.memory_mib, gpu_count=count, gpu_milli=milli,
                               gpu_memory_mib=memory)
    tier = customer_tier_of(organization)
    tier_discount = (TierDiscount.objects.filter(book=book, tier=tier).values_list("discount", flat=True).first()
                     or Decimal(0))
    off_peak = (OffPeakDiscount.objects.filter(book=book, region=region).values_list("discount", flat=True).first()
                or Decimal(0))
    windows = tuple(tuple(w) for w in (region.off_peak_hours or []))
    list_hourly = pricing.shape_hourly(card_hourly=entry.hourly, card_fraction=share.card_fraction,
                                       discount=Decimal(0))
    hourly = pricing.shape_hourly(card_hourly=entry.hourly, card_fraction=share.card_fraction,
                                  discount=tier_discount)
    off_peak_hourly = pricing.discounted(hourly, off_peak) if windows and off_peak else None
    floor = pricing.rate(entry.provider_floor_hourly * share.card_fraction)
    provider = max(floor, pricing.discounted(hourly, book.platform_margin))
    provider_off_peak = (max(floor, pricing.discounted(off_peak_hourly, book.platform_margin))
                         if off_peak_hourly is not None else None)
    quote = dict(
        hourly=hourly, list_hourly=list_hourly, off_peak_hourly=off_peak_hourly, card_fraction=share.card_fraction,
        price_book_id=book.pk, card_hourly=entry.hourly, compute_share=share.compute_share,
        memory_share=share.memory_share, customer_tier=tier, tier_discount=tier_discount,
        off_peak_discount=off_peak if off_peak_hourly is not None else Decimal(0), off_peak_hours=windows,
        provider_hourly=min(provider, hourly), provider_off_peak_hourly=(
            min(provider_off_peak, off_peak_hourly) if off_peak_hourly is not None else None),
        accelerator_model=accelerator_model.code, region=region.code, billing_mode=billing_mode,
    )
    return PriceQuote(formula=quote_formula(quote=quote, model=accelerator_model, region=region,
                                            gpu_count=count), **quote)


def num(value: Decimal) -> str:
    """A Decimal without trailing zeros or exponent: 3.220000 → 3.22, 10 → 10."""
    return f"{value.normalize():f}"


def pct_label(value: Decimal) -> str:
    """A fraction as a percentage: 0.15 → 15 %."""
    return f"{num(value * 100)} %"


def hours_label(windows) -> str:
    return ", ".join(f"{int(lo):02d}:00–{int(hi):02d}:00" for lo, hi in windows)


def quote_formula(*, quote: dict, model: AcceleratorModel, region: Region, gpu_count: int) -> str:
    """The sentence that explains a quote, in the active language."""
    if gpu_count:
        share = _("%(n)d whole card(s)") % {"n": gpu_count}
    else:
        share = _("%(fraction)s of a card (the larger of compute %(compute)s and memory %(memory)s)") % {
            "fraction": num(quote["card_fraction"]), "compute": pct_label(quote["compute_share"]),
            "memory": pct_label(quote["memory_share"])}
    text = _("¥%(card)s per card-hour (%(model)s, %(region)s, %(mode)s) × %(share)s") % {
        "card": num(quote["card_hourly"]), "model": model.name, "region": region.name,
        "mode": BillingMode(quote["billing_mode"]).label, "share": share}
    if quote["tier_discount"]:
        text += " × " + _("(1 − %(discount)s %(tier)s discount)") % {
            "discount": pct_label(quote["tier_discount"]), "tier": CustomerTier(quote["customer_tier"]).label}
    text += " = " + _("¥%(hourly)s per hour.") % {"hourly": num(quote["hourly"])}
    if quote["off_peak_hourly"] is not None:
        text += " " + _("Off-peak (%(hours)s local time): −%(discount)s = ¥%(rate)s per hour.") % {
            "hours": hours_label(quote["off_peak_hours"]), "discount": pct_label(quote["off_peak_discount"]),
            "rate": num(quote["off_peak_hourly"])}
    return text
