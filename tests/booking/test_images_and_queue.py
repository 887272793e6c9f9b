"""The curated images (and which accelerators each runs on), instances vs batch jobs, and the queue."""

import pytest

from apps.booking.images import IMAGES
from apps.booking.models import Workload
from apps.scheduling.models import Allocation, Assignment
from apps.scheduling.services import place_pending
from apps.tenancy.models import Role
from tests.booking.workload_helpers import INSTANCE, SLICE, workloads_url
from tests.conftest import make_tenant
from tests.scheduling.conftest import enroll_node

pytestmark = pytest.mark.django_db

WHOLE = {**SLICE, "gpu_milli": 0, "gpu_memory_mib": 0, "gpu_count": 1, "accelerator_models": []}


def test_the_image_list_names_each_image_its_reference_and_vendors(customer, key_client):
    images = key_client(customer, Role.VIEWER).get("/api/v1/images/").json()
    assert [i["key"] for i in images] == [i.key for i in IMAGES]
    assert {"pytorch", "tensorflow", "mindspore", "vllm", "cuda-base"} <= {i["key"] for i in images}
    mindspore = next(i for i in images if i["key"] == "mindspore")
    assert mindspore["vendors"] == ["huawei"] and "mindspore-ascend" in mindspore["ref"]
    huawei = key_client(customer).get("/api/v1/images/?vendor=huawei").json()
    assert [i["key"] for i in huawei] == ["mindspore"]


def test_the_image_list_needs_a_login_and_a_known_vendor(api, customer, key_client):
    assert api.get("/api/v1/images/").status_code in (401, 403)
    response = key_client(customer).get("/api/v1/images/?vendor=apple")
    assert response.status_code == 400 and "vendor" in response.json()["error"]["fields"]


def test_the_chosen_image_reference_goes_to_the_agent(customer, provider, cluster, key_client):
    enroll_node(provider, cluster, "t4-img", count=1)
    key_client(customer).post(workloads_url(customer), {**SLICE, "image": "vllm"}, format="json")
    place_pending(region_code="cn-shanghai")
    assert Assignment.objects.get().spec["image"] == "vllm/vllm-openai:v0.6.4"


@pytest.mark.parametrize(("change", "field"), [
    ({"image": "mindspore"}, "image"),                                         # on a T4
    ({"image": "mindspore", "accelerator_models": [], "vendors": ["nvidia"]}, "image"),
    ({"image": "pytorch", "accelerator_models": ["huawei-ascend-910b3"], "gpu_milli": 0, "gpu_memory_mib": 0,
      "profile": "vir05_1c_16g"}, "image"),                                    # a CUDA build on an NPU
    ({"image": "ubuntu:latest"}, "image"),                                     # not curated
    ({"spec": {"image": "evil/miner:latest", "command": ["x"]}}, "spec"),       # no way around the list
    ({"spec": {}}, "spec"),                                                    # a batch job without a command
    ({"restartable": "sometimes"}, "restartable"),
])
def test_bad_image_or_command_is_a_400_with_field_errors(customer, key_client, change, field):
    response = key_client(customer).post(workloads_url(customer), {**SLICE, **change}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Workload.objects.exists()


def test_a_mindspore_booking_for_any_accelerator_lands_on_an_ascend_card(customer, provider, cluster, key_client):
    enroll_node(provider, cluster, "t4-any", count=4)
    enroll_node(provider, cluster, "ascend-any", model="Ascend910B3", count=1, memory=65536)
    client = key_client(customer)
    ms = client.post(workloads_url(customer), {**WHOLE, "image": "mindspore"}, format="json").json()["id"]
    place_pending(region_code="cn-shanghai")
    assert Allocation.objects.get(workload_id=ms).device.model.vendor == "huawei"
    # the only Ascend card is taken: another MindSpore job waits rather than landing on a T4
    waiting = client.post(workloads_url(customer), {**WHOLE, "image": "mindspore"}, format="json").json()["id"]
    place_pending(region_code="cn-shanghai")
    assert Workload.objects.get(pk=waiting).state == "pending"


def test_an_instance_needs_no_command_and_is_restartable_by_default(customer, key_client):
    body = key_client(customer).post(workloads_url(customer), INSTANCE, format="json").json()
    assert (body["kind"], body["restartable"], body["spec"].get("command")) == ("instance", True, None)
    body = key_client(customer).post(workloads_url(customer), {**INSTANCE, "restartable": False},
                                     format="json").json()
    assert body["restartable"] is False
    body = key_client(customer).post(workloads_url(customer), {**SLICE, "restartable": True}, format="json").json()
    assert (body["kind"], body["restartable"]) == ("batch", True)


def test_queue_position_follows_priority_then_age_within_a_region(customer, key_client):
    client = key_client(customer)
    ids = [client.post(workloads_url(customer), {**SLICE, "name": f"w{i}", "priority": p}, format="json").json()["id"]
           for i, p in enumerate([0, 0, 5, 0])]
    elsewhere = client.post(workloads_url(customer), {**SLICE, "preferred_region": "cn-beijing"},
                            format="json").json()["id"]
    positions = {i: client.get(workloads_url(customer, f"{i}/")).json()["queue_position"] for i in ids}
    assert [positions[i] for i in ids] == [2, 3, 1, 4]
    assert client.get(workloads_url(customer, f"{elsewhere}/")).json()["queue_position"] == 1
    client.post(workloads_url(customer, f"{ids[2]}/stop/"))
    assert client.get(workloads_url(customer, f"{ids[2]}/")).json()["queue_position"] is None
    assert client.get(workloads_url(customer, f"{ids[3]}/")).json()["queue_position"] == 3


def test_a_customer_priority_reorders_its_own_work_and_never_jumps_another_organization(customer, key_client):
    """A books a0, B books b0, then A books a1 with top priority: a1 takes A's first turn, B keeps its
    place, A's first booking waits for A's later turn."""
    rival = make_tenant(kind="customer", name="Rival Robotics")
    a, b = key_client(customer), key_client(rival)
    a0 = a.post(workloads_url(customer), {**SLICE, "name": "a0"}, format="json").json()["id"]
    b0 = b.post(workloads_url(rival), {**SLICE, "name": "b0"}, format="json").json()["id"]
    a1 = a.post(workloads_url(customer), {**SLICE, "name": "a1", "priority": 100}, format="json").json()["id"]

    assert a.get(workloads_url(customer, f"{a1}/")).json()["queue_position"] == 1
    assert b.get(workloads_url(rival, f"{b0}/")).json()["queue_position"] == 2
    assert a.get(workloads_url(customer, f"{a0}/")).json()["queue_position"] == 3


def test_listing_filters_by_state_and_refuses_an_unknown_one(customer, key_client):
    client = key_client(customer)
    client.post(workloads_url(customer), SLICE, format="json")
    assert client.get(workloads_url(customer) + "?state=pending").json()["count"] == 1
    assert client.get(workloads_url(customer) + "?state=running").json()["count"] == 0
    response = client.get(workloads_url(customer) + "?state=exploded")
    assert response.status_code == 400 and "state" in response.json()["error"]["fields"]
