"""The vouchers' part of every charge (the ledger's funding planner) and of every charge reversal.

For a charge of a usage record, inside the charge's transaction:

1. **Which grant.** A record is funded by one grant at most (``UsageSubsidy``, unique per record: no
   stacking). The first charge of a record binds it to the grant, among the organization's active grants
   whose programme is open and which accept this usage, that pays the **highest rate** at the record's
   first payable second; ties go to the programme that **ends first** (use it before it lapses), then to
   the **older grant**. A record keeps its grant; when the grant runs dry the rest of the record is
   co-paid, and the next record (next month, next run) chooses again.
2. **Locks, one order for everyone:** the programme row, then the grant row (``SELECT … FOR UPDATE``),
   then the ledger accounts in id order (``transaction_post``). Every charge of a programme serializes on
   its row, so the budget, the grant and the annual counter are read and spent by one charge at a time.
3. **How much:** ``subsidy.entitlement`` of the record's exact subsidy (its seconds split at every taper
   step), limited by the grant's balance, the annual cap and the budget (``subsidy.share_limit``).
4. **Lines:** the grant's ``voucher_credit`` −share, the programme's ``program_budget`` −share and its
   ``voucher_issued`` +share (the counter-entry of the grants it issued): the debit side of the charge
   is the share plus the wallet's co-pay, so share + co-pay = charge and the transaction balances.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.billing import pricing
from apps.billing.models import UsageRecord
from apps.ledger.models import Account
from apps.ledger.services import FundingPlan, account_get_or_create
from apps.telemetry.models import AssignmentSample
from apps.tenancy.models import Organization

from . import selectors, subsidy
from .models import DayUse, Grant, IdleFlag, Program, RedemptionMode, SpikeFlag, UsageSubsidy, YearUse
from .selectors import BUDGET_KIND, GRANT_KIND, ISSUED_KIND, Refusal

__all__ = ["BUDGET_KIND", "GRANT_KIND", "voucher_funding", "voucher_reversal"]


def _hardware(record: UsageRecord) -> str:
    return subsidy.hardware_class(record.accelerator_model.vendor if record.accelerator_model else "")


def _cost_of(record: UsageRecord):
    windows = record.region.off_peak_hours or []
    timezone_name = record.region.timezone or settings.TIME_ZONE

    def cost(start: datetime, end: datetime) -> Decimal:
        total = int((end - start).total_seconds())
        off_peak = pricing.off_peak_seconds(start=start, end=end, windows=windows, timezone_name=timezone_name)
        if record.off_peak_hourly == record.hourly:
            off_peak = 0
        return pricing.cost_fen(hourly=record.hourly, off_peak_hourly=record.off_peak_hourly,
                                peak_seconds=total - off_peak, off_peak_seconds=off_peak)

    return cost


def _segments(*, grant: Grant, versions, record: UsageRecord) -> list[subsidy.Segment]:
    return subsidy.rate_segments(
        schedules=selectors.schedules(versions), start=record.started_at, end=record.accrued_through,
        grant_start=grant.starts_on, hardware=_hardware(record), size=record.organization.size_class,
        zone=selectors.zone(), pays_from=selectors.grant_pays_from(grant),
        pays_until=selectors.program_pays_window(grant.program)[1])


def grant_refusal(*, grant: Grant, record: UsageRecord, provider: Organization | None,
                  versions=None) -> Refusal | None:
    """Why this grant cannot fund this record (None: it can)."""
    program = grant.program
    start = max(record.started_at, selectors.grant_pays_from(grant))
    refusal = selectors.program_refusal(program, min(start, record.accrued_through))
    if refusal:
        return refusal
    versions = versions if versions is not None else selectors.published_versions(program)
    version = selectors.version_at(versions, start)
    if version is None:
        return selectors._refuse("no_rules", gettext_noop("No rules of the programme are in force yet."))
    return (selectors.organization_refusal(program=program, version=version, organization=record.organization)
            or selectors.usage_refusal(program=program, version=version, region_id=record.region_id,
                                       vendor=record.accelerator_model.vendor if record.accelerator_model else "",
                                       accelerator_model_id=record.accelerator_model_id,
                                       billing_mode=record.billing_mode)
            or selectors.related_party(customer=record.organization, provider=provider))


def grant_choose(*, record: UsageRecord, provider: Organization | None) -> tuple[Grant | None, list[dict]]:
    """The grant that funds a record (the choosing rule above) and, for each grant that cannot, why."""
    candidates, refusals = [], []
    grants = (Grant.objects.filter(organization=record.organization, state=Grant.State.ACTIVE)
              .select_related("program", "program__organization").order_by("created_at", "id"))
    for grant in grants:
        versions = selectors.published_versions(grant.program)
        refusal = grant_refusal(grant=grant, record=record, provider=provider, versions=versions)
        if refusal is None:
            segments = _segments(grant=grant, versions=versions, record=record)
            paying = [segment.rate_bp for segment in segments if segment.rate_bp]
            if paying:
                candidates.append((-paying[0], grant.program.valid_until, grant.created_at, str(grant.pk), grant))
                continue
            refusal = selectors._refuse("no_rate", gettext_noop("The programme pays nothing for these seconds."))
        refusals.append({"grant": str(grant.pk), "program": str(grant.program_id), **refusal.as_dict()})
    if not candidates:
        return None, refusals
    return min(candidates)[-1], refusals


def voucher_funding(*, organization: Organization, amount_fen: int, provider_organization: Organization | None,
                    details: dict) -> FundingPlan | None:
    """The ledger's funding planner: the voucher share of a usage charge (module docstring)."""
    record_id = details.get("usage_record")
    if not record_id or organization.kind != Organization.Kind.CUSTOMER:
        return None
    use = UsageSubsidy.objects.select_for_update().filter(usage_record_id=record_id).first()
    if use is None and not Grant.objects.filter(organization=organization, state=Grant.State.ACTIVE).exists():
        return None  # the common case: no vouchers at all, one cheap query
    record = (UsageRecord.objects.select_related("region", "accelerator_model", "organization")
              .get(pk=record_id))
    if use is None or use.grant_id is None:
        grant, refusals = grant_choose(record=record, provider=provider_organization)
        if grant is None:
            reason = refusals[0]["message"] if refusals else ""
            UsageSubsidy.objects.update_or_create(usage_record=record, defaults={"reason": reason[:300]})
            return FundingPlan(details={"voucher": {"share_fen": 0, "refused": refusals}})
        use, _created = UsageSubsidy.objects.update_or_create(usage_record=record,
                                                              defaults={"grant": grant, "reason": ""})

    # Locks in the one order: programme, then grant. Re-read both under the lock.
    program = Program.objects.select_for_update().select_related("organization").get(pk=use.grant.program_id)
    grant = Grant.objects.select_for_update().get(pk=use.grant_id)
    grant.program = program
    note = {"program": str(program.pk), "grant": str(grant.pk)}
    if grant.state != Grant.State.ACTIVE:
        return FundingPlan(details={"voucher": {**note, "share_fen": 0, "refused": [
            selectors._refuse("revoked", gettext_noop("The grant was revoked.")).as_dict()]}})
    versions = selectors.published_versions(program, eligibility=False)
    refusal = selectors.program_refusal(program, min(max(record.started_at, selectors.grant_pays_from(grant)),
                                                     record.accrued_through))
    version = selectors.version_at(versions, max(record.started_at, selectors.grant_pays_from(grant)))
    if refusal is None and version is None:
        refusal = selectors._refuse("no_rules", gettext_noop("No rules of the programme are in force yet."))
    if refusal is not None:
        return FundingPlan(details={"voucher": {**note, "share_fen": 0, "refused": [refusal.as_dict()]}})

    segments = _segments(grant=grant, versions=versions, record=record)
    exact = subsidy.subsidy_exact(segments, _cost_of(record))
    wanted = subsidy.entitlement(exact=exact, cost_target=pricing.round_fen(record.cost_fen),
                                 charged_after=record.charged_fen + amount_fen,
                                 already_paid=use.share_fen + use.held_fen + use.claimable_fen)
    year = selectors.local_date(record.started_at).year
    cap = version.annual_cap_fen
    cap_left = None if cap is None else cap - selectors.year_used(program=program, organization=organization,
                                                                  year=year)
    # The three voucher accounts in one query. Their balances cannot fall while we hold the programme's
    # and the grant's rows (every debit of them takes those locks first; a reversal only adds), and the
    # ledger's conditional UPDATE still guards the floors.
    accounts = voucher_accounts(grant=grant, program=program, organization=organization)
    limited = subsidy.share_limit(wanted=wanted, charge=amount_fen, grant_balance=accounts[GRANT_KIND].balance_fen,
                                  annual_cap_left=cap_left, budget_left=accounts[BUDGET_KIND].balance_fen)
    share = limited.share_fen
    note.update({"rule_version": version.number, "year": year, "exact_fen": str(exact), "wanted_fen": wanted,
                 "share_fen": share, "limited_by": limited.limited_by, "limits": limited.limits,
                 "segments": [{"from": s.start.isoformat(), "to": s.end.isoformat(), "rate_bp": s.rate_bp}
                              for s in segments]})
    if program.redemption_mode == RedemptionMode.CLAIM:
        # Claim after settlement: the customer pays in full now; what the voucher would pay is recorded
        # and claimed after the month's invoice (limits apply when the claim is approved).
        UsageSubsidy.objects.filter(pk=use.pk).update(exact_fen=exact, claimable_fen=F("claimable_fen") + wanted,
                                                      last_limited_by="claim")
        note.update({"share_fen": 0, "claimable_fen": wanted, "limited_by": "claim"})
        return FundingPlan(details={"voucher": note})
    flag = idle_flag_for(record=record, grant=grant) if share else None
    if flag is not None and flag.state != IdleFlag.State.RELEASED:
        # Idle usage: the subsidy is held (open flag) or refused (rejected flag); the customer pays it all.
        held = share if flag.state == IdleFlag.State.OPEN else 0
        UsageSubsidy.objects.filter(pk=use.pk).update(exact_fen=exact, held_fen=F("held_fen") + held,
                                                      last_limited_by="idle")
        note.update({"share_fen": 0, "held_fen": held, "limited_by": "idle", "idle_flag": flag.pk})
        return FundingPlan(details={"voucher": note})
    UsageSubsidy.objects.filter(pk=use.pk).update(exact_fen=exact, last_limited_by=limited.limited_by,
                                                  share_fen=F("share_fen") + share)
    if not share:
        return FundingPlan(details={"voucher": note})
    year_use_add(program=program, organization=organization, year=year, amount=share)
    today = selectors.local_date(timezone.now())
    note["day"] = str(today)
    spike_check(program=program, organization=organization, day=today, amount=share)
    return FundingPlan(lines=subsidy_lines(grant=grant, program=program, share=share, accounts=accounts),
                       covered_fen=share, details={"voucher": note})


_YEAR_USE_ADD = """
INSERT INTO vouchers_yearuse (program_id, organization_id, year, used_fen) VALUES (%s, %s, %s, %s)
ON CONFLICT (program_id, organization_id, year) DO UPDATE SET used_fen = vouchers_yearuse.used_fen + EXCLUDED.used_fen
"""


def year_use_add(*, program: Program, organization, year: int, amount: int) -> None:
    """Add to the annual counter in one statement (callers hold the programme's row lock)."""
    with connection.cursor() as cursor:
        cursor.execute(_YEAR_USE_ADD, [program.pk, getattr(organization, "pk", organization), year, amount])


_DAY_USE_ADD = """
INSERT INTO vouchers_dayuse (program_id, organization_id, day, used_fen) VALUES (%s, %s, %s, %s)
ON CONFLICT (program_id, organization_id, day) DO UPDATE SET used_fen = vouchers_dayuse.used_fen + EXCLUDED.used_fen
RETURNING used_fen
"""


def spike_check(*, program: Program, organization, day, amount: int) -> SpikeFlag | None:
    """Count today's subsidy and flag a spike: today above ``TIDEGRID_VOUCHER_SPIKE_MIN_FEN`` (¥100) and
    more than ``TIDEGRID_VOUCHER_SPIKE_FACTOR`` (5) × the average of the enterprise's subsidised days in
    the 30 days before, once it has at least ``TIDEGRID_VOUCHER_SPIKE_MIN_DAYS`` (7) of them."""
    from django.db.models import Avg, Count

    with connection.cursor() as cursor:
        cursor.execute(_DAY_USE_ADD, [program.pk, getattr(organization, "pk", organization), day, amount])
        today = cursor.fetchone()[0]
    if today < int(getattr(settings, "TIDEGRID_VOUCHER_SPIKE_MIN_FEN", 10_000)):
        return None
    history = (DayUse.objects.filter(program=program, organization=organization, day__lt=day,
                                     day__gte=day - timedelta(days=30), used_fen__gt=0)
               .aggregate(days=Count("id"), mean=Avg("used_fen")))
    if (history["days"] or 0) < int(getattr(settings, "TIDEGRID_VOUCHER_SPIKE_MIN_DAYS", 7)):
        return None
    baseline = int(history["mean"])
    if today <= baseline * float(getattr(settings, "TIDEGRID_VOUCHER_SPIKE_FACTOR", 5)):
        return None
    flag, _created = SpikeFlag.objects.get_or_create(program=program, organization_id=getattr(organization, "pk",
                                                                                             organization),
                                                     day=day, defaults={"subsidy_fen": today, "baseline_fen": baseline})
    return flag


def voucher_accounts(*, grant: Grant, program: Program, organization=None) -> dict:
    """The grant's credit, the programme's budget and its issued counter-entry, by kind (one query when
    they exist, as they do once the programme is open and the grant approved)."""
    organization_id = getattr(organization, "pk", organization) or grant.organization_id
    wanted = {GRANT_KIND: (organization_id, grant.reference), BUDGET_KIND: (program.organization_id, program.reference),
              ISSUED_KIND: (program.organization_id, program.reference)}
    found = {account.kind: account for account in Account.objects.filter(
        kind__in=list(wanted), reference__in=[grant.reference, program.reference],
        organization_id__in=[organization_id, program.organization_id])
        if (account.organization_id, account.reference) == wanted.get(account.kind)}
    for kind, (owner, reference) in wanted.items():
        if kind not in found:
            found[kind] = account_get_or_create(organization=Organization(pk=owner), kind=kind, reference=reference)
    return found


def subsidy_lines(*, grant: Grant, program: Program, share: int, accounts: dict | None = None) -> list:
    """The voucher's side of a subsidy of ``share`` fen: the grant and the budget pay, the issued
    counter-entry takes back what was used."""
    accounts = accounts or voucher_accounts(grant=grant, program=program)
    return [(accounts[GRANT_KIND], -share), (accounts[BUDGET_KIND], -share), (accounts[ISSUED_KIND], share)]


def idle_flag_for(*, record: UsageRecord, grant: Grant) -> IdleFlag | None:
    """The record's idle flag: existing, or raised now when the agent's readings of the slice show it idle
    for most of the billed stretch (at least ``TIDEGRID_VOUCHER_IDLE_MIN_SAMPLES`` readings, more than half
    below ``TIDEGRID_VOUCHER_IDLE_PCT`` % of the booked share of a card). Without readings nothing is
    flagged: backends that cannot attribute use send none."""
    existing = IdleFlag.objects.filter(usage_record=record).first()
    if existing is not None:
        return existing
    threshold = float(getattr(settings, "TIDEGRID_VOUCHER_IDLE_PCT", 5)) * float(record.card_fraction or 1)
    minimum = int(getattr(settings, "TIDEGRID_VOUCHER_IDLE_MIN_SAMPLES", 3))
    readings = list(AssignmentSample.objects.filter(
        assignment_id=record.assignment_id, collected_at__gte=record.started_at,
        collected_at__lte=record.accrued_through).values_list("utilization_pct", flat=True))
    idle = sum(1 for value in readings if value < threshold)
    if len(readings) < minimum or idle * 2 <= len(readings):
        return None
    return IdleFlag.objects.create(usage_record=record, grant=grant, samples=len(readings), idle_samples=idle,
                                   mean_utilization_pct=sum(readings) / len(readings))


def voucher_reversal(*, charge, reversal) -> None:
    """A reversed charge gives its voucher share back: the ledger lines came back with the negated
    charge; here the annual counter and the record's paid share follow."""
    note = (charge.details or {}).get("voucher") or {}
    share = int(note.get("share_fen") or 0)
    if not share:
        return
    YearUse.objects.filter(program_id=note["program"], organization_id=charge.organization_id,
                           year=note["year"]).update(used_fen=F("used_fen") - share)
    if note.get("day"):
        DayUse.objects.filter(program_id=note["program"], organization_id=charge.organization_id,
                              day=note["day"]).update(used_fen=F("used_fen") - share)
    record_id = (charge.details or {}).get("usage_record")
    if record_id:
        UsageSubsidy.objects.filter(usage_record_id=record_id).update(share_fen=F("share_fen") - share)
