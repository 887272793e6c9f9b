"""Vouchers end to end in the browser, with a real Celery worker and agent: the operator creates a
programme with a taper, publishes and opens it; the customer applies; the operator approves; the customer
runs a quarter A100 on the simulated fleet and sees the voucher's share of its charge."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.billing.models import UsageRecord
from apps.ledger.models import LedgerTransaction
from apps.vouchers.models import Application, Grant, Program
from tests.agents.live import wait_for
from tests.billing.conftest import fund
from tests.core.test_celery import celery_worker_process  # noqa: F401 — a real Celery worker process
from tests.e2e.test_booking_flow import SLOW, shared_a100_fleet  # noqa: F401 — provider and agent
from tests.ledger.test_browser import _sign_in
from tests.vouchers.conftest import make_enterprise, make_government

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _submit(page: Page, name: str) -> None:
    page.get_by_role("button", name=name).click()


def test_operator_creates_a_programme_customer_applies_is_approved_and_runs_subsidised(
        page: Page, live_server, shared_a100_fleet):  # noqa: F811
    gov = make_government("Shanghai Voucher Office", ["cn-shanghai"])
    firm = make_enterprise("Voucher Robotics", 61)
    fund(firm.organization, 100_000)

    # The operator: a programme, a rule version starting in the next minute or two, published, opened.
    _sign_in(page, live_server, gov.admin, gov.organization)
    page.goto("/vouchers/programs/new/")
    page.get_by_label("Name (English)").fill("Shanghai compute vouchers")
    page.get_by_label("Name (Chinese)").fill("上海算力券")
    page.get_by_label("Budget (¥)").fill("100000")
    today = timezone.localdate()
    page.get_by_label("Valid from").fill(f"{today - timedelta(days=1):%Y-%m-%d}")
    page.get_by_label("Valid until (first day it no longer pays)").fill(f"{today + timedelta(days=365):%Y-%m-%d}")
    _submit(page, "Create programme")
    expect(page.locator("h1")).to_have_text("Shanghai compute vouchers")
    starts = (timezone.localtime() + timedelta(minutes=2)).replace(second=0, microsecond=0)
    page.get_by_label("Effective from").fill(f"{starts:%Y-%m-%dT%H:%M}")
    page.get_by_label("Taper steps").fill("50 0\n30 12")
    _submit(page, "Save draft version")
    _submit(page, "Publish (freeze)")
    expect(page.locator("main")).to_contain_text("published, frozen")
    _submit(page, "Open")
    expect(page.locator(".lead")).to_contain_text("Open")
    program = Program.objects.get()

    # The customer applies.
    page.context.clear_cookies()
    _sign_in(page, live_server, firm.admin, firm.organization)
    page.goto("/vouchers/")
    page.locator("#open-programs").get_by_role("link", name="Apply").click()
    page.get_by_label("Project description").fill("Robot grasping policies")
    page.get_by_label("Requested amount (¥)").fill("5000")
    _submit(page, "Send application")
    expect(page.locator("#state")).to_have_text("Submitted")
    application = Application.objects.get()

    # The operator approves from the queue.
    page.context.clear_cookies()
    _sign_in(page, live_server, gov.admin, gov.organization)
    page.goto("/vouchers/applications/")
    page.locator("#applications").get_by_role("link").first.click()
    page.get_by_label("Reason").fill("Local robotics firm")
    page.get_by_label("Granted amount (¥)").fill("4000")
    page.get_by_label("Grant starts on (the taper clock)").fill(f"{today:%Y-%m-%d}")
    _submit(page, "Record the decision")
    expect(page.locator("#state")).to_have_text("Approved")
    grant = Grant.objects.get(application=application)

    # The customer runs a quarter A100 once the rules are in force, and sees the voucher's share.
    wait_for(lambda: timezone.now() > starts, what="the rule version to take effect", timeout=180)
    page.context.clear_cookies()
    _sign_in(page, live_server, firm.member, firm.organization)
    page.goto("/vouchers/")
    expect(page.locator("#grants")).to_contain_text("50 %")
    page.goto("/market/")
    page.locator("tr[data-model=nvidia-a100-80gb][data-region=cn-shanghai]").get_by_role("link", name="25 %").click()
    page.fill("#id_name", "subsidised-quarter")
    page.click("#book-button")
    expect(page.locator("#workload-state")).to_have_text("Running", timeout=SLOW)
    # ≥ 30 agent readings of the slice (one per 0.5 s) before stopping: long enough to cost a few fen
    expect(page.locator("#usage-chart")).to_have_attribute("data-points", re.compile(r"^([1-9]\d{2,}|[3-9]\d)$"),
                                                           timeout=SLOW)
    page.click("#stop-button")
    expect(page.locator("#workload-state")).to_have_text("Stopped", timeout=SLOW)
    record = wait_for(lambda: UsageRecord.objects.filter(workload__name="subsidised-quarter", settled=True).first(),
                      what="the usage to be charged at stop")
    charges = list(LedgerTransaction.objects.filter(kind="charge", details__usage_record=str(record.pk)))
    share = sum(t.details["voucher"]["share_fen"] for t in charges)
    assert share >= 1 and sum(t.details["copay_fen"] for t in charges) + share == record.charged_fen
    assert all(t.details["voucher"]["grant"] == str(grant.pk) for t in charges)
    page.goto("/vouchers/")
    expect(page.locator("#voucher-lines")).to_contain_text(f"¥{share / 100:,.2f}")
    expect(page.locator("#grants")).to_contain_text(f"¥{(400_000 - share) / 100:,.2f}")
    assert Program.objects.get(pk=program.pk).state == "open"
