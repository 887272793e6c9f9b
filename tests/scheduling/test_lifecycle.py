"""Workloads follow what the agent reports; capacity comes back when work ends or is lost."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.booking.lifecycle import workload_transition
from apps.booking.models import Workload
from apps.catalog.models import Device
from apps.scheduling.models import Assignment
from apps.scheduling.services import place_pending
from apps.telemetry import services as telemetry
from tests.scheduling.conftest import pending_workload

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed(provider, customer, cluster):
    _token, plaintext = telemetry.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    node, credential = telemetry.node_enroll(bootstrap_token=plaintext, hostname="life-1", inventory={
        "runtime": "process", "device_backend": "simulated", "cpu_milli": 32000, "memory_mib": 262144,
        "devices": [{"uuid": "GPU-life-0", "index": 0, "model": "Tesla T4", "memory_total_mib": 15360}]})
    workload = pending_workload(customer)
    place_pending(region_code="cn-shanghai")
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Node {credential}")
    seq = iter(range(1, 1000))

    def report(state=None, **extra):
        assignment = Assignment.objects.get(node=node)
        statuses = [{"id": str(assignment.id), "state": state, **extra}] if state else []
        body = {"node_id": str(node.id), "seq": next(seq), "collected_at": datetime.now(UTC).isoformat(),
                "devices": [], "assignments": statuses}
        return agent.post("/api/agent/v1/heartbeat", body, format="json").json()

    return node, workload, report


def _state(workload):
    workload.refresh_from_db()
    return workload.state


def test_the_workload_follows_its_assignment_to_success_and_frees_the_device(placed):
    _node, workload, report = placed
    assert Device.objects.get().free_compute_milli == 500
    report("starting")
    assert _state(workload) == Workload.State.STARTING
    report("running")
    assert _state(workload) == Workload.State.RUNNING
    report("succeeded", exit_code=0)
    assert _state(workload) == Workload.State.SUCCEEDED
    assert Device.objects.get().free_compute_milli == 1000
    timeline = list(workload.events.values_list("to_state", flat=True))
    assert timeline == ["placed", "starting", "running", "succeeded"]
    assert workload.events.last().reason == "exit code 0"


def test_a_failed_job_records_its_exit_code_in_the_timeline(placed):
    _node, workload, report = placed
    report("running")
    report("failed", exit_code=137)
    assert _state(workload) == Workload.State.FAILED
    assert workload.events.last().reason == "exit code 137"
    assert Device.objects.get().free_compute_milli == 1000


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=30)
def test_work_on_a_silent_node_is_lost_and_stopped_if_the_node_returns(placed):
    node, workload, report = placed
    report("running")
    telemetry.nodes_mark_unreachable(now=timezone.now() + timedelta(seconds=31))
    assert _state(workload) == Workload.State.LOST
    assert "stopped reporting" in workload.events.last().reason
    assert Device.objects.get().free_compute_milli == 1000
    reply = report("running")  # the node comes back, still running what the platform gave up on
    assignment = Assignment.objects.get(node=node)
    assert {"id": str(assignment.id), "action": "stop"} in reply["assignments"]
    assert str(assignment.id) not in reply["ack_final"]


def test_the_state_machine_refuses_impossible_transitions(placed):
    _node, workload, report = placed
    report("succeeded", exit_code=0)
    with pytest.raises(ValidationError):
        workload_transition(workload=workload, to_state=Workload.State.RUNNING)
    assert _state(workload) == Workload.State.SUCCEEDED


def test_a_stop_by_the_user_reads_as_requested_not_as_an_exit_code(placed, customer, client):
    from apps.booking.services import workload_stop

    _node, workload, report = placed
    report("running")
    workload_stop(actor=customer.actor("member"), workload=workload)
    report("stopped", exit_code=143)
    assert _state(workload) == Workload.State.STOPPED
    assert workload.events.last().reason == "the run ended as requested"
    client.force_login(customer.member)
    page = client.get(f"/workloads/{workload.pk}/").content.decode()
    assert "code 143" not in page and "Stopped: its processes were ended." in page
    steps = page.split('class="steps"')[1].split("</ol>")[0]
    assert 'class="done"' not in steps and 'class="ended current">Stopped' in steps


def test_a_failed_jobs_progress_bar_is_red_not_green(placed, customer, client):
    _node, workload, report = placed
    report("running")
    report("failed", exit_code=3)
    client.force_login(customer.member)
    page = client.get(f"/workloads/{workload.pk}/").content.decode()
    steps = page.split('class="steps"')[1].split("</ol>")[0]
    assert 'class="done"' not in steps and steps.count('class="failed"') == 4
    assert 'class="failed current">Failed' in steps
    assert "Exit code 3" in page
