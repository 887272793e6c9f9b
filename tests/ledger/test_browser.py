"""In the browser: a customer tops up the wallet by card (localstripe's Stripe.js and API), the signed webhook
credits it, and the payments page and balance show it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from apps.ledger.gateway import stripe_client
from apps.ledger.models import Payment
from tests.agents.live import wait_for
from tests.conftest import make_tenant
from tests.e2e.conftest import chromium_session

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server):
    """Debian's Chromium through Playwright, for this test only (tests/e2e/conftest.py: chromium_session)."""
    with chromium_session() as browser:
        context = browser.new_context(base_url=live_server.url, locale="en-US",
                                      viewport={"width": 1360, "height": 900})
        context.set_default_timeout(20_000)
        yield context.new_page()
        context.close()


def _sign_in(page: Page, live_server, user, organization) -> None:
    """A session cookie for ``user`` working in ``organization`` (sign-in itself is tested elsewhere)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.tenancy.middleware import SESSION_KEY as ORG_KEY

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[ORG_KEY] = str(organization.pk)
    session.save()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
                               "url": live_server.url}])


def test_a_customer_tops_up_by_card_and_sees_the_wallet_credited(page: Page, live_server, webhooks_to):
    tenant = make_tenant(name="Browser Wallet")
    webhooks_to(f"{live_server.url}/stripe/webhook", copies=3)
    _sign_in(page, live_server, tenant.member, tenant.organization)

    page.goto("/wallet/")
    expect(page.locator("#available")).to_have_text("¥0.00")
    expect(page.locator("#low-balance-banner")).to_be_visible()
    page.get_by_label("Other amount", exact=True).check()
    page.get_by_label("Other amount (¥)").fill("9.5")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.locator(".field-error").first).to_contain_text("¥10.00")  # below the minimum: says why

    page.get_by_label("¥1,000.00").check()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Top up ¥1,000.00")).to_be_visible()
    payment = Payment.objects.get(organization=tenant.organization)
    # The payment page loaded Stripe.js from STRIPE_JS_URL (here localstripe's) and mounted a card form.
    expect(page.locator("#payment-element *").first).to_be_attached()

    # The card network's part: localstripe's Stripe.js has no Payment Element confirm, so the card is
    # confirmed through the API, as Stripe would after the customer pressed Pay.
    client = stripe_client()
    client.v1.payment_intents.update(payment.stripe_payment_intent_id, params={"payment_method": "pm_card_visa"})
    client.v1.payment_intents.confirm(payment.stripe_payment_intent_id)
    page.goto(f"/wallet/payments/?paid={payment.pk}")  # Stripe's redirect to return_url

    expect(page.locator(f"#payment-{payment.pk}")).to_contain_text("Paid", timeout=30_000)
    wait_for(lambda: Payment.objects.get(pk=payment.pk).state == "succeeded", what="the webhook")
    page.goto("/wallet/")
    expect(page.locator("#available")).to_have_text("¥1,000.00")
    expect(page.locator("#low-balance-banner")).to_have_count(0)
    page.goto("/wallet/transactions/")
    expect(page.locator("main table")).to_contain_text("Card top-up")
    expect(page.locator("main table")).to_contain_text("+¥1,000.00")
