import pytest

from apps.audit.models import AuditEvent
from apps.booking.models import Workload
from apps.scheduling.models import Assignment
from apps.scheduling.services import place_pending
from apps.tenancy.models import Role
from tests.scheduling.conftest import enroll_node

pytestmark = pytest.mark.django_db

# A quarter of a T4 (fractional sharing). An A100 in the catalog is MIG-partitioned: it sells profiles.
SLICE = {"name": "finetune", "kind": "batch", "preferred_region": "cn-shanghai", "gpu_milli": 250,
         "gpu_memory_mib": 4096, "accelerator_models": ["nvidia-t4"],
         "image": "pytorch", "spec": {"command": ["python", "train.py"], "env": {"EPOCHS": "3"}}}


def url(customer, suffix=""):
    return f"/api/v1/organizations/{customer.organization.id}/workloads/{suffix}"


def test_book_a_slice_with_an_api_key_and_follow_it(customer, provider, cluster, key_client):
    enroll_node(provider, cluster, "t4-x", count=1)
    client = key_client(customer, Role.MEMBER)
    created = client.post(url(customer), SLICE, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["state"] == "pending"
    place_pending(region_code="cn-shanghai")
    detail = client.get(url(customer, f"{body['id']}/")).json()
    assert detail["state"] == "placed"
    assert detail["placement"] == [{"node": "t4-x", "region": "cn-shanghai", "device_index": 0,
                                    "model": "nvidia-t4", "model_name": "NVIDIA T4 16GB", "compute_milli": 250,
                                    "memory_mib": 4096, "profile": "", "released": False}]
    assert [e["to_state"] for e in detail["events"]] == ["placed"]
    assert detail["run"]["state"] == "pending"
    listing = client.get(url(customer)).json()
    assert [w["id"] for w in listing["results"]] == [body["id"]]


def test_the_same_idempotency_key_creates_one_workload(customer, key_client):
    client = key_client(customer, Role.MEMBER)
    first = client.post(url(customer), SLICE, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    again = client.post(url(customer), SLICE, format="json", HTTP_IDEMPOTENCY_KEY="order-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Workload.objects.count() == 1
    other_body = client.post(url(customer), {**SLICE, "name": "other"}, format="json",
                             HTTP_IDEMPOTENCY_KEY="order-42")
    assert other_body.status_code == 400
    assert "idempotency_key" in other_body.json()["error"]["fields"]
    assert Workload.objects.count() == 1


def test_stop_a_pending_workload(customer, api_as):
    client = api_as(customer.member)
    workload_id = client.post(url(customer), SLICE, format="json").json()["id"]
    stopped = client.post(url(customer, f"{workload_id}/stop/"))
    assert stopped.status_code == 200
    assert stopped.json()["state"] == "stopped"
    assert AuditEvent.objects.filter(action="workload.stop_requested").exists()


def test_stopping_a_placed_workload_asks_its_agent(customer, provider, cluster, api_as,
                                                   django_capture_on_commit_callbacks):
    enroll_node(provider, cluster, "t4-y", count=1)
    client = api_as(customer.member)
    workload_id = client.post(url(customer), SLICE, format="json").json()["id"]
    place_pending(region_code="cn-shanghai")
    Assignment.objects.update(state=Assignment.State.RUNNING)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url(customer, f"{workload_id}/stop/"))
    assert response.json()["state"] == "stopping"
    assert len(callbacks) == 1
    from apps.scheduling.services import workload_stop_assignments

    workload_stop_assignments(workload=Workload.objects.get(pk=workload_id))
    assert Assignment.objects.get().desired == "stop"


def test_viewers_can_look_but_not_book_or_stop(customer, api_as):
    member = api_as(customer.member)
    workload_id = member.post(url(customer), SLICE, format="json").json()["id"]
    viewer = api_as(customer.viewer)
    assert viewer.get(url(customer)).status_code == 200
    assert viewer.post(url(customer), SLICE, format="json").status_code == 403
    assert viewer.post(url(customer, f"{workload_id}/stop/")).status_code == 403
    assert Workload.objects.get(pk=workload_id).state == "pending"


def test_another_tenants_workloads_are_404(customer, tenant, api_as, key_client):
    workload_id = api_as(customer.member).post(url(customer), SLICE, format="json").json()["id"]
    for client in (api_as(tenant.owner), key_client(tenant, Role.ADMIN)):
        assert client.get(url(customer)).status_code == 404
        assert client.post(url(customer), SLICE, format="json").status_code == 404
        assert client.get(url(customer, f"{workload_id}/")).status_code == 404
        assert client.post(url(customer, f"{workload_id}/stop/")).status_code == 404
        # and under their own organization the id does not resolve either
        assert client.get(f"/api/v1/organizations/{tenant.organization.id}/workloads/{workload_id}/").status_code == 404
        assert client.get(f"/api/v1/organizations/{tenant.organization.id}/workloads/").json()["count"] == 0
    assert Workload.objects.get(pk=workload_id).state == "pending"
    assert Workload.objects.count() == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"gpu_count": 2}, "gpu_count"),                        # two shapes
    ({"gpu_milli": 0, "gpu_memory_mib": 0}, "gpu_count"),   # no shape
    ({"gpu_milli": 1500}, "gpu_milli"),
    ({"gpu_memory_mib": 0}, "gpu_memory_mib"),
    ({"preferred_region": "cn-atlantis"}, "preferred_region"),
    ({"allowed_regions": ["cn-nowhere"]}, "allowed_regions"),
    ({"accelerator_models": ["nvidia-b9000"]}, "accelerator_models"),
    ({"vendors": ["apple"]}, "vendors"),
    ({"priority": 1000}, "priority"),
    ({"cpu_milli": 10}, "cpu_milli"),
    ({"spec": {"command": "python train.py"}}, "spec"),
    ({"spec": {"env": {"1BAD": "x"}}}, "spec"),
    ({"name": ""}, "name"),
    ({"kind": "vm"}, "kind"),
])
def test_bad_booking_input_is_a_400_with_field_errors_and_books_nothing(customer, api_as, change, field):
    response = api_as(customer.member).post(url(customer), {**SLICE, **change}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Workload.objects.exists()


def test_providers_cannot_book(provider, api_as):
    response = api_as(provider.owner).post(f"/api/v1/organizations/{provider.organization.id}/workloads/", SLICE,
                                           format="json")
    assert response.status_code == 400
    assert "organization" in response.json()["error"]["fields"]


def test_listing_workloads_costs_the_same_queries_for_one_or_many(customer, provider, cluster, api_as,
                                                                  django_assert_max_num_queries):
    enroll_node(provider, cluster, "t4-z", count=4)
    client = api_as(customer.member)
    for i in range(6):
        client.post(url(customer), {**SLICE, "name": f"w{i}"}, format="json")
    place_pending(region_code="cn-shanghai")
    with django_assert_max_num_queries(15):
        listing = client.get(url(customer))
    assert listing.json()["count"] == 6


def test_the_openapi_schema_documents_every_booking_endpoint(customer, api_as):
    text = api_as(customer.member).get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/v1/images/", "/api/v1/organizations/{organization_id}/quota/",
                 "/api/v1/organizations/{organization_id}/workloads/",
                 "/api/v1/organizations/{organization_id}/workloads/{id}/",
                 "/api/v1/organizations/{organization_id}/workloads/{id}/stop/",
                 "/api/v1/organizations/{organization_id}/workloads/{id}/restart/",
                 "/api/v1/organizations/{organization_id}/workloads/{id}/extend/"):
        assert path in text, path
    for field in ("queue_position", "log_tail", "exit_code", "connection", "window_end", "Idempotency-Key"):
        assert field in text, field
