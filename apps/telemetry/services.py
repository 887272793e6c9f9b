"""Agent enrollment, credentials, heartbeat ingestion, liveness and device health."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.audit.services import audit_record
from apps.catalog.models import AcceleratorModel, Cluster, Device, Node
from apps.catalog.selectors import accelerator_model_match
from apps.catalog.services import require_fleet_admin
from apps.tenancy.access import Actor

from .models import Assignment, AssignmentSample, BootstrapToken, NodeCredential
from .signals import assignment_state_changed, node_unreachable

BOOTSTRAP_PREFIX = "tgb"
CREDENTIAL_PREFIX = "tgn"


class EnrollmentRefused(Exception):
    """The bootstrap token cannot enroll a node (unknown, used up, expired or revoked)."""


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


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
        organization_id=cluster.organization_id, cluster=cluster, token_hash=_sha256(plaintext), prefix=prefix,
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
        token_hash=_sha256(plaintext), cluster=cluster, revoked_at__isnull=True,
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
    token = BootstrapToken.objects.select_related("cluster").filter(token_hash=_sha256(bootstrap_token)).first()
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
        return _node_enroll(token=token, hostname=hostname, inventory=inventory, now=now, retry=retry)
    except Exception:
        if not retry:
            BootstrapToken.objects.filter(pk=token.pk, uses__gt=0).update(uses=F("uses") - 1)
        raise


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
    NodeCredential.objects.create(node=node, credential_hash=_sha256(credential), prefix=prefix,
                                  bootstrap_token=token)
    audit_record(actor=None, action="node.enrolled" if created else "node.re_enrolled",
                 organization=cluster.organization_id, target=node,
                 details={"hostname": hostname, "cluster": cluster.name, "devices": len(inventory.get("devices", [])),
                          "token_prefix": token.prefix, "credential_prefix": prefix})
    return node, credential


def _devices_sync(*, node: Node, reported: list[dict]) -> None:
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


_CREDENTIAL_CACHE_S = 300


def _credential_cache_key(credential_hash: str) -> str:
    return f"nodecred:{credential_hash}"


def credential_authenticate(*, plaintext: str) -> Node | None:
    """The node a credential belongs to, or None when unknown, revoked or decommissioned.

    Every heartbeat authenticates, so the answer is cached in Redis; revocation, re-enrollment and
    decommissioning delete the cached entries (credential_cache_forget), so they take effect at once.
    """
    credential_hash = _sha256(plaintext)
    key = _credential_cache_key(credential_hash)
    cached = cache.get(key)
    if cached is not None:
        return Node(**cached) if cached else None
    credential = (NodeCredential.objects.select_related("node")
                  .filter(credential_hash=credential_hash, revoked_at__isnull=True).first())
    node = credential.node if credential and credential.node.state != Node.State.DECOMMISSIONED else None
    cache.set(key, {"id": node.id, "organization_id": node.organization_id, "cluster_id": node.cluster_id,
                    "hostname": node.hostname, "state": node.state} if node else {}, _CREDENTIAL_CACHE_S)
    return node


def credential_cache_forget(*, node: Node) -> None:
    hashes = NodeCredential.objects.filter(node=node).values_list("credential_hash", flat=True)
    cache.delete_many([_credential_cache_key(h) for h in hashes])


@transaction.atomic
def node_credentials_revoke(*, actor: Actor, node: Node) -> int:
    require_fleet_admin(actor, node.organization_id)
    count = NodeCredential.objects.filter(node=node, revoked_at__isnull=True).update(revoked_at=timezone.now())
    credential_cache_forget(node=node)
    audit_record(actor=actor, action="node.credentials_revoked", organization=node.organization_id, target=node,
                 details={"hostname": node.hostname, "revoked": count})
    return count


# --- heartbeats ----------------------------------------------------------------------------------


def heartbeat_interval_s() -> int:
    return settings.TIDEGRID_HEARTBEAT_INTERVAL_S


# One statement, one round trip, atomic on its own: lock the node row, check the sequence number and
# move it forward, and insert the samples (matched to the node's devices by uuid) only if it moved. The
# result tells whether the node had been unreachable (the CTE sees the row as it was before the update).
_INGEST = """
WITH before AS (
    SELECT id, liveness FROM catalog_node WHERE id = %(node)s FOR UPDATE
), advanced AS (
    UPDATE catalog_node n SET last_seq = %(seq)s, last_heartbeat_at = %(now)s, liveness = 'online'
    FROM before WHERE n.id = before.id AND n.last_seq < %(seq)s
    RETURNING before.liveness
), inserted AS (
    INSERT INTO telemetry_devicesample (device_id, node_id, seq, collected_at, received_at, utilization_pct,
        memory_used_mib, temperature_c, power_w, energy_mj, ecc_errors, xid_errors, health)
    SELECT d.id, d.node_id, %(seq)s, %(collected_at)s, %(now)s, v.util, v.mem, v.temp, v.power, v.energy, v.ecc,
           v.xid, v.health
    FROM unnest(%(uuids)s::text[], %(util)s::float8[], %(mem)s::int[], %(temp)s::float8[], %(power)s::float8[],
                %(energy)s::bigint[], %(ecc)s::bigint[], %(xid)s::bigint[], %(health)s::text[])
         AS v(uuid, util, mem, temp, power, energy, ecc, xid, health)
    JOIN catalog_device d ON d.uuid = v.uuid AND d.node_id = %(node)s
    WHERE EXISTS (SELECT 1 FROM advanced)
    RETURNING 1
)
SELECT (SELECT liveness FROM advanced), (SELECT count(*) FROM inserted)
"""


def heartbeat_ingest(*, node: Node, report) -> dict[str, Any]:
    """Store one report exactly once (idempotent on seq) and answer with the node's work.

    ``report`` is a validated ``HeartbeatIn``. The hot path is one statement plus the query for the
    reply; only reports that carry assignment states or device trouble open a transaction.
    """
    now = timezone.now()
    seq = report.seq
    samples = report.devices
    with connection.cursor() as cursor:
        cursor.execute(_INGEST, {
            "node": node.id, "seq": seq, "collected_at": report.collected_at, "now": now,
            "uuids": [s.uuid for s in samples], "util": [s.utilization_pct for s in samples],
            "mem": [s.memory_used_mib for s in samples], "temp": [s.temperature_c for s in samples],
            "power": [s.power_w for s in samples], "energy": [s.energy_mj for s in samples],
            "ecc": [s.ecc_errors for s in samples], "xid": [s.xid_errors for s in samples],
            "health": [s.health for s in samples],
        })
        previous_liveness, _stored = cursor.fetchone()
    if previous_liveness is None:
        return _reply(node=node, seq=seq, duplicate=True, final_ids=[], reported_ids=set(), lost_ids=[])

    troubled = [s for s in samples if s.ecc_errors or s.xid_errors or s.health != "ok"]
    if troubled:
        with transaction.atomic():
            devices = {d.uuid: d for d in Device.objects.select_for_update().filter(
                node=node, uuid__in=[s.uuid for s in troubled])}
            for sample in troubled:
                if sample.uuid in devices:
                    _device_health_check(device=devices[sample.uuid], sample=sample.model_dump())
    final_ids: list[str] = []
    reported_ids: set[str] = set()
    lost_ids: list[str] = []
    if report.assignments:
        with transaction.atomic():
            final_ids, reported_ids, lost_ids = _assignments_update(
                node=node, reported=[a.model_dump() for a in report.assignments], now=now,
                collected_at=report.collected_at)
    if previous_liveness == Node.Liveness.UNREACHABLE:
        audit_record(actor=None, action="node.reachable", organization=node.organization_id, target=node,
                     details={"hostname": node.hostname, "seq": seq})
    return _reply(node=node, seq=seq, duplicate=False, final_ids=final_ids, reported_ids=reported_ids,
                  lost_ids=lost_ids)


def _device_health_check(*, device: Device, sample: dict) -> None:
    """Quarantine a device that reports new uncorrectable ECC errors, a burst of XID errors or failure."""
    ecc, xid = sample.get("ecc_errors", 0), sample.get("xid_errors", 0)
    reasons = []
    if ecc > device.ecc_errors:
        reasons.append(_("%(n)d new uncorrectable ECC errors") % {"n": ecc - device.ecc_errors})
    if xid - device.xid_errors >= settings.TIDEGRID_XID_QUARANTINE_THRESHOLD:
        reasons.append(_("%(n)d new XID errors") % {"n": xid - device.xid_errors})
    if sample.get("health") == "failed":
        reasons.append(_("the agent reports the device as failed"))
    changed = ecc != device.ecc_errors or xid != device.xid_errors
    device.ecc_errors, device.xid_errors = ecc, xid
    if reasons and device.health != Device.Health.QUARANTINED:
        device.health = Device.Health.QUARANTINED
        device.health_reason = "; ".join(reasons)
        device.save(update_fields=["ecc_errors", "xid_errors", "health", "health_reason"])
        audit_record(actor=None, action="device.quarantined", organization=device.organization_id, target=device,
                     details={"uuid": device.uuid, "reason": device.health_reason})
    elif sample.get("health") == "degraded" and device.health == Device.Health.OK:
        device.health = Device.Health.DEGRADED
        device.save(update_fields=["ecc_errors", "xid_errors", "health"])
    elif changed:
        device.save(update_fields=["ecc_errors", "xid_errors"])


_REPORTABLE = {"starting", "running", "succeeded", "failed", "stopped"}


def _assignments_update(*, node: Node, reported: list[dict], now: datetime,
                        collected_at: datetime | None = None) -> tuple[list[str], set[str], list[str]]:
    """Record the states the agent reports; return the final ids to acknowledge, the reported ids and
    the reported ids the server had declared lost (the reply tells the agent to stop those)."""
    if not reported:
        return [], set(), []
    collected_at = collected_at or now
    by_id = {str(a.id): a for a in Assignment.objects.select_for_update().filter(
        node=node, id__in=[item["id"] for item in reported])}
    final_ids = []
    lost_ids = []
    usage = []
    for item in reported:
        assignment = by_id.get(str(item["id"]))
        if assignment is not None and item.get("usage") and item["state"] == "running":
            usage.append(AssignmentSample(assignment=assignment, collected_at=collected_at,
                                          utilization_pct=item["usage"]["utilization_pct"],
                                          memory_used_mib=item["usage"]["memory_used_mib"]))
        if assignment is None or item["state"] not in _REPORTABLE:
            continue
        if not assignment.is_final:
            previous_state = assignment.state
            assignment.state = item["state"]
            assignment.exit_code = item.get("exit_code")
            assignment.log_tail = (item.get("log_tail") or "")[-4096:]
            assignment.connection = item.get("connection") or {}
            assignment.started_at = assignment.started_at or item.get("started_at") or now
            if assignment.is_final:
                assignment.finished_at = item.get("finished_at") or now
            assignment.last_reported_at = now
            assignment.save()
            if assignment.state != previous_state:
                assignment_state_changed.send(sender=Assignment, assignment=assignment, previous_state=previous_state)
        if assignment.state == Assignment.State.LOST:
            if str(assignment.id) not in lost_ids:
                lost_ids.append(str(assignment.id))
            if item["state"] in ("starting", "running"):
                continue  # declared lost while the node was away: not acknowledged, so the reply stops it
        if assignment.is_final:
            final_ids.append(str(assignment.id))
    AssignmentSample.objects.bulk_create(usage)
    return final_ids, {str(item["id"]) for item in reported}, lost_ids


_OPEN_ASSIGNMENTS = """
SELECT id, desired, state, spec FROM telemetry_assignment
WHERE node_id = %s AND state NOT IN ('succeeded', 'failed', 'stopped', 'lost')
"""


def _reply(*, node: Node, seq: int, duplicate: bool, final_ids: list[str], reported_ids: set[str],
           lost_ids: list[str]) -> dict:
    # Work the server gave up on (lost while the node was away) but the agent still runs: stop it.
    work = [{"id": assignment_id, "action": "stop"} for assignment_id in lost_ids]
    with connection.cursor() as cursor:  # raw: this runs for every heartbeat
        cursor.execute(_OPEN_ASSIGNMENTS, [node.id])
        rows = cursor.fetchall()
    for assignment_id, desired, state, spec in rows:
        if desired == Assignment.Desired.STOP:
            work.append({"id": str(assignment_id), "action": "stop"})
        elif state == Assignment.State.PENDING and str(assignment_id) not in reported_ids:
            work.append({"id": str(assignment_id), "action": "start",
                         "spec": json.loads(spec) if isinstance(spec, str) else spec})
    return {"ack_seq": seq, "duplicate": duplicate, "heartbeat_interval_s": heartbeat_interval_s(),
            "ack_final": final_ids, "assignments": work}


# --- liveness ------------------------------------------------------------------------------------


def nodes_mark_unreachable(*, now: datetime | None = None) -> int:
    """Nodes whose last heartbeat is older than the window become unreachable (beat job)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TIDEGRID_NODE_UNREACHABLE_AFTER_S)
    count = 0
    stale = Node.objects.filter(liveness=Node.Liveness.ONLINE, last_heartbeat_at__lt=cutoff).exclude(
        state=Node.State.DECOMMISSIONED)
    for node_id in stale.values_list("id", flat=True):
        with transaction.atomic():
            node = Node.objects.select_for_update().get(pk=node_id)
            if node.liveness != Node.Liveness.ONLINE or node.last_heartbeat_at >= cutoff:
                continue  # a heartbeat arrived meanwhile
            node.liveness = Node.Liveness.UNREACHABLE
            node.save(update_fields=["liveness"])
            _assignments_mark_lost(node=node, now=now)
            node_unreachable.send(sender=Node, node=node)
            audit_record(actor=None, action="node.unreachable", organization=node.organization_id, target=node,
                         details={"hostname": node.hostname, "last_heartbeat_at": node.last_heartbeat_at.isoformat()})
            count += 1
    return count


def _assignments_mark_lost(*, node: Node, now: datetime) -> None:
    """Work on a node that went silent is lost: whoever waits for it hears so now, not when it returns."""
    for assignment in Assignment.objects.select_for_update().filter(node=node).exclude(
            state__in=Assignment.FINAL_STATES):
        previous_state = assignment.state
        assignment.state, assignment.desired, assignment.finished_at = (
            Assignment.State.LOST, Assignment.Desired.STOP, now)
        assignment.save(update_fields=["state", "desired", "finished_at"])
        assignment_state_changed.send(sender=Assignment, assignment=assignment, previous_state=previous_state)


# --- assignments (the scheduler's side of the channel) -----------------------------------------------


@transaction.atomic
def assignment_create(*, node: Node, spec: dict[str, Any]) -> Assignment:
    return Assignment.objects.create(organization_id=node.organization_id, node=node, spec=spec)


@transaction.atomic
def assignment_stop(*, assignment: Assignment) -> Assignment:
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if not assignment.is_final:
        previous_state = assignment.state
        if assignment.state == Assignment.State.PENDING:
            assignment.state = Assignment.State.STOPPED  # never started: nothing for the agent to stop
            assignment.finished_at = timezone.now()
        assignment.desired = Assignment.Desired.STOP
        assignment.save(update_fields=["desired", "state", "finished_at"])
        if assignment.state != previous_state:
            assignment_state_changed.send(sender=Assignment, assignment=assignment, previous_state=previous_state)
    return assignment


def assignments_stop_on_node(*, node: Node) -> int:
    """Ask the agent to stop everything on a node that is being drained or decommissioned."""
    count = 0
    for assignment in Assignment.objects.filter(node=node).exclude(state__in=Assignment.FINAL_STATES):
        assignment_stop(assignment=assignment)
        count += 1
    return count
