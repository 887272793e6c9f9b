"""Reads of telemetry for the provider portal: latest values and chart series."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from apps.catalog.models import Node

RANGES = {
    # range → (span, source, bucket seconds for the raw series)
    "1h": (timedelta(hours=1), "raw"),
    "24h": (timedelta(hours=24), "minute"),
    "7d": (timedelta(days=7), "hour"),
}


def device_latest_samples(*, node: Node) -> dict:
    """device_id → latest sample values (last 10 minutes), for live tables."""
    since = timezone.now() - timedelta(minutes=10)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT DISTINCT ON (device_id) device_id, collected_at, utilization_pct, memory_used_mib,
                      temperature_c, power_w
               FROM telemetry_devicesample WHERE node_id = %s AND collected_at >= %s
               ORDER BY device_id, collected_at DESC""",
            [node.id, since],
        )
        return {row[0]: {"collected_at": row[1], "utilization_pct": row[2], "memory_used_mib": row[3],
                         "temperature_c": row[4], "power_w": row[5]} for row in cursor.fetchall()}


def node_utilization_now(*, node_ids: list) -> dict:
    """node id → mean utilization of its devices over their latest samples (last 10 minutes), one query."""
    since = timezone.now() - timedelta(minutes=10)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT node_id, avg(utilization_pct) FROM (
                   SELECT DISTINCT ON (device_id) node_id, utilization_pct FROM telemetry_devicesample
                   WHERE node_id = ANY(%s) AND collected_at >= %s ORDER BY device_id, collected_at DESC
               ) latest GROUP BY node_id""",
            [list(node_ids), since],
        )
        return dict(cursor.fetchall())


def node_series(*, node: Node, range_key: str) -> dict:
    """Per-device series of utilization, memory, temperature and power over the range."""
    span, source = RANGES[range_key]
    since = timezone.now() - span
    with connection.cursor() as cursor:
        if source == "raw":
            cursor.execute(
                """SELECT s.device_id, d.index, s.collected_at, s.utilization_pct, s.memory_used_mib,
                          s.temperature_c, s.power_w
                   FROM telemetry_devicesample s JOIN catalog_device d ON d.id = s.device_id
                   WHERE s.node_id = %s AND s.collected_at >= %s ORDER BY d.index, s.collected_at""",
                [node.id, since],
            )
        else:
            cursor.execute(
                """SELECT r.device_id, d.index, r.bucket, r.utilization_avg, r.memory_used_avg_mib,
                          r.temperature_avg_c, r.power_avg_w
                   FROM telemetry_devicerollup r JOIN catalog_device d ON d.id = r.device_id
                   WHERE d.node_id = %s AND r.resolution = %s AND r.bucket >= %s ORDER BY d.index, r.bucket""",
                [node.id, source, since],
            )
        rows = cursor.fetchall()
    devices: dict[str, dict] = {}
    for device_id, index, moment, util, memory, temperature, power in rows:
        series = devices.setdefault(str(device_id), {"index": index, "points": []})
        series["points"].append({"t": moment.isoformat(), "utilization_pct": round(util, 1),
                                 "memory_used_mib": round(memory), "temperature_c": temperature,
                                 "power_w": power})
    return {"range": range_key, "source": source, "devices": sorted(devices.values(), key=lambda d: d["index"])}


def devices_recent_series(*, device_ids: list, since, until=None, limit_per_device: int = 360) -> dict:
    """device id → [(collected_at, utilization %, memory used MiB)] from raw samples in [since, until],
    oldest first; the newest ``limit_per_device`` points of each device (a workload's live chart)."""
    until = until or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT device_id, collected_at, utilization_pct, memory_used_mib FROM (
                   SELECT device_id, collected_at, utilization_pct, memory_used_mib,
                          row_number() OVER (PARTITION BY device_id ORDER BY collected_at DESC) AS newest
                   FROM telemetry_devicesample
                   WHERE device_id = ANY(%s) AND collected_at >= %s AND collected_at <= %s
               ) recent WHERE newest <= %s ORDER BY device_id, collected_at""",
            [list(device_ids), since, until, limit_per_device],
        )
        series: dict = {}
        for device_id, at, utilization, memory in cursor.fetchall():
            series.setdefault(device_id, []).append((at, utilization, memory))
        return series


def assignment_recent_series(*, assignment_id, since, until=None, limit: int = 360) -> list:
    """[(collected_at, utilization % of a card, memory MiB)] the agent attributed to one assignment,
    oldest first; the newest ``limit`` readings in [since, until]."""
    from .models import AssignmentSample

    rows = (AssignmentSample.objects.filter(assignment_id=assignment_id, collected_at__gte=since,
                                            collected_at__lte=until or timezone.now())
            .order_by("-collected_at").values_list("collected_at", "utilization_pct", "memory_used_mib")[:limit])
    return list(reversed(rows))
