"""Meters usage from what agents report about their assignments, and checks funds before work is booked
or started. Connected in BillingConfig.ready(); telemetry and booking know nothing about billing."""

from __future__ import annotations

import logging

from celery import current_app
from django.db import transaction
from django.dispatch import receiver

from apps.booking.models import Workload
from apps.booking.signals import workload_admission
from apps.catalog.models import Node
from apps.scheduling.models import Assignment
from apps.scheduling.signals import assignment_state_changed
from apps.telemetry.signals import node_unreachable

from .funds import funds_runway_check
from .metering import meter_assignment

logger = logging.getLogger(__name__)


@receiver(assignment_state_changed, dispatch_uid="billing_meter_assignment")
def meter_on_assignment_change(sender, assignment: Assignment, previous_state: str, **kwargs) -> None:
    _meter([assignment])


@receiver(node_unreachable, dispatch_uid="billing_meter_node_lost")
def meter_on_node_lost(sender, node: Node, **kwargs) -> None:
    # Its assignments were just declared lost (each already signalled); this catches any the
    # per-assignment signal missed. Events are idempotent, so a second application changes nothing.
    _meter(list(Assignment.objects.filter(node=node, state=Assignment.State.LOST, started_at__isnull=False)))


@receiver(workload_admission, sender=Workload, dispatch_uid="billing_funds_runway")
def funds_on_admission(sender, workload: Workload, stage: str, **kwargs) -> None:
    """A prepaid wallet must cover the runway before work is booked or started (raises to refuse)."""
    funds_runway_check(workload=workload, stage=stage)


def _meter(assignments: list[Assignment]) -> None:
    ended = []
    for assignment in assignments:
        try:
            with transaction.atomic():  # a savepoint: a billing bug must never fail the agent's report
                ended += meter_assignment(assignment=assignment)
        except Exception:
            # The minutely reconciliation applies the events later (meter_reconcile).
            logger.exception("metering assignment %s failed", assignment.pk)
    ids = [str(record.pk) for record in ended]
    if ids:
        transaction.on_commit(lambda: current_app.send_task("billing.charge_records", args=[ids]))
