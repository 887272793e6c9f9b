"""Operators' targets and the alerts when a KPI turns red."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.audit.services import audit_record
from apps.ledger.services import bilingual_mail_send
from apps.tenancy.access import Actor, require_role
from apps.tenancy.models import Membership, Organization, Role
from oversight_verify.kpi import TARGETABLE, status_of

from .labels import KPI_LABELS, kpi_display
from .models import KpiAlert, KpiTarget
from .periods import Period, period_build, today
from .selectors import kpis_for, scope_build

# Operators read the oversight pages as auditor or above; targets are set by admins and owners.
READ_ROLE = Role.AUDITOR
WRITE_ROLE = Role.ADMIN


def require_government(organization: Organization) -> None:
    if organization.kind != Organization.Kind.GOVERNMENT:
        from django.http import Http404

        raise Http404(_("Not found."))


def _number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({name: [_("Enter a number.")]}) from exc
    if number != number or not 0 <= number <= 1_000_000:
        raise ValidationError({name: [_("Enter a number between 0 and 1,000,000.")]})
    return number


@transaction.atomic
def target_set(*, actor: Actor, organization: Organization, kpi: str, green_at, amber_at) -> KpiTarget:
    """Set (or change) the target of one KPI. Rates are fractions (0.55 = 55 %)."""
    require_government(organization)
    require_role(actor, organization, WRITE_ROLE, _("Owners and admins set targets."))
    if kpi not in TARGETABLE:
        raise ValidationError({"kpi": [_("This KPI has no target.")]})
    green, amber = _number(green_at, "green_at"), _number(amber_at, "amber_at")
    if amber > green:
        raise ValidationError({"amber_at": [_("Amber must not be above green.")]})
    target, _created = KpiTarget.objects.select_for_update().get_or_create(
        organization=organization, kpi=kpi, defaults={"green_at": green, "amber_at": amber})
    before = {"green_at": target.green_at, "amber_at": target.amber_at}
    target.green_at, target.amber_at = green, amber
    target.status = ""  # evaluated afresh by the next check
    target.save()
    audit_record(actor=actor, action="oversight.target_set", organization=organization, target=target,
                 details={"kpi": kpi, "before": before, "after": {"green_at": green, "amber_at": amber}})
    return target


@transaction.atomic
def target_delete(*, actor: Actor, organization: Organization, kpi: str) -> None:
    require_government(organization)
    require_role(actor, organization, WRITE_ROLE, _("Owners and admins set targets."))
    deleted, _rows = KpiTarget.objects.filter(organization=organization, kpi=kpi).delete()
    if deleted:
        audit_record(actor=actor, action="oversight.target_deleted", organization=organization,
                     target=organization, details={"kpi": kpi})


def targets_check(*, organization: Organization | None = None, period: Period | None = None) -> int:
    """Evaluate every government organization's targets on the current month so far (or ``period``); a
    KPI that turns red (was not red at the last check) gets one alert and one e-mail. Returns the alerts
    created."""
    organizations = [organization] if organization else Organization.objects.filter(
        kind=Organization.Kind.GOVERNMENT, id__in=KpiTarget.objects.values("organization_id"))
    period = period or period_build(kind="month", anchor=today())
    created = []
    for org in organizations:
        targets = list(KpiTarget.objects.filter(organization=org))
        if not targets:
            continue
        kpis = kpis_for(scope=scope_build(organization=org, params={}), period=period)
        for target in targets:
            status = status_of(kpis.get(target.kpi), green_at=target.green_at, amber_at=target.amber_at)
            with transaction.atomic():
                locked = KpiTarget.objects.select_for_update().get(pk=target.pk)
                if locked.status == status:
                    continue
                turned_red = status == "red" and locked.status != "red"
                locked.status = status
                locked.save(update_fields=["status", "updated_at"])
                if turned_red:
                    alert = KpiAlert.objects.create(organization=org, kpi=target.kpi, period_start=period.start,
                                                    value=kpis.get(target.kpi), green_at=target.green_at,
                                                    amber_at=target.amber_at)
                    created.append(alert)
    for alert in created:  # after the alerts are committed; a failed send is logged, the alert stays shown
        _alert_email(alert=alert)
    return len(created)


def _alert_email(*, alert: KpiAlert) -> None:
    recipients = list(Membership.objects.filter(
        organization_id=alert.organization_id, role__in=[Role.OWNER, Role.ADMIN, Role.AUDITOR])
        .values_list("user__email", flat=True))
    if not recipients:
        return
    organization = Organization.objects.get(pk=alert.organization_id)
    bilingual_mail_send(
        subject=gettext_noop("KPI below target: %(org)s"), subject_params={"org": organization.name},
        template="oversight/email/kpi_red.txt",
        context={"organization": organization, "kpi_label": KPI_LABELS.get(alert.kpi, alert.kpi),
                 "value": kpi_display(alert.kpi, alert.value), "green": kpi_display(alert.kpi, alert.green_at),
                 "amber": kpi_display(alert.kpi, alert.amber_at), "site_url": settings.SITE_URL},
        recipients=recipients)


def alerts_mark_shown(*, alerts: list[KpiAlert]) -> None:
    KpiAlert.objects.filter(id__in=[a.id for a in alerts], shown_at__isnull=True).update(shown_at=timezone.now())
