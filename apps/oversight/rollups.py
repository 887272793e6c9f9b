"""The observer of device states and the daily rollup. Plain SQL where rows are many: a day of raw
samples of a large fleet is tens of millions of rows, which the database integrates far faster than
Python would. Both jobs are idempotent."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.catalog.models import Device, Node
from apps.scheduling.models import Allocation
from oversight_verify.kpi import DOMESTIC_VENDORS

from .models import DeviceStateSpan
from .periods import day_bounds, local_zone

State = DeviceStateSpan.State
_OBSERVER_LOCK = 0x0F5E_0001


def device_state(*, liveness: str, node_state: str, health: str) -> str:
    """What a device counts as: unreachable (its node's heartbeats stopped) before quarantined (the
    device) before maintenance (the provider cordoned or drains the node); otherwise in service."""
    if liveness == Node.Liveness.UNREACHABLE:
        return State.UNREACHABLE
    if health in (Device.Health.QUARANTINED, Device.Health.FAILED):
        return State.QUARANTINE
    if node_state in (Node.State.CORDONED, Node.State.DRAINING):
        return State.MAINTENANCE
    return State.IN_SERVICE


def device_states_observe(*, now: datetime | None = None) -> dict:
    """Record what every registered device is now: extend its open span when the state holds, else open
    a new one where the last observation ended (or now, after a gap longer than the observe gap, which
    stays unobserved). Decommissioned nodes' devices are not registered: their spans just stop."""
    now = now or timezone.now()
    gap = timedelta(seconds=settings.TIDEGRID_OVERSIGHT_OBSERVE_GAP_S)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_OBSERVER_LOCK])
        if not cursor.fetchone()[0]:
            return {"skipped": True}
        devices = Device.objects.exclude(node__state=Node.State.DECOMMISSIONED).values_list(
            "id", "health", "node__state", "node__liveness")
        current = {device_id: device_state(liveness=liveness, node_state=node_state, health=health)
                   for device_id, health, node_state, liveness in devices}
        cursor.execute(
            """SELECT DISTINCT ON (device_id) id, device_id, state, ended_at FROM oversight_devicestatespan
               WHERE ended_at >= %s AND ended_at <= %s ORDER BY device_id, ended_at DESC""", [now - gap, now])
        open_spans = {device_id: (span_id, state, ended_at)
                      for span_id, device_id, state, ended_at in cursor.fetchall()}
        extend, new = [], []
        for device_id, state in current.items():
            span = open_spans.get(device_id)
            if span is not None and span[1] == state:
                extend.append(span[0])
            else:
                new.append(DeviceStateSpan(device_id=device_id, state=state,
                                           started_at=span[2] if span else now, ended_at=now))
        if extend:
            cursor.execute("UPDATE oversight_devicestatespan SET ended_at = %s WHERE id = ANY(%s)", [now, extend])
        DeviceStateSpan.objects.bulk_create(new)
    return {"extended": len(extend), "opened": len(new)}


_ROLLUP = """
WITH spans AS (
    SELECT device_id, state, started_at, ended_at FROM oversight_devicestatespan
    WHERE started_at < %(d1)s AND ended_at > %(d0)s
), st AS (
    SELECT device_id,
           sum(extract(epoch FROM least(ended_at, %(d1)s) - greatest(started_at, %(d0)s))) AS registered_s,
           coalesce(sum(extract(epoch FROM least(ended_at, %(d1)s) - greatest(started_at, %(d0)s)))
                    FILTER (WHERE state = 'in_service'), 0) AS in_service_s,
           coalesce(sum(extract(epoch FROM least(ended_at, %(d1)s) - greatest(started_at, %(d0)s)))
                    FILTER (WHERE state = 'maintenance'), 0) AS maintenance_s,
           coalesce(sum(extract(epoch FROM least(ended_at, %(d1)s) - greatest(started_at, %(d0)s)))
                    FILTER (WHERE state = 'quarantine'), 0) AS quarantine_s,
           coalesce(sum(extract(epoch FROM least(ended_at, %(d1)s) - greatest(started_at, %(d0)s)))
                    FILTER (WHERE state = 'unreachable'), 0) AS unreachable_s
    FROM spans GROUP BY device_id
), al AS (
    SELECT a.device_id, a.organization_id AS customer_id,
           sum(a.compute_milli / 1000.0 * greatest(0, extract(epoch FROM
               least(coalesce(a.released_at, 'infinity'::timestamptz), s.ended_at, %(d1)s)
               - greatest(a.created_at, s.started_at, %(d0)s)))) AS share_s
    FROM {allocation} a
    JOIN spans s ON s.device_id = a.device_id AND s.state = 'in_service'
                AND s.started_at < coalesce(a.released_at, 'infinity'::timestamptz) AND s.ended_at > a.created_at
    WHERE a.device_id IS NOT NULL AND a.created_at < %(d1)s
      AND coalesce(a.released_at, 'infinity'::timestamptz) > %(d0)s
    GROUP BY a.device_id, a.organization_id
), al_dev AS (
    SELECT device_id, sum(share_s) AS share_s FROM al GROUP BY device_id
), sm AS (
    SELECT device_id, collected_at AS t0,
           least(coalesce(lead(collected_at) OVER (PARTITION BY device_id ORDER BY collected_at, id),
                          collected_at + %(gap)s), collected_at + %(gap)s) AS t1,
           utilization_pct, power_w
    FROM telemetry_devicesample
    WHERE collected_at >= %(d0)s - %(gap)s AND collected_at < %(d1)s + %(gap)s
), en AS (
    SELECT device_id, sum(coalesce(power_w, 0) * greatest(0, extract(epoch FROM
               least(t1, %(d1)s) - greatest(t0, %(d0)s)))) AS energy_j
    FROM sm WHERE t0 < %(d1)s AND t1 > %(d0)s GROUP BY device_id
), ut AS (
    SELECT sm.device_id, sum(sm.utilization_pct / 100.0 * greatest(0, extract(epoch FROM
               least(sm.t1, s.ended_at, %(d1)s) - greatest(sm.t0, s.started_at, %(d0)s)))) AS utilized_s
    FROM sm JOIN spans s ON s.device_id = sm.device_id AND s.state = 'in_service'
                        AND s.started_at < sm.t1 AND s.ended_at > sm.t0
    WHERE sm.t0 < %(d1)s AND sm.t1 > %(d0)s GROUP BY sm.device_id
), seen AS (
    SELECT device_id FROM st UNION SELECT device_id FROM al_dev UNION SELECT device_id FROM en
)
INSERT INTO oversight_deviceday (day, device_id, node_id, cluster_id, provider_id, region_id, model_id, vendor,
    domestic, fp16_tflops, registered_s, in_service_s, maintenance_s, quarantine_s, unreachable_s,
    allocated_share_s, utilized_s, energy_j)
SELECT %(day)s, d.id, d.node_id, n.cluster_id, c.organization_id, c.region_id, d.model_id,
       coalesce(m.vendor, ''), coalesce(m.vendor = ANY(%(domestic)s), false), coalesce(m.fp16_tflops, 0)::float8,
       coalesce(st.registered_s, 0), coalesce(st.in_service_s, 0), coalesce(st.maintenance_s, 0),
       coalesce(st.quarantine_s, 0), coalesce(st.unreachable_s, 0), coalesce(al_dev.share_s, 0),
       coalesce(ut.utilized_s, 0), coalesce(en.energy_j, 0)
FROM seen
JOIN catalog_device d ON d.id = seen.device_id
JOIN catalog_node n ON n.id = d.node_id
JOIN catalog_cluster c ON c.id = n.cluster_id
LEFT JOIN catalog_acceleratormodel m ON m.id = d.model_id
LEFT JOIN st ON st.device_id = d.id
LEFT JOIN al_dev ON al_dev.device_id = d.id
LEFT JOIN ut ON ut.device_id = d.id
LEFT JOIN en ON en.device_id = d.id
"""

_CONSUMPTION = """
WITH spans AS (
    SELECT device_id, started_at, ended_at FROM oversight_devicestatespan
    WHERE started_at < %(d1)s AND ended_at > %(d0)s AND state = 'in_service'
), al AS (
    SELECT a.device_id, a.organization_id AS customer_id,
           sum(a.compute_milli / 1000.0 * greatest(0, extract(epoch FROM
               least(coalesce(a.released_at, 'infinity'::timestamptz), s.ended_at, %(d1)s)
               - greatest(a.created_at, s.started_at, %(d0)s)))) AS share_s
    FROM {allocation} a
    JOIN spans s ON s.device_id = a.device_id
                AND s.started_at < coalesce(a.released_at, 'infinity'::timestamptz) AND s.ended_at > a.created_at
    WHERE a.device_id IS NOT NULL AND a.created_at < %(d1)s
      AND coalesce(a.released_at, 'infinity'::timestamptz) > %(d0)s
    GROUP BY a.device_id, a.organization_id
)
INSERT INTO oversight_consumptionday (device_day_id, customer_id, customer_region_id, industry, size_class, share_s)
SELECT dd.id, al.customer_id, o.registered_region_id, o.industry, o.size_class, al.share_s
FROM al JOIN oversight_deviceday dd ON dd.device_id = al.device_id AND dd.day = %(day)s
JOIN tenancy_organization o ON o.id = al.customer_id
WHERE al.share_s > 0
"""


_CLUSTER_ROLLUP = """
INSERT INTO oversight_clusterday (day, cluster_id, provider_id, region_id, model_id, vendor, domestic, devices,
    registered_s, in_service_s, maintenance_s, quarantine_s, unreachable_s, allocated_share_s, utilized_s, energy_j,
    onboarded_tflops_s, delivered_tflops_s)
SELECT day, cluster_id, provider_id, region_id, model_id, vendor, domestic, count(*),
    sum(registered_s), sum(in_service_s), sum(maintenance_s), sum(quarantine_s), sum(unreachable_s),
    sum(allocated_share_s), sum(utilized_s), sum(energy_j),
    sum(fp16_tflops * registered_s), sum(fp16_tflops * allocated_share_s)
FROM oversight_deviceday WHERE day = %(day)s
GROUP BY day, cluster_id, provider_id, region_id, model_id, vendor, domestic
"""
_CLUSTER_CONSUMPTION = """
INSERT INTO oversight_clusterconsumptionday (cluster_day_id, customer_region_id, industry, size_class, share_s,
    delivered_tflops_s)
SELECT cd.id, c.customer_region_id, c.industry, c.size_class, sum(c.share_s), sum(dd.fp16_tflops * c.share_s)
FROM oversight_consumptionday c
JOIN oversight_deviceday dd ON dd.id = c.device_day_id
JOIN oversight_clusterday cd ON cd.day = dd.day AND cd.cluster_id = dd.cluster_id
    AND cd.model_id IS NOT DISTINCT FROM dd.model_id AND cd.vendor = dd.vendor AND cd.domestic = dd.domestic
WHERE dd.day = %(day)s
GROUP BY cd.id, c.customer_region_id, c.industry, c.size_class
"""


# The same per node (the cluster statements with node_id added to the grouping).
_NODE_ROLLUP = (_CLUSTER_ROLLUP
                .replace("oversight_clusterday (day, cluster_id", "oversight_nodeday (day, node_id, cluster_id")
                .replace("SELECT day, cluster_id", "SELECT day, node_id, cluster_id")
                .replace("GROUP BY day, cluster_id", "GROUP BY day, node_id, cluster_id"))
_NODE_CONSUMPTION = (_CLUSTER_CONSUMPTION
                     .replace("oversight_clusterconsumptionday (cluster_day_id", "oversight_nodeconsumptionday "
                              "(node_day_id")
                     .replace("JOIN oversight_clusterday cd ON cd.day = dd.day AND cd.cluster_id = dd.cluster_id",
                              "JOIN oversight_nodeday cd ON cd.day = dd.day AND cd.node_id = dd.node_id"))


def day_rollup(*, day: date) -> int:
    """Compute one day's device-days and consumption again from the spans, allocations and raw samples
    (delete and rewrite in one transaction: running it twice gives the same rows). Returns the number
    of device-days."""
    d0, d1 = day_bounds(day)
    params = {"day": day, "d0": d0, "d1": d1, "domestic": sorted(DOMESTIC_VENDORS),
              "gap": timedelta(seconds=settings.TIDEGRID_OVERSIGHT_SAMPLE_MAX_GAP_S)}
    allocation = connection.ops.quote_name(Allocation._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_OBSERVER_LOCK, day.toordinal()])
        cursor.execute("""DELETE FROM oversight_nodeconsumptionday WHERE node_day_id IN
                          (SELECT id FROM oversight_nodeday WHERE day = %s)""", [day])
        cursor.execute("DELETE FROM oversight_nodeday WHERE day = %s", [day])
        cursor.execute("""DELETE FROM oversight_clusterconsumptionday WHERE cluster_day_id IN
                          (SELECT id FROM oversight_clusterday WHERE day = %s)""", [day])
        cursor.execute("DELETE FROM oversight_clusterday WHERE day = %s", [day])
        cursor.execute("""DELETE FROM oversight_consumptionday WHERE device_day_id IN
                          (SELECT id FROM oversight_deviceday WHERE day = %s)""", [day])
        cursor.execute("DELETE FROM oversight_deviceday WHERE day = %s", [day])
        cursor.execute(_ROLLUP.format(allocation=allocation), params)
        count = cursor.rowcount
        cursor.execute(_CONSUMPTION.format(allocation=allocation), params)
        cursor.execute(_CLUSTER_ROLLUP, params)
        cursor.execute(_CLUSTER_CONSUMPTION, params)
        cursor.execute(_NODE_ROLLUP, params)
        cursor.execute(_NODE_CONSUMPTION, params)
    return count


def recent_days_rollup(*, now: datetime | None = None) -> dict:
    """The beat job: today so far, and yesterday during the first two hours of today (its late samples
    and the spans closed at midnight land then). Older days are final: their raw samples are pruned
    after TIDEGRID_TELEMETRY_RAW_RETENTION_HOURS, so recomputing them would lose the readings."""
    now = now or timezone.now()
    current = timezone.localdate(now, timezone=local_zone())
    days = [current]
    if now < day_bounds(current)[0] + timedelta(hours=2):
        days.insert(0, current - timedelta(days=1))
    return {day.isoformat(): day_rollup(day=day) for day in days}
