import pytest
from django.db.models import Sum

from apps.booking.models import Workload
from apps.catalog.models import Device, Node, Region
from apps.catalog.services import cluster_create
from apps.scheduling.models import Allocation, Assignment, PlacementDecision
from apps.scheduling.services import place_pending, workload_release
from tests.scheduling.conftest import enroll_node, pending_workload

pytestmark = pytest.mark.django_db


def test_a_fractional_slice_is_placed_and_sent_to_the_agent(provider, customer, cluster):
    node = enroll_node(provider, cluster, "t4-a")
    workload = pending_workload(customer)
    assert place_pending(region_code="cn-shanghai") == {"placed": 1, "unschedulable": 0, "conflicts": 0}
    workload.refresh_from_db()
    assert workload.state == Workload.State.PLACED
    allocation = Allocation.objects.get(workload=workload)
    assert (allocation.compute_milli, allocation.memory_mib) == (500, 4096)
    device = Device.objects.get(pk=allocation.device_id)
    assert (device.free_compute_milli, device.free_memory_mib) == (500, 15360 - 4096)
    node.refresh_from_db()
    assert node.cpu_free_milli == 32000 - 1000
    assignment = Assignment.objects.get(node=node)
    assert assignment.spec["device_uuids"] == [device.uuid]
    assert assignment.spec["compute_milli"] == 500
    assert assignment.spec["command"] == ["python", "train.py"]
    decision = PlacementDecision.objects.get(workload=workload)
    assert decision.outcome == "placed" and decision.score["policy"] == "tidal"


def test_whole_cards_take_complete_devices_on_one_node(provider, customer, cluster):
    enroll_node(provider, cluster, "a100-a", model="NVIDIA A100-SXM4-80GB", count=8, memory=81920)
    workload = pending_workload(customer, gpu_milli=0, gpu_memory_mib=0, gpu_count=4)
    place_pending(region_code="cn-shanghai")
    allocations = Allocation.objects.filter(workload=workload)
    assert allocations.count() == 4
    assert {a.compute_milli for a in allocations} == {1000}
    assert Device.objects.filter(free_compute_milli=0).count() == 4


def test_a_mig_profile_is_carved_from_a_mig_capable_card(provider, customer, cluster):
    enroll_node(provider, cluster, "a100-b", model="NVIDIA A100-SXM4-80GB", count=1, memory=81920)
    workload = pending_workload(customer, gpu_milli=0, gpu_memory_mib=0, profile="3g.40gb")
    place_pending(region_code="cn-shanghai")
    allocation = Allocation.objects.get(workload=workload)
    assert allocation.profile == "3g.40gb"
    assert allocation.compute_milli == 429


def test_an_unplaceable_workload_stays_pending_with_a_readable_reason(provider, customer, cluster):
    enroll_node(provider, cluster, "t4-b", count=1)
    workload = pending_workload(customer, accelerator_models=["nvidia-h100-80gb"])
    assert place_pending(region_code="cn-shanghai")["unschedulable"] == 1
    workload.refresh_from_db()
    assert workload.state == Workload.State.PENDING
    assert "cn-shanghai" in workload.pending_reason and "500 milli" in workload.pending_reason
    assert PlacementDecision.objects.get(workload=workload).outcome == "unschedulable"


def test_overflow_to_an_allowed_nearby_region(provider, customer, cluster):
    suzhou = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="sz",
                            region=Region.objects.get(code="cn-suzhou"), kind="bare_metal")
    node = enroll_node(provider, suzhou, "sz-t4")
    workload = pending_workload(customer, allowed_regions=["cn-suzhou"])
    place_pending(region_code="cn-shanghai")
    assert Allocation.objects.get(workload=workload).node == node


def test_quarantined_devices_and_cordoned_nodes_take_no_work(provider, customer, cluster):
    node = enroll_node(provider, cluster, "t4-c", count=1)
    Device.objects.filter(node=node).update(health=Device.Health.QUARANTINED)
    workload = pending_workload(customer)
    place_pending(region_code="cn-shanghai")
    Device.objects.filter(node=node).update(health=Device.Health.OK)
    Node.objects.filter(pk=node.pk).update(state=Node.State.CORDONED)
    place_pending(region_code="cn-shanghai")
    workload.refresh_from_db()
    assert workload.state == Workload.State.PENDING
    assert not Allocation.objects.exists()


def test_releasing_gives_the_capacity_back_and_pending_work_is_retried(provider, customer, cluster):
    enroll_node(provider, cluster, "t4-d", count=1)
    first = pending_workload(customer, gpu_milli=800)
    second = pending_workload(customer, gpu_milli=800)
    place_pending(region_code="cn-shanghai")
    second.refresh_from_db()
    assert second.state == Workload.State.PENDING
    assert workload_release(workload=first) == 1
    assert Device.objects.get().free_compute_milli == 1000
    place_pending(region_code="cn-shanghai")
    second.refresh_from_db()
    assert second.state == Workload.State.PLACED


def test_higher_priority_is_placed_first(provider, customer, cluster):
    enroll_node(provider, cluster, "t4-e", count=1)
    low = pending_workload(customer, gpu_milli=800, priority=0)
    high = pending_workload(customer, gpu_milli=800, priority=10)
    place_pending(region_code="cn-shanghai")
    low.refresh_from_db()
    high.refresh_from_db()
    assert (high.state, low.state) == (Workload.State.PLACED, Workload.State.PENDING)


def test_device_counters_always_match_the_allocations(provider, customer, cluster):
    enroll_node(provider, cluster, "t4-f", count=2)
    for milli in (300, 300, 300, 500, 700, 200):
        pending_workload(customer, gpu_milli=milli)
    place_pending(region_code="cn-shanghai")
    for device in Device.objects.all():
        used = Allocation.objects.filter(device=device, released_at__isnull=True).aggregate(
            s=Sum("compute_milli"))["s"] or 0
        assert device.free_compute_milli == 1000 - used


@pytest.mark.parametrize("policy", ["tidal", "fgd", "bestfit", "packing"])
def test_the_live_loop_runs_every_policy_against_the_recent_booking_mix(provider, customer, cluster, policy):
    enroll_node(provider, cluster, f"t4-{policy}", count=2)
    workloads = [pending_workload(customer, gpu_milli=milli) for milli in (250, 500, 750)]
    assert place_pending(region_code="cn-shanghai", policy=policy)["placed"] == 3
    assert {d.policy for d in PlacementDecision.objects.filter(workload__in=workloads)} == {policy}


def test_retrying_a_stuck_workload_does_not_pile_up_identical_decisions(provider, customer, cluster):
    enroll_node(provider, cluster, "t4-g", count=1)
    workload = pending_workload(customer, accelerator_models=["nvidia-h100-80gb"])
    for _ in range(3):
        place_pending(region_code="cn-shanghai")
    assert PlacementDecision.objects.filter(workload=workload).count() == 1


def test_an_instance_carries_its_booking_members_ssh_keys_and_a_job_none(provider, customer, cluster):
    from apps.accounts.services import ssh_key_add
    from tests.accounts.test_ssh_keys import ED25519, RSA2048

    key = ssh_key_add(user=customer.member, public_key=ED25519, name="laptop")
    ssh_key_add(user=customer.owner, public_key=RSA2048)  # not the booking member's
    node = enroll_node(provider, cluster, "t4-a")
    instance = pending_workload(customer, kind=Workload.Kind.INSTANCE)
    job = pending_workload(customer, name="job-2")
    place_pending(region_code="cn-shanghai")
    specs = {a.spec["workload_id"]: a.spec for a in Assignment.objects.filter(node=node)}
    assert specs[str(instance.pk)]["ssh_authorized_keys"] == [key.public_key] == [" ".join(ED25519.split()[:2])]
    assert specs[str(job.pk)]["ssh_authorized_keys"] == []
