"""When a customer cannot pay: refuse to book or start what the wallet cannot cover, warn, wait out the
grace, then stop on-demand work.

A prepaid organization's wallet must cover a runway (TIDEGRID_FUNDS_RUNWAY_MINUTES of the highest price
each workload may be billed at) for all its pending and running work together: checked when a workload
is booked or restarted and again when the placer starts it (booking's ``workload_admission`` signal),
with the organization's billing profile row locked so racing bookings cannot together commit more.

A charge the wallet cannot cover marks the organization out of funds (once) and e-mails its owners
and admins the time its on-demand and spot work will stop. Pages show the same warning, and before
that a warning when the balance lasts less than TIDEGRID_BILLING_RUNWAY_WARNING_S at the current rate.
The unpaid remainder stays outstanding on the usage records and is collected after a top-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.booking.lifecycle import FINAL, NOT_STOPPABLE
from apps.booking.models import Workload
from apps.booking.signals import SUBMIT
from apps.core.reasons import Reason
from apps.ledger.models import LedgerProfile
from apps.ledger.services import bilingual_mail_send, fen_display
from apps.tenancy.models import Organization
from apps.tenancy.selectors import organization_admin_emails

from . import pricing
from .models import BillingProfile, PriceEntry, TierDiscount, UsageRecord
from .pricing import round_fen
from .quotes import customer_tier_of, price_book_at, shape_units

# Interruptible by nature, and billed as they go: these stop when the money runs out. Reserved work
# was committed to for its window and keeps running; its cost stays outstanding.
STOPPED_FOR_FUNDS = (Workload.BillingMode.ON_DEMAND, Workload.BillingMode.SPOT)


def grace() -> timedelta:
    return timedelta(seconds=settings.TIDEGRID_BILLING_OUT_OF_FUNDS_GRACE_S)


def billing_profile_get(*, organization: Organization) -> BillingProfile:
    BillingProfile.objects.bulk_create([BillingProfile(organization=organization)], ignore_conflicts=True)
    return BillingProfile.objects.get(organization=organization)


def funds_short(*, organization: Organization, now: datetime) -> bool:
    """A charge could not be covered: start the grace period (once) and tell the customer."""
    billing_profile_get(organization=organization)
    flipped = BillingProfile.objects.filter(organization=organization, out_of_funds_since__isnull=True).update(
        out_of_funds_since=now, out_of_funds_stopped_at=None)
    if flipped:
        stop_at = now + grace()
        transaction.on_commit(lambda: _out_of_funds_email(organization=organization, stop_at=stop_at))
    return bool(flipped)


def outstanding_fen(*, organization: Organization) -> int:
    """Metered usage not yet paid: each unsettled record's rounded cost less what was posted."""
    rows = UsageRecord.objects.filter(organization=organization, settled=False).values_list("cost_fen", "charged_fen")
    return sum(max(0, round_fen(cost) - charged) for cost, charged in rows)


def funds_review(*, now: datetime | None = None) -> dict:
    """After a charging run: clear organizations that paid up; stop work of those past the grace."""
    now = now or timezone.now()
    cleared = stopped = 0
    for profile in BillingProfile.objects.filter(out_of_funds_since__isnull=False).select_related("organization"):
        organization = profile.organization
        if outstanding_fen(organization=organization) == 0:
            BillingProfile.objects.filter(pk=profile.pk).update(out_of_funds_since=None, out_of_funds_stopped_at=None)
            cleared += 1
        elif now >= profile.out_of_funds_since + grace():
            stopped += workloads_stop_for_funds(organization=organization, since=profile.out_of_funds_since, now=now)
    return {"cleared": cleared, "stopped": stopped}


def workloads_stop_for_funds(*, organization: Organization, since: datetime, now: datetime) -> int:
    from apps.booking import services as booking

    live = Workload.objects.filter(organization=organization, billing_mode__in=STOPPED_FOR_FUNDS).exclude(
        state__in=NOT_STOPPABLE)
    reason = Reason(gettext_noop("the prepaid wallet ran out of funds at %(since)s and was not topped up within "
                                 "the grace period; top up, then start it again"),
                    since=timezone.localtime(since).strftime("%Y-%m-%d %H:%M"))
    count = 0
    for workload in live:
        with transaction.atomic():
            # booking's own stop path, with the platform (not a member) as the actor: audited as "system"
            booking.workload_stop_by_platform(workload=workload, reason=reason)
        count += 1
    if count:
        BillingProfile.objects.filter(organization=organization, out_of_funds_stopped_at__isnull=True).update(
            out_of_funds_stopped_at=now)
    return count


def _out_of_funds_email(*, organization: Organization, stop_at: datetime) -> None:
    recipients = organization_admin_emails(organization=organization)
    if not recipients:
        return
    context = {"organization": organization, "stop_at": timezone.localtime(stop_at).strftime("%Y-%m-%d %H:%M"),
               "site_url": settings.SITE_URL,
               "grace_minutes": settings.TIDEGRID_BILLING_OUT_OF_FUNDS_GRACE_S // 60}
    bilingual_mail_send(subject=gettext_noop("Out of funds: %(org)s"), subject_params={"org": organization.name},
                        template="billing/email/out_of_funds.txt", context=context, recipients=recipients)


@dataclass(frozen=True)
class FundsStatus:
    level: str  # "ok", "low" (runs out soon at the current rate) or "out"
    balance_fen: int
    outstanding_fen: int
    burn_hourly: Decimal  # CNY per hour of the open usage
    runway_seconds: int | None
    stop_at: datetime | None

    @property
    def runway_minutes(self) -> int:
        return (self.runway_seconds or 0) // 60


def funds_status(*, organization: Organization, now: datetime | None = None) -> FundsStatus:
    from apps.ledger.selectors import wallet_balance

    now = now or timezone.now()
    balance = wallet_balance(organization=organization)
    outstanding = outstanding_fen(organization=organization)
    burn = sum(UsageRecord.objects.filter(organization=organization, ended_at__isnull=True)
               .values_list("hourly", flat=True), Decimal(0))
    runway = int(Decimal(max(balance, 0)) / (burn * 100) * 3600) if burn else None
    profile = BillingProfile.objects.filter(organization=organization).first()
    if profile and profile.out_of_funds_since:
        return FundsStatus("out", balance, outstanding, burn, runway, profile.out_of_funds_since + grace())
    low = runway is not None and runway < settings.TIDEGRID_BILLING_RUNWAY_WARNING_S
    return FundsStatus("low" if low else "ok", balance, outstanding, burn, runway, None)


# --- the runway a prepaid organization must hold for its work ----------------------------------------

# Work that holds capacity: what a start counts besides the workload being started.
STARTED = (Workload.State.PLACED, Workload.State.STARTING, Workload.State.RUNNING, Workload.State.STOPPING)


def runway_minutes() -> int:
    return settings.TIDEGRID_FUNDS_RUNWAY_MINUTES


def runway_fen(*, hourly: Decimal, minutes: int | None = None) -> int:
    """Whole fen of ``minutes`` (the runway by default) at ``hourly`` CNY, rounded up."""
    minutes = runway_minutes() if minutes is None else minutes
    return int((hourly * pricing.FEN_PER_CNY * minutes / 60).to_integral_value(rounding=ROUND_CEILING))


@dataclass
class _Prices:
    """The book in force, read once per check: card-hour prices by (model, region, mode), the tier discount."""

    entries: list[PriceEntry]
    discount: Decimal

    @classmethod
    def of(cls, organization: Organization) -> _Prices:
        book = price_book_at()
        if book is None:
            return cls([], Decimal(0))
        discount = (TierDiscount.objects.filter(book=book, tier=customer_tier_of(organization))
                    .values_list("discount", flat=True).first() or Decimal(0))
        return cls(list(PriceEntry.objects.filter(book=book).select_related("accelerator_model", "region")),
                   discount)


def workload_hourly_max(*, workload: Workload, prices: _Prices | None = None) -> Decimal:
    """The highest price per hour the workload may be billed at: over the models, vendors and regions it
    accepts, in its billing mode, with the organization's tier discount (0 when nothing it accepts is priced)."""
    prices = prices or _Prices.of(workload.organization)
    regions = {workload.preferred_region.code, *(workload.allowed_regions or [])}
    models, vendors = set(workload.accelerator_models or []), set(workload.vendors or [])
    highest = Decimal(0)
    for entry in prices.entries:
        model = entry.accelerator_model
        if (entry.billing_mode != workload.billing_mode or entry.region.code not in regions
                or (models and model.code not in models) or (vendors and model.vendor not in vendors)):
            continue
        try:
            count, milli, memory = shape_units(model=model, gpu_count=workload.gpu_count, gpu_milli=workload.gpu_milli,
                                               gpu_memory_mib=workload.gpu_memory_mib, profile=workload.profile)
        except ValidationError:
            continue  # a shape this model cannot hold: it will not run there
        share = pricing.card_share(card_memory_mib=model.memory_mib, gpu_count=count, gpu_milli=milli,
                                   gpu_memory_mib=memory)
        highest = max(highest, pricing.shape_hourly(card_hourly=entry.hourly, card_fraction=share.card_fraction,
                                                    discount=prices.discount))
    return highest


@dataclass(frozen=True)
class Runway:
    """What a prepaid organization's wallet must hold for one more workload (all amounts in fen)."""

    minutes: int
    need_fen: int  # this workload's runway: ``minutes`` at its highest price
    committed_fen: int  # the runway of the organization's other work already counted
    available_fen: int  # the wallet less unpaid usage

    @property
    def short_fen(self) -> int:
        """What to top up before it may be booked (0 when the wallet covers it)."""
        return max(self.need_fen + self.committed_fen - self.available_fen, 0)

    @property
    def message(self) -> str:
        return _("Your prepaid wallet must cover %(minutes)d minutes of this workload at its highest price "
                 "(%(need)s) on top of %(committed)s held for your organization's other pending and running "
                 "work, but it has %(available)s. Top up at least %(top_up)s, then book again.") % {
            "minutes": self.minutes, "need": fen_display(self.need_fen), "committed": fen_display(self.committed_fen),
            "available": fen_display(self.available_fen), "top_up": fen_display(self.short_fen)}


def funds_runway(*, workload: Workload, stage: str = SUBMIT) -> Runway | None:
    """The runway the workload needs of its organization's wallet, counting all other pending and running
    work (``stage`` submit) or the started work (start); None when no runway applies (the check is off, the
    organization is postpaid, or nothing it may run on is priced)."""
    from apps.ledger.selectors import balance_get

    minutes = runway_minutes()
    organization = workload.organization
    if not minutes or organization.kind != Organization.Kind.CUSTOMER:
        return None
    balance = balance_get(organization=organization)
    if balance.mode != LedgerProfile.Mode.PREPAID:
        return None
    prices = _Prices.of(organization)
    need = runway_fen(hourly=workload_hourly_max(workload=workload, prices=prices))
    if not need:
        return None
    others = Workload.objects.filter(organization=organization).exclude(pk=workload.pk).select_related(
        "preferred_region", "organization")
    others = others.exclude(state__in=FINAL) if stage == SUBMIT else others.filter(state__in=STARTED)
    committed = sum(runway_fen(hourly=workload_hourly_max(workload=other, prices=prices)) for other in others)
    available = max(balance.available_fen - outstanding_fen(organization=organization), 0)
    return Runway(minutes=minutes, need_fen=need, committed_fen=committed, available_fen=available)


def funds_runway_check(*, workload: Workload, stage: str) -> None:
    """Refuse (field error ``funds``, code insufficient_funds) a booking or start that the prepaid wallet does
    not cover (``funds_runway``). The organization's billing profile row is locked first and stays locked
    until the caller commits, so racing bookings and starts of one organization are counted one by one."""
    if not runway_minutes() or workload.organization.kind != Organization.Kind.CUSTOMER:
        return
    billing_profile_get(organization=workload.organization)
    BillingProfile.objects.select_for_update().get(organization=workload.organization)
    runway = funds_runway(workload=workload, stage=stage)
    if runway is not None and runway.short_fen:
        raise ValidationError({"funds": [runway.message]}, code="insufficient_funds")
