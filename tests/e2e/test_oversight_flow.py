"""Issue 13, acceptance 3 (except the voucher-funded workload drill-down: no voucher programs yet): an
operator signs in, sets a target, sees the KPIs in colour with their charts, drills down to a node, and
downloads the Excel file and the PDF report."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD
from tests.oversight.fleet import build_fleet, rollup_month

pytestmark = [pytest.mark.django_db(transaction=True)]
MONTH = "/oversight/?period=month&start=2026-11-01"


@pytest.fixture(autouse=True)
def _sample_gap(settings):
    from tests.oversight.fleet import SAMPLE_MAX_GAP_S

    settings.TIDEGRID_OVERSIGHT_SAMPLE_MAX_GAP_S = SAMPLE_MAX_GAP_S


def test_operator_sets_a_target_sees_colours_drills_down_and_downloads(page: Page, live_server):
    fleet = build_fleet()
    rollup_month()
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(fleet.admin.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/"))

    page.goto("/oversight/targets/")
    page.get_by_label("KPI").select_option("utilization")
    page.get_by_label("Green at or above").fill("99")
    page.get_by_label("Amber at or above").fill("98")
    page.get_by_role("button", name="Save target").click()
    expect(page.get_by_text("Target saved.")).to_be_visible()
    page.get_by_label("KPI").select_option("in_service_rate")
    page.get_by_label("Green at or above").fill("50")
    page.get_by_label("Amber at or above").fill("40")
    page.get_by_role("button", name="Save target").click()
    expect(page.locator('#targets tr[data-kpi="in_service_rate"]')).to_contain_text("50")

    page.goto(MONTH)
    red = page.locator('.kpi-tile[data-kpi="utilization"]')
    expect(red).to_have_attribute("data-status", "red")
    expect(red).to_have_css("background-color", "rgb(254, 242, 242)")
    green = page.locator('.kpi-tile[data-kpi="in_service_rate"]')
    expect(green).to_have_attribute("data-status", "green")
    expect(green).to_have_css("background-color", "rgb(236, 253, 245)")
    assert page.evaluate("() => !!(window.Chart && Chart.getChart('oversight-rates') && "
                         "Chart.getChart('oversight-delivered'))")

    # jurisdiction → region → provider → cluster → node
    for link, level in (("Shanghai", "provider"), ("East Compute", "cluster"), ("sh-a", "node"), ("sh-2", "device")):
        page.locator("#breakdown").get_by_role("link", name=link, exact=True).click()
        expect(page.locator("#breakdown")).to_have_attribute("data-dimension", level)
    expect(page.locator("nav.breadcrumbs")).to_contain_text("sh-2")
    expect(page.locator('.kpi-tile[data-kpi="in_service_rate"] .stat-value')).not_to_have_text("—")

    with page.expect_download() as excel:
        page.get_by_role("link", name="Excel").click()
    assert excel.value.suggested_filename.endswith(".xlsx")
    rows = list(load_workbook(BytesIO(Path(excel.value.path()).read_bytes())).active.iter_rows(values_only=True))
    assert len(rows) == 4  # title, header, the node's two devices
    with page.expect_download() as pdf:
        page.get_by_role("link", name="Report (PDF)").click()
    assert Path(pdf.value.path()).read_bytes()[:4] == b"%PDF"
