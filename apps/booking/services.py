"""Writes for workloads: submit (with quota), stop, restart, re-placement after a lost node, reservations.
The portal, the API and the scheduler all go through these."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.audit.services import audit_record
from apps.core.api.idempotency import idempotency_key_check
from apps.core.reasons import Reason, reason_data
from apps.tenancy.access import Actor, require_role
from apps.tenancy.models import Organization, Role

from .images import image_get
from .lifecycle import (
    NOT_STOPPABLE,
    workload_can_extend,
    workload_can_restart,
    workload_can_stop,
    workload_transition,
)
from .models import IdempotencyKey, OrganizationQuota, Workload, WorkloadEvent
from .rules import PRIORITY_BANDS, booking_band
from .selectors import quota_limits, quota_usage, waits_for_window
from .signals import SUBMIT, workload_admission


@transaction.atomic
def workload_submit(*, actor: Actor, organization: Organization, restartable: bool | None = None,
                    **fields: Any) -> Workload:
    """Create a pending workload; placement for its region is queued once the transaction commits.

    ``restartable`` left out: instances come back by themselves after a lost node, batch jobs do not.
    The organization's quota row is locked while its usage is counted, so concurrent submits cannot
    together exceed the quota.
    """
    require_role(actor, organization, Role.MEMBER, _("Members, admins and owners can book compute; viewers cannot."))
    if organization.kind != Organization.Kind.CUSTOMER:
        raise ValidationError({"organization": [_("Only customer organizations book compute.")]})
    fields = _band_apply(fields)
    workload = Workload(organization=organization, created_by=actor.user, **fields)
    workload.restartable = workload.kind == Workload.Kind.INSTANCE if restartable is None else restartable
    workload.full_clean()
    _spec_apply_image(workload)
    quota_check(organization=organization, gpu_count=workload.gpu_count, slices=_slices(workload))
    workload_admission.send(sender=Workload, workload=workload, stage=SUBMIT)  # e.g. billing's funds check
    if waits_for_window(workload):
        workload.pending_reasons_set([reservation_pending_reason(workload)])
    workload.save()
    audit_record(actor=actor, action="workload.submitted", organization=organization, target=workload,
                 details={"name": workload.name, "region": workload.preferred_region.code})
    _queue_placement(workload)
    return workload


def _band_apply(fields: dict) -> dict:
    """The billing mode's priority band and preemptibility (rules.booking_band), whatever the request said:
    a customer's ``priority`` only orders work inside the band, ``preemptible`` is not the customer's to set."""
    fields = dict(fields)
    mode = fields.get("billing_mode", Workload.BillingMode.ON_DEMAND)
    requested = fields.pop("priority", 0)
    fields.pop("preemptible", None)
    if mode in PRIORITY_BANDS:  # an unknown mode is full_clean's field error
        fields["priority"], fields["preemptible"] = booking_band(billing_mode=mode, customer_priority=requested)
    return fields


def _queue_placement(workload: Workload) -> None:
    region_code = workload.preferred_region.code
    # By name: scheduling depends on booking, not the other way round.
    transaction.on_commit(lambda: current_app.send_task("scheduling.place_pending", args=[region_code]))


def _spec_apply_image(workload: Workload) -> None:
    """The run spec carries the image reference the workload runs with (the curated list may move on);
    an empty command or env is left out, so every way of booking stores the same spec."""
    spec = {key: value for key, value in (workload.spec or {}).items() if value not in ([], {}, None)}
    image = image_get(workload.image) if workload.image else None
    workload.spec = {**spec, "image": image.ref} if image is not None else spec


def _slices(workload: Workload) -> int:
    return 1 if workload.gpu_milli or workload.profile else 0


def _local(workload: Workload, moment, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A moment as the customer reads it: in the time zone of the workload's region."""
    zone = ZoneInfo(workload.preferred_region.timezone or settings.TIME_ZONE)
    return moment.astimezone(zone).strftime(fmt)


def reservation_pending_reason(workload: Workload) -> Reason:
    return Reason(gettext_noop("reserved from %(start)s — waiting for the window"),
                  start=_local(workload, workload.window_start))


# --- quotas ----------------------------------------------------------------------------------------


def _quota_lock(organization: Organization) -> OrganizationQuota:
    """The organization's quota row, locked until the transaction ends (created on first use)."""
    OrganizationQuota.objects.bulk_create([OrganizationQuota(organization=organization)], ignore_conflicts=True)
    return OrganizationQuota.objects.select_for_update().get(organization=organization)


def quota_check(*, organization: Organization, gpu_count: int, slices: int) -> None:
    """Refuse, as a field error, what would take the organization over its quota. Call inside the
    transaction that then saves the workload: the quota row stays locked until it commits."""
    quota = _quota_lock(organization)
    max_cards, max_slices = quota_limits(quota=quota)
    used_cards, used_slices = quota_usage(organization=organization)
    if gpu_count and used_cards + gpu_count > max_cards:
        raise ValidationError({"gpu_count": [_(
            "Your organization may run at most %(max)d cards at a time; %(used)d are in use and this asks for "
            "%(asks)d. Stop a workload or ask TideGrid support to raise the quota.")
            % {"max": max_cards, "used": used_cards, "asks": gpu_count}]})
    if slices and used_slices + slices > max_slices:
        raise ValidationError({"gpu_milli": [_(
            "Your organization may run at most %(max)d slices at a time; %(used)d are in use. Stop a workload "
            "or ask TideGrid support to raise the quota.") % {"max": max_slices, "used": used_slices}]})


def _request_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def workload_submit_idempotent(*, actor: Actor, organization: Organization, idempotency_key: str | None,
                               payload: dict, **fields: Any) -> tuple[Workload, bool]:
    """``workload_submit`` once per Idempotency-Key: a retry with the same key and body returns the first
    workload (created=False); the same key with another body is refused, and so is a key too long to keep."""
    if not idempotency_key_check(idempotency_key):
        return workload_submit(actor=actor, organization=organization, **fields), True
    digest = _request_hash(payload)
    try:
        with transaction.atomic():
            workload = workload_submit(actor=actor, organization=organization, **fields)
            IdempotencyKey.objects.create(organization=organization, key=idempotency_key, request_hash=digest,
                                          workload=workload)
            return workload, True
    except IntegrityError:
        pass  # the key was used: by an earlier request, or by a concurrent one that just committed
    existing = IdempotencyKey.objects.select_related("workload").get(organization=organization, key=idempotency_key)
    if existing.request_hash != digest:
        raise ValidationError({"idempotency_key": [_("This Idempotency-Key was used with a different request.")]})
    return existing.workload, False


@transaction.atomic
def workload_stop(*, actor: Actor, workload: Workload) -> Workload:
    """Stop a workload: a pending one at once; a placed or running one through its agent."""
    require_role(actor, workload.organization_id, Role.MEMBER,
                 _("Members, admins and owners can stop workloads; viewers cannot."))
    return _stop(workload=workload, actor=actor,
                 reason=Reason(gettext_noop("stop requested by %(who)s"), who=actor.label))


@transaction.atomic
def workload_stop_by_platform(*, workload: Workload, reason: str) -> Workload:
    """The platform stops a workload on its own account (its wallet ran out, its reservation ended):
    no customer role is checked; the reason is what the customer reads on the timeline."""
    return _stop(workload=workload, actor=None, reason=reason)


def _stop(*, workload: Workload, actor: Actor | None, reason: str) -> Workload:
    workload = Workload.objects.select_for_update().get(pk=workload.pk)
    if not workload_can_stop(workload):
        return workload
    audit_record(actor=actor, action="workload.stop_requested", organization=workload.organization_id,
                 target=workload, details={"name": workload.name, "state": workload.state, "reason": reason})
    if workload.state == Workload.State.PENDING:
        return workload_transition(workload=workload, to_state=Workload.State.STOPPED,
                                   reason=Reason(gettext_noop("%(reason)s; stopped before it was placed"),
                                                 reason=reason))
    workload = workload_transition(workload=workload, to_state=Workload.State.STOPPING, reason=reason)
    # By name: scheduling (which owns allocations and assignments) depends on booking.
    transaction.on_commit(lambda: current_app.send_task("scheduling.stop_workload", args=[str(workload.pk)]))
    return workload


@transaction.atomic
def workload_restart(*, actor: Actor, workload: Workload) -> Workload:
    """Run a finished workload again: the same workload goes back to pending (same id, settings and
    timeline) and is placed anew; its previous capacity was released when it finished."""
    require_role(actor, workload.organization_id, Role.MEMBER,
                 _("Members, admins and owners can restart workloads; viewers cannot."))
    # Quota row first, workload second: the same order as a submit, so the two never deadlock.
    _quota_lock(workload.organization)
    workload = Workload.objects.select_for_update().select_related("preferred_region").get(pk=workload.pk)
    if not workload_can_restart(workload):
        raise ValidationError({"state": [_("Only a stopped, succeeded, failed or lost workload can be restarted; "
                                           "this one is %(state)s.") % {"state": workload.get_state_display()}]})
    if workload.billing_mode == Workload.BillingMode.RESERVED and workload.window_end <= timezone.now():
        raise ValidationError({"window_end": [_("Its reserved window ended at %(end)s; extend the reservation or "
                                                "book a new one.") % {"end": _local(workload, workload.window_end)}]})
    quota_check(organization=workload.organization, gpu_count=workload.gpu_count, slices=_slices(workload))
    workload_admission.send(sender=Workload, workload=workload, stage=SUBMIT)
    workload.restarts += 1
    workload.auto_restarts = 0
    fields = workload.pending_reasons_set([reservation_pending_reason(workload)] if waits_for_window(workload) else [])
    workload.save(update_fields=["restarts", "auto_restarts", *fields])
    workload = workload_transition(workload=workload, to_state=Workload.State.PENDING,
                                   reason=Reason(gettext_noop("restarted by %(who)s"), who=actor.label))
    audit_record(actor=actor, action="workload.restarted", organization=workload.organization_id, target=workload,
                 details={"name": workload.name, "restarts": workload.restarts})
    _queue_placement(workload)
    return workload


@transaction.atomic
def workload_requeue_lost(*, workload: Workload, node_label: str, lost_at) -> Workload:
    """A workload whose node stopped reporting: lost, and placed again elsewhere when it may be.

    Called by scheduling once the lost work's capacity is released. Restartable workloads go back to
    pending at most TIDEGRID_WORKLOAD_MAX_AUTO_RESTARTS times in a row; the rest stay lost, with a
    reason that says what to do.
    """
    workload = Workload.objects.select_for_update().select_related("preferred_region").get(pk=workload.pk)
    when = _local(workload, lost_at, "%H:%M")
    limit = settings.TIDEGRID_WORKLOAD_MAX_AUTO_RESTARTS
    # A workload being stopped when its node vanished is gone, as asked: never bring it back.
    again = workload.restartable and workload.auto_restarts < limit and workload.state != Workload.State.STOPPING
    if again and workload.billing_mode == Workload.BillingMode.RESERVED and workload.window_end <= timezone.now():
        again = False
    if again:
        reason = Reason(gettext_noop("node %(node)s stopped reporting at %(time)s; re-placing on another node"),
                        node=node_label, time=when)
    elif not workload.restartable or workload.state == Workload.State.STOPPING:
        reason = Reason(gettext_noop("node %(node)s stopped reporting at %(time)s; the work on it is lost. It is "
                                     "not restarted automatically: restart it when you are ready."),
                        node=node_label, time=when)
    else:
        reason = Reason(gettext_noop("node %(node)s stopped reporting at %(time)s; the work on it is lost. It was "
                                     "already re-placed %(count)d times in a row, so it stays lost: restart it "
                                     "when you are ready."), node=node_label, time=when, count=workload.auto_restarts)
    if workload.state != Workload.State.LOST:
        workload = workload_transition(workload=workload, to_state=Workload.State.LOST, reason=reason)
    else:  # already lost (the transition recorded the generic reason): say what happens now
        WorkloadEvent.objects.create(workload=workload, from_state=Workload.State.LOST,
                                     to_state=Workload.State.LOST, reason=reason, reason_data=reason_data(reason))
    if not again:
        return workload
    workload.restarts += 1
    workload.auto_restarts += 1
    fields = workload.pending_reasons_set([])
    workload.save(update_fields=["restarts", "auto_restarts", *fields])
    workload = workload_transition(workload=workload, to_state=Workload.State.PENDING, reason=Reason(
        gettext_noop("automatic restart %(n)d of at most %(limit)d after its node was lost"),
        n=workload.auto_restarts, limit=limit))
    audit_record(actor=None, action="workload.requeued", organization=workload.organization_id, target=workload,
                 details={"name": workload.name, "node": node_label, "auto_restarts": workload.auto_restarts})
    _queue_placement(workload)
    return workload


@transaction.atomic
def workload_reservation_extend(*, actor: Actor, workload: Workload, window_end) -> Workload:
    """Move a reservation's end later (never earlier: the window is what was sold)."""
    require_role(actor, workload.organization_id, Role.MEMBER,
                 _("Members, admins and owners can extend reservations; viewers cannot."))
    workload = Workload.objects.select_for_update().select_related("preferred_region").get(pk=workload.pk)
    if workload.billing_mode != Workload.BillingMode.RESERVED:
        raise ValidationError({"billing_mode": [_("Only reserved bookings have a window to extend.")]})
    if not workload_can_extend(workload):
        raise ValidationError({"state": [_("This reservation is %(state)s; restart it or book a new one.")
                                         % {"state": workload.get_state_display()}]})
    if window_end is None:
        raise ValidationError({"window_end": [_("Give the new end of the window.")]})
    if window_end <= workload.window_end:
        raise ValidationError({"window_end": [_("The new end must be later than the current one (%(end)s).")
                                              % {"end": _local(workload, workload.window_end)}]})
    if window_end - workload.window_start > timedelta(hours=settings.TIDEGRID_RESERVATION_MAX_HOURS):
        raise ValidationError({"window_end": [_("A reservation lasts at most %(hours)d hours; book another window "
                                                "for more.") % {"hours": settings.TIDEGRID_RESERVATION_MAX_HOURS}]})
    previous = workload.window_end
    workload.window_end = window_end
    workload.save(update_fields=["window_end"])
    reason = Reason(gettext_noop("reservation extended from %(old)s to %(new)s by %(who)s"),
                    old=_local(workload, previous), new=_local(workload, window_end), who=actor.label)
    WorkloadEvent.objects.create(workload=workload, from_state=workload.state, to_state=workload.state,
                                 reason=reason, reason_data=reason_data(reason))
    audit_record(actor=actor, action="workload.reservation_extended", organization=workload.organization_id,
                 target=workload, details={"name": workload.name, "from": previous.isoformat(),
                                           "to": window_end.isoformat()})
    return workload


def reservations_end(*, now=None) -> int:
    """Stop the reserved workloads whose window has ended (run by the placement sweep)."""
    now = now or timezone.now()
    ended = (Workload.objects.filter(billing_mode=Workload.BillingMode.RESERVED, window_end__lte=now)
             .exclude(state__in=NOT_STOPPABLE).select_related("preferred_region"))
    count = 0
    for workload in ended:
        with transaction.atomic():
            _stop(workload=workload, actor=None, reason=Reason(gettext_noop("the reserved window ended at %(end)s"),
                                                                 end=_local(workload, workload.window_end)))
        count += 1
    return count
