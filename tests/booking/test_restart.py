"""Restart: a finished workload runs again under the same id, placed anew, its earlier run kept."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.booking.models import Workload
from apps.catalog.models import Device
from apps.scheduling.models import Allocation, Assignment
from apps.scheduling.services import place_pending
from apps.telemetry import services as telemetry
from apps.tenancy.models import Role
from tests.booking.workload_helpers import SLICE, workloads_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(provider, cluster):
    """A T4 node and a report(state) function speaking the agent protocol for its latest assignment."""
    _token, plaintext = telemetry.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    node, credential = telemetry.node_enroll(bootstrap_token=plaintext, hostname="t4-restart", inventory={
        "runtime": "process", "device_backend": "simulated", "cpu_milli": 32000, "memory_mib": 262144,
        "devices": [{"uuid": "GPU-restart-0", "index": 0, "model": "Tesla T4", "memory_total_mib": 15360}]})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Node {credential}")
    seq = iter(range(1, 1000))

    def report(state, **extra):
        assignment = Assignment.objects.filter(node=node).order_by("-created_at").first()
        body = {"node_id": str(node.id), "seq": next(seq), "collected_at": datetime.now(UTC).isoformat(),
                "devices": [], "assignments": [{"id": str(assignment.id), "state": state, **extra}]}
        assert client.post("/api/agent/v1/heartbeat", body, format="json").status_code == 200

    return report


def test_a_finished_job_runs_again_and_keeps_its_history(customer, agent, key_client):
    client = key_client(customer, Role.MEMBER)
    workload_id = client.post(workloads_url(customer), SLICE, format="json").json()["id"]
    place_pending(region_code="cn-shanghai")
    agent("running")
    agent("failed", exit_code=1, log_tail="CUDA out of memory")
    assert Device.objects.get().free_compute_milli == 1000

    response = client.post(workloads_url(customer, f"{workload_id}/restart/"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["restarts"]) == ("pending", 1)
    assert body["events"][-1]["to_state"] == "pending"
    assert body["events"][-1]["reason"].startswith("restarted by ")
    assert body["queue_position"] == 1
    assert body["exit_code"] == 1  # until the new run starts, the detail shows how the last one ended

    place_pending(region_code="cn-shanghai")
    agent("running")
    detail = client.get(workloads_url(customer, f"{workload_id}/")).json()
    assert detail["state"] == "running"
    assert detail["exit_code"] is None and detail["run"]["state"] == "running"
    assert [p["released"] for p in detail["placement"]] == [False]
    assert Allocation.objects.filter(workload_id=workload_id).count() == 2  # one per run
    assert Allocation.objects.filter(workload_id=workload_id, released_at__isnull=True).count() == 1
    assert Device.objects.get().free_compute_milli == 750
    states = [e["to_state"] for e in detail["events"]]
    assert states == ["placed", "running", "failed", "pending", "placed", "running"]
    assert AuditEvent.objects.filter(action="workload.restarted").count() == 1


def test_a_stale_report_of_the_earlier_run_does_not_move_the_new_one(customer, agent, key_client):
    client = key_client(customer, Role.MEMBER)
    workload_id = client.post(workloads_url(customer), SLICE, format="json").json()["id"]
    place_pending(region_code="cn-shanghai")
    agent("succeeded", exit_code=0)
    client.post(workloads_url(customer, f"{workload_id}/restart/"))
    first = Assignment.objects.get()
    # The first run's assignment is final; nothing the agent says about it reaches the workload.
    from apps.scheduling.receivers import follow_assignment

    follow_assignment(sender=Assignment, assignment=first, previous_state="running")
    assert Workload.objects.get(pk=workload_id).state == "pending"


@pytest.mark.parametrize("state", ["pending", "running", "stopping"])
def test_only_finished_workloads_restart(customer, key_client, state):
    client = key_client(customer, Role.MEMBER)
    workload_id = client.post(workloads_url(customer), SLICE, format="json").json()["id"]
    Workload.objects.filter(pk=workload_id).update(state=state)
    response = client.post(workloads_url(customer, f"{workload_id}/restart/"))
    assert response.status_code == 400
    assert "state" in response.json()["error"]["fields"]
    workload = Workload.objects.get(pk=workload_id)
    assert (workload.state, workload.restarts) == (state, 0)


def test_restarting_another_tenants_workload_is_404_and_viewers_get_403(customer, tenant, key_client, api_as):
    client = key_client(customer, Role.MEMBER)
    workload_id = client.post(workloads_url(customer), SLICE, format="json").json()["id"]
    client.post(workloads_url(customer, f"{workload_id}/stop/"))
    for stranger in (api_as(tenant.owner), key_client(tenant, Role.ADMIN)):
        assert stranger.post(workloads_url(customer, f"{workload_id}/restart/")).status_code == 404
        assert stranger.post(workloads_url(tenant, f"{workload_id}/restart/")).status_code == 404
    assert key_client(customer, Role.VIEWER).post(workloads_url(customer, f"{workload_id}/restart/")).status_code == 403
    assert api_as(customer.viewer).post(workloads_url(customer, f"{workload_id}/restart/")).status_code == 403
    assert Workload.objects.get(pk=workload_id).state == "stopped"


def test_restart_of_an_unknown_workload_is_404(customer, key_client):
    missing = "00000000-0000-4000-8000-000000000000"
    assert key_client(customer).post(workloads_url(customer, f"{missing}/restart/")).status_code == 404
