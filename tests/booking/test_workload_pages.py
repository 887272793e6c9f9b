import pytest

from apps.booking.models import Workload
from apps.scheduling.services import place_pending
from tests.scheduling.conftest import enroll_node, pending_workload

pytestmark = pytest.mark.django_db



def test_empty_state_says_how_to_book(as_user, customer):
    body = as_user(customer.member, customer.organization).get("/workloads/").content.decode()
    assert "No workloads yet" in body


def test_a_pending_workload_shows_why_it_waits_and_a_placed_one_its_timeline(as_user, customer, provider, cluster):
    waiting = pending_workload(customer, name="needs-h100", accelerator_models=["nvidia-h100-80gb"])
    enroll_node(provider, cluster, "t4-p", count=1)
    placed = pending_workload(customer, name="fits")
    place_pending(region_code="cn-shanghai")
    client = as_user(customer.viewer, customer.organization)
    listing = client.get("/workloads/").content.decode()
    assert "needs-h100" in listing and "fits" in listing
    assert "cn-shanghai" in listing
    detail = client.get(f"/workloads/{waiting.pk}/").content.decode()
    assert "Why it is waiting" in detail and "500 milli" in detail
    assert "Stop" not in detail  # viewers cannot stop
    timeline = client.get(f"/workloads/{placed.pk}/").content.decode()
    assert "placed on t4-p by the tidal policy" in timeline


def test_a_member_stops_a_workload_from_its_page(as_user, customer):
    workload = pending_workload(customer)
    client = as_user(customer.member, customer.organization)
    response = client.post(f"/workloads/{workload.pk}/stop/")
    assert response.status_code == 302
    workload.refresh_from_db()
    assert workload.state == Workload.State.STOPPED


def test_another_tenants_workload_pages_are_404(as_user, customer, tenant):
    workload = pending_workload(customer)
    client = as_user(tenant.owner, tenant.organization)
    assert client.get(f"/workloads/{workload.pk}/").status_code == 404
    assert client.post(f"/workloads/{workload.pk}/stop/").status_code == 404
    assert "No workloads yet" in client.get("/workloads/").content.decode()
    workload.refresh_from_db()
    assert workload.state == Workload.State.PENDING


def test_viewers_cannot_stop(as_user, customer):
    workload = pending_workload(customer)
    assert as_user(customer.viewer, customer.organization).post(f"/workloads/{workload.pk}/stop/").status_code == 403
