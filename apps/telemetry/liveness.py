"""Liveness: nodes silent for too long are marked unreachable and their work is lost."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.catalog.models import Node
from apps.scheduling.models import Assignment
from apps.scheduling.signals import assignment_state_changed

from .signals import node_unreachable

# --- liveness ------------------------------------------------------------------------------------


def nodes_mark_unreachable(*, now: datetime | None = None) -> int:
    """Nodes whose last heartbeat is older than the window become unreachable (beat job)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TIDEGRID_NODE_UNREACHABLE_AFTER_S)
    count = 0
    stale = Node.objects.filter(liveness=Node.Liveness.ONLINE, last_heartbeat_at__lt=cutoff).exclude(
        state=Node.State.DECOMMISSIONED)
    for node_id in stale.values_list("id", flat=True):
        with transaction.atomic():
            node = Node.objects.select_for_update().get(pk=node_id)
            if node.liveness != Node.Liveness.ONLINE or node.last_heartbeat_at >= cutoff:
                continue  # a heartbeat arrived meanwhile
            node.liveness = Node.Liveness.UNREACHABLE
            node.save(update_fields=["liveness"])
            _assignments_mark_lost(node=node, now=now)
            node_unreachable.send(sender=Node, node=node)
            audit_record(actor=None, action="node.unreachable", organization=node.organization_id, target=node,
                         details={"hostname": node.hostname, "last_heartbeat_at": node.last_heartbeat_at.isoformat()})
            count += 1
    return count


def _assignments_mark_lost(*, node: Node, now: datetime) -> None:
    """Work on a node that went silent is lost: whoever waits for it hears so now, not when it returns."""
    for assignment in Assignment.objects.select_for_update().filter(node=node).exclude(
            state__in=Assignment.FINAL_STATES):
        previous_state = assignment.state
        assignment.state, assignment.desired, assignment.finished_at = (
            Assignment.State.LOST, Assignment.Desired.STOP, now)
        assignment.save(update_fields=["state", "desired", "finished_at"])
        assignment_state_changed.send(sender=Assignment, assignment=assignment, previous_state=previous_state)
