"""Acceptance 3 and the quota under concurrency, over real parallel HTTP connections to the live server
(each request handled on its own thread with its own PostgreSQL connection)."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from apps.booking.models import OrganizationQuota, Workload
from apps.booking.services import workload_submit
from apps.catalog.models import Device, Node, Region
from apps.catalog.reference import reference_data_sync
from apps.catalog.services import cluster_create
from apps.scheduling.models import Allocation
from apps.scheduling.services import place_pending
from apps.tenancy.models import Role
from apps.tenancy.services import api_key_create
from tests.agents.live import http, wait_for
from tests.conftest import make_tenant
from tests.core.test_celery import celery_worker_process  # noqa: F401 — a real Celery worker process
from tests.race import race
from tests.scheduling.conftest import enroll_node

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SLICE = {"kind": "batch", "preferred_region": "cn-shanghai", "gpu_milli": 250, "gpu_memory_mib": 1024,
         "accelerator_models": ["nvidia-t4"], "image": "pytorch", "spec": {"command": ["python", "train.py"]}}




def _keys(tenant, count: int) -> list[str]:
    return [api_key_create(actor=tenant.actor("owner"), organization=tenant.organization, name=f"racer {i}",
                           role=Role.MEMBER)[1] for i in range(count)]


def test_fifty_bookings_race_for_the_last_ten_slices(live_server, celery_worker_process):  # noqa: F811
    reference_data_sync()
    provider = make_tenant(kind="provider", name="Race Compute")
    cluster = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="race",
                             region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")
    enroll_node(provider, cluster, "race-t4-1", count=3)
    enroll_node(provider, cluster, "race-t4-2", count=2)
    # Earlier bookings hold half of the region's five T4s: 2,500 milli-GPU are left, ten 25 % slices.
    filler = make_tenant(kind="customer", name="Early Bird")
    for i in range(5):
        workload_submit(actor=filler.actor("member"), organization=filler.organization, name=f"early-{i}",
                        preferred_region=Region.objects.get(code="cn-shanghai"), gpu_milli=500, gpu_memory_mib=4096,
                        accelerator_models=["nvidia-t4"], spec={"command": ["python", "serve.py"]})
    place_pending(region_code="cn-shanghai")
    assert Workload.objects.filter(state="placed").count() == 5
    free_before = Device.objects.aggregate(s=Sum("free_compute_milli"))["s"]
    assert free_before == 2500

    # Fifty bookings at once from five organizations, each request with its own API key; each commit
    # queues a placement round for the real Celery worker, which places while the others still arrive.
    racers = [make_tenant(kind="customer", name=f"Racer {n}") for n in range(5)]
    calls = []
    for tenant in racers:
        url = f"{live_server.url}/api/v1/organizations/{tenant.organization.id}/workloads/"
        for i, key in enumerate(_keys(tenant, 10)):
            calls.append(lambda url=url, key=key, i=i: http(
                "POST", url, key=key, body={**SLICE, "name": f"r{i}"}, headers={"Idempotency-Key": f"race-{i}"},
                retries=20))
    answers = race(calls)
    assert [status for status, _body in answers] == [201] * 50, [b for s, b in answers if s != 201][:3]
    ids = [body["id"] for _status, body in answers]

    racing = Workload.objects.filter(pk__in=ids)
    wait_for(lambda: racing.filter(state="placed").count() == 10
             and not racing.filter(state="pending", pending_reason="").exists(),
             timeout=180, what="the worker to place the free capacity and give every other booking its reason")

    assert racing.filter(state="placed").count() == 10
    waiting = racing.filter(state="pending")
    assert waiting.count() == 40
    assert all("250 milli" in w.pending_reason for w in waiting), waiting.first().pending_reason
    for device in Device.objects.all():
        held = Allocation.objects.filter(device=device, released_at__isnull=True).aggregate(
            c=Sum("compute_milli"), m=Sum("memory_mib"))
        assert 0 <= device.free_compute_milli == 1000 - (held["c"] or 0), device
        assert 0 <= device.free_memory_mib == device.memory_total_mib - (held["m"] or 0), device
    assert Device.objects.aggregate(s=Sum("free_compute_milli"))["s"] == 0
    assert Allocation.objects.filter(workload__in=racing).count() == 10
    assert sum(n.cpu_free_milli for n in Node.objects.all()) == 2 * 32000 - 15 * 1000
    # what a waiting customer sees over the API: the reason and a place in the queue
    tenant = racers[0]
    one = waiting.filter(organization=tenant.organization).first()
    status, detail = http("GET", f"{live_server.url}/api/v1/organizations/{tenant.organization.id}/workloads/"
                                 f"{one.pk}/", key=_keys(tenant, 1)[0])
    assert status == 200 and detail["pending_reason"] and 1 <= detail["queue_position"] <= 40


def test_concurrent_submits_cannot_exceed_the_quota(live_server):
    reference_data_sync()
    customer = make_tenant(kind="customer", name="Quota Racer")
    OrganizationQuota.objects.create(organization=customer.organization, max_cards=8)
    url = f"{live_server.url}/api/v1/organizations/{customer.organization.id}/workloads/"
    body = {**SLICE, "name": "cards", "gpu_milli": 0, "gpu_memory_mib": 0, "gpu_count": 2, "accelerator_models": []}
    answers = race([lambda key=key, i=i: http("POST", url, key=key, body=body, retries=20,
                                               headers={"Idempotency-Key": f"quota-{i}"})
                     for i, key in enumerate(_keys(customer, 12))])
    statuses = sorted(status for status, _body in answers)
    assert statuses == [201] * 4 + [400] * 8, answers
    refused = [body for status, body in answers if status == 400]
    assert all("may run at most 8 cards at a time" in body["error"]["fields"]["gpu_count"][0] for body in refused)
    assert Workload.objects.aggregate(s=Sum("gpu_count"))["s"] == 8
