"""customer_charge: who pays, who earns, postpaid credit lines, the low-balance warning."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from apps.ledger.models import Account, LedgerProfile, LedgerTransaction
from apps.ledger.selectors import balance_get, wallet_balance
from apps.ledger.services import (
    InsufficientFunds,
    account_get_or_create,
    customer_charge,
    ledger_profile_set,
    low_balance_threshold_set,
    platform_account,
    transaction_post,
)
from apps.tenancy.access import Actor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def fund(organization, amount, key="fund"):
    wallet = account_get_or_create(organization=organization, kind=Account.Kind.CUSTOMER_CASH)
    clearing = platform_account(Account.Kind.STRIPE_CLEARING)
    transaction_post(idempotency_key=key, kind="top_up", memo="top-up", organization=organization,
                     lines=[(clearing, -amount), (wallet, amount)])


def balances(**accounts):
    return {name: Account.objects.get(pk=a.pk).balance_fen for name, a in accounts.items()}


def test_a_charge_splits_between_platform_revenue_and_the_provider(tenant, provider):
    fund(tenant.organization, 10_000)

    txn = customer_charge(organization=tenant.organization, amount_fen=3_000, idempotency_key="use:1",
                          memo="GPU time", provider_organization=provider.organization, provider_share_fen=2_100)

    assert txn.kind == LedgerTransaction.Kind.CHARGE
    wallet = Account.objects.get(organization=tenant.organization, kind="customer_cash")
    payable = Account.objects.get(organization=provider.organization, kind="provider_payable")
    revenue = platform_account("platform_revenue")
    assert balances(wallet=wallet, payable=payable, revenue=revenue) == {"wallet": 7_000, "payable": 2_100,
                                                                         "revenue": 900}
    assert wallet_balance(organization=tenant.organization) == 7_000


def test_a_charge_is_idempotent(tenant):
    fund(tenant.organization, 10_000)
    first = customer_charge(organization=tenant.organization, amount_fen=500, idempotency_key="use:x", memo="m")
    again = customer_charge(organization=tenant.organization, amount_fen=500, idempotency_key="use:x", memo="m")
    assert first.pk == again.pk
    assert wallet_balance(organization=tenant.organization) == 9_500


def test_a_charge_beyond_the_wallet_is_refused(tenant):
    fund(tenant.organization, 100)
    with pytest.raises(InsufficientFunds) as excinfo:
        customer_charge(organization=tenant.organization, amount_fen=101, idempotency_key="use:big", memo="m")
    assert excinfo.value.available_fen == 100
    assert wallet_balance(organization=tenant.organization) == 100


@pytest.mark.parametrize("kwargs, field", [
    ({"amount_fen": 0}, "amount_fen"),
    ({"amount_fen": -5}, "amount_fen"),
    ({"amount_fen": 10.5}, "amount_fen"),
    ({"amount_fen": 100, "provider_share_fen": 101}, "provider_share_fen"),
    ({"amount_fen": 100, "provider_share_fen": -1}, "provider_share_fen"),
    ({"amount_fen": 100, "provider_share_fen": 10}, "provider_organization"),
])
def test_bad_charges_are_refused(tenant, kwargs, field):
    fund(tenant.organization, 1_000)
    with pytest.raises(ValidationError) as excinfo:
        customer_charge(organization=tenant.organization, idempotency_key="bad", memo="m", **kwargs)
    assert field in excinfo.value.error_dict
    assert wallet_balance(organization=tenant.organization) == 1_000


def test_only_providers_earn_a_share_and_only_customers_are_charged(tenant, other_tenant, provider):
    fund(tenant.organization, 1_000)
    with pytest.raises(ValidationError):
        customer_charge(organization=tenant.organization, amount_fen=10, idempotency_key="a", memo="m",
                        provider_organization=other_tenant.organization, provider_share_fen=5)
    with pytest.raises(ValidationError):
        customer_charge(organization=provider.organization, amount_fen=10, idempotency_key="b", memo="m")


def test_a_postpaid_organization_is_charged_on_its_credit_line(tenant):
    staff = Actor(user=UserFactory(is_staff=True))
    ledger_profile_set(actor=staff, organization=tenant.organization, mode="postpaid", credit_limit_fen=5_000)

    customer_charge(organization=tenant.organization, amount_fen=4_000, idempotency_key="u1", memo="m")
    with pytest.raises(InsufficientFunds):
        customer_charge(organization=tenant.organization, amount_fen=1_001, idempotency_key="u2", memo="m")

    receivable = Account.objects.get(organization=tenant.organization, kind="customer_postpaid")
    assert receivable.balance_fen == -4_000
    balance = balance_get(organization=tenant.organization)
    assert (balance.mode, balance.available_fen, balance.credit_limit_fen) == ("postpaid", 1_000, 5_000)
    assert not Account.objects.filter(organization=tenant.organization, kind="customer_cash",
                                      balance_fen__lt=0).exists()


def test_a_credit_limit_below_the_debt_is_refused(tenant):
    staff = Actor(user=UserFactory(is_staff=True))
    ledger_profile_set(actor=staff, organization=tenant.organization, mode="postpaid", credit_limit_fen=5_000)
    customer_charge(organization=tenant.organization, amount_fen=4_000, idempotency_key="u1", memo="m")

    with pytest.raises(ValidationError) as excinfo:
        ledger_profile_set(actor=staff, organization=tenant.organization, mode="postpaid", credit_limit_fen=3_999)
    assert "credit_limit_fen" in excinfo.value.error_dict
    assert LedgerProfile.objects.get(organization=tenant.organization).credit_limit_fen == 5_000


def test_only_staff_set_the_payment_mode(tenant):
    with pytest.raises(PermissionDenied):
        ledger_profile_set(actor=tenant.actor("owner"), organization=tenant.organization, mode="postpaid",
                           credit_limit_fen=10**9)


def test_owners_and_admins_get_one_email_per_crossing_below_the_threshold(tenant, django_capture_on_commit_callbacks):
    low_balance_threshold_set(actor=tenant.actor("admin"), organization=tenant.organization, threshold_fen=1_000)
    fund(tenant.organization, 3_000)

    with django_capture_on_commit_callbacks(execute=True):
        customer_charge(organization=tenant.organization, amount_fen=1_500, idempotency_key="c1", memo="m")  # 1500
        customer_charge(organization=tenant.organization, amount_fen=1_000, idempotency_key="c2", memo="m")  # 500
        customer_charge(organization=tenant.organization, amount_fen=100, idempotency_key="c3", memo="m")  # 400
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {tenant.owner.email, tenant.admin.email}
    assert "¥4.00" in mail.outbox[0].body or "¥5.00" in mail.outbox[0].body

    # Back above the threshold, then below again: one more e-mail.
    from apps.ledger.services import low_balance_rearm
    fund(tenant.organization, 5_000, key="fund2")
    low_balance_rearm(organization=tenant.organization)
    with django_capture_on_commit_callbacks(execute=True):
        customer_charge(organization=tenant.organization, amount_fen=5_000, idempotency_key="c4", memo="m")
    assert len(mail.outbox) == 2


def test_members_cannot_change_the_threshold(tenant):
    with pytest.raises(PermissionDenied):
        low_balance_threshold_set(actor=tenant.actor("member"), organization=tenant.organization, threshold_fen=5)
