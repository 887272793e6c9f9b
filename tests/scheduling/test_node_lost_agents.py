"""Acceptance 4: kill -9 the agent of a node running an instance; the node goes unreachable, the work is
lost, and a restartable instance is placed and running on the other node (real agent processes over HTTP
against the live test server). A batch job in the same situation stays lost and says why."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from django.test import override_settings

from apps.booking.models import Workload
from apps.booking.services import workload_submit
from apps.catalog.models import Device, Node, Region
from apps.catalog.reference import reference_data_sync
from apps.catalog.services import cluster_create
from apps.scheduling.models import Allocation, Assignment
from apps.scheduling.services import place_pending
from apps.telemetry import services as telemetry
from tests.agents.live import AgentFleet, wait_for
from tests.conftest import make_tenant

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REGION = "cn-shanghai"


@pytest.fixture
def world(live_server, tmp_path):
    reference_data_sync()  # transactional tests start from an emptied database
    provider = make_tenant(kind="provider", name="Lost Compute")
    customer = make_tenant(kind="customer", name="Lost Customer")
    cluster = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="lost",
                             region=Region.objects.get(code=REGION), kind="bare_metal")
    fleet = AgentFleet(live_server.url, tmp_path)

    def start(hostname: str) -> Node:
        _token, plaintext = telemetry.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
        fleet.start(hostname, plaintext)
        return wait_for(lambda: Node.objects.filter(hostname=hostname, last_seq__gte=1).first(),
                        what=f"{hostname} to enroll and report")

    def book(**fields) -> Workload:
        return workload_submit(actor=customer.actor("member"), organization=customer.organization,
                               preferred_region=Region.objects.get(code=REGION), gpu_count=1, image="pytorch",
                               **fields)

    yield SimpleNamespace(fleet=fleet, start=start, book=book, customer=customer)
    fleet.close()


def _state(workload: Workload) -> str:
    return Workload.objects.get(pk=workload.pk).state


def _sweep() -> None:
    """What beat does every 15 s, here every poll: mark silent nodes, place what waits."""
    telemetry.nodes_mark_unreachable()
    place_pending(region_code=REGION)


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=4)
def test_killing_the_agent_re_places_a_restartable_instance_on_the_other_node(world):
    first = world.start("sh-a100-01")
    workload = world.book(name="notebook", kind="instance")
    assert workload.restartable
    place_pending(region_code=REGION)
    wait_for(lambda: _state(workload) == "running", what="the instance to run on sh-a100-01")
    second = world.start("sh-a100-02")

    world.fleet.kill("sh-a100-01")
    wait_for(lambda: Allocation.objects.filter(workload=workload, released_at__isnull=True, node=second).exists()
             and _state(workload) == "running", every=_sweep, timeout=90,
             what="the instance to be re-placed and running on sh-a100-02")

    workload.refresh_from_db()
    assert (workload.restarts, workload.auto_restarts) == (1, 1)
    assert Node.objects.get(pk=first.pk).liveness == Node.Liveness.UNREACHABLE
    events = [(e.to_state, e.reason) for e in workload.events.all()]
    states = [state for state, _reason in events]
    assert states == ["placed", "starting", "running", "lost", "pending", "placed", "starting", "running"] or \
        states == ["placed", "running", "lost", "pending", "placed", "running"], states
    lost_reason = next(reason for state, reason in events if state == "lost")
    assert lost_reason.startswith("node sh-a100-01 stopped reporting at ")
    assert lost_reason.endswith("; re-placing on another node")
    assert next(reason for state, reason in events if state == "pending") == \
        "automatic restart 1 of at most 3 after its node was lost"
    assert "placed on sh-a100-02" in [reason for state, reason in events if state == "placed"][-1]
    # capacity: the lost node's card was given back, the new one is held
    assert sorted(Device.objects.filter(node=first).values_list("free_compute_milli", flat=True)) == [1000, 1000]
    assert sorted(Device.objects.filter(node=second).values_list("free_compute_milli", flat=True)) == [0, 1000]
    # the agent of the new node reports where to connect
    running = Assignment.objects.get(node=second)
    assert running.connection["ssh"].endswith("@sh-a100-02")
    assert running.connection["jupyter"].startswith("http://sh-a100-02:")


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=4)
def test_a_batch_job_on_a_killed_node_stays_lost_with_the_reason(world):
    world.start("sh-a100-01")
    workload = world.book(name="train", kind="batch",
                          spec={"command": [sys.executable, "-c", "import time; time.sleep(600)"]})
    assert not workload.restartable
    place_pending(region_code=REGION)
    wait_for(lambda: _state(workload) == "running", what="the job to run on sh-a100-01")
    second = world.start("sh-a100-02")

    world.fleet.kill("sh-a100-01")
    wait_for(lambda: _state(workload) == "lost", every=_sweep, timeout=90, what="the job to be declared lost")
    for _ in range(3):
        _sweep()  # more placement rounds change nothing: it is not waiting to be placed

    workload.refresh_from_db()
    assert (workload.state, workload.restarts) == ("lost", 0)
    reason = workload.events.last().reason
    assert reason.startswith("node sh-a100-01 stopped reporting at ")
    assert "It is not restarted automatically: restart it when you are ready." in reason
    assert not Assignment.objects.filter(node=second).exists()
    assert not Allocation.objects.filter(workload=workload, released_at__isnull=True).exists()
