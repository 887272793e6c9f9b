"""Writes for workloads. The customer-facing booking flow (forms, API, lifecycle) builds on these."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from celery import current_app
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.tenancy.access import Actor, require_role
from apps.tenancy.models import Organization, Role

from .models import IdempotencyKey, Workload


@transaction.atomic
def workload_submit(*, actor: Actor, organization: Organization, **fields: Any) -> Workload:
    """Create a pending workload; placement for its region is queued once the transaction commits."""
    require_role(actor, organization, Role.MEMBER, _("Members, admins and owners can book compute; viewers cannot."))
    if organization.kind != Organization.Kind.CUSTOMER:
        raise ValidationError({"organization": [_("Only customer organizations book compute.")]})
    workload = Workload(organization=organization, created_by=actor.user, **fields)
    workload.full_clean()
    workload.save()
    audit_record(actor=actor, action="workload.submitted", organization=organization, target=workload,
                 details={"name": workload.name, "region": workload.preferred_region.code})
    region_code = workload.preferred_region.code
    # By name: scheduling depends on booking, not the other way round.
    transaction.on_commit(lambda: current_app.send_task("scheduling.place_pending", args=[region_code]))
    return workload


def _request_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def workload_submit_idempotent(*, actor: Actor, organization: Organization, idempotency_key: str | None,
                               payload: dict, **fields: Any) -> tuple[Workload, bool]:
    """``workload_submit`` once per Idempotency-Key: a retry with the same key and body returns the first
    workload (created=False); the same key with another body is refused."""
    if not idempotency_key:
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
    from .lifecycle import FINAL, workload_transition

    workload = Workload.objects.select_for_update().get(pk=workload.pk)
    if workload.state in FINAL or workload.state == Workload.State.STOPPING:
        return workload
    audit_record(actor=actor, action="workload.stop_requested", organization=workload.organization_id,
                 target=workload, details={"name": workload.name, "state": workload.state})
    if workload.state == Workload.State.PENDING:
        return workload_transition(workload=workload, to_state=Workload.State.STOPPED,
                                   reason=_("stopped before it was placed"))
    workload = workload_transition(workload=workload, to_state=Workload.State.STOPPING,
                                   reason=_("stop requested by %(who)s") % {"who": actor.label})
    # By name: scheduling (which owns allocations and assignments) depends on booking.
    transaction.on_commit(lambda: current_app.send_task("scheduling.stop_workload", args=[str(workload.pk)]))
    return workload
