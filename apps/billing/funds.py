"""When a customer cannot pay: warn, wait out the grace, then stop on-demand work.

A charge the wallet cannot cover marks the organization out of funds (once) and e-mails its owners
and admins the time its on-demand and spot work will stop. Pages show the same warning, and before
that a warning when the balance lasts less than TIDEGRID_BILLING_RUNWAY_WARNING_S at the current rate.
The unpaid remainder stays outstanding on the usage records and is collected after a top-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.booking.lifecycle import FINAL
from apps.booking.models import Workload
from apps.core.reasons import Reason
from apps.ledger.services import bilingual_mail_send
from apps.tenancy.models import Organization
from apps.tenancy.selectors import organization_admin_emails

from .models import BillingProfile, UsageRecord
from .pricing import round_fen

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
        state__in=[*FINAL, Workload.State.STOPPING])
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
