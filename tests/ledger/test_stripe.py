"""Card top-ups, webhooks and refunds with the real stripe client against a real localstripe server."""

import contextlib

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from apps.ledger.gateway import PaymentsNotConfigured, stripe_client
from apps.ledger.models import Account, LedgerTransaction, Payment, Refund, StripeEvent
from apps.ledger.payments import refund_create, top_up_create
from apps.ledger.selectors import wallet_balance
from apps.ledger.services import customer_charge
from tests.agents.live import wait_for
from tests.conftest import make_tenant
from tests.ledger.conftest import WEBHOOK_SECRET, event_body, sign


def confirm_with_card(payment: Payment, card: str = "pm_card_visa"):
    """What the customer's browser does with the client secret: attach a card and confirm."""
    client = stripe_client()
    client.v1.payment_intents.update(payment.stripe_payment_intent_id, params={"payment_method": card})
    return client.v1.payment_intents.confirm(payment.stripe_payment_intent_id)


def post_webhook(body: bytes, signature: str | None):
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return Client().post("/stripe/webhook", data=body, content_type="application/json", **headers)


def top_up_event_deliveries(payment) -> int:
    event = StripeEvent.objects.filter(type="payment_intent.succeeded",
                                       object_id=payment.stripe_payment_intent_id).first()
    return event.deliveries if event else 0


@pytest.mark.slow
def test_a_confirmed_top_up_whose_webhook_arrives_three_times_credits_the_wallet_once(
        stripe_on, webhooks_to, live_server, transactional_db):
    tenant = make_tenant(name="Webhook Customer")
    # Three endpoints at the same URL: localstripe signs and delivers every event three times.
    webhooks_to(f"{live_server.url}/stripe/webhook", copies=3)

    payment, created = top_up_create(actor=tenant.actor("member"), organization=tenant.organization,
                                     amount_fen=50_000)
    assert created and payment.client_secret.startswith(payment.stripe_payment_intent_id)
    intent = confirm_with_card(payment)
    assert intent.status == "succeeded"

    wait_for(lambda: top_up_event_deliveries(payment) == 3, what="three deliveries of payment_intent.succeeded")
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED
    assert wallet_balance(organization=tenant.organization) == 50_000
    assert LedgerTransaction.objects.filter(kind="top_up", organization=tenant.organization).count() == 1
    assert Account.objects.get(organization=None, kind="stripe_clearing").balance_fen == -50_000

    # A forged copy: the real event's body with the amount raised, under the real signature.
    event = StripeEvent.objects.get(type="payment_intent.succeeded", object_id=payment.stripe_payment_intent_id)
    original = event_body("payment_intent.succeeded", {**intent.to_dict(for_json=True), "amount": 50_000},
                          event_id="evt_forged_1")
    good_signature = sign(original)
    forged = original.replace(b'"amount": 50000', b'"amount": 9999999')
    assert forged != original
    events_before = StripeEvent.objects.count()
    for body, signature in ((forged, good_signature),                    # body changed after signing
                            (original, sign(original, "whsec_wrong")),  # signed with another secret
                            (original, "t=1,v1=deadbeef"),              # garbage
                            (original, None)):                          # no signature at all
        response = post_webhook(body, signature)
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "bad_signature"
    assert StripeEvent.objects.count() == events_before
    assert wallet_balance(organization=tenant.organization) == 50_000
    assert event.pk != "evt_forged_1"


@pytest.mark.slow
def test_a_declined_card_marks_the_top_up_failed_and_tells_the_customer(stripe_on, webhooks_to, live_server,
                                                                        transactional_db):
    import stripe

    tenant = make_tenant(name="Declined Customer")
    webhooks_to(f"{live_server.url}/stripe/webhook")
    payment, _ = top_up_create(actor=tenant.actor("member"), organization=tenant.organization, amount_fen=20_000)

    with contextlib.suppress(stripe.CardError):  # declined in the confirm call, or right after it
        assert confirm_with_card(payment, "pm_card_chargeCustomerFail").status != "succeeded"

    wait_for(lambda: Payment.objects.get(pk=payment.pk).state == Payment.State.FAILED, what="payment failed")
    payment.refresh_from_db()
    assert payment.failure_message
    assert wallet_balance(organization=tenant.organization) == 0
    wait_for(lambda: len(mail.outbox) == 1, what="the failure e-mail")
    assert mail.outbox[0].to == [tenant.member.email]


def _paid_top_up(tenant, amount_fen: int) -> Payment:
    """A top-up paid at localstripe, with its succeeded event applied as the webhook would."""
    from apps.ledger.payments import stripe_event_process

    payment, _ = top_up_create(actor=tenant.actor("member"), organization=tenant.organization, amount_fen=amount_fen)
    intent = confirm_with_card(payment)
    stripe_event_process(event={"id": f"evt_paid_{payment.pk}", "type": "payment_intent.succeeded",
                                "data": {"object": intent.to_dict(for_json=True)}})
    payment.refresh_from_db()
    assert payment.state == Payment.State.SUCCEEDED
    return payment


@pytest.mark.django_db
def test_an_admin_refunds_part_of_a_top_up_to_the_card(stripe_on, tenant):
    payment = _paid_top_up(tenant, 30_000)

    refund = refund_create(actor=tenant.actor("admin"), payment=payment, amount_fen=10_000)

    assert refund.state == Refund.State.SUCCEEDED and refund.stripe_refund_id.startswith("re_")
    assert wallet_balance(organization=tenant.organization) == 20_000
    payment.refresh_from_db()
    assert payment.refunded_fen == 10_000
    charge = stripe_client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id).latest_charge
    charge = stripe_client().v1.charges.retrieve(charge if isinstance(charge, str) else charge.id)
    assert charge.amount_refunded == 10_000


@pytest.mark.django_db
def test_a_refund_cannot_exceed_what_the_wallet_still_holds(stripe_on, tenant):
    payment = _paid_top_up(tenant, 30_000)
    customer_charge(organization=tenant.organization, amount_fen=25_000, idempotency_key="spent", memo="GPU time")

    with pytest.raises(ValidationError) as excinfo:
        refund_create(actor=tenant.actor("owner"), payment=payment, amount_fen=5_001)

    assert "amount_fen" in excinfo.value.error_dict
    assert wallet_balance(organization=tenant.organization) == 5_000
    assert not Refund.objects.exists()
    payment.refresh_from_db()
    assert payment.refunded_fen == 0


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [0, -1, 30_001, "100", 1.5])
def test_bad_refund_amounts_are_refused(stripe_on, tenant, amount):
    payment = _paid_top_up(tenant, 30_000)
    with pytest.raises(ValidationError):
        refund_create(actor=tenant.actor("owner"), payment=payment, amount_fen=amount)
    assert wallet_balance(organization=tenant.organization) == 30_000


@pytest.mark.django_db
def test_members_cannot_refund(stripe_on, tenant):
    from django.core.exceptions import PermissionDenied

    payment = _paid_top_up(tenant, 30_000)
    with pytest.raises(PermissionDenied):
        refund_create(actor=tenant.actor("member"), payment=payment, amount_fen=1_000)


@pytest.mark.django_db
def test_a_refund_stripe_refuses_gives_the_money_back_to_the_wallet(stripe_on, tenant):
    payment = _paid_top_up(tenant, 30_000)
    # Stripe has no such intent: the refund call fails after the wallet was debited.
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent_id="pi_doesnotexist")
    payment.refresh_from_db()

    with pytest.raises(ValidationError):
        refund_create(actor=tenant.actor("owner"), payment=payment, amount_fen=10_000)

    assert wallet_balance(organization=tenant.organization) == 30_000
    refund = Refund.objects.get()
    assert refund.state == Refund.State.FAILED
    payment.refresh_from_db()
    assert payment.refunded_fen == 0
    assert list(LedgerTransaction.objects.filter(organization=tenant.organization)
                .order_by("created_at").values_list("kind", flat=True)) == ["top_up", "refund", "refund_reversal"]


@pytest.mark.django_db
def test_a_refund_made_at_stripe_is_taken_from_the_wallet_only_as_far_as_it_holds(stripe_on, tenant):
    from apps.ledger.payments import stripe_event_process

    payment = _paid_top_up(tenant, 30_000)
    customer_charge(organization=tenant.organization, amount_fen=26_000, idempotency_key="spent", memo="GPU time")
    client = stripe_client()
    client.v1.refunds.create(params={"payment_intent": payment.stripe_payment_intent_id, "amount": 10_000})
    intent = client.v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    charge = client.v1.charges.retrieve(intent.latest_charge if isinstance(intent.latest_charge, str)
                                        else intent.latest_charge.id)
    event = {"id": "evt_dashboard_refund", "type": "charge.refunded",
             "data": {"object": charge.to_dict(for_json=True)}}

    assert stripe_event_process(event=event)
    assert not stripe_event_process(event=event)  # redelivered: nothing more

    assert wallet_balance(organization=tenant.organization) == 0
    payment.refresh_from_db()
    assert (payment.refunded_fen, payment.unrecovered_fen) == (10_000, 6_000)


@pytest.mark.django_db
def test_a_charge_refunded_webhook_over_http_is_verified_and_applied_once(stripe_on, tenant):
    payment = _paid_top_up(tenant, 30_000)
    client = stripe_client()
    client.v1.refunds.create(params={"payment_intent": payment.stripe_payment_intent_id, "amount": 4_000})
    intent = client.v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    charge = client.v1.charges.retrieve(intent.latest_charge if isinstance(intent.latest_charge, str)
                                        else intent.latest_charge.id)
    body = event_body("charge.refunded", charge.to_dict(for_json=True), event_id="evt_refund_http")

    for _ in range(3):
        assert post_webhook(body, sign(body)).status_code == 200
    assert wallet_balance(organization=tenant.organization) == 26_000
    assert StripeEvent.objects.get(pk="evt_refund_http").deliveries == 3


@pytest.mark.django_db
def test_without_keys_top_ups_say_payments_are_not_configured(stripe_off, tenant):
    with pytest.raises(PaymentsNotConfigured):
        top_up_create(actor=tenant.actor("member"), organization=tenant.organization, amount_fen=10_000)
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_without_a_webhook_secret_the_endpoint_refuses_events(stripe_off):
    body = event_body("payment_intent.succeeded", {"id": "pi_x"}, event_id="evt_x")
    response = post_webhook(body, sign(body, WEBHOOK_SECRET))
    assert response.status_code == 503
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_a_signed_body_that_is_not_an_event_is_a_400(stripe_on):
    body = b'{"hello": "world"}'
    assert post_webhook(body, sign(body)).status_code == 400
    assert post_webhook(b"not json", sign(b"not json")).status_code == 400
    assert Client().get("/stripe/webhook").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [0, 999, 10_000_001, "1000", 12.5])
def test_top_up_amounts_out_of_range_are_refused(stripe_on, tenant, amount):
    with pytest.raises(ValidationError):
        top_up_create(actor=tenant.actor("member"), organization=tenant.organization, amount_fen=amount)
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_viewers_cannot_top_up_and_providers_have_no_wallet(stripe_on, tenant, provider):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        top_up_create(actor=tenant.actor("viewer"), organization=tenant.organization, amount_fen=10_000)
    with pytest.raises(ValidationError):
        top_up_create(actor=provider.actor("owner"), organization=provider.organization, amount_fen=10_000)


@pytest.mark.django_db
def test_the_same_idempotency_key_starts_one_payment(stripe_on, tenant):
    first, created = top_up_create(actor=tenant.actor("member"), organization=tenant.organization,
                                   amount_fen=10_000, idempotency_key="order-1")
    again, created_again = top_up_create(actor=tenant.actor("member"), organization=tenant.organization,
                                         amount_fen=10_000, idempotency_key="order-1")
    assert created and not created_again and first.pk == again.pk
    with pytest.raises(ValidationError):
        top_up_create(actor=tenant.actor("member"), organization=tenant.organization, amount_fen=20_000,
                      idempotency_key="order-1")
