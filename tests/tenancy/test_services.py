from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.tenancy import services
from apps.tenancy.access import Actor
from apps.tenancy.models import ApiKey, Invitation, Membership, Organization, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_creating_an_organization_makes_the_creator_owner_and_is_audited():
    user = UserFactory()
    organization = services.organization_create(actor=Actor(user=user), kind="customer", name="Acme")
    assert Membership.objects.get(organization=organization, user=user).role == Role.OWNER
    event = AuditEvent.objects.get(action="organization.created")
    assert event.organization_id == organization.id
    assert event.actor_id == user.pk


def test_only_staff_can_create_a_government_organization():
    with pytest.raises(ValidationError) as excinfo:
        services.organization_create(actor=Actor(user=UserFactory()), kind="government", name="Bureau")
    assert "kind" in excinfo.value.message_dict
    assert not Organization.objects.exists()


def test_an_invalid_credit_code_writes_nothing():
    with pytest.raises(ValidationError) as excinfo:
        services.organization_create(actor=Actor(user=UserFactory()), kind="customer", name="Acme",
                                     credit_code="91350100M000100Y42")
    assert "credit_code" in excinfo.value.message_dict
    assert not Organization.objects.exists()
    assert not AuditEvent.objects.exists()


def test_two_organizations_cannot_share_a_credit_code():
    services.organization_create(actor=Actor(user=UserFactory()), kind="customer", name="A",
                                 credit_code="91350100M000100Y43")
    with pytest.raises(ValidationError):
        services.organization_create(actor=Actor(user=UserFactory()), kind="customer", name="B",
                                     credit_code="91350100M000100Y43")


def test_profile_update_records_what_changed(tenant):
    services.organization_update_profile(actor=tenant.actor("admin"), organization=tenant.organization,
                                         industry="ai", size_class="startup")
    event = AuditEvent.objects.get(action="organization.profile_updated")
    assert event.details["changes"]["industry"] == {"from": "", "to": "ai"}


def test_a_member_cannot_edit_the_profile(tenant):
    with pytest.raises(PermissionDenied):
        services.organization_update_profile(actor=tenant.actor("member"), organization=tenant.organization,
                                             name="Hijacked")
    tenant.organization.refresh_from_db()
    assert tenant.organization.name == "Acme AI"


def test_the_last_owner_cannot_be_demoted_or_removed(tenant):
    owner_membership = Membership.objects.get(organization=tenant.organization, user=tenant.owner)
    with pytest.raises(ValidationError):
        services.membership_change_role(actor=tenant.actor("owner"), membership=owner_membership, role=Role.ADMIN)
    with pytest.raises(ValidationError):
        services.membership_remove(actor=tenant.actor("owner"), membership=owner_membership)
    assert Membership.objects.get(pk=owner_membership.pk).role == Role.OWNER


def test_an_admin_cannot_make_someone_owner(tenant):
    member = Membership.objects.get(organization=tenant.organization, user=tenant.member)
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=tenant.actor("admin"), membership=member, role=Role.OWNER)


def test_owner_can_hand_over_ownership_then_step_down(tenant):
    admin = Membership.objects.get(organization=tenant.organization, user=tenant.admin)
    owner = Membership.objects.get(organization=tenant.organization, user=tenant.owner)
    services.membership_change_role(actor=tenant.actor("owner"), membership=admin, role=Role.OWNER)
    services.membership_change_role(actor=tenant.actor("owner"), membership=owner, role=Role.MEMBER)
    assert set(Membership.objects.filter(organization=tenant.organization, role=Role.OWNER)
               .values_list("user_id", flat=True)) == {tenant.admin.pk}


def test_auditor_role_exists_only_for_government(tenant):
    member = Membership.objects.get(organization=tenant.organization, user=tenant.member)
    with pytest.raises(ValidationError):
        services.membership_change_role(actor=tenant.actor("owner"), membership=member, role=Role.AUDITOR)


def test_invitation_is_mailed_and_accepted_by_the_invited_address(tenant, django_capture_on_commit_callbacks):
    newcomer = UserFactory(email="newcomer@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = services.invitation_create(actor=tenant.actor("admin"), organization=tenant.organization,
                                                       email="Newcomer@Example.com", role=Role.MEMBER)
    assert len(mail.outbox) == 1
    assert token in mail.outbox[0].body
    assert mail.outbox[0].to == ["newcomer@example.com"]
    membership = services.invitation_accept(actor=Actor(user=newcomer), token=token)
    assert membership.role == Role.MEMBER
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.ACCEPTED


def test_an_invitation_cannot_be_accepted_by_another_address_or_twice(tenant):
    _invitation, token = services.invitation_create(actor=tenant.actor("admin"), organization=tenant.organization,
                                                    email="right@example.com", role=Role.MEMBER)
    with pytest.raises(ValidationError):
        services.invitation_accept(actor=Actor(user=UserFactory(email="wrong@example.com")), token=token)
    services.invitation_accept(actor=Actor(user=UserFactory(email="right@example.com")), token=token)
    with pytest.raises(ValidationError):
        services.invitation_accept(actor=Actor(user=UserFactory(email="right2@example.com")), token=token)


def test_a_second_pending_invitation_to_the_same_address_is_refused(tenant):
    services.invitation_create(actor=tenant.actor("admin"), organization=tenant.organization,
                               email="twice@example.com", role=Role.MEMBER)
    with pytest.raises(ValidationError) as excinfo:
        services.invitation_create(actor=tenant.actor("admin"), organization=tenant.organization,
                                   email="twice@example.com", role=Role.VIEWER)
    assert "email" in excinfo.value.message_dict
    assert Invitation.objects.filter(email="twice@example.com").count() == 1


def test_overdue_invitations_expire_and_can_no_longer_be_accepted(tenant):
    invitation, token = services.invitation_create(actor=tenant.actor("admin"), organization=tenant.organization,
                                                   email="late@example.com", role=Role.MEMBER)
    assert services.invitations_expire_overdue(now=timezone.now() + timedelta(days=30)) == 1
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.EXPIRED
    with pytest.raises(ValidationError):
        services.invitation_accept(actor=Actor(user=UserFactory(email="late@example.com")), token=token)


def test_api_key_is_stored_hashed_and_authenticates_until_revoked(tenant):
    api_key, plaintext = services.api_key_create(actor=tenant.actor("admin"), organization=tenant.organization,
                                                 name="ci", role=Role.MEMBER)
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert plaintext not in (stored.key_hash, stored.prefix)
    assert services.api_key_authenticate(plaintext=plaintext) == api_key
    assert services.api_key_authenticate(plaintext=plaintext + "x") is None
    services.api_key_revoke(actor=tenant.actor("admin"), api_key=api_key)
    assert services.api_key_authenticate(plaintext=plaintext) is None


def test_a_key_stops_working_when_its_creator_leaves(tenant):
    _api_key, plaintext = services.api_key_create(actor=tenant.actor("admin"), organization=tenant.organization,
                                                  name="ci")
    admin = Membership.objects.get(organization=tenant.organization, user=tenant.admin)
    services.membership_remove(actor=tenant.actor("owner"), membership=admin)
    assert services.api_key_authenticate(plaintext=plaintext) is None


def test_a_key_cannot_outrank_its_creator(tenant):
    with pytest.raises(ValidationError):
        services.api_key_create(actor=tenant.actor("admin"), organization=tenant.organization, name="x",
                                role=Role.OWNER)
