"""The live placement loop: pending workloads of a region → the engine → allocations in the database.

Placement of one region is serialized by a PostgreSQL advisory lock, so regions scale independently.
Correctness does not rest on that lock: every allocation decrements the device's and node's free
counters with a conditional UPDATE (and CHECK constraints forbid negative values), so two workers can
never oversubscribe a device, even if a bug slips in above. A lost race is recorded as a conflict and
the workload stays pending for the next round.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.accounts.selectors import ssh_authorized_keys
from apps.booking.lifecycle import workload_transition
from apps.booking.models import Workload
from apps.booking.selectors import image_vendors, placement_order, placement_queue
from apps.booking.signals import START, workload_admission
from apps.catalog.models import Cluster, Device, Node, Region, RegionLatency
from apps.catalog.selectors import nodes_on_sale
from apps.core.reasons import Reason
from apps.scheduling.models import Assignment
from workers.placement import (
    DEFAULT_POLICY,
    ClusterState,
    DeviceSpec,
    GangDecision,
    NodeSpec,
    Profile,
    Request,
    decide,
    install_target_workload,
)

from .dispatch import assignment_create, assignment_stop
from .models import Allocation, PlacementDecision

logger = logging.getLogger(__name__)

UNSCHEDULABLE_DEVICE_HEALTH = (Device.Health.QUARANTINED, Device.Health.FAILED)
# How many recent bookings define the workload mix that fragmentation is measured against.
RECENT_MIX_SIZE = 1000


class CapacityConflict(Exception):
    """A device or node no longer had the free capacity the decision assumed."""


def region_lock_key(region_code: str) -> int:
    """A stable signed 64-bit key per region for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.sha256(f"placement:{region_code}".encode()).digest()[:8], "big", signed=True)


@dataclass
class FleetSnapshot:
    state: ClusterState
    nodes: dict[str, Node] = field(default_factory=dict)
    devices: dict[str, list[Device]] = field(default_factory=dict)  # node id → devices in engine order


def fleet_snapshot() -> FleetSnapshot:
    """The engine's view of every node on sale (schedulable, of an approved provider): free counters
    straight from the database."""
    nodes = list(nodes_on_sale().select_related("cluster__region"))
    devices_by_node: dict[str, list[Device]] = {str(node.id): [] for node in nodes}
    for device in (Device.objects.filter(node__in=nodes).exclude(health__in=UNSCHEDULABLE_DEVICE_HEALTH)
                   .select_related("model").order_by("node_id", "index")):
        devices_by_node[str(device.node_id)].append(device)
    specs = []
    for node in nodes:
        node_devices = devices_by_node[str(node.id)]
        specs.append(NodeSpec(
            id=str(node.id), region=node.cluster.region.code, cpu_milli=node.cpu_milli, memory_mib=node.memory_mib,
            cpu_free_milli=node.cpu_free_milli, memory_free_mib=node.memory_free_mib, labels=dict(node.labels),
            devices=[_device_spec(device, node.cluster) for device in node_devices],
        ))
    return FleetSnapshot(ClusterState.from_nodes(specs), {str(n.id): n for n in nodes}, devices_by_node)


def _device_spec(device: Device, cluster: Cluster) -> DeviceSpec:
    model = device.model
    slicing = cluster.slicing_for(model)
    return DeviceSpec(
        model=model.code if model else device.reported_name, vendor=model.vendor if model else "",
        memory_mib=device.memory_total_mib, memory_free_mib=device.free_memory_mib,
        fp16_tflops=float(model.fp16_tflops) if model else 0.0, milli_free=device.free_compute_milli,
        slicing=slicing,
        profiles=tuple(Profile(name=p["name"], compute_milli=p["compute_milli"], memory_mib=p["memory_mib"])
                       for p in (model.profiles if model and slicing in ("mig", "vnpu") else [])),
    )


def recent_request_mix() -> list[Request]:
    """The shapes customers booked lately, all regions: what the next arrivals will most likely look like."""
    recent = Workload.objects.select_related("preferred_region").order_by("-created_at")[:RECENT_MIX_SIZE]
    return [workload_request(workload) for workload in recent]


def latency_table() -> dict[tuple[str, str], int]:
    return {(a, b): ms for a, b, ms in RegionLatency.objects.values_list("region_a__code", "region_b__code",
                                                                        "rtt_ms")}


def workload_request(workload: Workload) -> Request:
    allowed = tuple(dict.fromkeys([workload.preferred_region.code, *workload.allowed_regions]))
    return Request(
        id=str(workload.id), cpu_milli=workload.cpu_milli, memory_mib=workload.memory_mib,
        gpu_count=workload.gpu_count, gpu_milli=workload.gpu_milli, gpu_memory_mib=workload.gpu_memory_mib,
        profile=workload.profile or None, models=tuple(workload.accelerator_models) or None,
        vendors=_vendors(workload), min_gpu_memory_mib=workload.min_gpu_memory_mib,
        min_fp16_tflops=float(workload.min_fp16_tflops), preferred_region=workload.preferred_region.code,
        allowed_regions=allowed, priority=workload.priority, preemptible=workload.preemptible,
    )


def _vendors(workload: Workload) -> tuple[str, ...] | None:
    """The vendors it may run on: its own choice, narrowed to what its image supports (a MindSpore
    booking for "any accelerator" must land on an Ascend card)."""
    supported = image_vendors(workload)
    chosen = tuple(workload.vendors) or None
    if supported is None:
        return chosen
    return tuple(v for v in chosen if v in supported) if chosen else supported


def place_pending(*, region_code: str, policy: str = DEFAULT_POLICY, batch: int = 200, lock: bool = True) -> dict:
    """Place the region's pending workloads in queue order (booking.selectors.placement_order). Idempotent.

    ``lock=False`` skips the region lock; only tests use it, to prove the database guards alone keep
    concurrent placers from overselling.
    """
    placed = unschedulable = conflicts = 0
    with transaction.atomic():
        if lock:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [region_lock_key(region_code)])
        # placement_order: bands, then turns by arrival (a reservation is not placed before its window).
        region = Region.objects.filter(code=region_code).first()
        order = placement_order(region_id=region.pk, limit=batch) if region else []
        rank = {pk: index for index, pk in enumerate(order)}
        pending = sorted(placement_queue().select_for_update(skip_locked=True).select_related("preferred_region")
                         .filter(pk__in=order), key=lambda workload: rank[workload.pk])
        if not pending:
            return {"placed": 0, "unschedulable": 0, "conflicts": 0}
        snapshot = fleet_snapshot()
        install_target_workload(snapshot.state, recent_request_mix(), policy)
        latency = latency_table()
        for workload in pending:
            if not _admitted(workload):
                _record_unschedulable(workload, region_code, policy, [FUNDS_SHORT])
                unschedulable += 1
                continue
            decision = decide(snapshot.state, workload_request(workload), policy=policy, latency=latency,
                              preemption=False)
            if not decision:
                _record_unschedulable(workload, region_code, policy, decision.reasons)
                unschedulable += 1
                continue
            members = decision.members if isinstance(decision, GangDecision) else [decision]
            try:
                with transaction.atomic():
                    for member in members:
                        _allocate(workload, member, snapshot)
            except CapacityConflict as conflict:
                PlacementDecision.objects.create(workload=workload, region=region_code, policy=policy,
                                                 outcome=PlacementDecision.Outcome.CONFLICT, reasons=[str(conflict)])
                conflicts += 1
                continue
            for member in members:
                snapshot.state.apply(member)
            node_names = ", ".join(snapshot.nodes[m.node_id].hostname for m in members)
            workload = workload_transition(workload=workload, to_state=Workload.State.PLACED,
                                           reason=Reason(gettext_noop("placed on %(nodes)s by the %(policy)s policy"),
                                                         nodes=node_names, policy=policy))
            PlacementDecision.objects.create(
                workload=workload, region=region_code, policy=policy, outcome=PlacementDecision.Outcome.PLACED,
                node=snapshot.nodes[members[0].node_id], score=_jsonable(members[0].score))
            placed += 1
    logger.info("placement %s: %d placed, %d unschedulable, %d conflicts", region_code, placed, unschedulable,
                conflicts)
    return {"placed": placed, "unschedulable": unschedulable, "conflicts": conflicts}


FUNDS_SHORT = Reason(gettext_noop("waiting for funds: the prepaid wallet does not cover the runway of this workload "
                                  "and the organization's running work; top up to start it"))


def _admitted(workload: Workload) -> bool:
    """Whether the apps above booking let it start now (billing: the prepaid wallet covers its runway). Their
    locks (the organization's billing profile) are held until the placement round commits."""
    try:
        with transaction.atomic():
            workload_admission.send(sender=Workload, workload=workload, stage=START)
    except ValidationError:
        return False
    return True


def _allocate(workload: Workload, member, snapshot: FleetSnapshot) -> None:
    node = snapshot.nodes[member.node_id]
    took = Node.objects.filter(pk=node.pk, cpu_free_milli__gte=workload.cpu_milli,
                               memory_free_mib__gte=workload.memory_mib).update(
        cpu_free_milli=F("cpu_free_milli") - workload.cpu_milli,
        memory_free_mib=F("memory_free_mib") - workload.memory_mib)
    if not took:
        raise CapacityConflict(f"node {node.hostname} no longer has {workload.cpu_milli} milli-CPU and "
                               f"{workload.memory_mib} MiB free")
    devices = snapshot.devices[member.node_id]
    allocations = []
    for index, milli, memory in zip(member.device_indices, member.slice_milli, member.slice_memory_mib, strict=True):
        device = devices[index]
        took = Device.objects.filter(pk=device.pk, free_compute_milli__gte=milli, free_memory_mib__gte=memory).update(
            free_compute_milli=F("free_compute_milli") - milli, free_memory_mib=F("free_memory_mib") - memory)
        if not took:
            raise CapacityConflict(f"device {node.hostname}/{device.index} no longer has {milli} milli and "
                                   f"{memory} MiB free")
        allocations.append(Allocation(workload=workload, organization_id=workload.organization_id, node=node,
                                      device=device, compute_milli=milli, memory_mib=memory,
                                      profile=workload.profile))
    if allocations:
        allocations[0].cpu_milli, allocations[0].host_memory_mib = workload.cpu_milli, workload.memory_mib
    else:  # CPU-only work still holds its node share
        allocations.append(Allocation(workload=workload, organization_id=workload.organization_id, node=node,
                                      compute_milli=0, memory_mib=0, cpu_milli=workload.cpu_milli,
                                      host_memory_mib=workload.memory_mib))
    assignment = assignment_create(node=node, spec={
        **workload.spec, "workload_id": str(workload.id), "workload_kind": workload.kind,
        "device_uuids": [a.device.uuid for a in allocations if a.device],
        "device_indices": [a.device.index for a in allocations if a.device],
        "compute_milli": allocations[0].compute_milli, "memory_mib": allocations[0].memory_mib,
        "profile": workload.profile or None,
        # An instance accepts its booking member's SSH keys (as they are at placement time).
        "ssh_authorized_keys": (ssh_authorized_keys(user_id=workload.created_by_id)
                                if workload.kind == Workload.Kind.INSTANCE else []),
    })
    for allocation in allocations:
        allocation.assignment = assignment
    Allocation.objects.bulk_create(allocations)


def _record_unschedulable(workload: Workload, region_code: str, policy: str, reasons: list[str]) -> None:
    reasons = reasons or [Reason(gettext_noop("no node can hold this request"))]
    if workload.pending_reason == "; ".join(reasons):
        return  # the beat sweep retries every 15 s: record a decision only when the answer changes
    PlacementDecision.objects.create(workload=workload, region=region_code, policy=policy,
                                     outcome=PlacementDecision.Outcome.UNSCHEDULABLE, reasons=[str(r) for r in reasons])
    workload.save(update_fields=workload.pending_reasons_set(reasons))


@transaction.atomic
def workload_release(*, workload: Workload) -> int:
    """Give a workload's capacity back (it stopped, failed or was lost). Idempotent."""
    released = 0
    now = timezone.now()
    for allocation in Allocation.objects.select_for_update().filter(workload=workload, released_at__isnull=True):
        if allocation.device_id:
            Device.objects.filter(pk=allocation.device_id).update(
                free_compute_milli=F("free_compute_milli") + allocation.compute_milli,
                free_memory_mib=F("free_memory_mib") + allocation.memory_mib)
        if allocation.cpu_milli or allocation.host_memory_mib:
            Node.objects.filter(pk=allocation.node_id).update(
                cpu_free_milli=F("cpu_free_milli") + allocation.cpu_milli,
                memory_free_mib=F("memory_free_mib") + allocation.host_memory_mib)
        allocation.released_at = now
        allocation.save(update_fields=["released_at"])
        released += 1
    return released


def regions_with_pending() -> list[str]:
    return list(placement_queue().order_by().values_list("preferred_region__code", flat=True).distinct())


def _jsonable(score: dict) -> dict:
    out = {}
    for key, value in score.items():
        if hasattr(value, "item"):
            value = value.item()  # numpy scalars
        out[key] = value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)
    return out


def workload_stop_assignments(*, workload: Workload) -> int:
    """Ask the agents to stop a workload's assignments; the workload becomes stopped when they report it."""
    assignments = Assignment.objects.filter(allocations__workload=workload).distinct()
    for assignment in assignments:
        assignment_stop(assignment=assignment)
    return len(assignments)
