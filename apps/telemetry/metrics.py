"""Prometheus exposition of fleet telemetry under DCGM-exporter metric names, so an existing
DCGM Grafana dashboard works unchanged, plus a few platform counters."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LABELS = ["gpu", "UUID", "device", "modelName", "Hostname", "node", "cluster", "region", "provider"]

# DCGM field name → (column, help)
_DCGM_FIELDS = [
    ("DCGM_FI_DEV_GPU_UTIL", "utilization_pct", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_FB_USED", "memory_used_mib", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_FB_FREE", "memory_free_mib", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_GPU_TEMP", "temperature_c", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "power_w", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "energy_mj", "Total energy consumption since boot (in mJ)."),
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "ecc_errors", "Total number of double-bit volatile ECC errors."),
    ("DCGM_FI_DEV_XID_ERRORS", "xid_errors", "Value of the last XID error encountered."),
]

_LATEST = """
SELECT DISTINCT ON (s.device_id)
       d.index, d.uuid, d.reported_name, n.hostname, n.id, c.name, r.code, o.name,
       s.utilization_pct, s.memory_used_mib, d.memory_total_mib - s.memory_used_mib, s.temperature_c, s.power_w,
       s.energy_mj, s.ecc_errors, s.xid_errors
FROM telemetry_devicesample s
JOIN catalog_device d ON d.id = s.device_id
JOIN catalog_node n ON n.id = d.node_id
JOIN catalog_cluster c ON c.id = n.cluster_id
JOIN catalog_region r ON r.id = c.region_id
JOIN tenancy_organization o ON o.id = n.organization_id
WHERE s.collected_at >= %s AND n.state <> 'decommissioned'
ORDER BY s.device_id, s.collected_at DESC
"""


class FleetCollector:
    def collect(self):
        since = timezone.now() - timedelta(seconds=max(60, settings.TIDEGRID_NODE_UNREACHABLE_AFTER_S * 2))
        with connection.cursor() as cursor:
            cursor.execute(_LATEST, [since])
            rows = cursor.fetchall()
        families = {name: GaugeMetricFamily(name, help_text, labels=_LABELS) for name, _col, help_text in _DCGM_FIELDS}
        for row in rows:
            index, uuid, model, hostname, node_id, cluster, region, provider = row[:8]
            labels = [str(index), uuid, f"nvidia{index}", model, hostname, str(node_id), cluster, region, provider]
            for (name, _col, _help), value in zip(_DCGM_FIELDS, row[8:], strict=True):
                if value is not None:
                    families[name].add_metric(labels, float(value))
        yield from families.values()
        yield from self._platform_counters()

    def _platform_counters(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT state, liveness, count(*) FROM catalog_node GROUP BY state, liveness")
            nodes = cursor.fetchall()
            cursor.execute("SELECT health, count(*) FROM catalog_device GROUP BY health")
            devices = cursor.fetchall()
            cursor.execute("SELECT state, count(*) FROM telemetry_assignment GROUP BY state")
            assignments = cursor.fetchall()
        node_family = GaugeMetricFamily("tidegrid_nodes", "Nodes by provider state and liveness.",
                                        labels=["state", "liveness"])
        for state, liveness, count in nodes:
            node_family.add_metric([state, liveness], count)
        device_family = GaugeMetricFamily("tidegrid_devices", "Devices by health.", labels=["health"])
        for health, count in devices:
            device_family.add_metric([health], count)
        assignment_family = GaugeMetricFamily("tidegrid_assignments", "Assignments by state.", labels=["state"])
        for state, count in assignments:
            assignment_family.add_metric([state], count)
        yield from (node_family, device_family, assignment_family)


@require_GET
def metrics(request):
    token = settings.TIDEGRID_METRICS_TOKEN
    if not token:
        raise Http404("metrics are disabled: set TIDEGRID_METRICS_TOKEN")
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not secrets.compare_digest(supplied.encode(), token.encode()):
        return HttpResponse("send 'Authorization: Bearer <TIDEGRID_METRICS_TOKEN>'\n", status=401,
                            content_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
