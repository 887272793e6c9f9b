"""Keeps workloads in step with what agents report about their assignments, and gives capacity back
when work ends. Connected in SchedulingConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from apps.booking.lifecycle import FINAL, can_transition, workload_transition
from apps.booking.models import Workload
from apps.telemetry.models import Assignment
from apps.telemetry.signals import assignment_state_changed

from .models import Allocation
from .services import workload_release

# assignment state → workload state
_FOLLOW = {
    Assignment.State.STARTING: Workload.State.STARTING,
    Assignment.State.RUNNING: Workload.State.RUNNING,
    Assignment.State.SUCCEEDED: Workload.State.SUCCEEDED,
    Assignment.State.FAILED: Workload.State.FAILED,
    Assignment.State.STOPPED: Workload.State.STOPPED,
    Assignment.State.LOST: Workload.State.LOST,
}


@receiver(assignment_state_changed, dispatch_uid="scheduling_follow_assignment")
def follow_assignment(sender, assignment: Assignment, previous_state: str, **kwargs) -> None:
    target = _FOLLOW.get(assignment.state)
    if target is None:
        return
    workload_ids = set(Allocation.objects.filter(assignment=assignment).values_list("workload_id", flat=True))
    for workload in Workload.objects.filter(pk__in=workload_ids):
        if can_transition(workload.state, target):
            reason = _reason(assignment)
            workload = workload_transition(workload=workload, to_state=target, reason=reason)
        if workload.state in FINAL:
            workload_release(workload=workload)


def _reason(assignment: Assignment) -> str:
    if assignment.state == Assignment.State.LOST:
        return f"node {assignment.node_id} stopped reporting; the work on it is lost"
    if assignment.exit_code is not None:
        return f"exit code {assignment.exit_code}"
    return ""
