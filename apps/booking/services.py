"""Writes for workloads. The customer-facing booking flow (forms, API, lifecycle) builds on these."""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.tenancy.access import Actor, role_at_least, role_in
from apps.tenancy.models import Organization, Role

from .models import Workload


@transaction.atomic
def workload_submit(*, actor: Actor, organization: Organization, **fields: Any) -> Workload:
    """Create a pending workload; placement for its region is queued once the transaction commits."""
    if not role_at_least(role_in(actor, organization), Role.MEMBER):
        raise PermissionDenied(_("Members, admins and owners can book compute; viewers cannot."))
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
