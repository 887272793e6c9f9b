"""Writes for the provider's fleet: clusters, node state (cordon/drain/decommission), device health."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.audit.services import audit_record
from apps.tenancy.access import Actor, require_role
from apps.tenancy.models import Organization, Role

from .models import Cluster, Device, Node, Region

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
    allowed_from, target = _TRANSITIONS[action]
    node = Node.objects.select_for_update().get(pk=node.pk)
    if node.state not in allowed_from:
        raise ValidationError({"action": [_("This is not possible while the node is %(state)s.")
                                          % {"state": node.get_state_display()}]})
    if action in ("drain", "decommission"):
        from apps.telemetry.services import assignments_stop_on_node, credential_cache_forget  # (see below)

        # Imported here: telemetry depends on catalog, not the other way round.
        assignments_stop_on_node(node=node)
        credential_cache_forget(node=node)
    previous = node.state
    node.state = target
    node.save(update_fields=["state"])
    audit_record(actor=actor, action=f"node.{action}", organization=node.organization_id, target=node,
                 details={"hostname": node.hostname, "from": previous, "to": target})
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
