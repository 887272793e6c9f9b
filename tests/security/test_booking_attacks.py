"""Attacks on booking, replayed over real HTTP against the live test server (issue 10): each asserts
the fixed behaviour a client sees and what is stored."""

from __future__ import annotations

import pytest

from apps.booking.models import Workload
from apps.booking.rules import PRIORITY_BANDS
from apps.catalog.models import Region
from apps.catalog.reference import reference_data_sync
from apps.catalog.services import cluster_create
from apps.scheduling.services import place_pending
from apps.tenancy.models import Role
from apps.tenancy.services import api_key_create
from tests.agents.live import http
from tests.conftest import make_tenant
from tests.scheduling.conftest import enroll_node

pytestmark = pytest.mark.django_db(transaction=True)

SLICE = {"kind": "batch", "preferred_region": "cn-shanghai", "gpu_milli": 800, "gpu_memory_mib": 4096,
         "accelerator_models": ["nvidia-t4"], "image": "pytorch", "spec": {"command": ["python", "train.py"]}}


@pytest.fixture
def booker(live_server):
    """(workloads URL, API key of a member) of a fresh customer organization on the live server."""
    reference_data_sync()
    customer = make_tenant(kind="customer", name="Attacker AI")
    _key, plaintext = api_key_create(actor=customer.actor("owner"), organization=customer.organization,
                                     name="attack", role=Role.MEMBER)
    return f"{live_server.url}/api/v1/organizations/{customer.organization.id}/workloads/", plaintext


def _one_t4():
    provider = make_tenant(kind="provider", name="East Compute")
    cluster = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="sh",
                             region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")
    enroll_node(provider, cluster, "t4-only", count=1)


def test_spot_that_claims_top_priority_stays_spot_and_waits_behind_older_on_demand(booker):
    url, key = booker
    _one_t4()  # room for one of the two 80 % slices
    status, on_demand = http("POST", url, key=key, body={**SLICE, "name": "on-demand"})
    assert status == 201, on_demand
    status, spot = http("POST", url, key=key, body={**SLICE, "name": "spot", "billing_mode": "spot",
                                                    "priority": 100, "preemptible": False})
    assert status == 201, spot
    assert spot["preemptible"] is True and spot["billing_mode"] == "spot"
    assert spot["priority"] == PRIORITY_BANDS["spot"].top < on_demand["priority"]
    assert (spot["queue_position"], http("GET", f"{url}{on_demand['id']}/", key=key)[1]["queue_position"]) == (2, 1)
    place_pending(region_code="cn-shanghai")
    states = dict(Workload.objects.values_list("name", "state"))
    assert states == {"on-demand": "placed", "spot": "pending"}


def test_spot_without_the_fields_is_low_priority_and_preemptible(booker):
    url, key = booker
    status, spot = http("POST", url, key=key, body={**SLICE, "name": "plain-spot", "billing_mode": "spot"})
    assert status == 201, spot
    assert (spot["priority"], spot["preemptible"]) == (PRIORITY_BANDS["spot"].base, True)
    status, on_demand = http("POST", url, key=key, body={**SLICE, "name": "od", "preemptible": True})
    assert (on_demand["priority"], on_demand["preemptible"]) == (0, False)
