"""Keeps workloads in step with what agents report about their assignments, gives capacity back when
work ends, and re-places work lost with its node. Connected in SchedulingConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.booking.lifecycle import FINAL, can_transition, workload_transition
from apps.booking.models import Workload
from apps.booking.services import workload_requeue_lost
from apps.catalog.models import Node
from apps.core.reasons import Reason
from apps.scheduling.models import Assignment
from apps.scheduling.signals import assignment_state_changed

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
    # Only the run that holds capacity now: a restarted workload's earlier runs have nothing to say.
    workload_ids = set(Allocation.objects.filter(assignment=assignment, released_at__isnull=True)
                       .values_list("workload_id", flat=True))
    for workload in Workload.objects.filter(pk__in=workload_ids):
        if target == Workload.State.LOST:
            _lost(workload, assignment)
            continue
        if can_transition(workload.state, target):
            requested = workload.state == Workload.State.STOPPING
            workload = workload_transition(workload=workload, to_state=target,
                                           reason=_reason(assignment, stop_requested=requested))
        if workload.state in FINAL:
            workload_release(workload=workload)


def _lost(workload: Workload, assignment: Assignment) -> None:
    """Its node stopped reporting: release what it held, then lost, or pending again if restartable."""
    workload_release(workload=workload)
    node = Node.objects.only("hostname", "last_heartbeat_at").get(pk=assignment.node_id)
    workload_requeue_lost(workload=workload, node_label=node.hostname,
                          lost_at=node.last_heartbeat_at or assignment.finished_at or timezone.now())


def _reason(assignment: Assignment, *, stop_requested: bool = False) -> str:
    if assignment.state == Assignment.State.STOPPED:
        # Ended by our own SIGTERM/SIGKILL: its exit code (143, 137) says nothing the reader needs.
        if stop_requested:
            return Reason(gettext_noop("the run ended as requested"))
        return Reason(gettext_noop("the node's agent stopped the run"))
    if assignment.exit_code is not None:
        return Reason(gettext_noop("exit code %(code)d"), code=assignment.exit_code)
    return ""
