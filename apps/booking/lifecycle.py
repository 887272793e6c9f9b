"""The workload state machine. Every state change goes through ``workload_transition``, which refuses
transitions the machine does not allow and writes the event timeline.

The final states hold no capacity. A workload leaves one only back to ``pending``: restarted by the
customer (``services.workload_restart``) or re-placed after its node was lost
(``services.workload_requeue_lost``); it keeps its id and timeline, and each run has its own
allocations and assignment."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.reasons import reason_data

from .models import Workload, WorkloadEvent

S = Workload.State
FINAL = {S.STOPPED, S.SUCCEEDED, S.FAILED, S.PREEMPTED, S.LOST}

ALLOWED: dict[str, set[str]] = {
    S.PENDING: {S.PLACED, S.STOPPED},
    S.PLACED: {S.STARTING, S.RUNNING, S.SUCCEEDED, S.FAILED, S.STOPPING, S.STOPPED, S.PREEMPTED, S.LOST,
               S.PENDING},
    S.STARTING: {S.RUNNING, S.SUCCEEDED, S.FAILED, S.STOPPING, S.STOPPED, S.PREEMPTED, S.LOST},
    S.RUNNING: {S.SUCCEEDED, S.FAILED, S.STOPPING, S.STOPPED, S.PREEMPTED, S.LOST},
    S.STOPPING: {S.STOPPED, S.SUCCEEDED, S.FAILED, S.LOST},
    S.STOPPED: {S.PENDING}, S.SUCCEEDED: {S.PENDING}, S.FAILED: {S.PENDING}, S.PREEMPTED: {S.PENDING},
    S.LOST: {S.PENDING},
}


def can_transition(from_state: str, to_state: str) -> bool:
    return to_state in ALLOWED.get(from_state, set())


# What a customer may do with a workload in its state. Services enforce these; views, templates and
# the API ask them instead of restating the states.
NOT_STOPPABLE = frozenset({*FINAL, S.STOPPING})  # finished, or already on its way there
RESTARTABLE = frozenset(FINAL)


def workload_is_live(workload: Workload) -> bool:
    """Still changing by itself (pages keep polling it)."""
    return workload.state not in FINAL


def workload_can_stop(workload: Workload) -> bool:
    return workload.state not in NOT_STOPPABLE


def workload_can_restart(workload: Workload) -> bool:
    return workload.state in RESTARTABLE


def workload_can_extend(workload: Workload) -> bool:
    """A reservation's window can be moved later while it has not finished nor is being stopped."""
    return workload.billing_mode == Workload.BillingMode.RESERVED and workload.state not in NOT_STOPPABLE


@transaction.atomic
def workload_transition(*, workload: Workload, to_state: str, reason: str = "") -> Workload:
    workload = Workload.objects.select_for_update().get(pk=workload.pk)
    if workload.state == to_state:
        return workload
    if not can_transition(workload.state, to_state):
        raise ValidationError({"state": [_("A %(from)s workload cannot become %(to)s.")
                                         % {"from": workload.get_state_display(), "to": S(to_state).label}]})
    previous = workload.state
    workload.state = to_state
    fields = ["state"]
    if to_state == S.PLACED:
        workload.placed_at = timezone.now()
        fields += ["placed_at", *workload.pending_reasons_set([])]
    elif to_state == S.PENDING:
        workload.placed_at = None
        fields.append("placed_at")
    workload.save(update_fields=fields)
    WorkloadEvent.objects.create(workload=workload, from_state=previous, to_state=to_state, reason=reason,
                                 reason_data=reason_data(reason))
    return workload
