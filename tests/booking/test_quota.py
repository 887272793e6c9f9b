"""Quotas per organization: whole cards and slices at a time, set by the platform, checked at submit."""

import pytest
from django.test import override_settings

from apps.booking.models import OrganizationQuota, Workload
from apps.tenancy.models import Role
from tests.booking.workload_helpers import SLICE, workloads_url

pytestmark = pytest.mark.django_db

CARDS = {**SLICE, "gpu_milli": 0, "gpu_memory_mib": 0, "gpu_count": 2, "accelerator_models": []}


def _book(client, tenant, body):
    return client.post(workloads_url(tenant), body, format="json")


def test_whole_cards_beyond_the_quota_are_refused_with_what_to_do(customer, key_client):
    OrganizationQuota.objects.create(organization=customer.organization, max_cards=8)
    client = key_client(customer, Role.MEMBER)
    for _ in range(3):
        assert _book(client, customer, CARDS).status_code == 201
    response = _book(client, customer, {**CARDS, "gpu_count": 4})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["gpu_count"] == [
        "Your organization may run at most 8 cards at a time; 6 are in use and this asks for 4. "
        "Stop a workload or ask TideGrid support to raise the quota."]
    assert Workload.objects.count() == 3
    assert _book(client, customer, CARDS).status_code == 201  # 2 more fit exactly


def test_the_message_is_translated(customer, key_client):
    OrganizationQuota.objects.create(organization=customer.organization, max_cards=1)
    response = key_client(customer).post(workloads_url(customer), CARDS, format="json",
                                         HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert "您的组织同时最多可使用 1 张卡" in response.json()["error"]["fields"]["gpu_count"][0]


@override_settings(TIDEGRID_QUOTA_MAX_SLICES=2)
def test_slices_count_separately_and_the_platform_default_applies(customer, key_client):
    client = key_client(customer, Role.MEMBER)
    assert _book(client, customer, SLICE).status_code == 201
    assert _book(client, customer, {**SLICE, "gpu_milli": 0, "gpu_memory_mib": 0, "profile": "1g.10gb",
                                    "accelerator_models": []}).status_code == 201
    response = _book(client, customer, SLICE)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["gpu_milli"] == [
        "Your organization may run at most 2 slices at a time; 2 are in use. "
        "Stop a workload or ask TideGrid support to raise the quota."]
    assert _book(client, customer, CARDS).status_code == 201  # whole cards have their own limit


@override_settings(TIDEGRID_QUOTA_MAX_SLICES=1)
def test_finished_workloads_free_their_share_of_the_quota(customer, key_client):
    client = key_client(customer, Role.MEMBER)
    first = _book(client, customer, SLICE).json()["id"]
    assert _book(client, customer, SLICE).status_code == 400
    client.post(workloads_url(customer, f"{first}/stop/"))
    assert _book(client, customer, SLICE).status_code == 201
    # and a restart is a booking too: the stopped one cannot come back while the new one runs
    response = client.post(workloads_url(customer, f"{first}/restart/"))
    assert response.status_code == 400
    assert "gpu_milli" in response.json()["error"]["fields"]
    assert Workload.objects.get(pk=first).state == "stopped"


def test_a_quota_is_per_organization(customer, tenant, key_client):
    OrganizationQuota.objects.create(organization=customer.organization, max_cards=2)
    assert _book(key_client(customer), customer, CARDS).status_code == 201
    assert _book(key_client(customer), customer, CARDS).status_code == 400
    assert _book(key_client(tenant), tenant, CARDS).status_code == 201


def test_the_quota_view_shows_limits_and_use(customer, key_client):
    client = key_client(customer, Role.VIEWER)
    url = f"/api/v1/organizations/{customer.organization.id}/quota/"
    assert client.get(url).json() == {"max_cards": 8, "max_slices": 32, "used_cards": 0, "used_slices": 0,
                                      "cards_default": True, "slices_default": True}
    _book(key_client(customer, Role.MEMBER), customer, CARDS)
    _book(key_client(customer, Role.MEMBER), customer, SLICE)
    OrganizationQuota.objects.update_or_create(organization=customer.organization, defaults={"max_cards": 16})
    assert client.get(url).json() == {"max_cards": 16, "max_slices": 32, "used_cards": 2, "used_slices": 1,
                                      "cards_default": False, "slices_default": True}


def test_another_tenants_quota_is_404(customer, tenant, key_client, api_as, api):
    url = f"/api/v1/organizations/{customer.organization.id}/quota/"
    assert key_client(tenant, Role.ADMIN).get(url).status_code == 404
    assert api_as(tenant.owner).get(url).status_code == 404
    assert api.get(url).status_code in (401, 403)
    assert api_as(customer.viewer).get("/api/v1/organizations/not-a-uuid/quota/").status_code == 404


def test_staff_set_quotas_in_the_admin_and_it_is_audited(customer, client):
    from apps.audit.models import AuditEvent
    from tests.factories import UserFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post("/admin/booking/organizationquota/add/", {
        "organization": str(customer.organization.pk), "max_cards": "24", "max_slices": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    quota = OrganizationQuota.objects.get(organization=customer.organization)
    assert (quota.max_cards, quota.max_slices) == (24, None)
    assert AuditEvent.objects.filter(action="quota.set", actor_label=staff.email).exists()
