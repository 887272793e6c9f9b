"""Oversight benchmark (issue 13): dashboard and API latency at 1,000 nodes × 8 cards × 90 days of
precomputed device-days, and the daily rollup's time per day of raw samples.

Run through `make bench-oversight` (wrapped in tidegrid/embedded.py, so it gets its own PostgreSQL).
NODES, DAYS, REQUESTS, ROLLUP_NODES and ROLLUP_INTERVAL_S (seconds between one card's samples) are
environment variables; the defaults are the issue's scale.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tidegrid.settings.dev")
os.environ.setdefault("DJANGO_DEBUG", "false")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils.http import urlencode  # noqa: E402

NODES = int(os.environ.get("NODES", 1000))
DAYS = int(os.environ.get("DAYS", 90))
REQUESTS = int(os.environ.get("REQUESTS", 30))
ROLLUP_NODES = int(os.environ.get("ROLLUP_NODES", 50))
ROLLUP_INTERVAL_S = int(os.environ.get("ROLLUP_INTERVAL_S", 10))


def _setup():
    from apps.accounts.models import User
    from apps.catalog.models import AcceleratorModel, Cluster, Device, Node, Region
    from apps.oversight.periods import today
    from apps.tenancy.models import Membership, Organization, Role

    regions = [Region.objects.get(code=c) for c in ("cn-shanghai", "cn-suzhou", "cn-hangzhou", "cn-beijing")]
    government = Organization.objects.create(kind="government", name="Bench Compute Office")
    government.jurisdiction.set(regions[:3])
    user = User.objects.create(email="bench-operator@example.com", is_active=True)
    Membership.objects.create(organization=government, user=user, role=Role.AUDITOR)
    models = [AcceleratorModel.objects.get(code=c) for c in ("nvidia-h100-80gb", "huawei-ascend-910b3",
                                                               "nvidia-a100-80gb", "nvidia-h20-96gb")]
    providers = [Organization.objects.create(kind="provider", name=f"Bench Provider {i}") for i in range(4)]
    for i in range(20):
        Organization.objects.create(kind="customer", name=f"Bench Customer {i}",
                                    registered_region=regions[i % 4], industry=["ai", "finance"][i % 2],
                                    size_class=["sme", "large"][i % 2])
    clusters = [Cluster.objects.create(organization=providers[i % 4], name=f"bench-{i}", region=regions[i % 3])
                for i in range(20)]
    nodes = Node.objects.bulk_create([Node(organization=clusters[i % 20].organization, cluster=clusters[i % 20],
                                           hostname=f"bench-{i:05d}") for i in range(NODES)])
    Device.objects.bulk_create([
        Device(organization=node.organization, node=node, uuid=f"GPU-bench-{node.hostname}-{d}", index=d,
               model=models[i % 4], reported_name=models[i % 4].name, memory_total_mib=81920,
               free_memory_mib=81920) for i, node in enumerate(nodes) for d in range(8)], batch_size=5000)
    end = today() - timedelta(days=1)
    start = end - timedelta(days=DAYS - 1)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO oversight_deviceday (day, device_id, node_id, cluster_id, provider_id, region_id, model_id,
                vendor, domestic, fp16_tflops, registered_s, in_service_s, maintenance_s, quarantine_s, unreachable_s,
                allocated_share_s, utilized_s, energy_j)
            SELECT day::date, d.id, d.node_id, n.cluster_id, c.organization_id, c.region_id, d.model_id, m.vendor,
                   m.vendor <> 'nvidia', m.fp16_tflops::float8, 86400, 80000 + 6400 * random(), 0, 0, 0,
                   40000 * random(), 30000 * random(), 86400 * 400 * random()
            FROM catalog_device d JOIN catalog_node n ON n.id = d.node_id JOIN catalog_cluster c ON c.id = n.cluster_id
            JOIN catalog_acceleratormodel m ON m.id = d.model_id
            CROSS JOIN generate_series(%s::date, %s::date, interval '1 day') AS day
            WHERE d.uuid LIKE 'GPU-bench-%%'""", [start, end])
        cursor.execute("UPDATE oversight_deviceday SET maintenance_s = 86400 - in_service_s")
        cursor.execute("""
            INSERT INTO oversight_consumptionday (device_day_id, customer_id, customer_region_id, industry,
                size_class, share_s)
            SELECT dd.id, o.id, o.registered_region_id, o.industry, o.size_class, dd.allocated_share_s
            FROM oversight_deviceday dd
            JOIN LATERAL (SELECT id, registered_region_id, industry, size_class FROM tenancy_organization
                          WHERE name = 'Bench Customer ' || (abs(hashtext(dd.device_id::text)) % 20)) o ON true""")
        from apps.oversight import rollups

        for offset in range(DAYS):  # the cluster- and node-days, as day_rollup writes them
            for statement in (rollups._CLUSTER_ROLLUP, rollups._CLUSTER_CONSUMPTION, rollups._NODE_ROLLUP,
                              rollups._NODE_CONSUMPTION):
                cursor.execute(statement, {"day": start + timedelta(days=offset)})
        cursor.execute("ANALYZE oversight_deviceday; ANALYZE oversight_consumptionday; ANALYZE oversight_clusterday; "
                       "ANALYZE oversight_clusterconsumptionday; ANALYZE oversight_nodeday; "
                       "ANALYZE oversight_nodeconsumptionday")
    print(f"setup: {NODES} nodes × 8 cards × {DAYS} days of device-days in {time.perf_counter() - started:.1f} s")
    return government, user, start, end, nodes


def _latency(client: Client, url: str) -> tuple[float, float]:
    client.get(url)  # warm
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def _rollup(nodes):
    from apps.oversight.models import DeviceStateSpan
    from apps.oversight.periods import day_bounds, today
    from apps.oversight.rollups import day_rollup

    day = today() - timedelta(days=DAYS + 5)
    d0, d1 = day_bounds(day)
    node_ids = [n.id for n in nodes[:ROLLUP_NODES]]
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, node_id FROM catalog_device WHERE node_id = ANY(%s)", [node_ids])
        devices = cursor.fetchall()
    DeviceStateSpan.objects.bulk_create([DeviceStateSpan(device_id=d, state="in_service", started_at=d0, ended_at=d1)
                                         for d, _n in devices])
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO telemetry_devicesample (device_id, node_id, seq, collected_at, received_at, utilization_pct,
                memory_used_mib, temperature_c, power_w, energy_mj, ecc_errors, xid_errors, health)
            SELECT d.id, d.node_id, s, %s + s * %s * interval '1 second', %s + s * %s * interval '1 second',
                   100 * random(), 1000, 50, 100 + 500 * random(), NULL, 0, 0, 'ok'
            FROM catalog_device d CROSS JOIN generate_series(0, %s) AS s WHERE d.node_id = ANY(%s)""",
                       [d0, ROLLUP_INTERVAL_S, d0, ROLLUP_INTERVAL_S, 86400 // ROLLUP_INTERVAL_S - 1, node_ids])
        cursor.execute("ANALYZE telemetry_devicesample")
    samples = len(devices) * (86400 // ROLLUP_INTERVAL_S)
    print(f"rollup input: {ROLLUP_NODES} nodes × 8 cards, one day at one sample per {ROLLUP_INTERVAL_S} s "
          f"= {samples:,} samples (inserted in {time.perf_counter() - started:.1f} s)")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        day_rollup(day=day)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    print(f"rollup of that day: {best:.2f} s (best of 3; {', '.join(f'{t:.2f}' for t in timings)}), "
          f"{best / ROLLUP_NODES * 1000:.1f} s per 1,000 nodes by linear extrapolation")


def main():
    call_command("migrate", verbosity=0)
    government, user, start, end, nodes = _setup()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    session = client.session
    from apps.tenancy.middleware import SESSION_KEY

    session[SESSION_KEY] = str(government.id)
    session.save()
    api = f"/api/v1/organizations/{government.id}/oversight/"
    month = {"period": "custom", "start": (end - timedelta(days=29)).isoformat(), "end": end.isoformat()}
    quarter = {"period": "custom", "start": start.isoformat(), "end": end.isoformat()}
    print(f"{'request':<58} {'p50 ms':>8} {'p99 ms':>8}")
    for label, url in [
        ("dashboard, jurisdiction, 30 days", f"/oversight/?{urlencode(month)}"),
        ("dashboard, jurisdiction, 90 days", f"/oversight/?{urlencode(quarter)}"),
        ("dashboard, one region by provider, 90 days",
         f"/oversight/?{urlencode({**quarter, 'region': 'cn-shanghai'})}"),
        ("dashboard, 90 days by industry", f"/oversight/?{urlencode({**quarter, 'by': 'industry'})}"),
        ("API kpis, 90 days", f"{api}kpis/?{urlencode(quarter)}"),
        ("API breakdown by cluster, 90 days", f"{api}breakdown/?{urlencode({**quarter, 'by': 'cluster'})}"),
        ("API breakdown by node (1,000 rows), 90 days", f"{api}breakdown/?{urlencode({**quarter, 'by': 'node'})}"),
        ("API series, 90 days", f"{api}series/?{urlencode(quarter)}"),
    ]:
        p50, p99 = _latency(client, url)
        print(f"{label:<58} {p50:8.0f} {p99:8.0f}")
    _rollup(nodes)


if __name__ == "__main__":
    main()
