"""A node stops reporting: its work is lost; restartable work is placed again elsewhere, with the reason."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.booking.models import Workload
from apps.catalog.models import Device, Node
from apps.scheduling.models import Allocation, Assignment
from apps.scheduling.services import place_pending
from apps.telemetry import services as telemetry
from tests.scheduling.conftest import enroll_node, pending_workload

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_nodes(provider, cluster):
    first = enroll_node(provider, cluster, "sh-t4-01", count=1)
    return first, enroll_node(provider, cluster, "sh-t4-02", count=1)


def _run_on(node, workload):
    """Place it while only ``node`` is online, and have it running there."""
    others = Node.objects.exclude(pk=node.pk)
    others.update(liveness=Node.Liveness.UNREACHABLE)
    place_pending(region_code="cn-shanghai")
    others.update(liveness=Node.Liveness.ONLINE)
    assert Allocation.objects.get(workload=workload).node_id == node.pk
    Workload.objects.filter(pk=workload.pk).update(state=Workload.State.RUNNING)
    Assignment.objects.filter(node=node).update(state=Assignment.State.RUNNING)


def _silence(node, *, at):
    """``node`` last reported at ``at``; every other node keeps reporting."""
    Node.objects.filter(pk=node.pk).update(last_heartbeat_at=at)
    Node.objects.exclude(pk=node.pk).update(last_heartbeat_at=timezone.now() + timedelta(minutes=5))


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=30)
def test_a_restartable_instance_is_re_placed_on_another_node(two_nodes, customer):
    lost_node, other = two_nodes
    workload = pending_workload(customer, kind="instance", restartable=True)
    _run_on(lost_node, workload)
    last_seen = timezone.now() - timedelta(seconds=40)
    _silence(lost_node, at=last_seen)

    assert telemetry.nodes_mark_unreachable() == 1
    workload.refresh_from_db()
    assert (workload.state, workload.restarts, workload.auto_restarts) == ("pending", 1, 1)
    lost, requeued = list(workload.events.all())[-2:]
    hhmm = last_seen.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    assert (lost.to_state, lost.reason) == (
        "lost", f"node sh-t4-01 stopped reporting at {hhmm}; re-placing on another node")
    assert (requeued.to_state, requeued.reason) == (
        "pending", "automatic restart 1 of at most 3 after its node was lost")
    assert Device.objects.get(node=lost_node).free_compute_milli == 1000  # released at once

    place_pending(region_code="cn-shanghai")
    workload.refresh_from_db()
    assert workload.state == "placed"
    current = Allocation.objects.get(workload=workload, released_at__isnull=True)
    assert current.node_id == other.pk
    assert AuditEvent.objects.filter(action="workload.requeued", actor_label="system").exists()


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=30)
def test_a_batch_job_stays_lost_and_says_why(two_nodes, customer):
    lost_node, _other = two_nodes
    workload = pending_workload(customer)  # batch: not restartable
    _run_on(lost_node, workload)
    _silence(lost_node, at=timezone.now() - timedelta(seconds=40))
    telemetry.nodes_mark_unreachable()
    place_pending(region_code="cn-shanghai")
    workload.refresh_from_db()
    assert (workload.state, workload.restarts) == ("lost", 0)
    assert "the work on it is lost. It is not restarted automatically" in workload.events.last().reason
    assert Allocation.objects.filter(workload=workload, released_at__isnull=True).count() == 0


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=30, TIDEGRID_WORKLOAD_MAX_AUTO_RESTARTS=2)
def test_automatic_restarts_stop_at_the_limit(two_nodes, customer):
    lost_node, _other = two_nodes
    workload = pending_workload(customer, kind="instance", restartable=True, auto_restarts=2, restarts=2)
    _run_on(lost_node, workload)
    _silence(lost_node, at=timezone.now() - timedelta(seconds=40))
    telemetry.nodes_mark_unreachable()
    workload.refresh_from_db()
    assert workload.state == "lost"
    assert "already re-placed 2 times in a row, so it stays lost" in workload.events.last().reason


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=30)
def test_an_instance_being_stopped_is_not_brought_back(two_nodes, customer):
    lost_node, _other = two_nodes
    workload = pending_workload(customer, kind="instance", restartable=True)
    _run_on(lost_node, workload)
    Workload.objects.filter(pk=workload.pk).update(state=Workload.State.STOPPING)
    _silence(lost_node, at=timezone.now() - timedelta(seconds=40))
    telemetry.nodes_mark_unreachable()
    workload.refresh_from_db()
    assert workload.state == "lost"
    assert workload.restarts == 0
