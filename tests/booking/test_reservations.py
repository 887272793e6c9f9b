"""Reserved bookings: a window in the future, not placed before it opens, stopped when it ends, extendable."""

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.booking.models import Workload
from apps.booking.services import reservations_end
from apps.scheduling.models import Allocation, Assignment
from apps.scheduling.services import place_pending
from apps.tenancy.models import Role
from tests.booking.workload_helpers import SLICE, reserved, workloads_url
from tests.scheduling.conftest import enroll_node

pytestmark = pytest.mark.django_db


def _open_window(workload_id):
    """Time passes: the window has opened (it started a minute ago)."""
    now = timezone.now()
    Workload.objects.filter(pk=workload_id).update(window_start=now - timedelta(minutes=1),
                                                   window_end=now + timedelta(hours=1))


def test_a_reservation_waits_for_its_window_then_is_placed(customer, provider, cluster, key_client):
    enroll_node(provider, cluster, "t4-r", count=1)
    client = key_client(customer, Role.MEMBER)
    created = client.post(workloads_url(customer), reserved(hours_from_now=3), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["state"] == "pending"
    assert body["pending_reason"].startswith("reserved from ")
    assert body["pending_reason"].endswith("— waiting for the window")
    assert body["queue_position"] is None
    assert body["restartable"] is False  # a batch job

    place_pending(region_code="cn-shanghai")
    assert Workload.objects.get(pk=body["id"]).state == "pending"
    assert not Allocation.objects.exists()

    _open_window(body["id"])
    place_pending(region_code="cn-shanghai")
    assert Workload.objects.get(pk=body["id"]).state == "placed"


def test_the_window_shows_in_the_regions_local_time(customer, key_client):
    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    response = key_client(customer).post(workloads_url(customer), {
        **SLICE, "billing_mode": "reserved", "window_start": start.astimezone(UTC).isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat()}, format="json")
    local = start.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M CST")
    assert response.json()["pending_reason"] == f"reserved from {local} — waiting for the window"


def test_the_sweep_stops_a_reservation_when_its_window_ends(customer, provider, cluster, key_client):
    enroll_node(provider, cluster, "t4-e", count=1)
    client = key_client(customer, Role.MEMBER)
    running_id = client.post(workloads_url(customer), reserved(), format="json").json()["id"]
    waiting_id = client.post(workloads_url(customer), reserved(hours_from_now=5), format="json").json()["id"]
    _open_window(running_id)
    place_pending(region_code="cn-shanghai")
    Assignment.objects.update(state=Assignment.State.RUNNING)
    Workload.objects.filter(pk=running_id).update(state=Workload.State.RUNNING)
    # Both windows end (the second one never opened: a reservation nobody used).
    past = timezone.now() - timedelta(seconds=1)
    Workload.objects.update(window_start=past - timedelta(hours=1), window_end=past)

    assert reservations_end() == 2
    running, waiting = Workload.objects.get(pk=running_id), Workload.objects.get(pk=waiting_id)
    assert running.state == "stopping"
    assert running.events.last().reason.startswith("the reserved window ended at ")
    assert waiting.state == "stopped"
    assert reservations_end() == 0  # idempotent: nothing left to stop
    assert AuditEvent.objects.filter(action="workload.stop_requested", actor_label="system").count() == 2


def test_extend_a_reservation(customer, key_client):
    client = key_client(customer, Role.MEMBER)
    body = client.post(workloads_url(customer), reserved(hours_from_now=1, length_hours=2), format="json").json()
    workload = Workload.objects.get(pk=body["id"])
    new_end = workload.window_end + timedelta(hours=3)
    response = client.post(workloads_url(customer, f"{body['id']}/extend/"), {"window_end": new_end.isoformat()},
                           format="json")
    assert response.status_code == 200, response.json()
    workload.refresh_from_db()
    assert workload.window_end == new_end
    assert "reservation extended from" in response.json()["events"][-1]["reason"]
    assert AuditEvent.objects.filter(action="workload.reservation_extended").exists()


@pytest.mark.parametrize(("change", "field"), [
    ({"window_start": None}, "window_start"),
    ({"window_end": None}, "window_end"),
    ({"window_start": "2020-01-01T08:00:00+08:00", "window_end": "2020-01-01T10:00:00+08:00"}, "window_start"),
    ("end-before-start", "window_end"),
    ("too-long", "window_end"),
    ("too-far-ahead", "window_start"),
    ({"window_start": "tomorrow"}, "window_start"),
])
def test_a_bad_reservation_window_is_a_400_with_field_errors(customer, key_client, change, field):
    body = reserved()
    if change == "end-before-start":
        body["window_end"] = (timezone.now() + timedelta(hours=1)).isoformat()
    elif change == "too-long":
        body = reserved(length_hours=24 * 31)
    elif change == "too-far-ahead":
        body = reserved(hours_from_now=24 * 100)
    else:
        body.update(change)
    response = key_client(customer).post(workloads_url(customer), body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Workload.objects.exists()


def test_a_window_without_the_reserved_billing_mode_is_refused(customer, key_client):
    body = {**reserved(), "billing_mode": "on_demand"}
    response = key_client(customer).post(workloads_url(customer), body, format="json")
    assert response.status_code == 400
    assert "window_start" in response.json()["error"]["fields"]


@pytest.mark.parametrize(("case", "field"), [
    ("earlier", "window_end"), ("too-long", "window_end"), ("missing", "window_end"), ("garbage", "window_end"),
    ("not-reserved", "billing_mode"), ("finished", "state"),
])
def test_bad_extensions_are_400s_with_field_errors_and_change_nothing(customer, key_client, case, field):
    client = key_client(customer, Role.MEMBER)
    body = SLICE if case == "not-reserved" else reserved(hours_from_now=1, length_hours=2)
    workload_id = client.post(workloads_url(customer), body, format="json").json()["id"]
    workload = Workload.objects.get(pk=workload_id)
    if case == "finished":
        client.post(workloads_url(customer, f"{workload_id}/stop/"))
    payload = {
        "earlier": {"window_end": ((workload.window_end or timezone.now()) - timedelta(minutes=30)).isoformat()},
        "too-long": {"window_end": ((workload.window_start or timezone.now()) + timedelta(days=40)).isoformat()},
        "missing": {}, "garbage": {"window_end": "next week"},
        "not-reserved": {"window_end": (timezone.now() + timedelta(hours=5)).isoformat()},
        "finished": {"window_end": ((workload.window_end or timezone.now()) + timedelta(hours=1)).isoformat()},
    }[case]
    response = client.post(workloads_url(customer, f"{workload_id}/extend/"), payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert Workload.objects.get(pk=workload_id).window_end == workload.window_end


def test_extending_another_tenants_reservation_is_404_and_viewers_get_403(customer, tenant, key_client, api_as):
    workload_id = key_client(customer).post(workloads_url(customer), reserved(), format="json").json()["id"]
    workload = Workload.objects.get(pk=workload_id)
    payload = {"window_end": (workload.window_end + timedelta(hours=1)).isoformat()}
    for client in (api_as(tenant.owner), key_client(tenant, Role.ADMIN)):
        assert client.post(workloads_url(customer, f"{workload_id}/extend/"), payload,
                           format="json").status_code == 404
        assert client.post(workloads_url(tenant, f"{workload_id}/extend/"), payload,
                           format="json").status_code == 404
    assert api_as(customer.viewer).post(workloads_url(customer, f"{workload_id}/extend/"), payload,
                                        format="json").status_code == 403
    assert Workload.objects.get(pk=workload_id).window_end == workload.window_end
