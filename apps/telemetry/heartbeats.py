"""Heartbeat ingestion: one report stored exactly once, device health checked, the assignments' states
updated within what the server observed, and the reply with the node's work."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.protocol import LOG_TAIL_CHARS, AssignmentReport, AssignmentSpec, HeartbeatReply, ProtocolError, WorkItem
from agents.protocol import DeviceSample as DeviceSampleReport
from apps.audit.services import audit_record
from apps.catalog.models import Device, Node
from apps.scheduling.models import Assignment
from apps.scheduling.signals import assignment_state_changed

from .models import AssignmentSample

logger = logging.getLogger(__name__)


# --- heartbeats ----------------------------------------------------------------------------------


def heartbeat_interval_s() -> int:
    return settings.TIDEGRID_HEARTBEAT_INTERVAL_S


# One statement, one round trip, atomic on its own: lock the node row, check the sequence number and
# move it forward, and insert the samples (matched to the node's devices by uuid) only if it moved. The
# result tells whether the node had been unreachable (the CTE sees the row as it was before the update).
_INGEST = """
WITH before AS (
    SELECT id, liveness, last_seq FROM catalog_node WHERE id = %(node)s FOR UPDATE
), advanced AS (
    UPDATE catalog_node n SET last_seq = %(seq)s, last_heartbeat_at = %(now)s, liveness = 'online'
    FROM before WHERE n.id = before.id AND n.last_seq < %(seq)s AND %(seq)s - n.last_seq <= %(step)s
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
SELECT (SELECT liveness FROM advanced), (SELECT count(*) FROM inserted), (SELECT last_seq FROM before)
"""


def heartbeat_ingest(*, node: Node, report) -> dict[str, Any]:
    """Store one report exactly once (idempotent on seq) and answer with the node's work.

    ``report`` is a validated ``agents.protocol.HeartbeatReport``. The hot path is one statement plus the
    query for the reply; only reports that carry assignment states or device trouble open a transaction.
    """
    now = timezone.now()
    seq = report.seq
    samples = report.devices
    with connection.cursor() as cursor:
        cursor.execute(_INGEST, {
            "node": node.id, "seq": seq, "step": settings.TIDEGRID_AGENT_MAX_SEQ_STEP,
            "collected_at": report.collected_at, "now": now,
            "uuids": [s.uuid for s in samples], "util": [s.utilization_pct for s in samples],
            "mem": [s.memory_used_mib for s in samples], "temp": [s.temperature_c for s in samples],
            "power": [s.power_w for s in samples], "energy": [s.energy_mj for s in samples],
            "ecc": [s.ecc_errors for s in samples], "xid": [s.xid_errors for s in samples],
            "health": [s.health for s in samples],
        })
        previous_liveness, _stored, last_seq = cursor.fetchone()
    if previous_liveness is None and seq > last_seq:
        raise ValidationError({"seq": [_(
            "seq may advance by at most %(step)d over the last accepted report (%(last)d); re-enroll the "
            "node with a new bootstrap token to start a new sequence.") % {
                "step": settings.TIDEGRID_AGENT_MAX_SEQ_STEP, "last": last_seq}]})
    if previous_liveness is None:
        return _reply(node=node, seq=seq, duplicate=True, final_ids=[], reported_ids=set(), lost_ids=[])

    troubled = [s for s in samples if s.ecc_errors or s.xid_errors or s.health != "ok"]
    if troubled:
        with transaction.atomic():
            devices = {d.uuid: d for d in Device.objects.select_for_update().filter(
                node=node, uuid__in=[s.uuid for s in troubled])}
            for sample in troubled:
                if sample.uuid in devices:
                    _device_health_check(device=devices[sample.uuid], sample=sample)
    final_ids: list[str] = []
    reported_ids: set[str] = set()
    lost_ids: list[str] = []
    if report.assignments:
        with transaction.atomic():
            final_ids, reported_ids, lost_ids = _assignments_update(
                node=node, reported=list(report.assignments), now=now,
                collected_at=report.collected_at)
    if previous_liveness == Node.Liveness.UNREACHABLE:
        audit_record(actor=None, action="node.reachable", organization=node.organization_id, target=node,
                     details={"hostname": node.hostname, "seq": seq})
    return _reply(node=node, seq=seq, duplicate=False, final_ids=final_ids, reported_ids=reported_ids,
                  lost_ids=lost_ids)


def _device_health_check(*, device: Device, sample: DeviceSampleReport) -> None:
    """Quarantine a device that reports new uncorrectable ECC errors, a burst of XID errors or failure."""
    ecc, xid = sample.ecc_errors, sample.xid_errors
    reasons = []
    if ecc > device.ecc_errors:
        reasons.append(_("%(n)d new uncorrectable ECC errors") % {"n": ecc - device.ecc_errors})
    if xid - device.xid_errors >= settings.TIDEGRID_XID_QUARANTINE_THRESHOLD:
        reasons.append(_("%(n)d new XID errors") % {"n": xid - device.xid_errors})
    if sample.health == "failed":
        reasons.append(_("the agent reports the device as failed"))
    changed = ecc != device.ecc_errors or xid != device.xid_errors
    device.ecc_errors, device.xid_errors = ecc, xid
    if reasons and device.health != Device.Health.QUARANTINED:
        device.health = Device.Health.QUARANTINED
        device.health_reason = "; ".join(reasons)
        device.save(update_fields=["ecc_errors", "xid_errors", "health", "health_reason"])
        audit_record(actor=None, action="device.quarantined", organization=device.organization_id, target=device,
                     details={"uuid": device.uuid, "reason": device.health_reason})
    elif sample.health == "degraded" and device.health == Device.Health.OK:
        device.health = Device.Health.DEGRADED
        device.save(update_fields=["ecc_errors", "xid_errors", "health"])
    elif changed:
        device.save(update_fields=["ecc_errors", "xid_errors"])


_REPORTABLE = {"starting", "running", "succeeded", "failed", "stopped"}


def _assignments_update(*, node: Node, reported: list[AssignmentReport], now: datetime,
                        collected_at: datetime | None = None) -> tuple[list[str], set[str], list[str]]:
    """Record the states the agent reports; return the final ids to acknowledge, the reported ids and
    the reported ids the server had declared lost (the reply tells the agent to stop those)."""
    if not reported:
        return [], set(), []
    collected_at = collected_at or now
    by_id = {str(a.id): a for a in Assignment.objects.select_for_update().filter(
        node=node, id__in=[item.id for item in reported])}
    final_ids = []
    lost_ids = []
    usage = []
    clamped = False
    for item in reported:
        assignment = by_id.get(item.id)
        if assignment is not None and item.usage is not None and item.state == "running":
            usage.append(AssignmentSample(assignment=assignment, collected_at=collected_at,
                                          utilization_pct=item.usage.utilization_pct,
                                          memory_used_mib=item.usage.memory_used_mib))
        if assignment is None or item.state not in _REPORTABLE:
            continue
        if not assignment.is_final:
            previous_state = assignment.state
            assignment.state = item.state
            assignment.exit_code = item.exit_code
            assignment.log_tail = item.log_tail[-LOG_TAIL_CHARS:]
            assignment.connection = item.connection
            if assignment.started_at is None:
                assignment.started_at, off = _observed_time(item.started_at, assignment=assignment, now=now)
                clamped = clamped or off
            if assignment.is_final:
                assignment.finished_at, off = _observed_time(item.finished_at, assignment=assignment,
                                                             now=now, lower=assignment.started_at)
                clamped = clamped or off
            assignment.last_reported_at = now
            assignment.save()
            if assignment.state != previous_state:
                assignment_state_changed.send(sender=Assignment, assignment=assignment, previous_state=previous_state)
        if assignment.state == Assignment.State.LOST:
            if str(assignment.id) not in lost_ids:
                lost_ids.append(str(assignment.id))
            if item.state in ("starting", "running"):
                continue  # declared lost while the node was away: not acknowledged, so the reply stops it
        if assignment.is_final:
            final_ids.append(str(assignment.id))
    AssignmentSample.objects.bulk_create(usage)
    if clamped:
        Node.objects.filter(pk=node.id).update(agent_time_flags=F("agent_time_flags") + 1, agent_time_flagged_at=now)
        logger.warning("node %s (%s) reported assignment times outside what the server observed; clamped",
                       node.hostname, node.id)
    return final_ids, {item.id for item in reported}, lost_ids


def _ceil_second(moment: datetime) -> datetime:
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + timedelta(seconds=1)


def _observed_time(reported: datetime | None, *, assignment: Assignment, now: datetime,
                   lower: datetime | None = None) -> tuple[datetime, bool]:
    """An agent-reported start/finish bounded by what the server observed: not before the (whole) second
    after the assignment was handed to the agent (nor before ``lower``), not after this report's receipt.
    Billing floors to the second, so billed seconds never exceed the observed ones. Returns the bounded
    time and whether the agent's value lay outside the bounds by more than the clock-skew tolerance."""
    floor = _ceil_second(assignment.delivered_at) if assignment.delivered_at else now
    if lower is not None:
        floor = max(floor, lower)
    ceiling = max(floor, now)
    if reported is None:
        return ceiling, False
    bounded = min(max(reported, floor), ceiling)
    tolerance = timedelta(seconds=settings.TIDEGRID_AGENT_TIME_TOLERANCE_S)
    return bounded, abs(reported - bounded) > tolerance


_OPEN_ASSIGNMENTS = """
SELECT id, desired, state, spec, delivered_at FROM telemetry_assignment
WHERE node_id = %s AND state NOT IN ('succeeded', 'failed', 'stopped', 'lost')
"""


def _reply(*, node: Node, seq: int, duplicate: bool, final_ids: list[str], reported_ids: set[str],
           lost_ids: list[str]) -> dict:
    # Work the server gave up on (lost while the node was away) but the agent still runs: stop it.
    work = [WorkItem(id=assignment_id, action="stop") for assignment_id in lost_ids]
    with connection.cursor() as cursor:  # raw: this runs for every heartbeat
        cursor.execute(_OPEN_ASSIGNMENTS, [node.id])
        rows = cursor.fetchall()
    handed = []
    for assignment_id, desired, state, spec, delivered_at in rows:
        if desired == Assignment.Desired.STOP:
            work.append(WorkItem(id=str(assignment_id), action="stop"))
        elif state == Assignment.State.PENDING and str(assignment_id) not in reported_ids:
            try:
                typed = AssignmentSpec.from_dict(json.loads(spec) if isinstance(spec, str) else spec)
            except ProtocolError as error:  # stored before specs were checked: never let it fail the report
                logger.error("assignment %s has a spec the protocol cannot carry: %s", assignment_id, error)
                continue
            work.append(WorkItem(id=str(assignment_id), action="start", spec=typed))
            if delivered_at is None:
                handed.append(assignment_id)
    if handed:  # the server's own record of when the agent could first have started it (billing's floor)
        Assignment.objects.filter(id__in=handed, delivered_at__isnull=True).update(delivered_at=timezone.now())
    return HeartbeatReply(ack_seq=seq, duplicate=duplicate, heartbeat_interval_s=heartbeat_interval_s(),
                          ack_final=tuple(final_ids), assignments=tuple(work)).to_dict()
