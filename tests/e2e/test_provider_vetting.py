"""A new provider is vetted before its capacity is sold, in the browser against the live server: it signs
up, creates its provider organization, registers a cluster and enrolls a node with a real agent process
(simulated T4s); the market does not show that capacity, not even after the provider submitted its
record; a staff member approves it in the Django admin; only then does the market list it."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from apps.catalog.models import Node, ProviderProfile, Region
from apps.tenancy.uscc import uscc_check_character
from tests.agents.live import AgentFleet, wait_for
from tests.conftest import make_tenant
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-staple-42"
USCC = "91310115MA1K4E2E0" + uscc_check_character("91310115MA1K4E2E0")
T4_ROW = "tr[data-model=nvidia-t4][data-region=cn-shanghai]"


@pytest.fixture
def reference_data(db):
    """Transactional tests start from an emptied database: the catalog and the price book again."""
    from apps.billing.seed import price_book_seed
    from apps.catalog.reference import reference_data_sync

    reference_data_sync()
    price_book_seed()


@pytest.fixture
def fleet(live_server, tmp_path):
    fleet = AgentFleet(live_server.url, tmp_path)
    yield fleet
    fleet.close()


def _context_page(browser: Browser, live_server) -> Page:
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1360, "height": 900})
    context.set_default_timeout(20_000)
    return context.new_page()


def _submit(page: Page) -> None:
    page.locator("main form button[type=submit]").last.click()


def _sign_up_as_provider(page: Page, email: str, name: str) -> None:
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    _submit(page)
    expect(page.locator("main")).to_contain_text("Verify")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    _submit(page)  # confirm the address: allauth signs the user in
    page.goto("/organizations/new/")
    page.check("input[name=kind][value=provider]")
    page.fill("input[name=name]", name)
    _submit(page)
    expect(page.locator(".side-org")).to_contain_text(name)


def _log_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    _submit(page)
    expect(page.locator(".side-org")).to_be_visible()


def test_a_new_providers_capacity_is_sold_only_after_staff_approve_it(browser: Browser, page: Page, live_server,
                                                                       reference_data, fleet):
    # The provider: sign up, create the organization, register a cluster, make an enrollment token.
    _sign_up_as_provider(page, "ops@newcomer.example", "Newcomer Compute")
    page.goto("/provider/clusters/")
    expect(page.locator("#not-on-sale")).to_contain_text("not on sale")
    page.fill("#id_name", "Zhangjiang-1")
    page.select_option("#id_region", value=str(Region.objects.get(code="cn-shanghai").pk))
    page.select_option("#id_kind", "bare_metal")
    _submit(page)
    expect(page.locator("h1")).to_contain_text("Zhangjiang-1")
    page.get_by_role("button", name="Create enrollment token").click()
    token = re.search(r"echo '(\S+)' > tidegrid-token", page.locator("#enroll-command").inner_text()).group(1)

    # A real agent enrolls the node with four simulated T4s; it reports, it is schedulable...
    fleet.start("newcomer-t4-01", token, models="Tesla T4:4", interval=0.5)
    wait_for(lambda: Node.objects.filter(hostname="newcomer-t4-01", last_seq__gte=1).exists(),
             what="the agent to enroll and report")

    # ...but a customer's market does not list it.
    customer = make_tenant(name="Market Watcher")
    shopper = _context_page(browser, live_server)
    _log_in(shopper, customer.member.email, FACTORY_PASSWORD)
    shopper.goto("/market/")
    expect(shopper.locator("main")).to_be_visible()
    expect(shopper.locator(T4_ROW)).to_have_count(0)

    # The provider fills in its record; a wrong USCC is shown on its field, then it submits.
    page.goto("/provider/vetting/")
    expect(page.locator("#vetting-state")).to_contain_text("Not submitted")
    page.fill("#id_credit_code", USCC[:17] + ("1" if USCC[17] != "1" else "2"))
    page.fill("#id_contact_name", "韩梅梅")
    page.fill("#id_contact_phone", "+86 21 5555 0100")
    page.fill("#id_contact_email", "ops@newcomer.example")
    page.fill("#id_bank_name", "中国银行上海张江支行")
    page.fill("#id_bank_account_name", "Newcomer Compute Ltd.")
    page.fill("#id_bank_account_number", "6216610100012345678")
    page.click("#vetting-submit")
    expect(page.locator(".field.has-error")).to_contain_text("check character")
    page.fill("#id_credit_code", USCC)
    page.click("#vetting-submit")
    expect(page.locator("#vetting-state")).to_contain_text("Awaiting review")
    shopper.reload()
    expect(shopper.locator("main")).to_be_visible()
    expect(shopper.locator(T4_ROW)).to_have_count(0)

    # Staff approve it in the Django admin.
    staff = UserFactory(email="vetting@tidegrid.example", is_staff=True, is_superuser=True)
    admin = _context_page(browser, live_server)
    admin.goto("/admin/login/")
    admin.fill("input[name=username]", staff.email)
    admin.fill("input[name=password]", FACTORY_PASSWORD)
    admin.locator("input[type=submit]").click()
    admin.goto("/admin/catalog/providerprofile/?state__exact=pending")
    row = admin.locator("#result_list tbody tr", has_text="Newcomer Compute")
    expect(row).to_contain_text(USCC)
    row.locator("input[name=_selected_action]").check()
    admin.select_option("select[name=action]", "approve")
    admin.locator("button[name=index], input[name=index]").first.click()
    expect(admin.locator(".messagelist")).to_contain_text("1 provider(s) updated")
    assert ProviderProfile.objects.get(organization__name="Newcomer Compute").state == "approved"

    # Only now is its capacity in the market, and the provider sees it is on sale.
    shopper.reload()
    expect(shopper.locator(T4_ROW)).to_contain_text("4 of 4 cards")
    page.goto("/provider/vetting/")
    expect(page.locator("#vetting-state")).to_contain_text("Approved")
    page.goto("/provider/clusters/")
    expect(page.locator("#not-on-sale")).to_have_count(0)
