"""Portal pages: wallet, top-up form, transactions, payments and refunds; the low-balance banner."""

import pytest

from apps.ledger.models import Account, LedgerProfile, Payment, Refund
from apps.ledger.selectors import wallet_balance
from apps.ledger.services import account_get_or_create, customer_charge, platform_account, transaction_post
from tests.ledger.test_stripe import _paid_top_up

pytestmark = pytest.mark.django_db


def fund(organization, amount, key="fund"):
    wallet = account_get_or_create(organization=organization, kind=Account.Kind.CUSTOMER_CASH)
    transaction_post(idempotency_key=key, kind="top_up", memo="Card top-up", organization=organization,
                     lines=[(platform_account(Account.Kind.STRIPE_CLEARING), -amount), (wallet, amount)])


def test_the_wallet_page_shows_the_balance_and_the_presets(stripe_on, as_user, tenant):
    fund(tenant.organization, 123_456)
    page = as_user(tenant.member, tenant.organization).get("/wallet/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "¥1,234.56" in html
    assert "¥500.00" in html and "¥1,000.00" in html  # presets
    assert 'id="top-up-form"' in html
    assert 'js.stripe.com' not in html  # Stripe.js only on the payment page


def test_without_keys_the_wallet_page_says_how_to_configure_payments(stripe_off, as_user, tenant):
    html = as_user(tenant.owner, tenant.organization).get("/wallet/").content.decode()
    assert 'id="stripe-not-configured"' in html
    assert "STRIPE_SECRET_KEY" in html and "/stripe/webhook" in html
    assert 'id="top-up-form"' not in html


def test_a_preset_top_up_starts_a_payment_and_opens_the_payment_element(stripe_on, as_user, tenant):
    client = as_user(tenant.member, tenant.organization)
    response = client.post("/wallet/top-up/", {"preset": "50000"})
    payment = Payment.objects.get(organization=tenant.organization)
    assert response.status_code == 302 and response["Location"] == f"/wallet/payments/{payment.pk}/pay/"
    assert payment.amount_fen == 50_000 and payment.stripe_payment_intent_id

    html = client.get(response["Location"]).content.decode()
    assert f'src="{stripe_on}/js.stripe.com/v3/"' in html
    assert payment.client_secret in html and "pk_test_tidegrid" in html
    assert "¥500.00" in html


def test_a_custom_amount_is_converted_to_fen(stripe_on, as_user, tenant):
    as_user(tenant.member, tenant.organization).post("/wallet/top-up/", {"preset": "custom",
                                                                       "custom_amount": "88.80"})
    assert Payment.objects.get().amount_fen == 8_880


@pytest.mark.parametrize("data", [
    {"preset": "custom", "custom_amount": ""},
    {"preset": "custom", "custom_amount": "9.99"},
    {"preset": "custom", "custom_amount": "100000.01"},
    {"preset": "custom", "custom_amount": "12.345"},
    {"preset": "custom", "custom_amount": "abc"},
    {"preset": "777"},
    {},
])
def test_bad_top_up_input_shows_field_errors_and_starts_nothing(stripe_on, as_user, tenant, data):
    response = as_user(tenant.member, tenant.organization).post("/wallet/top-up/", data)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode() or 'flash-error' in response.content.decode()
    assert not Payment.objects.exists()


def test_viewers_cannot_top_up(stripe_on, as_user, tenant):
    client = as_user(tenant.viewer, tenant.organization)
    assert 'id="top-up-form"' not in client.get("/wallet/").content.decode()
    assert client.post("/wallet/top-up/", {"preset": "50000"}).status_code == 403
    assert not Payment.objects.exists()


def test_another_tenants_payment_pages_are_404(stripe_on, as_user, tenant, other_tenant):
    payment = _paid_top_up(other_tenant, 20_000)
    client = as_user(tenant.owner, tenant.organization)
    assert client.get(f"/wallet/payments/{payment.pk}/pay/").status_code == 404
    assert client.post(f"/wallet/payments/{payment.pk}/refund/",
                       {f"refund-{payment.pk}-amount": "10"}).status_code == 404
    assert client.get("/wallet/payments/").content.decode().count("payment-") == 0
    assert wallet_balance(organization=other_tenant.organization) == 20_000


def test_transactions_show_only_this_organizations_side(as_user, tenant, other_tenant, provider):
    fund(tenant.organization, 10_000)
    fund(other_tenant.organization, 77_700, key="other")
    customer_charge(organization=tenant.organization, amount_fen=1_234, idempotency_key="c", memo="GPU seconds",
                    provider_organization=provider.organization, provider_share_fen=1_000)

    html = as_user(tenant.viewer, tenant.organization).get("/wallet/transactions/").content.decode()
    assert "GPU seconds" in html and "-¥12.34" in html and "¥87.66" in html
    assert "¥777.00" not in html  # another tenant's top-up
    assert "¥10.00" not in html   # the provider's share stays private
    provider_html = as_user(provider.owner, provider.organization).get("/wallet/transactions/").content.decode()
    assert "+¥10.00" in provider_html and "-¥12.34" not in provider_html


def test_the_transactions_filter_ignores_unknown_kinds(as_user, tenant):
    fund(tenant.organization, 10_000)
    client = as_user(tenant.member, tenant.organization)
    assert "Card top-up" in client.get("/wallet/transactions/?kind=nonsense").content.decode()
    assert "Card top-up" not in client.get("/wallet/transactions/?kind=refund").content.decode()


def test_an_admin_refunds_from_the_payments_page(stripe_on, as_user, tenant):
    payment = _paid_top_up(tenant, 30_000)
    client = as_user(tenant.admin, tenant.organization)
    assert "Refund to card" in client.get("/wallet/payments/").content.decode()

    response = client.post(f"/wallet/payments/{payment.pk}/refund/", {f"refund-{payment.pk}-amount": "100.00"})

    assert response.status_code == 302
    assert wallet_balance(organization=tenant.organization) == 20_000
    assert Refund.objects.get().state == Refund.State.SUCCEEDED


def test_a_refund_beyond_the_wallet_shows_why(stripe_on, as_user, tenant):
    payment = _paid_top_up(tenant, 30_000)
    customer_charge(organization=tenant.organization, amount_fen=29_000, idempotency_key="spent", memo="GPU")
    response = as_user(tenant.owner, tenant.organization).post(f"/wallet/payments/{payment.pk}/refund/",
                                                               {f"refund-{payment.pk}-amount": "20"})
    assert response.status_code == 400
    assert "¥10.00" in response.content.decode()
    assert wallet_balance(organization=tenant.organization) == 1_000


def test_members_see_no_refund_action_and_cannot_post_one(stripe_on, as_user, tenant):
    payment = _paid_top_up(tenant, 30_000)
    client = as_user(tenant.member, tenant.organization)
    assert "Refund to card" not in client.get("/wallet/payments/").content.decode()
    assert client.post(f"/wallet/payments/{payment.pk}/refund/",
                       {f"refund-{payment.pk}-amount": "1"}).status_code == 403


def test_admins_set_the_low_balance_threshold_and_the_banner_follows(as_user, tenant):
    fund(tenant.organization, 5_000)
    admin = as_user(tenant.admin, tenant.organization)
    assert 'id="low-balance-banner"' in admin.get("/wallet/").content.decode()  # default ¥100 > ¥50

    assert admin.post("/wallet/threshold/", {"threshold": "20"}).status_code == 302
    assert LedgerProfile.objects.get(organization=tenant.organization).low_balance_threshold_fen == 2_000
    assert 'id="low-balance-banner"' not in admin.get("/wallet/").content.decode()

    assert admin.post("/wallet/threshold/", {"threshold": "-1"}).status_code == 400
    assert as_user(tenant.member, tenant.organization).post("/wallet/threshold/",
                                                            {"threshold": "0"}).status_code == 403


def test_the_banner_shows_on_every_portal_page_of_a_low_customer(as_user, tenant, provider):
    fund(tenant.organization, 100)
    html = as_user(tenant.viewer, tenant.organization).get("/workloads/").content.decode()
    assert 'id="low-balance-banner"' in html and "¥1.00" in html
    assert 'id="low-balance-banner"' not in as_user(provider.owner, provider.organization).get("/").content.decode()


def test_pages_need_a_login(client):
    for url in ("/wallet/", "/wallet/transactions/", "/wallet/payments/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_postpaid_organization_sees_its_credit_line_and_no_top_up(stripe_on, as_user, tenant):
    from apps.ledger.services import ledger_profile_set
    from apps.tenancy.access import Actor
    from tests.factories import UserFactory

    ledger_profile_set(actor=Actor(user=UserFactory(is_staff=True)), organization=tenant.organization,
                       mode="postpaid", credit_limit_fen=100_000)
    customer_charge(organization=tenant.organization, amount_fen=40_000, idempotency_key="u", memo="GPU")

    client = as_user(tenant.owner, tenant.organization)
    html = client.get("/wallet/").content.decode()
    assert 'id="owed">¥400.00' in html and 'id="available">¥600.00' in html
    assert 'id="top-up-form"' not in html
    response = client.post("/wallet/top-up/", {"preset": "10000"})
    assert response.status_code == 400 and "pays by invoice" in response.content.decode()
    assert not Payment.objects.exists()
