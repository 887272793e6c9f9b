"""Writes for the provider's fleet: clusters, node state (cordon/drain/decommission), device health, and
the provider's vetting (approval, suspension)."""

from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.audit.services import audit_record
from apps.tenancy.access import Actor, require_role
from apps.tenancy.models import Organization, Role
from apps.tenancy.uscc import validate_uscc

from .models import Cluster, Device, Node, ProviderProfile, Region
from .signals import node_retiring

FLEET_ADMIN_ONLY = gettext_lazy("Only owners and admins of the provider can manage its fleet.")


def require_fleet_admin(actor: Actor, organization) -> None:
    require_role(actor, organization, Role.ADMIN, str(FLEET_ADMIN_ONLY))


@transaction.atomic
def cluster_create(*, actor: Actor, organization: Organization, name: str, region: Region, kind: str,
                   gpu_sharing: str = Cluster.GpuSharing.CHIP_DEFAULT) -> Cluster:
    require_fleet_admin(actor, organization)
    if organization.kind != Organization.Kind.PROVIDER:
        raise ValidationError({"organization": [_("Only provider organizations register clusters.")]})
    cluster = Cluster(organization=organization, name=name.strip(), region=region, kind=kind,
                      gpu_sharing=gpu_sharing)
    cluster.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            cluster.save()
    except IntegrityError as exc:
        raise ValidationError({"name": [_("You already have a cluster with this name.")]}) from exc
    audit_record(actor=actor, action="cluster.created", organization=organization, target=cluster,
                 details={"name": cluster.name, "region": region.code, "kind": kind})
    return cluster


@transaction.atomic
def cluster_sharing_set(*, actor: Actor, cluster: Cluster, gpu_sharing: str) -> Cluster:
    """Switch how the cluster's cards are shared (as the provider reconfigures its device plugin: MIG
    partitions vs HAMi-style shares). Only while no card is in use, because slices cut one way cannot
    be held the other way."""
    require_fleet_admin(actor, cluster.organization_id)
    if gpu_sharing not in Cluster.GpuSharing.values:
        raise ValidationError({"gpu_sharing": [_("Choose one of the listed sharing modes.")]})
    cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
    if cluster.gpu_sharing == gpu_sharing:
        return cluster
    in_use = Device.objects.filter(node__cluster=cluster, free_compute_milli__lt=1000).exclude(
        node__state=Node.State.DECOMMISSIONED).count()
    if in_use:
        raise ValidationError({"gpu_sharing": [
            _("%(n)d cards of this cluster are in use. Drain its nodes (or wait for the work to end), then "
              "change how cards are shared.") % {"n": in_use}]})
    previous = cluster.gpu_sharing
    cluster.gpu_sharing = gpu_sharing
    cluster.save(update_fields=["gpu_sharing"])
    audit_record(actor=actor, action="cluster.sharing_changed", organization=cluster.organization_id,
                 target=cluster, details={"from": previous, "to": gpu_sharing})
    return cluster


_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
MIN_PUBLIC_PORT, MAX_PORT_RANGE = 1024, 20000


def public_address_clean(*, public_host: str, public_port_min: int | None, public_port_max: int | None
                         ) -> tuple[str, int | None, int | None]:
    """A host name or IP address (no scheme, no port) and a port range inside 1024–65535, all or nothing."""
    host = (public_host or "").strip().lower().rstrip(".")
    if not host and public_port_min is None and public_port_max is None:
        return "", None, None
    errors: dict[str, list] = {}
    if not host:
        errors["public_host"] = [_("Give the host name or IP address that the ports are opened on.")]
    else:
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            labels = host.split(".")
            if (len(host) > 253 or len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels)
                    or labels[-1].isdigit()):
                errors["public_host"] = [_("Enter a host name such as gpu.example.com or an IP address, without "
                                           "scheme or port.")]
        else:
            if address.is_loopback or address.is_unspecified or address.is_multicast or address.is_link_local:
                errors["public_host"] = [_("This address cannot be reached from outside.")]
            host = str(address)
    if public_port_min is None or public_port_max is None:
        errors["public_port_min"] = [_("Give the first and the last port of the range.")]
    elif not (MIN_PUBLIC_PORT <= public_port_min <= public_port_max <= 65535):
        errors["public_port_min"] = [_("Ports must lie between %(lo)d and 65535, the first not after the last.")
                                     % {"lo": MIN_PUBLIC_PORT}]
    elif public_port_max - public_port_min + 1 > MAX_PORT_RANGE:
        errors["public_port_max"] = [_("At most %(n)d ports.") % {"n": MAX_PORT_RANGE}]
    if errors:
        raise ValidationError(errors)
    return host, public_port_min, public_port_max


@transaction.atomic
def cluster_address_set(*, actor: Actor, cluster: Cluster, public_host: str, public_port_min: int | None,
                        public_port_max: int | None) -> Cluster:
    """Declare (or clear, with all empty) the public address through which the cluster's instances are reached."""
    require_fleet_admin(actor, cluster.organization_id)
    host, port_min, port_max = public_address_clean(public_host=public_host, public_port_min=public_port_min,
                                                    public_port_max=public_port_max)
    cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
    cluster.public_host, cluster.public_port_min, cluster.public_port_max = host, port_min, port_max
    cluster.save(update_fields=["public_host", "public_port_min", "public_port_max"])
    audit_record(actor=actor, action="cluster.address_changed", organization=cluster.organization_id, target=cluster,
                 details={"public_host": host, "ports": [port_min, port_max] if port_min else []})
    return cluster


_TRANSITIONS = {
    "cordon": ({Node.State.ACTIVE}, Node.State.CORDONED),
    "uncordon": ({Node.State.CORDONED, Node.State.DRAINING}, Node.State.ACTIVE),
    "drain": ({Node.State.ACTIVE, Node.State.CORDONED}, Node.State.DRAINING),
    "decommission": ({Node.State.ACTIVE, Node.State.CORDONED, Node.State.DRAINING}, Node.State.DECOMMISSIONED),
}


def node_actions_allowed(*, node: Node) -> list[str]:
    """The actions ``node_set_state`` accepts for the node in its state (what pages offer)."""
    return [action for action, (allowed_from, _target) in _TRANSITIONS.items() if node.state in allowed_from]


@transaction.atomic
def node_set_state(*, actor: Actor, node: Node, action: str) -> Node:
    """cordon: take no new work; drain: also stop what runs; decommission: retire (the credential stops
    working; re-enrolling with a new bootstrap token brings the node back)."""
    require_fleet_admin(actor, node.organization_id)
    if action not in _TRANSITIONS:
        raise ValidationError({"action": [_("Unknown action.")]})
    if action == "uncordon":
        # Locks the vetting record: a concurrent suspension either is seen here or cordons after this.
        vetting = (ProviderProfile.objects.select_for_update().filter(organization_id=node.organization_id)
                   .values_list("state", flat=True).first())
        if vetting == ProviderProfile.State.SUSPENDED:
            raise ValidationError({"action": [_("Your provider account is suspended: nodes stay cordoned until "
                                                "TideGrid staff reinstate it.")]})
    return _node_state_apply(actor=actor, node=node, action=action)


def _node_state_apply(*, actor: Actor, node: Node, action: str, details: dict | None = None) -> Node:
    """The transition itself, for callers that checked who may do it (the provider's admins above, staff
    suspending a provider below)."""
    allowed_from, target = _TRANSITIONS[action]
    node = Node.objects.select_for_update().get(pk=node.pk)
    if node.state not in allowed_from:
        raise ValidationError({"action": [_("This is not possible while the node is %(state)s.")
                                          % {"state": node.get_state_display()}]})
    if action in ("drain", "decommission"):
        node_retiring.send(sender=Node, node=node, action=action)
    previous = node.state
    node.state = target
    node.save(update_fields=["state"])
    audit_record(actor=actor, action=f"node.{action}", organization=node.organization_id, target=node,
                 details={"hostname": node.hostname, "from": previous, "to": target, **(details or {})})
    return node


@transaction.atomic
def device_release(*, actor: Actor, device: Device) -> Device:
    """Return a quarantined device to service after the provider fixed or checked it."""
    require_fleet_admin(actor, device.organization_id)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.health not in (Device.Health.QUARANTINED, Device.Health.DEGRADED, Device.Health.FAILED):
        raise ValidationError({"health": [_("This device is healthy already.")]})
    previous, reason = device.health, device.health_reason
    device.health, device.health_reason = Device.Health.OK, ""
    device.save(update_fields=["health", "health_reason"])
    audit_record(actor=actor, action="device.released", organization=device.organization_id, target=device,
                 details={"uuid": device.uuid, "from": previous, "reason": reason})
    return device


# --- provider vetting ----------------------------------------------------------------------------
# A provider registers clusters and enrolls nodes at once, but its capacity is sold (market, placement)
# only while its vetting record is approved. Staff approve, reject, suspend and reinstate; every step is
# audited. Suspension cordons the provider's active nodes and holds its payable (ledger.provider_payout).

VETTING_FIELDS = ("contact_name", "contact_phone", "contact_email", "bank_name", "bank_account_name",
                  "bank_account_number")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{6,22}[0-9]$")
_ACCOUNT_NUMBER = re.compile(r"^[0-9]{8,30}$")
STAFF_ONLY = gettext_lazy("Only TideGrid staff vet providers.")


def _require_staff(actor: Actor) -> None:
    if not getattr(actor.user, "is_staff", False) or actor.api_key is not None:
        raise PermissionDenied(str(STAFF_ONLY))


def _require_provider(organization: Organization) -> None:
    if organization.kind != Organization.Kind.PROVIDER:
        raise ValidationError({"organization": [_("Only provider organizations are vetted.")]})


def _profile_locked(organization: Organization) -> ProviderProfile:
    ProviderProfile.objects.get_or_create(organization=organization)
    return ProviderProfile.objects.select_for_update().select_related("organization").get(organization=organization)


def _account_tail(number: str) -> str:
    return f"…{number[-4:]}" if number else ""


def _missing_for_review(profile: ProviderProfile) -> dict[str, list[str]]:
    """What a review needs and the record lacks: every field, and a valid USCC on the organization."""
    required = str(_("Required before the review."))
    errors = {name: [required] for name in VETTING_FIELDS if not getattr(profile, name)}
    try:
        validate_uscc(profile.organization.credit_code)
    except ValidationError as error:
        errors["credit_code"] = error.messages if profile.organization.credit_code else [required]
    return errors


@transaction.atomic
def provider_profile_save(*, actor: Actor, organization: Organization, credit_code: str, **fields: str
                          ) -> ProviderProfile:
    """The provider fills in (or corrects) its vetting record; the USCC is the organization's own."""
    require_fleet_admin(actor, organization)
    _require_provider(organization)
    unknown = set(fields) - set(VETTING_FIELDS)
    if unknown:
        raise ValueError(f"unknown vetting fields: {sorted(unknown)}")
    profile = _profile_locked(organization)
    if not profile.editable:
        raise ValidationError(_("The record was approved as it is: ask TideGrid staff to change it."))
    cleaned = {name: (value or "").strip() for name, value in fields.items()}
    if "bank_account_number" in cleaned:
        cleaned["bank_account_number"] = re.sub(r"[\s\-]", "", cleaned["bank_account_number"])
    errors: dict[str, list[str]] = {}
    if cleaned.get("contact_phone") and not _PHONE.match(cleaned["contact_phone"]):
        errors["contact_phone"] = [_("Enter a phone number of digits, e.g. +86 21 5555 0100 or 13800138000.")]
    if cleaned.get("bank_account_number") and not _ACCOUNT_NUMBER.match(cleaned["bank_account_number"]):
        errors["bank_account_number"] = [_("A bank account number has 8 to 30 digits.")]
    for name, value in cleaned.items():
        setattr(profile, name, value)
    try:
        profile.full_clean(exclude=["organization", "reviewed_by"])
    except ValidationError as error:
        errors.update({field: messages for field, messages in error.message_dict.items() if field not in errors})
    if errors:
        raise ValidationError(errors)
    credit_code = (credit_code or "").strip().upper()
    if credit_code != profile.organization.credit_code:
        from apps.tenancy.services import organization_update_profile

        organization_update_profile(actor=actor, organization=organization, credit_code=credit_code)
        profile.organization.refresh_from_db()
    profile.save()
    audit_record(actor=actor, action="provider.profile_saved", organization=organization, target=profile,
                 details={"contact_name": profile.contact_name, "bank_name": profile.bank_name,
                          "bank_account": _account_tail(profile.bank_account_number),
                          "credit_code": profile.organization.credit_code})
    return profile


@transaction.atomic
def provider_profile_submit(*, actor: Actor, organization: Organization) -> ProviderProfile:
    """Send the record to TideGrid staff for review (again, after a rejection)."""
    require_fleet_admin(actor, organization)
    _require_provider(organization)
    profile = _profile_locked(organization)
    if profile.state not in (ProviderProfile.State.DRAFT, ProviderProfile.State.REJECTED):
        raise ValidationError(_("The record is %(state)s: there is nothing to submit.")
                              % {"state": profile.get_state_display()})
    missing = _missing_for_review(profile)
    if missing:
        raise ValidationError(missing)
    profile.state = ProviderProfile.State.PENDING
    profile.submitted_at = timezone.now()
    profile.save(update_fields=["state", "submitted_at", "updated_at"])
    audit_record(actor=actor, action="provider.submitted", organization=organization, target=profile,
                 details={"credit_code": profile.organization.credit_code})
    return profile


def _review(*, actor: Actor, organization: Organization, allowed_from: set[str], to_state: str,
            reason: str = "", reason_required: bool = False) -> ProviderProfile:
    _require_staff(actor)
    _require_provider(organization)
    reason = (reason or "").strip()
    if reason_required and not reason:
        raise ValidationError({"reason": [_("Say why: the provider sees the reason.")]})
    if len(reason) > 500:
        raise ValidationError({"reason": [_("At most 500 characters.")]})
    profile = _profile_locked(organization)
    if profile.state not in allowed_from:
        raise ValidationError(_("%(org)s is %(state)s: this step is not possible now.")
                              % {"org": organization.name, "state": profile.get_state_display()})
    profile.state = to_state
    profile.reason = reason
    profile.reviewed_at = timezone.now()
    profile.reviewed_by = actor.user
    profile.save(update_fields=["state", "reason", "reviewed_at", "reviewed_by", "updated_at"])
    return profile


@transaction.atomic
def provider_approve(*, actor: Actor, organization: Organization) -> ProviderProfile:
    """Staff checked the USCC, the contact and the payout account: the provider's capacity goes on sale."""
    _require_staff(actor)
    _require_provider(organization)
    missing = _missing_for_review(_profile_locked(organization))
    if missing:
        raise ValidationError(missing)
    profile = _review(actor=actor, organization=organization, allowed_from={ProviderProfile.State.PENDING},
                      to_state=ProviderProfile.State.APPROVED)
    audit_record(actor=actor, action="provider.approved", organization=organization, target=profile,
                 details={"credit_code": profile.organization.credit_code, "contact_name": profile.contact_name,
                          "contact_phone": profile.contact_phone, "contact_email": profile.contact_email,
                          "bank_name": profile.bank_name, "bank_account_name": profile.bank_account_name,
                          "bank_account": _account_tail(profile.bank_account_number)})
    return profile


@transaction.atomic
def provider_reject(*, actor: Actor, organization: Organization, reason: str) -> ProviderProfile:
    profile = _review(actor=actor, organization=organization, allowed_from={ProviderProfile.State.PENDING},
                      to_state=ProviderProfile.State.REJECTED, reason=reason, reason_required=True)
    audit_record(actor=actor, action="provider.rejected", organization=organization, target=profile,
                 details={"reason": profile.reason})
    return profile


@transaction.atomic
def provider_suspend(*, actor: Actor, organization: Organization, reason: str) -> ProviderProfile:
    """Stop selling the provider's capacity: its active nodes are cordoned (work running there goes on)
    and its payable is held until it is reinstated."""
    profile = _review(actor=actor, organization=organization, allowed_from={ProviderProfile.State.APPROVED},
                      to_state=ProviderProfile.State.SUSPENDED, reason=reason, reason_required=True)
    cordoned = []
    for node in Node.objects.filter(organization=organization, state=Node.State.ACTIVE).order_by("pk"):
        _node_state_apply(actor=actor, node=node, action="cordon", details={"by": "provider.suspended"})
        cordoned.append(str(node.pk))
    profile.suspension_cordoned_nodes = cordoned
    profile.save(update_fields=["suspension_cordoned_nodes"])
    audit_record(actor=actor, action="provider.suspended", organization=organization, target=profile,
                 details={"reason": profile.reason, "nodes_cordoned": len(cordoned)})
    return profile


@transaction.atomic
def provider_reinstate(*, actor: Actor, organization: Organization) -> ProviderProfile:
    """Back on sale: uncordon the nodes the suspension cordoned (those still cordoned), release the hold."""
    profile = _review(actor=actor, organization=organization, allowed_from={ProviderProfile.State.SUSPENDED},
                      to_state=ProviderProfile.State.APPROVED)
    uncordoned = 0
    for node in Node.objects.filter(pk__in=profile.suspension_cordoned_nodes, organization=organization,
                                    state=Node.State.CORDONED).order_by("pk"):
        _node_state_apply(actor=actor, node=node, action="uncordon", details={"by": "provider.reinstated"})
        uncordoned += 1
    profile.suspension_cordoned_nodes = []
    profile.save(update_fields=["suspension_cordoned_nodes"])
    audit_record(actor=actor, action="provider.reinstated", organization=organization, target=profile,
                 details={"nodes_uncordoned": uncordoned})
    return profile
