"""Bootstrap tokens and node enrollment: a provider's token becomes a node credential and the node's
devices are registered; device UUIDs another node holds are refused and recorded for staff."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.audit.services import audit_record
from apps.catalog.models import AcceleratorModel, Cluster, Device, Node
from apps.catalog.selectors import accelerator_model_match
from apps.catalog.services import require_fleet_admin
from apps.tenancy.access import Actor

from .credentials import CREDENTIAL_PREFIX, credential_cache_forget, secret_hash
from .models import BootstrapToken, DeviceUuidConflict, NodeCredential

BOOTSTRAP_PREFIX = "tgb"


class EnrollmentRefused(Exception):
    """The bootstrap token cannot enroll a node (unknown, used up, expired or revoked)."""


class DeviceUuidTaken(Exception):
    """The inventory claims device UUIDs another node holds (recorded for staff as DeviceUuidConflict)."""

    def __init__(self, uuids: list[str]) -> None:
        super().__init__(_("Device UUID(s) %(uuids)s are registered to another node. The conflict was "
                           "recorded for platform staff, who will verify who has the device(s); enrollment "
                           "succeeds once they have resolved it.") % {"uuids": ", ".join(uuids)})
        self.uuids = uuids




# --- bootstrap tokens ----------------------------------------------------------------------------


@transaction.atomic
def bootstrap_token_create(*, actor: Actor, cluster: Cluster, max_uses: int = 1,
                           ttl_hours: int = 24) -> tuple[BootstrapToken, str]:
    require_fleet_admin(actor, cluster.organization_id)
    if not 1 <= max_uses <= 100_000:
        raise ValidationError({"max_uses": [_("Between 1 and 100,000 nodes per token.")]})
    if not 1 <= ttl_hours <= 24 * 30:
        raise ValidationError({"ttl_hours": [_("A token is valid for 1 hour up to 30 days.")]})
    prefix = secrets.token_hex(4)
    plaintext = f"{BOOTSTRAP_PREFIX}_{prefix}_{secrets.token_urlsafe(24)}"
    token = BootstrapToken.objects.create(
        organization_id=cluster.organization_id, cluster=cluster, token_hash=secret_hash(plaintext), prefix=prefix,
        max_uses=max_uses, created_by=actor.user, expires_at=timezone.now() + timedelta(hours=ttl_hours),
    )
    audit_record(actor=actor, action="bootstrap_token.created", organization=cluster.organization_id, target=token,
                 details={"cluster": cluster.name, "max_uses": max_uses, "ttl_hours": ttl_hours, "prefix": prefix})
    return token, plaintext


@transaction.atomic
def bootstrap_token_revoke(*, actor: Actor, token: BootstrapToken) -> BootstrapToken:
    require_fleet_admin(actor, token.organization_id)
    token = BootstrapToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="bootstrap_token.revoked", organization=token.organization_id, target=token,
                     details={"prefix": token.prefix})
    return token


def bootstrap_token_usable(*, plaintext: str, cluster: Cluster,
                           for_at_least: timedelta = timedelta(0)) -> BootstrapToken | None:
    """The token ``plaintext`` of ``cluster`` when it is not revoked and stays unexpired ``for_at_least``."""
    return BootstrapToken.objects.filter(
        token_hash=secret_hash(plaintext), cluster=cluster, revoked_at__isnull=True,
        expires_at__gt=timezone.now() + for_at_least).first()


# --- enrollment ----------------------------------------------------------------------------------


_REFUSED = gettext_lazy("This bootstrap token is unknown, used up, expired or revoked: "
                        "create a new one in the provider portal.")


def node_enroll(*, bootstrap_token: str, hostname: str, inventory: dict[str, Any]) -> tuple[Node, str]:
    """Exchange a bootstrap token for a node credential; create or refresh the node and its devices.

    A fleet token enrolls many nodes at once, so the token row is never locked for a whole enrollment:
    its use is taken with one conditional UPDATE (given back if the enrollment fails), and the audit
    event, which serializes on the audit chain, is the enrollment's last statement.
    """
    token = BootstrapToken.objects.select_related("cluster").filter(token_hash=secret_hash(bootstrap_token)).first()
    now = timezone.now()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise EnrollmentRefused(str(_REFUSED))
    # An agent whose enrollment answer was lost (timeout) retries with the same token: that is the same
    # node enrolling again, not another use of the token.
    retry = NodeCredential.objects.filter(node__cluster=token.cluster, node__hostname=hostname,
                                          bootstrap_token=token).exists()
    if not retry:
        took = BootstrapToken.objects.filter(pk=token.pk, uses__lt=F("max_uses"), revoked_at__isnull=True,
                                             expires_at__gt=now).update(uses=F("uses") + 1)
        if not took:
            raise EnrollmentRefused(str(_REFUSED))
    try:
        try:
            return _node_enroll(token=token, hostname=hostname, inventory=inventory, now=now, retry=retry)
        except IntegrityError as error:
            if "device_uuid_unique" not in str(error):
                raise
            # Another enrollment registered one of these UUIDs between our check and our insert.
            raise DeviceUuidTaken(sorted({item["uuid"] for item in inventory.get("devices", [])} & set(
                Device.objects.filter(uuid__in=[item["uuid"] for item in inventory.get("devices", [])])
                .exclude(node__cluster=token.cluster, node__hostname=hostname)
                .values_list("uuid", flat=True)))) from error
    except Exception as error:
        if not retry:
            BootstrapToken.objects.filter(pk=token.pk, uses__gt=0).update(uses=F("uses") - 1)
        if isinstance(error, DeviceUuidTaken):
            _device_uuid_conflicts_record(uuids=error.uuids, cluster=token.cluster, hostname=hostname)
        raise


def _device_uuids_taken(*, node: Node, reported: list[dict]) -> dict[str, Device]:
    """The devices of other nodes holding UUIDs this inventory claims."""
    return {device.uuid: device for device in Device.objects.select_related("node").filter(
        uuid__in=[item["uuid"] for item in reported]).exclude(node_id=node.pk)}


@transaction.atomic
def _device_uuid_conflicts_record(*, uuids: list[str], cluster: Cluster, hostname: str) -> None:
    holders = {d.uuid: d.node for d in Device.objects.select_related("node").filter(uuid__in=uuids)}
    for uuid in uuids:
        conflict = DeviceUuidConflict.objects.select_for_update().filter(
            uuid=uuid, claimant_cluster=cluster, claimant_hostname=hostname, resolved_at__isnull=True).first()
        if conflict is not None:
            conflict.attempts += 1
            conflict.holder_node = holders.get(uuid, conflict.holder_node)
            conflict.save(update_fields=["attempts", "holder_node", "last_attempt_at"])
            continue
        conflict = DeviceUuidConflict.objects.create(uuid=uuid, claimant_cluster=cluster, claimant_hostname=hostname,
                                                     holder_node=holders.get(uuid))
        audit_record(actor=None, action="device.uuid_conflict", organization=cluster.organization_id,
                     target=conflict, details={"uuid": uuid, "hostname": hostname, "cluster": cluster.name,
                                               "holder_node": str(conflict.holder_node_id or "")})


@transaction.atomic
def device_uuid_conflict_resolve(*, actor: Actor, conflict: DeviceUuidConflict, release: bool) -> DeviceUuidConflict:
    """Staff's decision on a conflict, after checking who really has the card. ``release``: the holder's
    device row gives up the UUID (kept, renamed and marked failed, so its history stays) and the
    claimant's next enrollment registers it; otherwise the claim is dismissed. Audited either way."""
    if not actor.user.is_staff:
        raise PermissionDenied(_("Only platform staff resolve device UUID conflicts."))
    conflict = DeviceUuidConflict.objects.select_for_update().get(pk=conflict.pk)
    if conflict.resolved_at is not None:
        raise ValidationError(_("This conflict is already resolved."))
    released_from = None
    if release:
        device = Device.objects.select_for_update().select_related("node").filter(uuid=conflict.uuid).first()
        if device is not None:
            released_from = device.node
            device.uuid = f"released-{conflict.pk}-{device.uuid}"[:100]
            device.health = Device.Health.FAILED
            device.health_reason = _("Its UUID was released by platform staff to another node that has the card.")
            device.save(update_fields=["uuid", "health", "health_reason"])
    conflict.resolved_at, conflict.resolved_by = timezone.now(), actor.user
    conflict.resolution = DeviceUuidConflict.Resolution.RELEASED if release else DeviceUuidConflict.Resolution.DISMISSED
    conflict.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    audit_record(actor=actor, action=f"device.uuid_conflict_{conflict.resolution}",
                 organization=conflict.claimant_cluster.organization_id, target=conflict,
                 details={"uuid": conflict.uuid, "claimant_hostname": conflict.claimant_hostname,
                          "released_from": str(released_from.pk) if released_from else "",
                          "released_from_organization": str(released_from.organization_id) if released_from else ""})
    return conflict


@transaction.atomic
def _node_enroll(*, token: BootstrapToken, hostname: str, inventory: dict[str, Any], now,
                 retry: bool) -> tuple[Node, str]:
    cluster = token.cluster
    node = Node.objects.select_for_update().filter(cluster=cluster, hostname=hostname).first()
    created = node is None
    if created:
        node = Node(cluster=cluster, hostname=hostname, organization_id=cluster.organization_id)
    if node.state == Node.State.DECOMMISSIONED:
        node.state = Node.State.ACTIVE  # re-enrolling with a fresh token is how a provider brings it back
    # Capacity may change between enrollments; what is allocated stays allocated.
    cpu_total, memory_total = inventory.get("cpu_milli", 0), inventory.get("memory_mib", 0)
    node.cpu_free_milli = max(0, min(cpu_total, node.cpu_free_milli + cpu_total - node.cpu_milli))
    node.memory_free_mib = max(0, min(memory_total, node.memory_free_mib + memory_total - node.memory_mib))
    node.cpu_milli, node.memory_mib = cpu_total, memory_total
    node.labels = inventory.get("labels", {})
    node.agent_version = inventory.get("agent_version", "")
    node.runtime = inventory.get("runtime", "")
    node.device_backend = inventory.get("device_backend", "")
    node.liveness = Node.Liveness.ONLINE
    node.last_heartbeat_at = now
    if not retry:
        node.last_seq = 0  # a new credential starts a new sequence: no report can brick a node for good
    node.save()
    _devices_sync(node=node, reported=inventory.get("devices", []))
    # A new token replaces every credential the node had. A retry with the same token keeps the ones
    # issued for it: the agent may be using an answer that reached it while a duplicate of its request
    # (sent after a timeout) was still queued; revoking that credential would lock the agent out.
    old_credentials = NodeCredential.objects.filter(node=node, revoked_at__isnull=True)
    if retry:
        old_credentials = old_credentials.exclude(bootstrap_token=token)
    if old_credentials.update(revoked_at=now):
        credential_cache_forget(node=node)
    prefix = secrets.token_hex(4)
    credential = f"{CREDENTIAL_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    NodeCredential.objects.create(node=node, credential_hash=secret_hash(credential), prefix=prefix,
                                  bootstrap_token=token)
    audit_record(actor=None, action="node.enrolled" if created else "node.re_enrolled",
                 organization=cluster.organization_id, target=node,
                 details={"hostname": hostname, "cluster": cluster.name, "devices": len(inventory.get("devices", [])),
                          "token_prefix": token.prefix, "credential_prefix": prefix})
    return node, credential


def _devices_sync(*, node: Node, reported: list[dict]) -> None:
    taken = _device_uuids_taken(node=node, reported=reported)
    if taken:
        raise DeviceUuidTaken(sorted(taken))
    existing = {device.uuid: device for device in Device.objects.filter(node=node)}
    catalog = list(AcceleratorModel.objects.all())
    seen = set()
    for item in reported:
        seen.add(item["uuid"])
        model = accelerator_model_match(reported_name=item["model"], memory_total_mib=item["memory_total_mib"],
                                        models=catalog)
        device = existing.get(item["uuid"])
        if device is None:
            Device.objects.filter(node=node, index=item["index"]).exclude(uuid=item["uuid"]).delete()
            Device.objects.create(
                organization_id=node.organization_id, node=node, uuid=item["uuid"], index=item["index"], model=model,
                reported_name=item["model"], memory_total_mib=item["memory_total_mib"],
                free_compute_milli=1000, free_memory_mib=item["memory_total_mib"],
            )
        else:
            device.index, device.model, device.reported_name = item["index"], model, item["model"]
            device.save(update_fields=["index", "model", "reported_name"])
    gone = [uuid for uuid in existing if uuid not in seen]
    if gone:
        Device.objects.filter(node=node, uuid__in=gone).update(
            health=Device.Health.FAILED, health_reason=_("No longer reported by the agent at enrollment."))
