"""Reads for workloads, shared by the portal pages and the REST API.

Allocations and assignments (scheduling's and telemetry's) are read through the workload's reverse
relations (``workload.allocations``), so booking imports neither app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from apps.tenancy.models import Organization

from .images import Image, image_get
from .lifecycle import FINAL
from .models import OrganizationQuota, Workload, WorkloadEvent
from .rules import PRIORITY_BANDS


@dataclass(frozen=True)
class PlacementView:
    """One device slice (or the CPU-only share of a node) the workload holds or held."""

    node: str
    region: str
    device_index: int | None
    model: str | None
    model_name: str | None
    compute_milli: int
    memory_mib: int
    profile: str
    released: bool


@dataclass(frozen=True)
class RunView:
    """What the node's agent reports about the latest run."""

    state: str
    exit_code: int | None
    log_tail: str
    connection: dict[str, Any]
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class InstanceAccess:
    """How a customer reaches a running instance: commands ready to copy."""

    ssh_command: str
    jupyter_url: str
    public: bool  # through the cluster's declared public address (not the node's own host name)


_SSH_RE = re.compile(r"ssh -p (\d{1,5}) ([A-Za-z0-9._-]{1,64})@([A-Za-z0-9.:\[\]-]{1,253})")


def _host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def instance_access(*, connection: dict[str, Any], cluster) -> InstanceAccess | None:
    """The SSH command and Jupyter URL of an instance from what its agent reported: on the cluster's public
    host where the reported ports lie in its declared range, else on the node's own address."""
    match = _SSH_RE.fullmatch(str(connection.get("ssh") or ""))
    jupyter = urlsplit(str(connection.get("jupyter") or ""))
    if match is None and not jupyter.netloc:
        return None
    ssh_command, jupyter_url, public = "", "", False
    if match is not None:
        port, user, host = int(match[1]), match[2], match[3]
        if cluster is not None and cluster.public_port(port):
            host, public = cluster.public_host, True
        ssh_command = f"ssh -p {port} {user}@{host}"
    try:
        jupyter_port = jupyter.port
    except ValueError:
        jupyter_port = None
    if jupyter.scheme in ("http", "https") and jupyter.hostname and jupyter_port:
        host = _host_in_url(jupyter.hostname)
        if cluster is not None and cluster.public_port(jupyter_port):
            host, public = _host_in_url(cluster.public_host), True
        token = parse_qs(jupyter.query).get("token", [""])[0]
        query = f"?{urlencode({'token': token})}" if token else ""
        jupyter_url = f"{jupyter.scheme}://{host}:{jupyter_port}{jupyter.path or '/lab'}{query}"
    return InstanceAccess(ssh_command=ssh_command, jupyter_url=jupyter_url, public=public)


@dataclass(frozen=True)
class WorkloadDetail:
    workload: Workload
    events: list[WorkloadEvent]
    allocations: list[PlacementView]  # the latest run's placement (released once it ended)
    run: RunView | None
    queue_position: int | None        # 1 = next to be placed in its region; None unless waiting in the queue
    pending_reason: str
    pending_reason_data: list         # the same as message ids and parameters (apps.core.reasons)
    status_reason: str                # the latest event's reason: why it is in its state
    status_reason_data: dict          # its message id and parameters, to show it in the reader's language
    restarts: int
    image: Image | None
    connection: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None
    log_tail: str = ""
    access: InstanceAccess | None = None


def workload_detail_context(*, workload: Workload, with_queue: bool = True) -> WorkloadDetail:
    """Everything the workload's page and API detail show. On a workload fetched with
    ``WORKLOAD_PREFETCH`` it costs no query, except one for the queue position of a pending workload
    (``with_queue=False`` skips it, for listings)."""
    events = list(workload.events.all())
    allocations = _latest_run(workload)
    assignment = next((a.assignment for a in allocations if a.assignment_id), None)
    run = None
    if assignment is not None:
        run = RunView(state=assignment.state, exit_code=assignment.exit_code, log_tail=assignment.log_tail,
                      connection=dict(assignment.connection or {}), started_at=assignment.started_at,
                      finished_at=assignment.finished_at)
    connection = run.connection if run and run.state in ("starting", "running") else {}
    cluster = allocations[0].node.cluster if allocations else None
    return WorkloadDetail(
        workload=workload, events=events, allocations=[_placement(a) for a in allocations], run=run,
        queue_position=queue_position(workload=workload) if with_queue else None,
        pending_reason=workload.pending_reason, pending_reason_data=workload.pending_reason_data,
        status_reason=events[-1].reason if events else "",
        status_reason_data=events[-1].reason_data if events else {}, restarts=workload.restarts,
        image=image_get(workload.image) if workload.image else None,
        connection=connection, exit_code=run.exit_code if run else None, log_tail=run.log_tail if run else "",
        access=instance_access(connection=connection, cluster=cluster) if connection else None,
    )


# Everything workload_detail_context and the API serializer read, in a fixed number of queries.
WORKLOAD_PREFETCH = ("events", "allocations__node__cluster__region", "allocations__device__model",
                     "allocations__assignment")


def workload_list_queryset(*, organization: Organization) -> QuerySet[Workload]:
    """The organization's workloads, newest first, with what the list shows in a fixed number of queries:
    the placement and run (``WORKLOAD_PREFETCH``) and, from its usage records (billing's, read through the
    reverse relation), the cost so far in fen and the hourly price of the stretch now running."""
    return (Workload.objects.filter(organization=organization).select_related("preferred_region")
            .prefetch_related(*WORKLOAD_PREFETCH)
            .annotate(cost_so_far_fen=Sum("usage_records__cost_fen"),
                      running_hourly=Sum("usage_records__hourly", filter=Q(usage_records__ended_at__isnull=True)))
            .order_by("-created_at"))


def _latest_run(workload: Workload) -> list:
    """The allocations of the latest placement: one run may hold several devices (whole cards)."""
    allocations = sorted(workload.allocations.all(), key=lambda a: (a.created_at, a.pk), reverse=True)
    if not allocations:
        return []
    latest = allocations[0].assignment_id
    run = [a for a in allocations if a.assignment_id == latest] if latest else allocations[:1]
    return sorted(run, key=lambda a: (a.device.index if a.device_id else -1))


def _placement(allocation) -> PlacementView:
    device = allocation.device if allocation.device_id else None
    model = device.model if device is not None and device.model_id else None
    return PlacementView(
        node=allocation.node.hostname, region=allocation.node.cluster.region.code,
        device_index=device.index if device is not None else None, model=model.code if model else None,
        model_name=model.name if model else (device.reported_name if device is not None else None),
        compute_milli=allocation.compute_milli, memory_mib=allocation.memory_mib, profile=allocation.profile,
        released=allocation.released_at is not None,
    )


# --- the placement queue -----------------------------------------------------------------------------


def waits_for_window(workload: Workload, *, now: datetime | None = None) -> bool:
    return (workload.billing_mode == Workload.BillingMode.RESERVED and workload.window_start is not None
            and workload.window_start > (now or timezone.now()))


def placement_queue(*, now: datetime | None = None) -> QuerySet[Workload]:
    """Pending workloads the placer considers now (a reservation waits for its window); unordered — the
    order is :func:`placement_order`'s."""
    return (Workload.objects.filter(state=Workload.State.PENDING)
            .exclude(billing_mode=Workload.BillingMode.RESERVED, window_start__gt=now or timezone.now()))


def placement_order(*, region_id, limit: int | None = None, now: datetime | None = None) -> list:
    """The ids of a region's queue in the order the placer takes them.

    Bands first (reserved, then on-demand, then spot: ``rules.PRIORITY_BANDS``). Inside a band, arrival
    decides whose turn it is: an organization's pending workloads hold the turns of their booking times.
    The customer's own priority only decides which of *its* workloads takes each of its turns, so a high
    priority reorders an organization's own queue and never jumps another organization's work.
    """
    rows = (placement_queue(now=now).filter(preferred_region_id=region_id)
            .values_list("id", "organization_id", "billing_mode", "priority", "created_at"))
    by_owner: dict[tuple, list] = {}
    for row in rows:
        band = PRIORITY_BANDS[row[2]].base if row[2] in PRIORITY_BANDS else row[3]
        by_owner.setdefault((band, row[1]), []).append(row)
    keyed = []
    for (band, _organization), items in by_owner.items():
        turns = sorted((created_at, str(pk)) for pk, _o, _m, _p, created_at in items)
        takers = sorted(items, key=lambda row: (-row[3], row[4], str(row[0])))
        keyed.extend(((-band, *turn), taker[0]) for turn, taker in zip(turns, takers, strict=True))
    keyed.sort()
    order = [pk for _key, pk in keyed]
    return order[:limit] if limit is not None else order


def image_vendors(workload: Workload) -> tuple[str, ...] | None:
    """The accelerator vendors its image runs on; None when it names no curated image."""
    image = image_get(workload.image) if workload.image else None
    return image.vendors if image else None


def queue_position(*, workload: Workload) -> int | None:
    """Its place among its region's pending workloads in placement order (1 = next); None when it is
    not waiting to be placed."""
    if workload.state != Workload.State.PENDING or waits_for_window(workload):
        return None
    order = placement_order(region_id=workload.preferred_region_id)
    return order.index(workload.pk) + 1 if workload.pk in order else None


# --- quotas ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaView:
    max_cards: int
    max_slices: int
    used_cards: int
    used_slices: int
    cards_default: bool
    slices_default: bool


def quota_limits(*, quota: OrganizationQuota | None) -> tuple[int, int]:
    cards = quota.max_cards if quota is not None and quota.max_cards is not None else settings.TIDEGRID_QUOTA_MAX_CARDS
    slices = (quota.max_slices if quota is not None and quota.max_slices is not None
              else settings.TIDEGRID_QUOTA_MAX_SLICES)
    return cards, slices


def quota_usage(*, organization: Organization) -> tuple[int, int]:
    """Whole cards and slices held or asked for by the organization's workloads that are not final."""
    usage = Workload.objects.filter(organization=organization).exclude(state__in=FINAL).aggregate(
        cards=Sum("gpu_count"), slices=Count("id", filter=Q(gpu_milli__gt=0) | ~Q(profile="")))
    return usage["cards"] or 0, usage["slices"] or 0


def quota_view(*, organization: Organization) -> QuotaView:
    quota = OrganizationQuota.objects.filter(organization=organization).first()
    max_cards, max_slices = quota_limits(quota=quota)
    used_cards, used_slices = quota_usage(organization=organization)
    return QuotaView(max_cards=max_cards, max_slices=max_slices, used_cards=used_cards, used_slices=used_slices,
                     cards_default=quota is None or quota.max_cards is None,
                     slices_default=quota is None or quota.max_slices is None)
