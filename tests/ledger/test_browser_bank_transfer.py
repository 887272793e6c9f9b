"""In the browser: staff record a customer's corporate bank transfer twice (a double submission), and the
customer's wallet shows it once, with the balance credited once."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from apps.ledger.bank_transfers import remittance_reference_get
from tests.conftest import make_tenant
from tests.factories import UserFactory
from tests.ledger.test_browser import _sign_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    from tests.e2e.conftest import chromium_session

    with chromium_session() as browser:
        yield browser


@pytest.fixture
def browser_context_for(browser, live_server):
    """browser_context_for(user, organization) → a page in its own browser context, signed in as user."""
    contexts = []

    def build(user, organization):
        context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1360, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        _sign_in(page, live_server, user, organization)
        return page

    yield build
    for context in contexts:
        context.close()


def test_staff_record_a_bank_transfer_and_the_wallet_shows_it_once(live_server, browser_context_for):
    tenant = make_tenant(name="Transfer Customer")
    reference = remittance_reference_get(organization=tenant.organization)
    staff = UserFactory(is_staff=True)

    page: Page = browser_context_for(staff, tenant.organization)
    page.goto(f"/staff/bank-transfers/new/?reference={reference}")
    expect(page.get_by_label("Remittance reference")).to_have_value(reference)
    page.get_by_label("Amount received (¥)").fill("5000")
    page.get_by_label("Bank reference").fill("CMB-2026-12-02-0042")
    page.get_by_label("Value date").fill(datetime.date.today().isoformat())
    page.get_by_role("button", name="Record transfer").click()
    expect(page.locator(".flash").first).to_contain_text("the wallet is credited")
    # The statement line entered again (a second clerk, a double submission): nothing is credited twice.
    page.get_by_label("Remittance reference").fill(reference)
    page.get_by_label("Amount received (¥)").fill("5000")
    page.get_by_label("Bank reference").fill("CMB-2026-12-02-0042")
    page.get_by_label("Value date").fill(datetime.date.today().isoformat())
    page.get_by_role("button", name="Record transfer").click()
    expect(page.locator(".flash").first).to_contain_text("was already recorded")

    customer = browser_context_for(tenant.viewer, tenant.organization)
    customer.goto("/wallet/")
    expect(customer.locator("#remittance-reference")).to_have_text(reference)
    expect(customer.locator("#available")).to_have_text("¥5,000.00")
    expect(customer.locator("#bank-transfers tbody tr")).to_have_count(1)
    expect(customer.locator("#bank-transfers")).to_contain_text("CMB-2026-12-02-0042")
