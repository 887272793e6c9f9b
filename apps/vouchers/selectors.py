"""Reads for vouchers: the rules in force, eligibility, the grant that funds a usage record, and the
figures the pages show (current rate, next step, what is left)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.ledger.models import Account
from apps.tenancy.models import Membership, Organization
from apps.tenancy.uscc import validate_uscc

from . import subsidy
from .models import Grant, Program, RuleVersion, YearUse

GRANT_KIND = "voucher_credit"
ISSUED_KIND = "voucher_issued"
BUDGET_KIND = "program_budget"
FUNDING_KIND = "program_funding"


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment, zone()).date()


def published_versions(program: Program, *, eligibility: bool = True) -> list[RuleVersion]:
    """The programme's published versions, oldest first, with their steps (and, for eligibility checks,
    their region and model lists)."""
    related = ("steps", "compute_regions", "accelerator_models") if eligibility else ("steps",)
    return list(program.versions.filter(published_at__isnull=False).prefetch_related(*related)
                .order_by("effective_from"))


def version_at(versions: list[RuleVersion], at: datetime) -> RuleVersion | None:
    in_force = [version for version in versions if version.effective_from <= at]
    return in_force[-1] if in_force else None


def schedules(versions: list[RuleVersion]) -> list[subsidy.Schedule]:
    return [subsidy.Schedule(version.effective_from, tuple(
        subsidy.Step(step.rate_bp, starts_on=step.starts_on, starts_after_months=step.starts_after_months,
                     hardware_class=step.hardware_class, size_class=step.size_class)
        for step in version.steps.all())) for version in versions]


def program_pays_window(program: Program) -> tuple[datetime, datetime]:
    return (subsidy.local_midnight(program.valid_from, zone()), subsidy.local_midnight(program.valid_until, zone()))


def grant_pays_from(grant: Grant) -> datetime:
    return max(subsidy.local_midnight(grant.starts_on, zone()), program_pays_window(grant.program)[0])


def account_balance(*, organization, kind: str, reference: str) -> int:
    return (Account.objects.filter(organization=organization, kind=kind, reference=reference)
            .values_list("balance_fen", flat=True).first() or 0)


def grant_balance(grant: Grant) -> int:
    return account_balance(organization=grant.organization_id, kind=GRANT_KIND, reference=grant.reference)


def budget_left(program: Program) -> int:
    return account_balance(organization=program.organization_id, kind=BUDGET_KIND, reference=program.reference)


def year_used(*, program: Program, organization, year: int) -> int:
    return (YearUse.objects.filter(program=program, organization=organization, year=year)
            .values_list("used_fen", flat=True).first() or 0)


# --- eligibility ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refusal:
    """Why a programme does not pay: a stable code and the English message (a gettext_noop id, translated
    when shown)."""

    code: str
    message: str
    params: dict

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message % self.params, "msgid": self.message,
                "params": self.params}


def _refuse(code: str, message: str, **params) -> Refusal:
    return Refusal(code, message, params)


def jurisdiction_ids(program: Program) -> set[int]:
    return set(program.organization.jurisdiction.values_list("id", flat=True))


def organization_refusal(*, program: Program, version: RuleVersion, organization: Organization) -> Refusal | None:
    """Whether the enterprise may hold this programme's vouchers (registered inside the jurisdiction, a
    valid USCC, its industry and size class)."""
    if organization.kind != Organization.Kind.CUSTOMER:
        return _refuse("not_customer", gettext_noop("Only customer organizations receive vouchers."))
    if organization.registered_region_id not in jurisdiction_ids(program):
        return _refuse("registered_region", gettext_noop(
            "The organization is not registered inside the programme's jurisdiction."))
    try:
        if not organization.credit_code:
            raise ValidationError("missing")
        validate_uscc(organization.credit_code)
    except ValidationError:
        return _refuse("uscc", gettext_noop("The organization has no valid unified social credit code."))
    if version.industries and organization.industry not in version.industries:
        return _refuse("industry", gettext_noop("The organization's industry is not covered by the programme."))
    if version.size_classes and organization.size_class not in version.size_classes:
        return _refuse("size_class", gettext_noop("The organization's size class is not covered by the programme."))
    return None


def related_party(*, customer: Organization, provider: Organization | None) -> Refusal | None:
    """Customer and provider are related when they share a USCC, an invoice title or a member (the
    provider's own people booking its own cards)."""
    if provider is None:
        return None
    if customer.credit_code and customer.credit_code == provider.credit_code:
        return _refuse("related_party", gettext_noop("Related party: customer and provider share a USCC."))
    if customer.invoice_title and customer.invoice_title.strip() == provider.invoice_title.strip():
        return _refuse("related_party", gettext_noop("Related party: customer and provider share an invoice title."))
    shared = (Membership.objects.filter(organization=customer, user__memberships__organization=provider)
              .exists())
    if shared:
        return _refuse("related_party", gettext_noop("Related party: a member of the customer also belongs to "
                                                     "the provider."))
    return None


def usage_refusal(*, program: Program, version: RuleVersion, region_id: int, vendor: str,
                  accelerator_model_id: int | None, billing_mode: str) -> Refusal | None:
    """Whether usage of that kind counts: where it runs (the programme's regions, by default its
    jurisdiction), which chips, which billing modes."""
    regions = {region.id for region in version.compute_regions.all()} or jurisdiction_ids(program)
    if region_id not in regions:
        return _refuse("region", gettext_noop("The compute ran outside the regions where the voucher counts."))
    if version.vendors and vendor not in version.vendors:
        return _refuse("vendor", gettext_noop("This chip vendor is not covered by the programme."))
    models = {model.id for model in version.accelerator_models.all()}
    if models and accelerator_model_id not in models:
        return _refuse("model", gettext_noop("This accelerator model is not covered by the programme."))
    if version.billing_modes and billing_mode not in version.billing_modes:
        return _refuse("billing_mode", gettext_noop("This billing mode is not covered by the programme."))
    return None


def program_refusal(program: Program, at: datetime) -> Refusal | None:
    if program.killed_at is not None:
        return _refuse("killed", gettext_noop("The programme was stopped."))
    if program.state != Program.State.OPEN:
        return _refuse("not_open", gettext_noop("The programme is not open."))
    start, end = program_pays_window(program)
    if not start <= at < end:
        return _refuse("outside_validity", gettext_noop("The usage lies outside the programme's validity."))
    return None


# --- pages ----------------------------------------------------------------------------------------------

def grants_of(organization: Organization) -> QuerySet[Grant]:
    return Grant.objects.filter(organization=organization).select_related("program", "program__organization")


@dataclass(frozen=True)
class GrantStatus:
    grant: Grant
    rate_bp: int
    next_step_at: datetime | None
    next_rate_bp: int | None
    balance_fen: int
    annual_cap_fen: int | None
    annual_left_fen: int | None


def grant_status(grant: Grant, *, hardware: str = subsidy.IMPORTED, now: datetime | None = None) -> GrantStatus:
    """Today's rate of a grant (for ``hardware`` chips), the next taper step, the grant's balance and what
    is left of this year's cap."""
    now = now or timezone.now()
    versions = published_versions(grant.program)
    size = grant.organization.size_class
    scheds = schedules(versions)
    segments = subsidy.rate_segments(schedules=scheds, start=now, end=now + timedelta(seconds=1),
                                     grant_start=grant.starts_on, hardware=hardware, size=size, zone=zone(),
                                     pays_from=grant_pays_from(grant), pays_until=program_pays_window(grant.program)[1])
    rate = segments[0].rate_bp if segments else 0
    upcoming = subsidy.next_step(schedules=scheds, after=now, grant_start=grant.starts_on, hardware=hardware,
                                 size=size, zone=zone())
    version = version_at(versions, now)
    cap = version.annual_cap_fen if version else None
    left = None if cap is None else max(0, cap - year_used(program=grant.program, organization=grant.organization,
                                                             year=local_date(now).year))
    return GrantStatus(grant, rate, upcoming[0] if upcoming else None, upcoming[1] if upcoming else None,
                       grant_balance(grant), cap, left)


@dataclass(frozen=True)
class BurnDown:
    budget_fen: int
    granted_fen: int
    spent_fen: int
    left_fen: int
    spent_last_7_days_fen: int
    runs_out_on: date | None  # at the last 7 days' pace; None when nothing was spent


def burn_down(program: Program, *, now: datetime | None = None) -> BurnDown:
    """The programme's budget, what was granted and spent, and when the budget runs out at the pace of
    the last seven days (the taper lowers the pace later; this is the honest upper bound on speed)."""
    from django.db.models import Sum

    from apps.ledger.models import Entry

    now = now or timezone.now()
    left = budget_left(program)
    spent = program.budget_fen - left if program.state != Program.State.DRAFT else 0
    granted = program.grants.aggregate(total=Sum("amount_fen"))["total"] or 0
    recent = -(Entry.objects.filter(account__organization_id=program.organization_id, account__kind=BUDGET_KIND,
                                    account__reference=program.reference, amount_fen__lt=0,
                                    transaction__created_at__gte=now - timedelta(days=7))
               .aggregate(total=Sum("amount_fen"))["total"] or 0)
    runs_out = None
    if recent > 0 and left > 0:
        runs_out = local_date(now) + timedelta(days=-(-left * 7 // recent))
    return BurnDown(program.budget_fen, granted, spent, left if program.state != Program.State.DRAFT else
                    program.budget_fen, recent, runs_out)


def programs_of(organization: Organization) -> QuerySet[Program]:
    return Program.objects.filter(organization=organization).select_related("organization")


def open_programs() -> QuerySet[Program]:
    return (Program.objects.filter(state=Program.State.OPEN, killed_at__isnull=True)
            .select_related("organization").prefetch_related("organization__jurisdiction"))


def applications_for(organization: Organization):
    """A government organization sees the applications to its programmes; a customer its own."""
    from .models import Application

    queryset = Application.objects.select_related("program", "program__organization", "organization")
    if organization.kind == Organization.Kind.GOVERNMENT:
        return queryset.filter(program__organization=organization)
    return queryset.filter(organization=organization)


def voucher_charges(organization: Organization, limit: int = 50) -> list:
    """The customer's recent charges with their voucher line (share, co-pay, why)."""
    from apps.ledger.models import LedgerTransaction

    return list(LedgerTransaction.objects.filter(organization=organization, kind=LedgerTransaction.Kind.CHARGE,
                                                 details__has_key="voucher").order_by("-created_at")[:limit])


def idle_flags_for(organization: Organization):
    """The idle-usage flags of a government organization's programmes, open ones first."""
    from django.db.models import Case, IntegerField, Value, When

    from .models import IdleFlag

    return (IdleFlag.objects.filter(grant__program__organization=organization)
            .select_related("grant__program", "grant__organization", "usage_record")
            .annotate(open_first=Case(When(state="open", then=Value(0)), default=Value(1),
                                      output_field=IntegerField()))
            .order_by("open_first", "-created_at"))


def claims_for(organization: Organization):
    """A government organization sees the claims to its programmes; a customer its own."""
    from .models import Claim

    queryset = Claim.objects.select_related("grant__program", "grant__organization")
    if organization.kind == Organization.Kind.GOVERNMENT:
        return queryset.filter(grant__program__organization=organization)
    return queryset.filter(grant__organization=organization)


@dataclass(frozen=True)
class Estimate:
    hourly: object
    voucher_hourly: object
    you_pay_hourly: object
    rate_bp: int
    grant: Grant | None
    eligible_regions: list[str]
    refused: list[dict]


def booking_estimate(*, organization: Organization, accelerator_model, region, billing_mode: str, quote,
                     now: datetime | None = None) -> Estimate:
    """"You pay X, the voucher pays Y" for a shape about to be booked: the grant that would fund usage
    starting now (the choosing rule), its rate today, and the regions where the customer's vouchers count.
    The provider is not known before placement, so the related-party check happens at charge time."""
    from decimal import Decimal

    from apps.billing.models import UsageRecord

    from .funding import grant_choose

    now = now or timezone.now()
    probe = UsageRecord(organization=organization, region=region, accelerator_model=accelerator_model,
                        billing_mode=billing_mode, started_at=now, accrued_through=now + timedelta(hours=1),
                        hourly=quote.hourly, off_peak_hourly=quote.hourly)
    grant, refused = grant_choose(record=probe, provider=None)
    rate = 0
    if grant is not None:
        rate = grant_status(grant, hardware=subsidy.hardware_class(accelerator_model.vendor), now=now).rate_bp
    voucher = (Decimal(quote.hourly) * rate / subsidy.BP).quantize(Decimal("0.000001"))
    regions: set[str] = set()
    for held in grants_of(organization).filter(state=Grant.State.ACTIVE):
        version = version_at(published_versions(held.program), now)
        if version is None or held.program.state != Program.State.OPEN:
            continue
        codes = [r.code for r in version.compute_regions.all()] or list(
            held.program.organization.jurisdiction.values_list("code", flat=True))
        regions.update(codes)
    return Estimate(quote.hourly, voucher, Decimal(quote.hourly) - voucher, rate, grant, sorted(regions), refused)


@dataclass(frozen=True)
class RevenueMonth:
    month: date
    charges: int
    charged_fen: int
    voucher_fen: int
    provider_share_fen: int
    voucher_funded_share_fen: int  # the provider's share × voucher / charge, per charge, rounded half-up


def provider_voucher_revenue(organization: Organization, *, months: int = 12,
                             now: datetime | None = None) -> list[RevenueMonth]:
    """Which of a provider's revenue was voucher-funded, by month (newest first)."""
    from collections import defaultdict
    from decimal import Decimal

    from apps.ledger.models import LedgerTransaction

    now = now or timezone.now()
    since = (local_date(now).replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    rows = (LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.CHARGE,
                                             details__provider_organization=str(organization.pk),
                                             details__voucher__share_fen__gt=0,
                                             created_at__gte=subsidy.local_midnight(since, zone()))
            .values_list("created_at", "details"))
    totals: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for created_at, details in rows:
        month = local_date(created_at).replace(day=1)
        amount, share = int(details.get("amount_fen", 0)), int(details["voucher"]["share_fen"])
        provider = int(details.get("provider_share_fen", 0))
        bucket = totals[month]
        bucket[0] += 1
        bucket[1] += amount
        bucket[2] += share
        bucket[3] += provider
        bucket[4] += subsidy.round_fen(Decimal(provider) * share / amount) if amount else 0
    return [RevenueMonth(month, *values) for month, values in sorted(totals.items(), reverse=True)]


def spike_flags_for(organization: Organization):
    from .models import SpikeFlag

    return (SpikeFlag.objects.filter(program__organization=organization)
            .select_related("program", "program__organization", "organization").order_by("state", "-created_at"))
