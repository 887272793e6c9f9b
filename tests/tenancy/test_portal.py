import pytest

from apps.audit.models import AuditEvent
from apps.tenancy import services
from apps.tenancy.models import ApiKey, Invitation, Membership, Organization, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db



def test_a_new_user_is_guided_to_create_an_organization(as_user):
    client = as_user(UserFactory())
    body = client.get("/dashboard/").content.decode()
    assert "Create an organization" in body


def test_create_an_organization_in_the_portal(as_user):
    user = UserFactory()
    client = as_user(user)
    response = client.post("/organizations/new/", {"kind": "customer", "name": "Shanghai Vision",
                                                   "credit_code": "91350100m000100y43", "industry": "ai",
                                                   "size_class": "startup"})
    assert response.status_code == 302
    organization = Organization.objects.get(name="Shanghai Vision")
    assert organization.credit_code == "91350100M000100Y43"
    dashboard = client.get("/dashboard/").content.decode()
    assert "Shanghai Vision" in dashboard


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "customer", "name": ""}, "This field is required"),
    ({"kind": "government", "name": "Fake"}, "Select a valid choice"),
    ({"kind": "customer", "name": "X", "credit_code": "91350100M000100Y42"}, "check character"),
])
def test_bad_organization_form_shows_field_errors_and_writes_nothing(as_user, data, message):
    client = as_user(UserFactory())
    response = client.post("/organizations/new/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Organization.objects.exists()


def test_each_role_sees_the_pages_it_may_use(as_user, tenant):
    viewer = as_user(tenant.viewer, tenant.organization)
    assert viewer.get("/organization/").status_code == 200
    assert viewer.get("/organization/members/").status_code == 200
    assert viewer.get("/organization/api-keys/").status_code == 403


def test_admin_edits_the_profile(as_user, tenant):
    client = as_user(tenant.admin, tenant.organization)
    response = client.post("/organization/", {"name": "Acme AI Labs", "industry": "ai", "size_class": "sme",
                                              "credit_code": "", "invoice_title": "", "tax_id": ""})
    assert response.status_code == 302
    tenant.organization.refresh_from_db()
    assert tenant.organization.name == "Acme AI Labs"


def test_viewer_cannot_post_the_profile(as_user, tenant):
    client = as_user(tenant.viewer, tenant.organization)
    response = client.post("/organization/", {"name": "Pwned"})
    assert response.status_code == 403
    tenant.organization.refresh_from_db()
    assert tenant.organization.name == "Acme AI"


def test_bad_profile_input_shows_errors_and_writes_nothing(as_user, tenant):
    client = as_user(tenant.admin, tenant.organization)
    events = AuditEvent.objects.count()
    response = client.post("/organization/", {"name": "Acme AI", "credit_code": "ABC", "size_class": "giant"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "exactly 18 characters" in body
    assert "Select a valid choice" in body
    assert AuditEvent.objects.count() == events


def test_invite_from_the_members_page(as_user, tenant, mailoutbox, django_capture_on_commit_callbacks):
    client = as_user(tenant.admin, tenant.organization)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/organization/members/", {"email": "ops@example.com", "role": "member"})
    assert response.status_code == 302
    assert Invitation.objects.filter(organization=tenant.organization, email="ops@example.com").exists()
    assert mailoutbox[0].to == ["ops@example.com"]
    assert "ops@example.com" in client.get("/organization/members/").content.decode()


def test_bad_invitation_input_shows_errors(as_user, tenant):
    client = as_user(tenant.admin, tenant.organization)
    response = client.post("/organization/members/", {"email": "nope", "role": "auditor"})
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert not Invitation.objects.exists()


def test_accepting_an_invitation_link(as_user, tenant):
    _inv, token = services.invitation_create(actor=tenant.actor("admin"), organization=tenant.organization,
                                             email="joiner@example.com", role=Role.VIEWER)
    joiner = UserFactory(email="joiner@example.com")
    client = as_user(joiner)
    assert "Acme AI" in client.get(f"/invitations/{token}/").content.decode()
    assert client.post(f"/invitations/{token}/").status_code == 302
    assert Membership.objects.get(organization=tenant.organization, user=joiner).role == Role.VIEWER


def test_change_a_role_with_htmx_returns_the_updated_row(as_user, tenant):
    client = as_user(tenant.owner, tenant.organization)
    member = Membership.objects.get(organization=tenant.organization, user=tenant.member)
    response = client.post(f"/organization/members/{member.pk}/role/", {"role": "admin"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="member-{member.pk}"' in response.content.decode()
    member.refresh_from_db()
    assert member.role == Role.ADMIN


def test_create_an_api_key_shows_it_once(as_user, tenant):
    client = as_user(tenant.admin, tenant.organization)
    response = client.post("/organization/api-keys/", {"name": "pipeline", "role": "member"})
    body = response.content.decode()
    key = ApiKey.objects.get(name="pipeline")
    assert f"tg_{key.prefix}_" in body
    again = client.get("/organization/api-keys/").content.decode()
    assert f"tg_{key.prefix}_…" in again
    assert response.context["new_key"] not in again


def test_switching_to_an_organization_i_belong_to(as_user, tenant, other_tenant):
    client = as_user(tenant.owner, tenant.organization)
    Membership.objects.create(organization=other_tenant.organization, user=tenant.owner, role=Role.VIEWER)
    response = client.post("/organizations/switch/", {"organization_id": str(other_tenant.organization.id),
                                                      "next": "https://evil.example.com/"})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert "Rival Robotics" in client.get("/dashboard/").content.decode()


# --- cross-tenant: another organization's objects are 404 on every page that takes an id ---------


def test_every_portal_action_on_another_tenants_objects_is_404(as_user, tenant, other_tenant):
    member = Membership.objects.get(organization=other_tenant.organization, user=other_tenant.member)
    invitation, _token = services.invitation_create(actor=other_tenant.actor("owner"),
                                                   organization=other_tenant.organization,
                                                   email="target@example.com", role=Role.MEMBER)
    key, _plain = services.api_key_create(actor=other_tenant.actor("owner"), organization=other_tenant.organization,
                                          name="victim")
    client = as_user(tenant.owner, tenant.organization)
    attempts = [
        (f"/organization/members/{member.pk}/role/", {"role": "viewer"}),
        (f"/organization/members/{member.pk}/remove/", {}),
        (f"/organization/invitations/{invitation.pk}/revoke/", {}),
        (f"/organization/api-keys/{key.pk}/revoke/", {}),
        ("/organizations/switch/", {"organization_id": str(other_tenant.organization.id)}),
        ("/organizations/switch/", {"organization_id": "not-a-uuid"}),
    ]
    for path, data in attempts:
        assert client.post(path, data).status_code == 404, path
    member.refresh_from_db()
    invitation.refresh_from_db()
    key.refresh_from_db()
    assert member.role == Role.MEMBER
    assert invitation.state == Invitation.State.PENDING
    assert key.revoked_at is None


def test_a_stale_session_pointing_at_a_foreign_organization_falls_back_to_mine(as_user, tenant, other_tenant):
    client = as_user(tenant.member, other_tenant.organization)
    body = client.get("/organization/members/").content.decode()
    assert "Acme AI" in body
    assert other_tenant.owner.email not in body


def test_pages_require_login(client):
    for path in ("/dashboard/", "/organization/", "/organization/members/", "/organization/api-keys/",
                 "/organization/audit/", "/organizations/new/"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
