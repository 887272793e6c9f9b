"""A prepaid wallet must cover the runway (TIDEGRID_FUNDS_RUNWAY_MINUTES of the workload's highest price)
of all the organization's pending and running work: checked at booking (form and API alike) and again
when the placer starts the work."""

import pytest
from django.urls import reverse

from apps.billing.funds import runway_fen, workload_hourly_max
from apps.booking.models import Workload
from apps.catalog.models import Region
from apps.ledger.services import customer_charge, fen_display
from apps.scheduling.models import PlacementDecision
from apps.scheduling.services import place_pending
from apps.tenancy.models import Role
from tests.billing.conftest import fund
from tests.scheduling.conftest import enroll_node

pytestmark = pytest.mark.django_db

SLICE = {"name": "job", "kind": "batch", "preferred_region": "cn-shanghai", "gpu_milli": 250,
         "gpu_memory_mib": 4096, "accelerator_models": ["nvidia-t4"], "image": "pytorch",
         "spec": {"command": ["python", "train.py"]}}


@pytest.fixture(autouse=True)
def runway(settings):
    settings.TIDEGRID_FUNDS_RUNWAY_MINUTES = 10


def _url(tenant):
    return f"/api/v1/organizations/{tenant.organization.id}/workloads/"


def _slice_runway(customer) -> int:
    """10 minutes of a quarter T4 on demand in Shanghai, at the customer's price."""
    workload = Workload(organization=customer.organization, preferred_region=Region.objects.get(code="cn-shanghai"),
                        gpu_milli=250, gpu_memory_mib=4096, accelerator_models=["nvidia-t4"])
    return runway_fen(hourly=workload_hourly_max(workload=workload))


def test_an_empty_wallet_books_nothing_through_the_api_and_is_told_what_to_top_up(customer, key_client):
    need = _slice_runway(customer)
    assert need > 0
    response = key_client(customer, Role.MEMBER).post(_url(customer), SLICE, format="json")
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["funds"][0]
    assert f"Top up at least {fen_display(need)}" in message and "10 minutes" in message
    assert not Workload.objects.exists()


def test_an_empty_wallet_books_nothing_through_the_form_which_shows_the_runway(as_user, customer):
    need = _slice_runway(customer)
    client = as_user(customer.member, customer.organization)
    data = {"name": "quarter", "kind": "batch", "accelerator_models": ["nvidia-t4"], "shape": "fractional",
            "gpu_percent": "25", "gpu_memory_gib": "4", "region": str(Region.objects.get(code="cn-shanghai").pk),
            "billing_mode": "on_demand", "image": "pytorch", "command": "python train.py"}
    page = client.post(reverse("booking:workload_new"), data)
    assert page.status_code == 200
    body = page.content.decode()
    assert f"Top up at least {fen_display(need)}" in body  # the refusal, on the form
    assert "must cover 10 minutes of it" in body and fen_display(need) in body  # the estimate's runway line
    assert not Workload.objects.exists()
    fund(customer.organization, need)
    assert client.post(reverse("booking:workload_new"), data).status_code == 302


def test_the_wallet_covers_the_runway_of_all_pending_and_running_work(customer, key_client):
    need = _slice_runway(customer)
    fund(customer.organization, 2 * need + need // 2)
    client = key_client(customer, Role.MEMBER)
    assert [client.post(_url(customer), {**SLICE, "name": f"j{i}"}, format="json").status_code
            for i in range(3)] == [201, 201, 400]
    # A finished workload holds no runway: stopping one makes room again.
    stopped = Workload.objects.first()
    assert client.post(_url(customer) + f"{stopped.pk}/stop/").status_code == 200
    assert client.post(_url(customer), {**SLICE, "name": "again"}, format="json").status_code == 201


def test_postpaid_organizations_are_not_held_to_a_runway(customer, key_client):
    from apps.ledger.models import LedgerProfile

    LedgerProfile.objects.update_or_create(organization=customer.organization,
                                           defaults={"mode": LedgerProfile.Mode.POSTPAID, "credit_limit_fen": 0})
    assert key_client(customer, Role.MEMBER).post(_url(customer), SLICE, format="json").status_code == 201


def test_work_of_an_organization_that_ran_out_is_not_started(customer, provider, cluster, key_client):
    enroll_node(provider, cluster, "t4-funds", count=1)
    need = _slice_runway(customer)
    fund(customer.organization, need)
    created = key_client(customer, Role.MEMBER).post(_url(customer), SLICE, format="json")
    assert created.status_code == 201
    # The wallet is spent before the placer gets to it (other usage was charged meanwhile).
    customer_charge(organization=customer.organization, amount_fen=need, idempotency_key="other-usage",
                    memo="other usage")
    assert place_pending(region_code="cn-shanghai")["placed"] == 0
    workload = Workload.objects.get()
    assert workload.state == Workload.State.PENDING and "waiting for funds" in workload.pending_reason
    assert PlacementDecision.objects.filter(workload=workload, outcome="unschedulable").exists()
    fund(customer.organization, need, key="topped-up")
    assert place_pending(region_code="cn-shanghai")["placed"] == 1
