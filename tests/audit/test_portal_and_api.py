import pytest

pytestmark = pytest.mark.django_db


def test_audit_log_page_lists_my_organizations_events(client, tenant):
    client.force_login(tenant.admin)
    response = client.get("/organization/audit/")
    assert response.status_code == 200
    assert "organization.created" in response.content.decode()


def test_audit_log_page_never_shows_another_tenants_events(client, tenant, other_tenant):
    client.force_login(tenant.admin)
    body = client.get("/organization/audit/").content.decode()
    assert str(other_tenant.organization.id) not in body
    assert "Rival Robotics" not in body


def test_audit_log_filter_by_action(client, tenant):
    client.force_login(tenant.admin)
    body = client.get("/organization/audit/?action=membership.").content.decode()
    assert "organization.created" not in body


def test_viewer_cannot_open_the_audit_log(client, tenant):
    client.force_login(tenant.viewer)
    assert client.get("/organization/audit/").status_code == 403
