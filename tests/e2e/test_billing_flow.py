"""Money end to end in the browser: top up the wallet by card (localstripe), run an instance for a few
seconds on the simulated fleet (real Celery worker and agent), and find its charge on the usage page,
in the ledger and in the balance."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from apps.billing.models import UsageRecord
from apps.ledger.gateway import stripe_client
from apps.ledger.models import Payment
from tests.agents.live import wait_for
from tests.conftest import make_tenant
from tests.core.test_celery import celery_worker_process  # noqa: F401 — a real Celery worker process
from tests.e2e.test_booking_flow import SLOW, shared_a100_fleet  # noqa: F401 — provider and agent
from tests.ledger.conftest import localstripe_url, localstripe_webhook, stripe_on  # noqa: F401
from tests.ledger.test_browser import _sign_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
# Agent readings of the running slice (one per 0.5 s) before it is stopped: ≥ 15 s of running, so even at
# the off-peak rate (¥2.5725/h) it costs more than half a fen.
READINGS_BEFORE_STOP = 30


def _top_up_1000(page: Page) -> None:
    page.goto("/wallet/")
    page.get_by_label("¥1,000.00").check()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Top up ¥1,000.00")).to_be_visible()
    payment = Payment.objects.get()
    # What Stripe does once the customer presses Pay (localstripe's Stripe.js cannot confirm a Payment
    # Element): confirm the PaymentIntent with a test card; localstripe then sends the signed webhook.
    client = stripe_client()
    client.v1.payment_intents.update(payment.stripe_payment_intent_id, params={"payment_method": "pm_card_visa"})
    client.v1.payment_intents.confirm(payment.stripe_payment_intent_id)
    wait_for(lambda: Payment.objects.get(pk=payment.pk).state == "succeeded", what="the payment webhook")
    page.goto("/wallet/")
    expect(page.locator("#available")).to_have_text("¥1,000.00")


def test_top_up_run_an_instance_and_see_its_charge_in_usage_and_ledger(page: Page, live_server, stripe_on,  # noqa: F811
                                                                         shared_a100_fleet):  # noqa: F811
    customer = make_tenant(name="Metered Robotics")
    localstripe_webhook(stripe_on, "e2e-billing", f"{live_server.url}/stripe/webhook")
    _sign_in(page, live_server, customer.member, customer.organization)
    _top_up_1000(page)

    page.goto("/market/")
    page.locator("tr[data-model=nvidia-a100-80gb][data-region=cn-shanghai]").get_by_role("link", name="25 %").click()
    page.fill("#id_name", "metered-quarter")
    page.click("#book-button")
    expect(page.locator("#workload-state")).to_have_text("Running", timeout=SLOW)
    expect(page.locator("#usage-chart")).to_have_attribute(
        "data-points", re.compile(rf"^([1-9]\d{{2,}}|[{READINGS_BEFORE_STOP // 10}-9]\d)$"), timeout=SLOW)
    page.click("#stop-button")
    expect(page.locator("#workload-state")).to_have_text("Stopped", timeout=SLOW)

    record = wait_for(lambda: UsageRecord.objects.filter(workload__name="metered-quarter", settled=True).first(),
                      what="the usage to be charged at stop")
    assert record.charged_fen >= 1  # rounded half-up once, at the end
    charged = f"¥{record.charged_fen / 100:,.2f}"

    page.goto("/billing/usage/")
    expect(page.locator("#usage-by-workload")).to_contain_text("metered-quarter")
    expect(page.locator("#usage-by-workload")).to_contain_text(charged)
    page.goto("/wallet/transactions/")
    expect(page.locator("main table")).to_contain_text("metered-quarter")
    page.goto("/wallet/")
    expect(page.locator("#available")).to_have_text(f"¥{(100_000 - record.charged_fen) / 100:,.2f}")
