"""A real `localstripe` server for the payment tests, and the settings that point the stripe client at it."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tidegrid import stripe_standin

WEBHOOK_SECRET = "whsec_tidegrid_test_secret"


@pytest.fixture(scope="session")
def localstripe_url():
    """Start `localstripe --from-scratch` on a free port for the session (as `make run` does); its URL."""
    try:
        process, url = stripe_standin.start()
    except RuntimeError as error:
        pytest.fail(str(error))
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def stripe_on(settings, localstripe_url):
    """Card payments configured against localstripe (the stripe client, Stripe.js and the webhook secret)."""
    settings.STRIPE_SECRET_KEY = "sk_test_tidegrid"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_tidegrid"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_JS_URL = f"{localstripe_url}/js.stripe.com/v3/"
    return localstripe_url


@pytest.fixture
def stripe_off(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""


def localstripe_webhook(localstripe_url: str, webhook_id: str, url: str, secret: str = WEBHOOK_SECRET) -> None:
    """Register (or re-point) a localstripe webhook: it then POSTs every event, signed, to ``url``."""
    stripe_standin.webhook_point(localstripe_url, webhook_id, url, secret)


@pytest.fixture
def webhooks_to(stripe_on):
    """webhooks_to(url, copies=1): localstripe delivers every event ``copies`` times to ``url`` (one
    endpoint per copy, ids a, b, c). Afterwards all three point nowhere, so no late delivery reaches a
    later test's server."""

    def register(url: str, copies: int = 1) -> None:
        for index, webhook_id in enumerate("abc"):
            localstripe_webhook(stripe_on, webhook_id, url if index < copies else _NOWHERE)

    yield register
    for webhook_id in "abc":
        localstripe_webhook(stripe_on, webhook_id, _NOWHERE)


_NOWHERE = "http://127.0.0.1:9/nowhere"  # the discard port: nothing listens, delivery fails at once


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for ``payload``, computed the way Stripe (and localstripe) do."""
    import hashlib
    import hmac

    timestamp = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event_body(event_type: str, obj: dict, event_id: str) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": event_type, "created": int(time.time()),
                       "data": {"object": obj}}).encode()
