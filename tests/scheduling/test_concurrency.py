"""Several real processes place into one nearly full region at once, against PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Sum

from apps.booking.models import Workload
from apps.catalog.models import Device, Node
from apps.catalog.reference import reference_data_sync
from apps.scheduling.models import Allocation
from apps.scheduling.services import place_pending
from tests.agents.live import wait_for
from tests.core.test_celery import celery_worker_process  # noqa: F401 — a real Celery worker process
from tests.scheduling.conftest import enroll_node, pending_workload

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _placer(extra: list[str]) -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tidegrid.settings.test",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    return subprocess.Popen([sys.executable, "manage.py", "place_pending", "--region", "cn-shanghai", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("lock", [True, False], ids=["region-lock", "database-guards-only"])
def test_racing_placers_never_oversell_the_last_slices(lock):
    reference_data_sync()
    from apps.catalog.models import Region
    from apps.catalog.services import cluster_create
    from tests.conftest import make_tenant

    provider = make_tenant(kind="provider", name="Race Compute")
    customer = make_tenant(kind="customer", name="Race Customer")
    cluster = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="race",
                             region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")
    enroll_node(provider, cluster, "race-1", count=3)
    enroll_node(provider, cluster, "race-2", count=2)
    # Nearly full: every card already has half its compute taken, so 10 quarter-card slices are left.
    Device.objects.update(free_compute_milli=500)
    workloads = [pending_workload(customer, name=f"w{i}", gpu_milli=250, gpu_memory_mib=1024) for i in range(50)]

    placers = [_placer([] if lock else ["--no-lock"]) for _ in range(4)]
    outputs = [p.communicate(timeout=120)[0] for p in placers]
    assert all(p.returncode == 0 for p in placers), outputs
    place_pending(region_code="cn-shanghai")  # one more round gives every leftover its reason

    for device in Device.objects.all():
        assert device.free_compute_milli >= 0
        used = Allocation.objects.filter(device=device).aggregate(s=Sum("compute_milli"))["s"] or 0
        assert used <= 500, f"device {device} oversold: {used} milli on 500 free"
        assert device.free_compute_milli == 500 - used
    placed = Workload.objects.filter(state=Workload.State.PLACED).count()
    assert placed == 10
    assert Allocation.objects.count() == 10
    for workload in Workload.objects.filter(pk__in=[w.pk for w in workloads], state=Workload.State.PENDING):
        assert workload.pending_reason, f"{workload.name} pending without a reason"
    assert sum(n.cpu_free_milli for n in Node.objects.all()) == 2 * 32000 - 10 * 1000


def test_a_submitted_workload_is_placed_by_a_worker_once_the_booking_commits(celery_worker_process):  # noqa: F811
    from apps.booking.services import workload_submit
    from apps.catalog.models import Region
    from apps.catalog.services import cluster_create
    from tests.conftest import make_tenant

    reference_data_sync()
    provider = make_tenant(kind="provider", name="Live Compute")
    customer = make_tenant(kind="customer", name="Live Customer")
    cluster = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="live",
                             region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")
    enroll_node(provider, cluster, "live-1", count=1)
    workload = workload_submit(actor=customer.actor("member"), organization=customer.organization, name="train",
                               preferred_region=Region.objects.get(code="cn-shanghai"), gpu_milli=250,
                               gpu_memory_mib=2048, spec={"command": ["python", "train.py"]})
    wait_for(lambda: Workload.objects.filter(pk=workload.pk, state=Workload.State.PLACED).exists(), timeout=60,
             what="the worker to place the booking")
    assert Allocation.objects.get(workload=workload).compute_milli == 250
