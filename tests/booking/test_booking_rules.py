"""Booking rules are the service's: the portal form and the API store the same row for the same request,
and refuse the same things with the same messages."""

import pytest
from django.urls import reverse

from apps.booking.models import Workload
from apps.booking.rules import PRIORITY_BANDS
from apps.booking.selectors import placement_order
from apps.catalog.models import Region
from apps.tenancy.models import Role

pytestmark = pytest.mark.django_db

# The same request twice: a quarter of a T4 with 4 GiB, as a batch job, in Shanghai only.
FORM = {"kind": "batch", "accelerator_models": ["nvidia-t4"], "shape": "fractional", "gpu_percent": "25",
        "gpu_memory_gib": "4", "billing_mode": "spot", "image": "pytorch", "command": "python train.py"}
API = {"kind": "batch", "accelerator_models": ["nvidia-t4"], "gpu_milli": 250, "gpu_memory_mib": 4096,
       "cpu_milli": 2000, "memory_mib": 8192, "billing_mode": "spot", "image": "pytorch",
       "preferred_region": "cn-shanghai", "spec": {"command": ["python", "train.py"]}}
STORED = ["kind", "billing_mode", "cpu_milli", "memory_mib", "gpu_count", "gpu_milli", "gpu_memory_mib", "profile",
          "accelerator_models", "vendors", "preferred_region_id", "allowed_regions", "priority", "preemptible",
          "image", "spec", "restartable", "window_start", "window_end", "state"]


def _form_book(client, **data):
    region = str(Region.objects.get(code="cn-shanghai").pk)
    return client.post(reverse("booking:workload_new"), {**FORM, "region": region, **data})


def _row(name) -> dict:
    workload = Workload.objects.get(name=name)
    return {field: getattr(workload, field) for field in STORED}


@pytest.mark.parametrize("mode", ["spot", "on_demand"])
def test_form_and_api_store_the_same_row(as_user, customer, key_client, mode):
    response = _form_book(as_user(customer.member, customer.organization), name="by-form", billing_mode=mode)
    assert response.status_code == 302
    # The API request also says what the rule decides for it: those parts are not the customer's to set.
    api = key_client(customer, Role.MEMBER).post(
        f"/api/v1/organizations/{customer.organization.id}/workloads/",
        {**API, "name": "by-api", "billing_mode": mode, "preemptible": mode != "spot"}, format="json")
    assert api.status_code == 201, api.json()
    assert _row("by-form") == _row("by-api")
    band = PRIORITY_BANDS[mode]
    assert (_row("by-api")["priority"], _row("by-api")["preemptible"]) == (band.base, band.preemptible)


def test_a_customer_priority_orders_work_inside_its_band_only(customer, key_client):
    client = key_client(customer, Role.MEMBER)
    url = f"/api/v1/organizations/{customer.organization.id}/workloads/"
    for name, mode, priority in [("od-low", "on_demand", 0), ("spot-top", "spot", 100), ("spot-low", "spot", 0),
                                 ("od-high", "on_demand", 50)]:
        assert client.post(url, {**API, "name": name, "billing_mode": mode, "priority": priority},
                           format="json").status_code == 201
    order = placement_order(region_id=Workload.objects.first().preferred_region_id)
    names = dict(Workload.objects.values_list("id", "name"))
    assert [names[pk] for pk in order] == ["od-high", "od-low", "spot-top", "spot-low"]
    rows = {w.name: w for w in Workload.objects.all()}
    assert rows["spot-top"].priority == PRIORITY_BANDS["spot"].top < rows["od-low"].priority
    assert all(rows[n].preemptible for n in ("spot-top", "spot-low"))
    assert not any(rows[n].preemptible for n in ("od-low", "od-high"))


def test_the_shape_rule_is_refused_identically_by_form_and_api(as_user, customer, key_client):
    # Whole cards chosen, but how many left empty: no GPU shape at all.
    page = _form_book(as_user(customer.member, customer.organization), name="no-shape", shape="whole",
                      gpu_percent="", gpu_memory_gib="")
    assert page.status_code == 200
    form_errors = page.context["form"].errors["gpu_count"]
    api = key_client(customer, Role.MEMBER).post(
        f"/api/v1/organizations/{customer.organization.id}/workloads/",
        {**API, "name": "no-shape", "gpu_milli": 0, "gpu_memory_mib": 0}, format="json")
    assert api.status_code == 400
    assert api.json()["error"]["fields"]["gpu_count"] == form_errors
    assert form_errors == ["Ask for exactly one GPU shape: whole cards (gpu_count), a fractional slice (gpu_milli "
                           "and gpu_memory_mib) or a profile."]
    assert not Workload.objects.exists()


def test_actions_offered_are_the_ones_the_service_allows(as_user, customer, key_client):
    from datetime import timedelta

    from django.utils import timezone

    from apps.booking.lifecycle import workload_can_extend, workload_can_restart, workload_can_stop

    start = timezone.now() + timedelta(hours=2)
    client = key_client(customer, Role.MEMBER)
    created = client.post(f"/api/v1/organizations/{customer.organization.id}/workloads/",
                          {**API, "name": "window", "billing_mode": "reserved", "window_start": start.isoformat(),
                           "window_end": (start + timedelta(hours=3)).isoformat()}, format="json")
    assert created.status_code == 201, created.json()
    workload = Workload.objects.get(name="window")
    # A reservation being stopped: the page offers neither extend nor stop, and the service agrees.
    Workload.objects.filter(pk=workload.pk).update(state=Workload.State.STOPPING)
    workload.refresh_from_db()
    assert not workload_can_extend(workload) and not workload_can_stop(workload)
    page = as_user(customer.member, customer.organization).get(reverse("booking:workload_detail",
                                                                       args=[workload.pk])).content.decode()
    assert "Extend reservation" not in page and 'id="stop-button"' not in page
    extend = client.post(f"/api/v1/organizations/{customer.organization.id}/workloads/{workload.pk}/extend/",
                         {"window_end": (start + timedelta(hours=5)).isoformat()}, format="json")
    assert extend.status_code == 400
    # Pending: stop and extend offered, restart not.
    Workload.objects.filter(pk=workload.pk).update(state=Workload.State.PENDING)
    workload.refresh_from_db()
    assert workload_can_extend(workload) and workload_can_stop(workload) and not workload_can_restart(workload)
    page = as_user(customer.member, customer.organization).get(reverse("booking:workload_detail",
                                                                       args=[workload.pk])).content.decode()
    assert "Extend reservation" in page and 'id="stop-button"' in page and 'id="restart-button"' not in page
