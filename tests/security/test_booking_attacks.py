"""Attacks on booking, replayed over real HTTP against the live test server (issue 10): each asserts
the fixed behaviour a client sees and what is stored."""

from __future__ import annotations

import pytest

from apps.billing.funds import runway_fen, workload_hourly_max
from apps.billing.seed import price_book_seed
from apps.booking.models import Workload
from apps.booking.rules import PRIORITY_BANDS
from apps.catalog.models import Region
from apps.catalog.reference import reference_data_sync
from apps.catalog.services import cluster_create
from apps.scheduling.services import place_pending
from apps.tenancy.models import Role
from apps.tenancy.services import api_key_create
from tests.agents.live import http
from tests.billing.conftest import fund
from tests.conftest import make_tenant
from tests.race import race
from tests.scheduling.conftest import enroll_node

pytestmark = pytest.mark.django_db(transaction=True)

SLICE = {"kind": "batch", "preferred_region": "cn-shanghai", "gpu_milli": 800, "gpu_memory_mib": 4096,
         "accelerator_models": ["nvidia-t4"], "image": "pytorch", "spec": {"command": ["python", "train.py"]}}


@pytest.fixture
def booker(live_server):
    """(workloads URL, API key of a member, organization) of a fresh customer organization on the live server."""
    reference_data_sync()
    customer = make_tenant(kind="customer", name="Attacker AI")
    _key, plaintext = api_key_create(actor=customer.actor("owner"), organization=customer.organization,
                                     name="attack", role=Role.MEMBER)
    return (f"{live_server.url}/api/v1/organizations/{customer.organization.id}/workloads/", plaintext,
            customer.organization)


def _one_t4(count: int = 1):
    provider = make_tenant(kind="provider", name="East Compute")
    cluster = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="sh",
                             region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")
    enroll_node(provider, cluster, "t4-only", count=count)


def test_spot_that_claims_top_priority_stays_spot_and_waits_behind_older_on_demand(booker):
    url, key, _organization = booker
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
    url, key, _organization = booker
    status, spot = http("POST", url, key=key, body={**SLICE, "name": "plain-spot", "billing_mode": "spot"})
    assert status == 201, spot
    assert (spot["priority"], spot["preemptible"]) == (PRIORITY_BANDS["spot"].base, True)
    status, on_demand = http("POST", url, key=key, body={**SLICE, "name": "od", "preemptible": True})
    assert (on_demand["priority"], on_demand["preemptible"]) == (0, False)


QUARTER = {**SLICE, "gpu_milli": 250}


@pytest.fixture
def runway(settings):
    settings.TIDEGRID_FUNDS_RUNWAY_MINUTES = 10
    price_book_seed()  # the live server's database is emptied between tests: publish the reference prices


def _quarter_runway(organization) -> int:
    workload = Workload(organization=organization, preferred_region=Region.objects.get(code="cn-shanghai"),
                        gpu_milli=250, gpu_memory_mib=4096, accelerator_models=["nvidia-t4"])
    return runway_fen(hourly=workload_hourly_max(workload=workload))


def test_an_empty_prepaid_wallet_books_nothing(booker, runway):
    url, key, _organization = booker
    status, body = http("POST", url, key=key, body={**QUARTER, "name": "free-ride"})
    assert status == 400, body
    assert "Top up at least" in body["error"]["fields"]["funds"][0]
    assert not Workload.objects.exists()




def test_fifty_parallel_bookings_never_commit_or_start_more_than_the_wallet_covers(booker, runway):
    url, key, organization = booker
    need = _quarter_runway(organization)
    balance = 7 * need + need // 2  # seven runways and a half
    fund(organization, balance)
    # Fifty bookings at once, each request on its own connection (and so its own database connection).
    answers = race([lambda i=i: http("POST", url, key=key, body={**QUARTER, "name": f"r{i}"},
                                      headers={"Idempotency-Key": f"race-{i}"}, retries=20) for i in range(50)])
    statuses = sorted(status for status, _body in answers)
    assert statuses == [201] * 7 + [400] * 43, statuses
    assert all("funds" in body["error"]["fields"] for status, body in answers if status == 400)
    assert Workload.objects.count() * need <= balance
    _one_t4(count=3)  # room for nine 4 GiB slices: the wallet, not the capacity, is the limit
    place_pending(region_code="cn-shanghai")
    started = Workload.objects.filter(state="placed").count()
    assert started == 7 and started * need <= balance


# --- input hygiene: each is a 400 with the API's error body, and nothing is booked ----------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"spec": {"command": ["run"], "env": {f"V{i}": "x" for i in range(65)}}}, "spec"),           # too many vars
    ({"spec": {"command": ["run"], "env": {"BIG": "x" * 4000, **{f"V{i}": "y" * 4000 for i in range(9)}}}},
     "spec"),                                                                                       # > 32 KiB
    ({"spec": {"command": ["run"], "env": {"N" * 200: "x"}}}, "spec"),                             # a long name
    ({"spec": {"command": ["run"], "env": {"HUGE": "x" * 2_000_000}}}, "spec"),                    # 2 MB value
    ({"gpu_milli": 0, "gpu_memory_mib": 0, "profile": "9g.999gb",
      "accelerator_models": ["nvidia-a100-80gb"]}, "profile"),                                     # unknown MIG
    ({"gpu_milli": 0, "gpu_memory_mib": 0, "profile": "1g.10gb",
      "accelerator_models": ["huawei-ascend-910b3"]}, "profile"),                                  # not on this card
    ({"gpu_memory_mib": 1_000_000}, "gpu_memory_mib"),                                             # > largest card
    ({"min_gpu_memory_mib": 4_000_000, "accelerator_models": []}, "min_gpu_memory_mib"),           # > any card
])
def test_oversized_or_impossible_bookings_are_400_field_errors(booker, change, field):
    url, key, _organization = booker
    status, body = http("POST", url, key=key, body={**SLICE, "name": "bad", **change})
    assert status == 400, body
    assert body["error"]["code"] == "validation_error" and field in body["error"]["fields"], body
    assert not Workload.objects.exists()


def test_an_overlong_idempotency_key_is_a_400_not_a_500(booker):
    url, key, _organization = booker
    status, body = http("POST", url, key=key, body={**SLICE, "name": "k"}, headers={"Idempotency-Key": "k" * 256})
    assert status == 400, body
    assert "idempotency_key" in body["error"]["fields"]
    assert not Workload.objects.exists()
    status, body = http("POST", url, key=key, body={**SLICE, "name": "k"}, headers={"Idempotency-Key": "k" * 255})
    assert status == 201, body
