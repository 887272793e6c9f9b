"""Attacks on the money paths, replayed over real HTTP against the live test server (issue 10): racing
top-ups that share one Idempotency-Key, oversized keys, and signed Stripe webhooks that are not events."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from apps.ledger.gateway import stripe_client
from apps.ledger.models import Payment, StripeEvent
from apps.tenancy.services import api_key_create
from tests.agents.live import http
from tests.conftest import make_tenant
from tests.ledger import conftest as ledger_fixtures
from tests.ledger.conftest import event_body, sign

# The localstripe server and the settings that point the stripe client at it (tests/ledger/conftest.py).
localstripe_url = ledger_fixtures.localstripe_url
stripe_on = ledger_fixtures.stripe_on


def _intents_of(organization) -> list:
    """The PaymentIntents localstripe holds for this organization (found by the metadata TideGrid sets)."""
    intents = stripe_client().v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
    return [intent for intent in intents
            if intent.to_dict().get("metadata", {}).get("organization") == str(organization.pk)]


def _member_key(tenant) -> str:
    _key, plaintext = api_key_create(actor=tenant.actor("owner"), organization=tenant.organization,
                                     name="attacker", role="member")
    return plaintext


def test_thirty_racing_top_ups_with_one_key_and_different_amounts_make_one_payment_intent(
        stripe_on, live_server, transactional_db):
    tenant = make_tenant(name="Racing Top-ups")
    key = _member_key(tenant)
    url = f"{live_server.url}/api/v1/organizations/{tenant.organization.pk}/wallet/top-ups/"
    results: list[tuple[int, int, dict]] = []
    barrier = threading.Barrier(30)

    def top_up(index: int) -> None:
        amount = 1_100 + 100 * (index % 3)  # ¥11, ¥12, ¥13
        barrier.wait()
        status, body = http("POST", url, key=key, body={"amount_fen": amount},
                            headers={"Idempotency-Key": "order-42"}, retries=5)
        results.append((amount, status, body))

    threads = [threading.Thread(target=top_up, args=(index,)) for index in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    payment = Payment.objects.get(organization=tenant.organization)
    intents = _intents_of(tenant.organization)
    assert [intent.id for intent in intents] == [payment.stripe_payment_intent_id]
    assert intents[0].amount == payment.amount_fen
    statuses = sorted(status for _amount, status, _body in results)
    assert len(results) == 30 and set(statuses) <= {200, 201, 400}
    assert statuses.count(201) == 1
    for amount, status, body in results:
        if amount == payment.amount_fen:
            assert status in (200, 201) and body["id"] == str(payment.pk)
            assert body["client_secret"] == payment.client_secret
        else:
            assert status == 400, body
            assert body["error"]["fields"]["idempotency_key"] == [
                "This Idempotency-Key was used with a different amount."]


def test_the_same_key_with_another_amount_later_is_refused_and_changes_nothing(stripe_on, live_server,
                                                                                transactional_db):
    tenant = make_tenant(name="Replayed Key")
    key = _member_key(tenant)
    url = f"{live_server.url}/api/v1/organizations/{tenant.organization.pk}/wallet/top-ups/"
    first = http("POST", url, key=key, body={"amount_fen": 1_100}, headers={"Idempotency-Key": "k"})
    second = http("POST", url, key=key, body={"amount_fen": 1_200}, headers={"Idempotency-Key": "k"})
    assert first[0] == 201
    assert second[0] == 400 and second[1]["error"]["code"] == "validation_error"
    assert "idempotency_key" in second[1]["error"]["fields"]
    assert Payment.objects.get().amount_fen == 1_100
    assert len(_intents_of(tenant.organization)) == 1


@pytest.mark.parametrize("length, status", [(163, 201), (255, 201), (256, 400), (5_000, 400)])
def test_idempotency_key_length_is_checked(stripe_on, live_server, transactional_db, length, status):
    tenant = make_tenant(name="Long Keys")
    key = _member_key(tenant)
    url = f"{live_server.url}/api/v1/organizations/{tenant.organization.pk}/wallet/top-ups/"
    code, body = http("POST", url, key=key, body={"amount_fen": 2_000}, headers={"Idempotency-Key": "k" * length})
    assert code == status, body
    if status == 400:
        assert body["error"]["fields"]["idempotency_key"] == ["An Idempotency-Key has at most 255 characters."]
        assert not Payment.objects.exists()
    else:
        assert Payment.objects.get().idempotency_key.endswith("k" * length)


def _post_signed(live_server, body: bytes, signature: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{live_server.url}/stripe/webhook", data=body, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json", "Stripe-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the test server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


NOT_EVENTS = [
    b"[]", b'"payment_intent.succeeded"', b"42", b"null", b"{}",
    b'{"id": "evt_1", "data": {"object": {"id": "pi_1"}}}',                       # no type
    b'{"type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}}',  # no id
    b'{"id": ["evt_1"], "type": "payment_intent.succeeded", "data": {"object": {}}}',
    b'{"id": "evt_1", "type": {"x": 1}, "data": {"object": {}}}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": []}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": "pi_1"}}',
    b"[" * 5_000 + b"]" * 5_000,
    b"\xff\xfe not utf-8",
]


@pytest.mark.parametrize("body", NOT_EVENTS, ids=range(len(NOT_EVENTS)))
def test_a_correctly_signed_webhook_body_that_is_not_an_event_is_a_400(stripe_on, live_server, transactional_db,
                                                                       body):
    status, answer = _post_signed(live_server, body, sign(body) if body[:1] != b"\xff" else "t=1,v1=00")
    assert status == 400, answer
    assert answer["error"]["code"] in ("bad_payload", "bad_signature")
    if body[:1] != b"\xff":
        assert answer["error"]["code"] == "bad_payload"
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("offset_s, status", [(-3_600, 400), (3_600, 400), (301, 400), (-30, 200), (30, 200)])
def test_webhook_timestamps_far_from_now_either_way_are_refused(stripe_on, live_server, transactional_db,
                                                                offset_s, status):
    body = event_body("customer.created", {"id": "cus_1"}, event_id=f"evt_clock_{offset_s}")
    code, answer = _post_signed(live_server, body, sign(body, timestamp=int(time.time()) + offset_s))
    assert code == status, answer
    if status == 400:
        assert answer["error"]["code"] == "bad_signature"
    assert StripeEvent.objects.filter(event_id=f"evt_clock_{offset_s}").exists() == (status == 200)
