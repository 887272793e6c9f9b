"""Platform staff set an organization's payment mode and credit line in the admin; the books are read-only."""

import pytest

from apps.audit.models import AuditEvent
from apps.ledger.models import Account, LedgerProfile
from apps.ledger.services import customer_charge
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_make_an_enterprise_postpaid_with_a_credit_line(staff_client, tenant):
    response = staff_client.post("/admin/ledger/ledgerprofile/add/", {
        "organization": str(tenant.organization.pk), "mode": "postpaid", "credit_limit_fen": "500000"})
    assert response.status_code == 302

    profile = LedgerProfile.objects.get(organization=tenant.organization)
    assert (profile.mode, profile.credit_limit_fen) == ("postpaid", 500_000)
    receivable = Account.objects.get(organization=tenant.organization, kind="customer_postpaid")
    assert receivable.credit_limit_fen == 500_000
    assert AuditEvent.objects.filter(action="ledger.profile_set").exists()
    customer_charge(organization=tenant.organization, amount_fen=400_000, idempotency_key="big", memo="GPU")
    receivable.refresh_from_db()
    assert receivable.balance_fen == -400_000


def test_a_credit_line_below_the_debt_is_refused_in_the_admin(staff_client, tenant):
    from apps.ledger.services import ledger_profile_set
    from apps.tenancy.access import Actor

    ledger_profile_set(actor=Actor(user=UserFactory(is_staff=True)), organization=tenant.organization,
                       mode="postpaid", credit_limit_fen=500_000)
    customer_charge(organization=tenant.organization, amount_fen=400_000, idempotency_key="big", memo="GPU")
    profile = LedgerProfile.objects.get(organization=tenant.organization)

    response = staff_client.post(f"/admin/ledger/ledgerprofile/{profile.pk}/change/", {
        "organization": str(tenant.organization.pk), "mode": "postpaid", "credit_limit_fen": "1000"}, follow=True)

    assert "cannot be lower" in response.content.decode()
    profile.refresh_from_db()
    assert profile.credit_limit_fen == 500_000


def test_ledger_rows_cannot_be_added_or_edited_in_the_admin(staff_client):
    assert staff_client.get("/admin/ledger/ledgertransaction/add/").status_code == 403
    assert staff_client.get("/admin/ledger/account/add/").status_code == 403
    assert staff_client.get("/admin/ledger/ledgertransaction/").status_code == 200


def test_a_charge_between_the_admin_check_and_the_save_is_reported_not_a_500(rf, tenant):
    """The form checked the debt, then a charge landed before the save: the service refuses, the admin
    says why and changes nothing."""
    from django.contrib import admin as django_admin
    from django.contrib.messages.storage.fallback import FallbackStorage

    from apps.ledger.admin import LedgerProfileAdmin
    from apps.ledger.services import ledger_profile_set
    from apps.tenancy.access import Actor

    staff = UserFactory(is_staff=True, is_superuser=True)
    ledger_profile_set(actor=Actor(user=staff), organization=tenant.organization, mode="postpaid",
                       credit_limit_fen=500_000)
    profile = LedgerProfile.objects.get(organization=tenant.organization)
    customer_charge(organization=tenant.organization, amount_fen=400_000, idempotency_key="late", memo="GPU")
    request = rf.post("/admin/")
    request.user, request.session = staff, {}
    request._messages = FallbackStorage(request)
    profile.credit_limit_fen = 1_000  # what the form validated before the charge
    LedgerProfileAdmin(LedgerProfile, django_admin.site).save_model(request, profile, form=None, change=True)

    assert any("cannot be lower" in str(m) for m in request._messages)
    profile.refresh_from_db()
    assert profile.credit_limit_fen == 500_000
