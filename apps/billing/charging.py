"""Posting metered usage to the ledger, continuously (every minute) and when usage stops.

Each usage record tracks its exact accrued cost (Decimal fen) and what was posted (integer fen). A
charge posts ``round_half_up(accrued) − posted``, so the posted total of a record always equals its
invoice line, rounded once. The provider's share of each charge follows the same cumulative rule.
When the wallet cannot cover a charge, what it holds is taken and the rest stays outstanding on the
record (arrears), collected by the next run after a top-up.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.ledger.services import InsufficientFunds, customer_charge
from apps.scheduling.models import Assignment

from .funds import funds_short
from .metering import usage_advance
from .models import UsageRecord
from .pricing import round_fen

logger = logging.getLogger(__name__)


def usage_charge(*, record_id, now: datetime | None = None) -> int:
    """Bring one record (and any continuation it splits into) up to date and post what is due.
    Returns the fen posted. Safe to run concurrently and repeatedly."""
    now = now or timezone.now()
    with transaction.atomic():
        assignment_id = UsageRecord.objects.filter(pk=record_id).values_list("assignment_id", flat=True).first()
        if assignment_id is None:
            return 0
        # The heartbeat that ends an assignment holds its row while closing the record: same lock order.
        Assignment.objects.select_for_update().filter(pk=assignment_id).first()
        record = (UsageRecord.objects.select_for_update(of=("self",))
                  .select_related("organization", "provider_organization", "region", "workload",
                                  "accelerator_model").get(pk=record_id))
        return sum(_collect(record=piece, now=now) for piece in usage_advance(record=record, now=now))


def _collect(*, record: UsageRecord, now: datetime) -> int:
    target = round_fen(record.cost_fen)
    due = target - record.charged_fen
    if due <= 0:
        _settle(record, target)
        return 0
    try:
        return _post(record=record, amount=due, target=target)
    except InsufficientFunds as short:
        available = min(short.available_fen, due)
        posted = 0
        if available > 0:
            try:
                posted = _post(record=record, amount=available, target=target)
            except InsufficientFunds:
                posted = 0  # spent meanwhile by a concurrent charge: the next run tries again
        funds_short(organization=record.organization, now=now)
        return posted


def _post(*, record: UsageRecord, amount: int, target: int) -> int:
    after = record.charged_fen + amount
    provider_target = round_fen(record.provider_fen)
    provider_after = min(round_fen(Decimal(provider_target) * after / target), provider_target)
    share = max(0, min(provider_after - record.provider_charged_fen, amount))
    customer_charge(
        organization=record.organization, amount_fen=amount, idempotency_key=f"usage:{record.pk}:{after}",
        memo=_memo(record), provider_organization=record.provider_organization, provider_share_fen=share,
        details={"usage_record": str(record.pk), "workload": str(record.workload_id),
                 "price_book": record.price_book_id, "cost_fen": str(record.cost_fen)})
    record.charged_fen, record.provider_charged_fen = after, record.provider_charged_fen + share
    record.settled = not record.is_open and after >= target
    record.save(update_fields=["charged_fen", "provider_charged_fen", "settled"])
    return amount


def _settle(record: UsageRecord, target: int) -> None:
    settled = not record.is_open and record.charged_fen >= target
    if settled != record.settled:
        record.settled = settled
        record.save(update_fields=["settled"])


def _memo(record: UsageRecord) -> str:
    model = record.accelerator_model.name if record.accelerator_model else "?"
    return (f"{record.workload.name}: {model}, {record.region.code}, {record.billing_mode}, "
            f"{record.started_at:%Y-%m-%d %H:%M:%S}–{record.accrued_through:%H:%M:%S}")


def usage_charge_all(*, now: datetime | None = None) -> dict:
    """The beat job: every record that is open or not yet fully charged."""
    now = now or timezone.now()
    posted = failed = 0
    for record_id in list(UsageRecord.objects.filter(settled=False).values_list("pk", flat=True)):
        try:
            posted += usage_charge(record_id=record_id, now=now)
        except Exception:  # one broken record must not stop everyone else's billing
            logger.exception("charging usage record %s failed", record_id)
            failed += 1
    return {"posted_fen": posted, "failed": failed}
