import pytest

from apps.audit.models import AuditEvent
from apps.tenancy import services
from apps.tenancy.models import ApiKey, Invitation, Membership, Organization, Role

pytestmark = pytest.mark.django_db


def url(path: str) -> str:
    return f"/api/v1/{path}"


# --- happy paths ---------------------------------------------------------------------------------


def test_me_lists_the_callers_organizations_and_roles(tenant, api_as):
    response = api_as(tenant.admin).get(url("me/"))
    assert response.status_code == 200
    assert response.json()["memberships"] == [
        {"organization_id": str(tenant.organization.id), "organization": "Acme AI", "kind": "customer",
         "role": "admin"}
    ]


def test_create_organization_over_the_api(api_as, tenant):
    response = api_as(tenant.viewer).post(url("organizations/"), {
        "kind": "provider", "name": "GPU Farm", "credit_code": "91350100M000100Y43",
        "registered_region": "cn-suzhou", "size_class": "large",
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["my_role"] == "owner"
    assert body["registered_region"] == "cn-suzhou"
    assert Organization.objects.get(id=body["id"]).memberships.get().user == tenant.viewer


def test_list_is_paginated_and_only_shows_my_organizations(tenant, other_tenant, api_as):
    response = api_as(tenant.member).get(url("organizations/"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [org["name"] for org in body["results"]] == ["Acme AI"]


def test_admin_patches_the_profile(tenant, api_as):
    response = api_as(tenant.admin).patch(url(f"organizations/{tenant.organization.id}/"),
                                          {"industry": "ai", "invoice_title": "艾克米人工智能"}, format="json")
    assert response.status_code == 200, response.json()
    tenant.organization.refresh_from_db()
    assert tenant.organization.invoice_title == "艾克米人工智能"


def test_member_cannot_patch_the_profile(tenant, api_as):
    response = api_as(tenant.member).patch(url(f"organizations/{tenant.organization.id}/"), {"name": "X"},
                                           format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_invite_change_role_and_remove_members(tenant, api_as):
    client = api_as(tenant.owner)
    invite = client.post(url(f"organizations/{tenant.organization.id}/invitations/"),
                         {"email": "new@example.com", "role": "viewer"}, format="json")
    assert invite.status_code == 201, invite.json()
    member = Membership.objects.get(organization=tenant.organization, user=tenant.member)
    changed = client.patch(url(f"organizations/{tenant.organization.id}/members/{member.pk}/"), {"role": "admin"},
                           format="json")
    assert changed.status_code == 200
    assert changed.json()["role"] == "admin"
    removed = client.delete(url(f"organizations/{tenant.organization.id}/members/{member.pk}/"))
    assert removed.status_code == 204
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_a_member_can_leave_on_their_own(tenant, api_as):
    member = Membership.objects.get(organization=tenant.organization, user=tenant.member)
    response = api_as(tenant.member).delete(url(f"organizations/{tenant.organization.id}/members/{member.pk}/"))
    assert response.status_code == 204


def test_accept_invitation_over_the_api(tenant, api_as):
    _inv, token = services.invitation_create(actor=tenant.actor("admin"), organization=tenant.organization,
                                             email="joiner@example.com", role=Role.MEMBER)
    from tests.factories import UserFactory

    joiner = UserFactory(email="joiner@example.com")
    response = api_as(joiner).post(url("invitations/accept/"), {"token": token}, format="json")
    assert response.status_code == 201
    assert Membership.objects.filter(organization=tenant.organization, user=joiner, role="member").exists()


def test_api_key_lifecycle_key_shown_once(tenant, api_as, api):
    client = api_as(tenant.admin)
    created = client.post(url(f"organizations/{tenant.organization.id}/api-keys/"), {"name": "ci", "role": "viewer"},
                          format="json")
    assert created.status_code == 201
    key = created.json()["key"]
    listing = client.get(url(f"organizations/{tenant.organization.id}/api-keys/")).json()
    assert "key" not in listing["results"][0]
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get(url("me/")).status_code == 200
    revoke = client.post(url(f"organizations/{tenant.organization.id}/api-keys/{created.json()['id']}/revoke/"))
    assert revoke.status_code == 200
    assert revoke.json()["is_active"] is False
    rejected = api.get(url("me/"))
    assert rejected.status_code == 401
    assert rejected.json()["error"]["code"] == "authentication_failed"


def test_an_api_key_is_confined_to_its_organization_and_role(tenant, key_client):
    client = key_client(tenant, Role.VIEWER)
    assert client.get(url(f"organizations/{tenant.organization.id}/members/")).status_code == 200
    assert client.get(url(f"organizations/{tenant.organization.id}/api-keys/")).status_code == 403
    assert client.post(url("organizations/"), {"kind": "customer", "name": "x"}, format="json").status_code == 403


def test_audit_events_of_my_organization(tenant, api_as):
    response = api_as(tenant.admin).get(url(f"organizations/{tenant.organization.id}/audit-events/"))
    assert response.status_code == 200
    actions = [event["action"] for event in response.json()["results"]]
    assert "organization.created" in actions


def test_viewers_do_not_see_the_audit_log(tenant, api_as):
    response = api_as(tenant.viewer).get(url(f"organizations/{tenant.organization.id}/audit-events/"))
    assert response.status_code == 403


def test_regions_are_reference_data(api_as, tenant):
    codes = [region["code"] for region in api_as(tenant.member).get(url("regions/")).json()["results"]]
    assert "cn-shanghai" in codes and "cn-ulanqab" in codes


def test_anonymous_requests_are_refused_with_the_error_format(api):
    response = api.get(url("organizations/"))
    assert response.status_code in (401, 403)
    assert set(response.json()["error"]) >= {"code", "message"}


def test_openapi_schema_documents_the_endpoints(api_as, tenant):
    response = api_as(tenant.member).get(url("schema/"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/v1/organizations/", "/api/v1/organizations/{organization_id}/api-keys/",
                 "/api/v1/organizations/{organization_id}/audit-events/"):
        assert path in text
    assert "ApiKeyAuth" in text


def test_swagger_ui_is_served_from_local_static_files(client, tenant):
    client.force_login(tenant.member)
    html = client.get(url("docs/")).content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html
    assert "cdn" not in html.lower()


# --- cross-tenant: every endpoint answers 404 (or an empty list) for another organization ----------


def _targets(t):
    org = t.organization.id
    member = Membership.objects.filter(organization=t.organization, role=Role.MEMBER).first()
    invitation, _token = services.invitation_create(actor=t.actor("owner"), organization=t.organization,
                                                    email=f"x{org.hex[:6]}@example.com", role=Role.MEMBER)
    key, _plain = services.api_key_create(actor=t.actor("owner"), organization=t.organization, name="k")
    return [
        ("get", f"organizations/{org}/", None),
        ("patch", f"organizations/{org}/", {"name": "pwned"}),
        ("get", f"organizations/{org}/members/", None),
        ("patch", f"organizations/{org}/members/{member.pk}/", {"role": "viewer"}),
        ("delete", f"organizations/{org}/members/{member.pk}/", None),
        ("get", f"organizations/{org}/invitations/", None),
        ("post", f"organizations/{org}/invitations/", {"email": "spy@example.com", "role": "admin"}),
        ("post", f"organizations/{org}/invitations/{invitation.pk}/revoke/", None),
        ("get", f"organizations/{org}/api-keys/", None),
        ("post", f"organizations/{org}/api-keys/", {"name": "spy"}),
        ("post", f"organizations/{org}/api-keys/{key.pk}/revoke/", None),
        ("get", f"organizations/{org}/audit-events/", None),
    ]


@pytest.mark.parametrize("auth", ["session", "api_key"])
def test_every_organization_endpoint_is_404_for_another_tenant(tenant, other_tenant, api_as, key_client, auth):
    targets = _targets(other_tenant)
    client = api_as(tenant.owner) if auth == "session" else key_client(tenant, Role.ADMIN)
    before = (Membership.objects.count(), Invitation.objects.count(), ApiKey.objects.count(),
              AuditEvent.objects.count())
    for method, path, body in targets:
        response = getattr(client, method)(url(path), body, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json()["error"]["code"] == "not_found"
    assert (Membership.objects.count(), Invitation.objects.count(), ApiKey.objects.count(),
            AuditEvent.objects.count()) == before
    other_tenant.organization.refresh_from_db()
    assert other_tenant.organization.name == "Rival Robotics"


def test_a_members_id_under_my_organization_cannot_reach_another_tenants_member(tenant, other_tenant, api_as):
    foreign = Membership.objects.filter(organization=other_tenant.organization).first()
    response = api_as(tenant.owner).patch(url(f"organizations/{tenant.organization.id}/members/{foreign.pk}/"),
                                          {"role": "viewer"}, format="json")
    assert response.status_code == 404


def test_another_tenants_invitation_token_is_not_mine_to_accept(tenant, other_tenant, api_as):
    _inv, token = services.invitation_create(actor=other_tenant.actor("owner"), organization=other_tenant.organization,
                                             email="someone@example.com", role=Role.ADMIN)
    response = api_as(tenant.owner).post(url("invitations/accept/"), {"token": token}, format="json")
    assert response.status_code == 400
    assert not Membership.objects.filter(organization=other_tenant.organization, user=tenant.owner).exists()


def test_malformed_ids_are_404_not_500(tenant, api_as):
    client = api_as(tenant.owner)
    assert client.get(url("organizations/not-a-uuid/")).status_code == 404
    assert client.get(url(f"organizations/{tenant.organization.id}/members/999999/")).status_code in (404, 405)


# --- bad input: 400 with field errors, nothing written ---------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "customer"}, "name"),
    ({"kind": "government", "name": "Fake Bureau"}, "kind"),
    ({"kind": "alien", "name": "X"}, "kind"),
    ({"kind": "customer", "name": "X", "credit_code": "91350100M000100Y42"}, "credit_code"),
    ({"kind": "customer", "name": "X", "registered_region": "cn-atlantis"}, "registered_region"),
    ({"kind": "customer", "name": "X", "size_class": "huge"}, "size_class"),
    ({"kind": "customer", "name": "x" * 300}, "name"),
])
def test_bad_organization_input_is_a_400_with_field_errors(tenant, api_as, body, field):
    before = Organization.objects.count(), AuditEvent.objects.count()
    response = api_as(tenant.member).post(url("organizations/"), body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert (Organization.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.parametrize(("path", "method", "body", "field"), [
    ("invitations/", "post", {"email": "not-an-email", "role": "member"}, "email"),
    ("invitations/", "post", {"email": "a@example.com", "role": "emperor"}, "role"),
    ("invitations/", "post", {"email": "a@example.com", "role": "auditor"}, "role"),
    ("api-keys/", "post", {"name": "", "role": "member"}, "name"),
    ("api-keys/", "post", {"name": "k", "role": "owner"}, "role"),
    ("", "patch", {"credit_code": "123"}, "credit_code"),
    ("", "patch", {"registered_region": 42}, "registered_region"),
])
def test_bad_input_to_organization_endpoints(tenant, api_as, path, method, body, field):
    before = Invitation.objects.count(), ApiKey.objects.count(), AuditEvent.objects.count()
    client = api_as(tenant.admin)
    response = getattr(client, method)(url(f"organizations/{tenant.organization.id}/{path}"), body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert (Invitation.objects.count(), ApiKey.objects.count(), AuditEvent.objects.count()) == before


def test_bad_role_change_is_a_400(tenant, api_as):
    member = Membership.objects.get(organization=tenant.organization, user=tenant.member)
    response = api_as(tenant.owner).patch(url(f"organizations/{tenant.organization.id}/members/{member.pk}/"),
                                          {"role": "emperor"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["error"]["fields"]


def test_malformed_json_is_a_400(tenant, api_as):
    response = api_as(tenant.member).post(url("organizations/"), data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_accepting_with_an_unknown_token_is_a_400(tenant, api_as):
    response = api_as(tenant.member).post(url("invitations/accept/"), {"token": "nope"}, format="json")
    assert response.status_code == 400
    assert "token" in response.json()["error"]["fields"]
