"""Celery tasks of billing (queue ``billing``): thin wrappers that load ids and call services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .charging import usage_charge, usage_charge_all
from .funds import funds_review
from .invoicing import invoices_close_month
from .metering import meter_reconcile


@shared_task(name="billing.charge_usage", acks_late=True)
def charge_usage() -> dict:
    """Every minute: apply missed meter events, post accrued usage, enforce the out-of-funds grace."""
    now = timezone.now()
    reconciled = meter_reconcile(since=now - timedelta(hours=1))
    result = usage_charge_all(now=now)
    return {"reconciled": reconciled, **result, **funds_review(now=now)}


@shared_task(name="billing.charge_records", acks_late=True)
def charge_records(record_ids: list[str]) -> int:
    """At stop: charge the records that just closed, without waiting for the minute."""
    return sum(usage_charge(record_id=record_id) for record_id in record_ids)


@shared_task(name="billing.close_month", acks_late=True)
def close_month() -> int:
    """On the 1st: issue every customer's invoice for the month that just ended."""
    return len(invoices_close_month(now=timezone.now()))
