"""Work dispatch: the assignments the scheduler hands to node agents, and their stop. Telemetry carries
them to the agent in heartbeat replies and brings back what the agent reports."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from agents.protocol import AssignmentSpec, ProtocolError
from apps.catalog.models import Node
from apps.catalog.signals import node_retiring

from .models import Assignment
from .signals import assignment_state_changed


@transaction.atomic
def assignment_create(*, node: Node, spec: dict[str, Any]) -> Assignment:
    """Work for the node's agent; the spec is stored as the protocol's AssignmentSpec writes it."""
    try:
        spec = AssignmentSpec.from_dict(spec).to_dict()
    except ProtocolError as error:
        raise ValidationError({f"spec.{key}": messages for key, messages in error.errors.items()}) from None
    return Assignment.objects.create(organization_id=node.organization_id, node=node, spec=spec)


@transaction.atomic
def assignment_stop(*, assignment: Assignment) -> Assignment:
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if not assignment.is_final:
        previous_state = assignment.state
        if assignment.state == Assignment.State.PENDING:
            assignment.state = Assignment.State.STOPPED  # never started: nothing for the agent to stop
            assignment.finished_at = timezone.now()
        assignment.desired = Assignment.Desired.STOP
        assignment.save(update_fields=["desired", "state", "finished_at"])
        if assignment.state != previous_state:
            assignment_state_changed.send(sender=Assignment, assignment=assignment, previous_state=previous_state)
    return assignment


def assignments_stop_on_node(*, node: Node) -> int:
    """Ask the agent to stop everything on a node that is being drained or decommissioned."""
    count = 0
    for assignment in Assignment.objects.filter(node=node).exclude(state__in=Assignment.FINAL_STATES):
        assignment_stop(assignment=assignment)
        count += 1
    return count


@receiver(node_retiring, dispatch_uid="scheduling_stop_work_on_retiring_node")
def _stop_work_on_retiring_node(sender, node: Node, **kwargs) -> None:
    assignments_stop_on_node(node=node)
