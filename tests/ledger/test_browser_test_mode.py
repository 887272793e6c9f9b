"""`make run` without Stripe keys: the platform runs against the local Stripe stand-in (localstripe) that
tidegrid/devstack.py starts, configured by the same code (tidegrid/stripe_standin.py). In the browser, a new
customer sees the test-mode banner, pays a top-up with the test card, and the signed webhook credits it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from apps.ledger.models import Payment
from tests.agents.live import wait_for
from tests.conftest import make_tenant
from tests.ledger.test_browser import _sign_in
from tidegrid import stripe_standin

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def stand_in_url():
    process, url = stripe_standin.start()
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def make_run_payments(settings, stand_in_url, live_server):
    """Exactly the environment devstack sets when STRIPE_SECRET_KEY is unset, as settings."""
    environment = stripe_standin.environment(stand_in_url)
    for name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE",
                 "STRIPE_JS_URL"):
        setattr(settings, name, environment[name])
    settings.STRIPE_LOCAL_STAND_IN = environment["TIDEGRID_STRIPE_STAND_IN"] == "true"
    stripe_standin.webhook_register(stand_in_url, live_server.url)
    yield
    stripe_standin.webhook_register(stand_in_url, "http://127.0.0.1:9")  # nothing listens: later events go nowhere


@pytest.fixture
def page(live_server):
    from tests.e2e.conftest import chromium_session

    with chromium_session() as browser:
        context = browser.new_context(base_url=live_server.url, locale="en-US",
                                      viewport={"width": 1360, "height": 900})
        context.set_default_timeout(20_000)
        yield context.new_page()
        context.close()


def test_a_new_customer_tops_up_with_the_test_card_in_make_runs_configuration(page: Page, live_server,
                                                                              make_run_payments):
    tenant = make_tenant(name="Fresh Customer")
    _sign_in(page, live_server, tenant.owner, tenant.organization)

    page.goto("/wallet/")
    expect(page.locator("#test-mode-banner")).to_contain_text("TEST MODE")
    expect(page.locator("#test-mode-banner")).to_contain_text("4242 4242 4242 4242")
    expect(page.locator("#stripe-not-configured")).to_have_count(0)
    expect(page.locator("#available")).to_have_text("¥0.00")
    page.get_by_label("¥100.00").check()
    page.get_by_label("Card", exact=True).check()
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("heading", name="Top up ¥100.00")).to_be_visible()
    expect(page.locator("#test-mode-banner")).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("CVC").fill("12")
    page.get_by_role("button", name="Pay ¥100.00").click()
    expect(page.locator(".field-error").first).to_contain_text("three digits")  # says what is wrong
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay ¥100.00").click()

    payment = Payment.objects.get(organization=tenant.organization)
    expect(page.locator(f"#payment-{payment.pk}")).to_contain_text("Paid", timeout=30_000)
    wait_for(lambda: Payment.objects.get(pk=payment.pk).state == "succeeded", what="the stand-in's webhook")
    page.goto("/wallet/")
    expect(page.locator("#available")).to_have_text("¥100.00")
    page.goto("/wallet/transactions/")
    expect(page.locator("main table")).to_contain_text("Card top-up")
    expect(page.locator("main table")).to_contain_text("+¥100.00")
