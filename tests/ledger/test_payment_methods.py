"""Alipay and WeChat Pay top-ups next to cards.

localstripe creates PaymentIntents with any payment_method_types (it ignores the list) but cannot confirm
Alipay or WeChat Pay (its PaymentMethods are card and sepa_debit only, and it has no redirect or QR code
next_action). So the intent is created against localstripe, and the payment's completion is Stripe's signed
``payment_intent.succeeded`` event for that intent, with the method's type, posted to the webhook as Stripe
would: it credits the wallet exactly once however often it arrives.
"""

import pytest
from django.test import Client

from apps.ledger.gateway import stripe_client
from apps.ledger.models import LedgerTransaction, Payment
from apps.ledger.selectors import wallet_balance
from tests.ledger.conftest import event_body, sign

pytestmark = pytest.mark.django_db


def url(organization, path):
    return f"/api/v1/organizations/{organization.pk}/{path}"


def succeeded_event(payment: Payment, method: str, event_id: str, amount: int | None = None) -> bytes:
    """Stripe's payment_intent.succeeded for an Alipay / WeChat Pay intent (the fields the handler reads
    and the ones that say which method paid)."""
    amount = payment.amount_fen if amount is None else amount
    intent = {"id": payment.stripe_payment_intent_id, "object": "payment_intent", "amount": amount,
              "amount_received": amount, "currency": "cny", "status": "succeeded",
              "payment_method_types": [method], "payment_method": f"pm_{method}_1",
              "metadata": {"payment": str(payment.pk), "organization": str(payment.organization_id)}}
    return event_body("payment_intent.succeeded", intent, event_id=event_id)


def post_signed(body: bytes):
    return Client().post("/stripe/webhook", data=body, content_type="application/json",
                         HTTP_STRIPE_SIGNATURE=sign(body))


@pytest.mark.parametrize(("method", "memo"), [("alipay", "Alipay top-up"), ("wechat_pay", "WeChat Pay top-up")])
def test_an_alipay_or_wechat_pay_top_up_is_credited_once_by_its_signed_webhook(api_as, tenant, stripe_on,
                                                                                method, memo):
    response = api_as(tenant.member).post(url(tenant.organization, "wallet/top-ups/"),
                                          {"amount_fen": 20_000, "method": method}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["method"] == method
    payment = Payment.objects.get(pk=response.json()["id"])
    assert payment.method == method and payment.client_secret
    # The intent exists at (local)stripe; the browser confirms it with Stripe.js, which follows next_action.
    assert stripe_client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id).amount == 20_000

    first = succeeded_event(payment, method, f"evt_{method}_1")
    assert post_signed(first).json() == {"received": True, "duplicate": False}
    assert post_signed(first).json() == {"received": True, "duplicate": True}  # Stripe's retry
    # Another event id about the same intent (a second endpoint's copy): still credited once.
    assert post_signed(succeeded_event(payment, method, f"evt_{method}_2")).json()["duplicate"] is False

    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED
    assert wallet_balance(organization=tenant.organization) == 20_000
    top_ups = LedgerTransaction.objects.filter(kind="top_up", organization=tenant.organization)
    assert [t.memo for t in top_ups] == [memo]
    assert top_ups[0].details["method"] == method
    listed = api_as(tenant.viewer).get(url(tenant.organization, "payments/")).json()["results"]
    assert [(p["method"], p["state"]) for p in listed] == [(method, "succeeded")]


def test_an_unsigned_or_forged_wechat_pay_event_credits_nothing(api_as, tenant, stripe_on):
    response = api_as(tenant.member).post(url(tenant.organization, "wallet/top-ups/"),
                                          {"amount_fen": 20_000, "method": "wechat_pay"}, format="json")
    payment = Payment.objects.get(pk=response.json()["id"])
    body = succeeded_event(payment, "wechat_pay", "evt_forged")
    forged = body.replace(b'"amount": 20000', b'"amount": 9000000')
    response = Client().post("/stripe/webhook", data=forged, content_type="application/json",
                             HTTP_STRIPE_SIGNATURE=sign(body))
    assert response.status_code == 400
    assert wallet_balance(organization=tenant.organization) == 0


def test_an_unknown_method_is_a_field_error_and_nothing_is_written(api_as, tenant, stripe_on):
    response = api_as(tenant.member).post(url(tenant.organization, "wallet/top-ups/"),
                                          {"amount_fen": 20_000, "method": "bitcoin"}, format="json")
    assert response.status_code == 400
    assert "method" in str(response.json())
    assert not Payment.objects.exists()


def test_the_same_idempotency_key_with_another_method_is_refused(api_as, tenant, stripe_on):
    client = api_as(tenant.member)
    first = client.post(url(tenant.organization, "wallet/top-ups/"), {"amount_fen": 20_000, "method": "alipay"},
                        format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    again = client.post(url(tenant.organization, "wallet/top-ups/"), {"amount_fen": 20_000, "method": "card"},
                        format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 400
    assert Payment.objects.count() == 1


def test_the_wallet_lets_the_customer_choose_the_method(as_user, tenant, stripe_on):
    client = as_user(tenant.member, tenant.organization)
    page = client.get("/wallet/").content.decode()
    assert "Alipay" in page and "WeChat Pay" in page
    response = client.post("/wallet/top-up/", {"preset": "10000", "method": "wechat_pay"})
    assert response.status_code == 302
    payment = Payment.objects.get(organization=tenant.organization)
    assert payment.method == "wechat_pay" and response["Location"].endswith(f"/wallet/payments/{payment.pk}/pay/")
    response = client.post("/wallet/top-up/", {"preset": "10000", "method": "paypal"})
    assert response.status_code == 400
    assert Payment.objects.count() == 1


def test_the_test_card_form_exists_only_against_the_local_stand_in(as_user, tenant, other_tenant, stripe_on,
                                                                   settings):
    """With Stripe keys (here localstripe posing as Stripe, no stand-in flag) the pay page is Stripe's Payment
    Element and the test-card endpoint is a 404; with the stand-in it is a form, for the payment's own
    organization only."""
    client = as_user(tenant.member, tenant.organization)
    client.post("/wallet/top-up/", {"preset": "10000", "method": "card"})
    payment = Payment.objects.get(organization=tenant.organization)
    card = {"number": "4242424242424242", "expiry": "12/34", "cvc": "123"}
    page = client.get(f"/wallet/payments/{payment.pk}/pay/").content.decode()
    assert 'id="payment-element"' in page and 'id="test-card-form"' not in page
    assert client.post(f"/wallet/payments/{payment.pk}/test-card/", card).status_code == 404

    settings.STRIPE_LOCAL_STAND_IN = True
    page = client.get(f"/wallet/payments/{payment.pk}/pay/").content.decode()
    assert 'id="test-card-form"' in page and 'id="test-mode-banner"' in page and "js.stripe.com" not in page
    stranger = Client()
    stranger.force_login(other_tenant.owner)
    assert stranger.post(f"/wallet/payments/{payment.pk}/test-card/", card).status_code == 404
    assert client.post(f"/wallet/payments/{payment.pk}/test-card/", {**card, "number": "4242"}).status_code == 400
    response = client.post(f"/wallet/payments/{payment.pk}/test-card/", card)
    assert response.status_code == 302 and response["Location"].endswith(f"?paid={payment.pk}")
    assert stripe_client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id).status == "succeeded"


def test_live_keys_show_no_test_mode_banner(as_user, tenant, stripe_on, settings):
    settings.STRIPE_SECRET_KEY = "sk_live_tidegrid"
    page = as_user(tenant.member, tenant.organization).get("/wallet/").content.decode()
    assert 'id="test-mode-banner"' not in page
    settings.STRIPE_SECRET_KEY = "sk_test_tidegrid"
    assert 'id="test-mode-banner"' in as_user(tenant.member, tenant.organization).get("/wallet/").content.decode()


def test_the_stand_in_says_it_cannot_take_alipay_instead_of_a_broken_form(as_user, tenant, stripe_on, settings):
    settings.STRIPE_LOCAL_STAND_IN = True
    client = as_user(tenant.member, tenant.organization)
    client.post("/wallet/top-up/", {"preset": "10000", "method": "alipay"})
    payment = Payment.objects.get(organization=tenant.organization)
    page = client.get(f"/wallet/payments/{payment.pk}/pay/").content.decode()
    assert 'id="stand-in-unsupported"' in page and "Alipay" in page
    assert 'id="test-card-form"' not in page and 'id="payment-element"' not in page
    card = {"number": "4242424242424242", "expiry": "12/34", "cvc": "123"}
    assert client.post(f"/wallet/payments/{payment.pk}/test-card/", card).status_code == 400
    assert stripe_client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id).status != "succeeded"
