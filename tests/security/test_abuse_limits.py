"""Abuse limits and input hygiene, over real HTTP against the live test server (issue 10): JSON nesting and
body size limits with the API's error body, atomic per-user rate limits, throttled API-key guessing, login
protection by account and source, and invitation errors that reveal nothing."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.ledger.models import Payment
from apps.tenancy.services import api_key_create, invitation_create
from tests.accounts.helpers import DASHBOARD_URL, LOGIN_URL, configured_rate
from tests.agents.live import http
from tests.conftest import make_tenant
from tests.factories import PASSWORD, UserFactory

TOO_MANY = "Too many failed login attempts. Try again later."
WRONG = "The email address and/or password you specified are not correct."


def _member_key(tenant) -> str:
    _key, plaintext = api_key_create(actor=tenant.actor("owner"), organization=tenant.organization,
                                     name="member key", role="member")
    return plaintext


def _post_raw(url: str, body: bytes, *, key: str | None = None) -> tuple[int, str, bytes]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Api-Key {key}"} if key else {})}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the test server
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def _nested(depth: int) -> bytes:
    return b'{"amount_fen": ' + b"[" * (depth - 1) + b"1" + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize("depth, code", [(5_000, "parse_error"), (33, "parse_error"), (32, "validation_error")])
def test_json_nested_too_deep_is_a_400_with_the_api_error_body(live_server, transactional_db, depth, code):
    tenant = make_tenant(name="Deep JSON")
    url = f"{live_server.url}/api/v1/organizations/{tenant.organization.pk}/wallet/top-ups/"
    status, content_type, body = _post_raw(url, _nested(depth), key=_member_key(tenant))
    assert status == 400, body[:300]
    assert content_type == "application/json"
    assert json.loads(body)["error"]["code"] == code
    assert not Payment.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/organizations/{org}/wallet/top-ups/", "/api/agent/v1/heartbeat",
                                  "/stripe/webhook"])
def test_a_body_over_the_upload_limit_is_a_json_413(live_server, transactional_db, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    tenant = make_tenant(name="Big Bodies")
    url = live_server.url + path.format(org=tenant.organization.pk)
    body = json.dumps({"amount_fen": 1_000, "padding": "x" * 200_000}).encode()
    status, content_type, answer = _post_raw(url, body, key=_member_key(tenant))
    assert status == 413
    assert content_type == "application/json"
    assert json.loads(answer)["error"]["code"] == "request_too_large"
    # Just under the limit is parsed as usual (here: a validation error for the wallet).
    status, _type, _answer = _post_raw(url, b'{"amount_fen": 5}',
                                       key=_member_key(tenant))
    assert status != 413


# --- the per-user API rate limit holds exactly under parallel requests --------------------------------------

def test_the_per_user_rate_limit_holds_exactly_under_sixteen_parallel_threads(live_server, transactional_db,
                                                                              settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "20/min"}}
    tenant = make_tenant(name="Busy Client")
    key = _member_key(tenant)
    url = f"{live_server.url}/api/v1/organizations/{tenant.organization.pk}/wallet/"
    statuses: list[int] = []
    bodies: list[dict] = []
    barrier = threading.Barrier(16)

    def burst() -> None:
        barrier.wait()
        for _ in range(4):
            status, body = http("GET", url, key=key)
            statuses.append(status)
            bodies.append(body)

    threads = [threading.Thread(target=burst) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(statuses) == 64
    assert statuses.count(200) == 20
    assert statuses.count(429) == 44
    assert {body["error"]["code"] for body in bodies if "error" in body} == {"throttled"}
    # Another user has a budget of their own.
    other = make_tenant(name="Quiet Client")
    assert http("GET", f"{live_server.url}/api/v1/organizations/{other.organization.pk}/wallet/",
                key=_member_key(other))[0] == 200


# --- failed API-key guesses are throttled per source ---------------------------------------------------------

def test_api_key_guessing_is_throttled_per_source_and_the_owner_elsewhere_is_not(db, settings):
    settings.TIDEGRID_API_KEY_FAILURES_PER_SOURCE = 5
    tenant = make_tenant(name="Guessed At")
    key = _member_key(tenant)
    url = f"/api/v1/organizations/{tenant.organization.pk}/wallet/"
    guesser = APIClient(REMOTE_ADDR="198.51.100.7")
    prefix = key.rsplit("_", 1)[0]
    for attempt in range(5):
        response = guesser.get(url, HTTP_AUTHORIZATION=f"Api-Key {prefix}_wrong{attempt}")
        assert response.status_code == 401, response.content
    refused = guesser.get(url, HTTP_AUTHORIZATION=f"Api-Key {prefix}_wrong-again")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    # Even the right key is refused from the guessing source until its failures age out...
    assert guesser.get(url, HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 429
    # ...while the key's owner, elsewhere, works as usual.
    owner = APIClient(REMOTE_ADDR="203.0.113.9")
    assert owner.get(url, HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200
    # Successful requests are never counted as failures.
    for _ in range(10):
        assert owner.get(url, HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 200


# --- logins: throttled per account AND source, a progressive delay per account, no stranger's lockout --------

def _login(client: Client, email: str, password: str):
    return client.post(LOGIN_URL, {"login": email, "password": password})


def test_a_stranger_hammering_an_account_cannot_lock_out_its_owner(db, settings):
    victim = UserFactory()
    per_key = configured_rate("login_failed", "key")
    stranger = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(per_key.amount):
        assert _login(stranger, victim.email, "guess").context["form"].non_field_errors() == [WRONG]
    # The stranger's source is refused on this account, even with the right password...
    assert _login(stranger, victim.email, PASSWORD).context["form"].non_field_errors() == [TOO_MANY]
    # ...and a botnet adds many more failures from ever new addresses.
    for n in range(1, 15):
        _login(Client(REMOTE_ADDR=f"10.9.0.{n}"), victim.email, "guess")

    owner = Client(REMOTE_ADDR="203.0.113.9")
    started = time.monotonic()
    response = _login(owner, victim.email, PASSWORD)
    waited = time.monotonic() - started

    assert response.status_code == 302 and response["Location"] == DASHBOARD_URL
    assert waited >= settings.TIDEGRID_LOGIN_DELAY_MAX_S  # slowed down (progressive delay), not locked out
    # Signing in ends the delay.
    started = time.monotonic()
    assert _login(Client(REMOTE_ADDR="203.0.113.10"), victim.email, PASSWORD).status_code == 302
    assert time.monotonic() - started < settings.TIDEGRID_LOGIN_DELAY_BASE_S + 2


def test_failed_logins_on_an_account_delay_further_attempts_progressively(db, settings):
    settings.TIDEGRID_LOGIN_DELAY_BASE_S = 0.1
    settings.TIDEGRID_LOGIN_DELAY_MAX_S = 0.4
    victim = UserFactory()
    free = settings.TIDEGRID_LOGIN_DELAY_FREE_FAILURES
    waits = []
    for n in range(free + 3):
        started = time.monotonic()
        _login(Client(REMOTE_ADDR=f"10.8.0.{n + 1}"), victim.email, "guess")
        waits.append(time.monotonic() - started)
    # attempt free+1 waits base, then 2x base, then 4x base (= the cap)
    assert waits[free] >= 0.1 and waits[free + 1] >= 0.2 and waits[free + 2] >= 0.4


# --- invitations ---------------------------------------------------------------------------------------------

def test_accepting_someone_elses_invitation_does_not_reveal_their_address(db, api_as):
    tenant = make_tenant(name="Inviting Org")
    _invitation, token = invitation_create(actor=tenant.actor("owner"), organization=tenant.organization,
                                           email="cfo.private@example.com", role="member")
    stranger = UserFactory()
    api_response = api_as(stranger).post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert api_response.status_code == 400
    assert b"cfo.private" not in api_response.content
    client = Client()
    client.force_login(stranger)
    assert b"cfo.private" not in client.get(f"/invitations/{token}/").content
    page = client.post(f"/invitations/{token}/", follow=True)
    assert b"cfo.private" not in page.content
    assert not tenant.organization.memberships.filter(user=stranger).exists()


# --- Idempotency-Key length on bookings ----------------------------------------------------------------------

def test_a_workload_idempotency_key_over_255_characters_is_a_400_and_books_nothing(customer, key_client):
    from apps.booking.models import Workload
    from tests.booking.test_workload_api import SLICE

    response = key_client(customer, "member").post(f"/api/v1/organizations/{customer.organization.pk}/workloads/",
                                                   SLICE, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["idempotency_key"] == ["An Idempotency-Key has at most 255 characters."]
    assert not Workload.objects.exists()
