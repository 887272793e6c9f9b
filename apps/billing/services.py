"""Writes of billing that people do: new price book versions and customers' billing terms (platform staff).

Metering (metering.py), charging (charging.py), funds (funds.py) and invoices (invoicing.py) are driven by
agents' reports and the beat schedule; their entry points are re-exported here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.tenancy.access import Actor
from apps.tenancy.models import Organization

from .charging import usage_charge, usage_charge_all
from .funds import billing_profile_get, funds_review
from .invoicing import invoice_issue, invoices_close_month
from .models import (
    BillingProfile,
    CustomerTier,
    OffPeakDiscount,
    PriceBook,
    PriceEntry,
    TierDiscount,
    VolumeBand,
    VolumeScheme,
)
from .quotes import price_book_at

__all__ = ["billing_profile_get", "billing_profile_set", "funds_review", "invoice_issue", "invoices_close_month",
           "price_book_copy", "price_book_publish", "usage_charge", "usage_charge_all"]


def _require_staff(actor: Actor | None) -> None:
    """``None`` is the platform itself (migrations, commands); people must be staff."""
    if actor is not None and not getattr(actor.user, "is_staff", False):
        raise PermissionDenied(_("Only platform staff change prices and billing terms."))


@transaction.atomic
def price_book_copy(*, actor: Actor | None, name: str, effective_from: datetime,
                    hourly: dict[tuple, Decimal | str] | None = None, platform_margin: Decimal | None = None,
                    tier_discounts: dict[str, Decimal] | None = None,
                    volume_bands: list[tuple[Decimal, Decimal]] | None = None,
                    off_peak: dict[str, Decimal] | None = None) -> PriceBook:
    """A draft copy of the book in force now, with changes: ``hourly`` maps (model code, region code[,
    mode]) to a new card-hour price (without a mode: on demand); ``off_peak`` maps region codes."""
    _require_staff(actor)
    base = price_book_at()
    if base is None:
        raise ValidationError({"effective_from": [_("There is no published price book to copy.")]})
    margin = base.platform_margin if platform_margin is None else platform_margin
    book = PriceBook.objects.create(name=name, effective_from=effective_from, platform_margin=margin,
                                    created_by=getattr(actor, "user", None))
    changes = {((*key, "on_demand") if len(key) == 2 else key): Decimal(value)
               for key, value in (hourly or {}).items()}
    PriceEntry.objects.bulk_create([
        PriceEntry(book=book, accelerator_model_id=e.accelerator_model_id, region_id=e.region_id,
                   billing_mode=e.billing_mode, provider_floor_hourly=e.provider_floor_hourly,
                   hourly=changes.pop((e.accelerator_model.code, e.region.code, e.billing_mode), e.hourly))
        for e in base.entries.select_related("accelerator_model", "region")])
    if changes:
        raise ValidationError({"hourly": [_("No such prices to change: %(keys)s") % {"keys": sorted(changes)}]})
    off_peak = off_peak or {}
    OffPeakDiscount.objects.bulk_create([
        OffPeakDiscount(book=book, region_id=o.region_id, discount=Decimal(off_peak.get(o.region.code, o.discount)))
        for o in base.off_peak_discounts.select_related("region")])
    tiers = tier_discounts or dict(base.tier_discounts.values_list("tier", "discount"))
    TierDiscount.objects.bulk_create([TierDiscount(book=book, tier=t, discount=Decimal(d)) for t, d in tiers.items()])
    bands = volume_bands or list(base.volume_bands.values_list("from_card_hours", "discount"))
    VolumeBand.objects.bulk_create([VolumeBand(book=book, from_card_hours=Decimal(s), discount=Decimal(d))
                                    for s, d in bands])
    return book


def _floors_check(book: PriceBook) -> None:
    """Every customer rate of the book (best tier, off-peak, any mode) must stay at or above the
    provider's floor, so the provider's share never exceeds what the customer pays."""
    best_tier = max(book.tier_discounts.values_list("discount", flat=True), default=Decimal(0))
    off_peak = dict(book.off_peak_discounts.values_list("region_id", "discount"))
    for entry in book.entries.select_related("accelerator_model", "region"):
        lowest = entry.hourly * (1 - best_tier) * (1 - off_peak.get(entry.region_id, Decimal(0)))
        if lowest < entry.provider_floor_hourly:
            raise ValidationError({"entries": [_(
                "%(model)s in %(region)s (%(mode)s) would sell at ¥%(lowest)s, below the provider floor "
                "¥%(floor)s.") % {"model": entry.accelerator_model.name, "region": entry.region.code,
                                  "mode": entry.billing_mode, "lowest": lowest.quantize(Decimal("0.0001")),
                                  "floor": entry.provider_floor_hourly}]})


@transaction.atomic
def price_book_publish(*, actor: Actor | None, book: PriceBook, allow_past: bool = False) -> PriceBook:
    """Freeze a draft and put it in force from its ``effective_from``. Usage already metered keeps the
    prices it was metered at, so a book may not start in the past (tests and imports may say so)."""
    _require_staff(actor)
    book = PriceBook.objects.select_for_update().get(pk=book.pk)
    if book.is_published:
        raise ValidationError({"book": [_("This price book is already published.")]})
    if not allow_past and book.effective_from < timezone.now():
        raise ValidationError({"effective_from": [_("A new price book starts now or later, never in the past.")]})
    if PriceBook.objects.filter(published_at__isnull=False, effective_from=book.effective_from).exists():
        raise ValidationError({"effective_from": [_("Another price book starts at the same moment.")]})
    _floors_check(book)
    book.published_at = timezone.now()
    book.save(update_fields=["published_at"])
    audit_record(actor=actor, action="billing.price_book_published", target=book,
                 details={"name": book.name, "effective_from": book.effective_from.isoformat()})
    return book


@transaction.atomic
def billing_profile_set(*, actor: Actor | None, organization: Organization, tier: str,
                        volume_scheme: str) -> BillingProfile:
    """Platform staff set a customer's tier and how its monthly volume tiers apply."""
    _require_staff(actor)
    if tier not in CustomerTier.values:
        raise ValidationError({"tier": [_("Choose one of: %(modes)s.") % {"modes": ", ".join(CustomerTier.values)}]})
    if volume_scheme not in VolumeScheme.values:
        raise ValidationError({"volume_scheme": [_("Choose one of: %(modes)s.")
                                                 % {"modes": ", ".join(VolumeScheme.values)}]})
    if organization.kind != Organization.Kind.CUSTOMER:
        raise ValidationError({"organization": [_("Only customer organizations have billing terms.")]})
    profile = billing_profile_get(organization=organization)
    before = {"tier": profile.tier, "volume_scheme": profile.volume_scheme}
    BillingProfile.objects.filter(pk=profile.pk).update(tier=tier, volume_scheme=volume_scheme)
    audit_record(actor=actor, action="billing.profile_set", organization=organization, target=profile,
                 details={"before": before, "after": {"tier": tier, "volume_scheme": volume_scheme}})
    profile.refresh_from_db()
    return profile
