"""Usage records from what agents confirm: an assignment's start and stop, to the second.

Billing only ever runs up to a time an agent confirmed: the open record of a running assignment
accrues to the assignment's last report (``Assignment.last_reported_at``, the server time of the last
heartbeat that said it was running), a stop closes it at the agent's finish time, a lost node closes it
at the node's last heartbeat. Because accrual never passes a confirmed time, a late stop can never take
back what was already charged. Each start and end is an event with an id, applied once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.scheduling.models import Allocation, Assignment

from . import pricing
from .models import MeterEvent, PriceBook, UsageRecord
from .quotes import price_quote

logger = logging.getLogger(__name__)

RUNNING_STATES = {Assignment.State.STARTING, Assignment.State.RUNNING}
ENDED_STATES = {Assignment.State.SUCCEEDED, Assignment.State.FAILED, Assignment.State.STOPPED}


def whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


# --- events --------------------------------------------------------------------------------------------

_EVENT_INSERT = """
INSERT INTO billing_meterevent (event_id, assignment_id, kind, at, received_at)
VALUES (%s, %s, %s, %s, now()) ON CONFLICT (event_id) DO NOTHING RETURNING id
"""


def meter_event_record(*, event_id: str, assignment: Assignment, kind: str, at: datetime) -> bool:
    """Store an event once; True when it is new (and so must be applied). A repeat changes nothing."""
    with connection.cursor() as cursor:
        cursor.execute(_EVENT_INSERT, [event_id, assignment.pk, kind, at])
        return cursor.fetchone() is not None


def meter_assignment(*, assignment: Assignment) -> list[UsageRecord]:
    """Apply what an assignment's state says: the start of its usage, its end, or both (a late report
    of a short job). Returns the records that ended, for charging."""
    ended: list[UsageRecord] = []
    if assignment.started_at is None:
        return ended  # never ran (stopped or lost while pending): nothing to bill
    start = whole_second(assignment.started_at)
    if meter_event_record(event_id=f"assignment:{assignment.pk}:start", assignment=assignment,
                          kind=MeterEvent.Kind.START, at=start):
        usage_open(assignment=assignment, at=start)
    if assignment.state in ENDED_STATES:
        at = whole_second(assignment.finished_at or timezone.now())
        kind, reason = MeterEvent.Kind.STOP, UsageRecord.EndReason.STOPPED
    elif assignment.state == Assignment.State.LOST:
        # The node went silent: bill to its last confirmed heartbeat, not to when we noticed.
        heartbeat = assignment.node.last_heartbeat_at or assignment.finished_at or timezone.now()
        at = whole_second(heartbeat)
        kind, reason = MeterEvent.Kind.LOST, UsageRecord.EndReason.NODE_LOST
    else:
        return ended
    if meter_event_record(event_id=f"assignment:{assignment.pk}:end", assignment=assignment, kind=kind, at=at):
        ended += usage_end(assignment=assignment, at=at, reason=reason)
    return ended


# --- records -------------------------------------------------------------------------------------------

def _shape(allocations: list[Allocation]) -> dict:
    """The shape to price, from the slices the assignment holds (all on one node, one model)."""
    workload, device = allocations[0].workload, allocations[0].device
    if workload.gpu_count:
        return {"gpu_count": len(allocations)}
    if allocations[0].profile:
        return {"profile": allocations[0].profile}
    card_memory = device.model.memory_mib if device.model else device.memory_total_mib
    # A device may report a little more memory than the catalog card: bill at most the whole card.
    return {"gpu_milli": min(max(allocations[0].compute_milli, 1), 999),
            "gpu_memory_mib": max(1, min(allocations[0].memory_mib, card_memory))}


def _price(record: UsageRecord, at: datetime) -> None:
    """Fill a record's rates from the quote at ``at``; a shape without a price is metered at zero."""
    shape = {"gpu_count": record.gpu_count, "gpu_milli": record.gpu_milli,
             "gpu_memory_mib": record.gpu_memory_mib, "profile": record.profile}
    try:
        if record.accelerator_model is None:
            raise ValidationError({"accelerator_model": ["unknown accelerator model"]})
        quote = price_quote(organization=record.organization, accelerator_model=record.accelerator_model,
                            region=record.region, billing_mode=record.billing_mode, at=at, **shape)
    except ValidationError as error:
        logger.error("usage of workload %s cannot be priced: %s", record.workload_id, error)
        record.price_book = None
        return
    record.price_book_id = quote.price_book_id
    record.customer_tier = quote.customer_tier
    record.card_fraction, record.list_hourly, record.hourly = quote.card_fraction, quote.list_hourly, quote.hourly
    record.off_peak_hourly = quote.off_peak_hourly if quote.off_peak_hourly is not None else quote.hourly
    record.provider_hourly = quote.provider_hourly
    record.provider_off_peak_hourly = (quote.provider_off_peak_hourly if quote.provider_off_peak_hourly is not None
                                       else quote.provider_hourly)
    record.formula = quote.formula


def usage_open(*, assignment: Assignment, at: datetime) -> UsageRecord | None:
    """The open usage record of an assignment that started at ``at`` (None for CPU-only work)."""
    allocations = list(Allocation.objects.filter(assignment=assignment, device__isnull=False)
                       .select_related("workload__organization", "device__model", "node__cluster__region"))
    if not allocations:
        return None
    workload, node = allocations[0].workload, allocations[0].node
    record = UsageRecord(
        organization=workload.organization, provider_organization_id=node.organization_id, workload=workload,
        assignment=assignment, cluster=node.cluster, region=node.cluster.region,
        accelerator_model=allocations[0].device.model, billing_mode=workload.billing_mode,
        started_at=at, accrued_through=at, **_shape(allocations))
    _price(record, at)
    record.save()
    return record


def usage_end(*, assignment: Assignment, at: datetime, reason: str) -> list[UsageRecord]:
    """Close an assignment's open record at ``at`` (never before what was already accrued), split at
    any month or price change on the way. Returns the closed records."""
    record = UsageRecord.objects.select_for_update().filter(assignment=assignment, ended_at__isnull=True).first()
    if record is None:
        return []
    end = max(at, record.accrued_through)
    records = usage_roll(record=record, until=end)
    last = records[-1]
    last.ended_at, last.end_reason = end, reason
    usage_accrue(record=last, until=end)
    return records


def usage_accrue(*, record: UsageRecord, until: datetime) -> UsageRecord:
    """Recompute a record's seconds and exact cost from its start to ``until`` (or its end). Whole,
    not incremental, so repeating it is harmless and the cost is exact."""
    end = min(until, record.ended_at) if record.ended_at else until
    end = max(end, record.started_at)
    total = int((end - record.started_at).total_seconds())
    off_peak = pricing.off_peak_seconds(start=record.started_at, end=end, windows=record.region.off_peak_hours or [],
                                        timezone_name=record.region.timezone or settings.TIME_ZONE)
    if record.off_peak_hourly == record.hourly and record.provider_off_peak_hourly == record.provider_hourly:
        off_peak = 0  # no off-peak discount here: all seconds are billed alike
    record.peak_seconds, record.off_peak_seconds, record.accrued_through = total - off_peak, off_peak, end
    record.cost_fen = pricing.cost_fen(hourly=record.hourly, off_peak_hourly=record.off_peak_hourly,
                                       peak_seconds=record.peak_seconds, off_peak_seconds=off_peak)
    record.provider_fen = pricing.cost_fen(hourly=record.provider_hourly,
                                           off_peak_hourly=record.provider_off_peak_hourly,
                                           peak_seconds=record.peak_seconds, off_peak_seconds=off_peak)
    record.save()
    return record


def month_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(moment: datetime) -> datetime:
    first = month_start(moment)
    year, month = (first.year + 1, 1) if first.month == 12 else (first.year, first.month + 1)
    return first.replace(year=year, month=month)


def _next_boundary(after: datetime, until: datetime) -> tuple[datetime, str] | None:
    """The first month start or price book start in (after, until)."""
    candidates = [(next_month_start(after), UsageRecord.EndReason.MONTH_END)]
    book_start = (PriceBook.objects.filter(published_at__isnull=False, effective_from__gt=after)
                  .order_by("effective_from").values_list("effective_from", flat=True).first())
    if book_start is not None:
        candidates.append((book_start, UsageRecord.EndReason.PRICE_CHANGE))
    boundary = min(candidates)
    return boundary if boundary[0] < until else None


def usage_roll(*, record: UsageRecord, until: datetime) -> list[UsageRecord]:
    """Split a record at every month start and price change before ``until``: each piece is closed at
    the boundary and continued at the prices in force from there. Returns the pieces, last one last."""
    pieces = [record]
    boundary = _next_boundary(record.started_at, until)
    while boundary is not None:
        at, reason = boundary
        current = pieces[-1]
        final_end, final_reason = current.ended_at, current.end_reason
        current.ended_at, current.end_reason = at, reason
        usage_accrue(record=current, until=at)
        follower = UsageRecord(
            organization_id=current.organization_id, provider_organization_id=current.provider_organization_id,
            workload_id=current.workload_id, assignment_id=current.assignment_id, cluster_id=current.cluster_id,
            region=current.region, accelerator_model=current.accelerator_model, billing_mode=current.billing_mode,
            gpu_count=current.gpu_count, gpu_milli=current.gpu_milli, gpu_memory_mib=current.gpu_memory_mib,
            profile=current.profile, started_at=at, accrued_through=at, ended_at=final_end,
            end_reason=final_reason, previous=current)
        follower.organization = current.organization
        _price(follower, at)
        follower.save()
        pieces.append(follower)
        boundary = _next_boundary(at, until)
    return pieces


def confirmed_until(*, record: UsageRecord, now: datetime) -> datetime:
    """How far an open record may be billed: the assignment's last agent report, never past now."""
    reported = Assignment.objects.filter(pk=record.assignment_id).values_list("last_reported_at", flat=True).first()
    until = whole_second(min(reported or record.started_at, now))
    return max(until, record.accrued_through)


def usage_advance(*, record: UsageRecord, now: datetime | None = None) -> list[UsageRecord]:
    """Bring a record (locked by the caller) up to date: an open one accrues to its confirmed time,
    split at boundaries on the way. Returns every record that may have something to charge."""
    if not record.is_open:
        return [record]
    until = confirmed_until(record=record, now=now or timezone.now())
    pieces = usage_roll(record=record, until=until)
    usage_accrue(record=pieces[-1], until=until)
    return pieces


def meter_reconcile(*, since: datetime) -> int:
    """Apply what the signals may have missed (a receiver error, a deploy between commit and signal):
    assignments that ran since ``since`` without their events. Cheap when nothing is missing."""
    applied = 0
    recent = Assignment.objects.filter(started_at__isnull=False).filter(_recent(since)).select_related("node")
    seen = set(MeterEvent.objects.filter(assignment__in=recent).values_list("event_id", flat=True))
    for assignment in recent:
        needs_end = assignment.state in ENDED_STATES or assignment.state == Assignment.State.LOST
        if (f"assignment:{assignment.pk}:start" not in seen
                or (needs_end and f"assignment:{assignment.pk}:end" not in seen)):
            with transaction.atomic():
                meter_assignment(assignment=assignment)
            applied += 1
    return applied


def _recent(since: datetime) -> Q:
    return Q(last_reported_at__gte=since) | Q(finished_at__gte=since) | Q(
        finished_at__isnull=True, state__in=list(RUNNING_STATES))
