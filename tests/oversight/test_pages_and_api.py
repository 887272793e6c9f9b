"""Acceptance 1 (API and dashboard figures), 4 (tenancy, bad input) and the targets/alerts of issue 13."""

import re
from datetime import date

import pytest
from django.core import mail

from apps.oversight.labels import kpi_display
from apps.oversight.periods import period_build
from apps.oversight.services import targets_check
from apps.tenancy.models import Role
from tests.factories import MembershipFactory, OrganizationFactory
from tests.oversight.fleet import MONTH_START, assert_kpis_equal, expected_kpis, expected_month

JURISDICTION = {"cn-shanghai", "cn-suzhou"}
MONTH = {"period": "month", "start": "2026-11-01"}


def _api(fleet, kind):
    return f"/api/v1/organizations/{fleet.government.id}/oversight/{kind}/"


def _tile(html: str, kpi: str) -> tuple[str, str]:
    match = re.search(rf'data-kpi="{kpi}" data-status="(\w+)">\s*<span class="stat-label">[^<]*</span>\s*'
                      r'<span class="stat-value">([^<]*)</span>', html)
    assert match, kpi
    return match.group(2), match.group(1)


def test_api_and_dashboard_figures_equal_plain_python(fleet, api_as, as_user):
    expected = expected_month(fleet)
    inside = [d for d in expected.values() if d["region"] in JURISDICTION]
    want = expected_kpis(inside, local_region_codes=JURISDICTION, customers=fleet.customers)

    api = api_as(fleet.auditor)
    body = api.get(_api(fleet, "kpis"), MONTH).json()
    assert body["period"] == {"kind": "month", "start": "2026-11-01", "end": "2026-11-30"}
    assert_kpis_equal(body["kpis"], want)
    regions = api.get(_api(fleet, "breakdown"), MONTH).json()
    assert regions["by"] == "region"
    for row in regions["rows"]:
        devices = [d for d in inside if d["region"] == row["key"]]
        assert_kpis_equal(row["kpis"], expected_kpis(devices, local_region_codes=JURISDICTION,
                                                     customers=fleet.customers))
    series = api.get(_api(fleet, "series"), MONTH).json()["days"]
    assert len(series) == 30

    client = as_user(fleet.auditor, fleet.government)
    html = client.get("/oversight/", MONTH).content.decode()
    for kpi in ("in_service_rate", "allocation_rate", "utilization", "consumption_rate", "delivered_pflops_days",
                "onboarded_pflops_days", "energy_kwh", "pflops_days_per_mwh"):
        assert _tile(html, kpi)[0] == kpi_display(kpi, want[kpi]), kpi
    for kpi in ("maintenance_rate", "quarantine_rate", "unreachable_rate", "consumption_rate_local"):
        assert f'<tr data-kpi="{kpi}"><th>' in html
        assert re.search(rf'data-kpi="{kpi}"><th>[^<]*</th><td>([^<]*)</td>', html).group(1) == kpi_display(
            kpi, want[kpi])
    assert "chart-4.6.1.umd.min.js" in html and "cdn" not in html.lower()
    # the breakdown table by region, cell by cell
    from apps.oversight.labels import TABLE_KPIS

    for code in JURISDICTION:
        row = re.search(rf'<tr data-key="{code}"><td><a href="[^"]*">[^<]*</a></td>(.*?)</tr>', html).group(1)
        cells = re.findall(r"<td>([^<]*)</td>", row)
        region_want = expected_kpis([d for d in inside if d["region"] == code], local_region_codes=JURISDICTION,
                                    customers=fleet.customers)
        assert cells == [kpi_display(name, region_want[name]) for name in TABLE_KPIS], code
    # the chart's daily series is the API's
    import json

    chart = json.loads(re.search(r'data-chart="([^"]*)"', html).group(1).replace("&quot;", '"'))
    utilization = next(series for series in chart["rates"] if series["key"] == "utilization")["data"]
    api_days = api.get(_api(fleet, "series"), MONTH).json()["days"]
    assert utilization == [round(day["kpis"]["utilization"] * 100, 2) if day["kpis"] else None for day in api_days]

    # Drill-down: jurisdiction → region → provider → cluster → node, each table the next level.
    sh2 = fleet.nodes["sh-2"]
    steps = [({}, "region"), ({"region": "cn-shanghai"}, "provider"),
             ({"region": "cn-shanghai", "provider": str(sh2.organization_id)}, "cluster"),
             ({"region": "cn-shanghai", "provider": str(sh2.organization_id), "cluster": str(sh2.cluster_id)}, "node"),
             ({"node": str(sh2.id)}, "device")]
    for params, level in steps:
        page = client.get("/oversight/", {**MONTH, **params})
        assert page.status_code == 200
        assert f'data-dimension="{level}"' in page.content.decode()
    node_page = client.get("/oversight/", {**MONTH, "node": str(sh2.id)}).content.decode()
    devices = [d for d in inside if d["node"] == sh2.id]
    node_want = expected_kpis(devices, local_region_codes=JURISDICTION, customers=fleet.customers)
    assert _tile(node_page, "in_service_rate")[0] == kpi_display("in_service_rate", node_want["in_service_rate"])
    # other tenants appear only in aggregates: no customer name anywhere
    for customer in fleet.customers.values():
        assert customer.name not in node_page and customer.name not in html
    by_industry = client.get("/oversight/", {**MONTH, "by": "industry"}).content.decode()
    assert 'data-dimension="industry"' in by_industry and "Pudong AI" not in by_industry


@pytest.mark.parametrize("params, field", [
    ({"period": "fortnight"}, "period"),
    ({"period": "month", "start": "2026-13-01"}, "start"),
    ({"period": "custom", "start": "2026-11-10"}, "end"),
    ({"period": "custom", "start": "2026-11-10", "end": "2026-11-01"}, "end"),
    ({"period": "custom", "start": "2024-01-01", "end": "2026-01-01"}, "end"),
    ({"by": "colour"}, "by"),
    ({"node": "not-a-uuid"}, "node"),
    ({"vendor_class": "martian"}, "vendor_class"),
])
def test_bad_periods_and_filters_are_400_with_field_errors(db, api_as, as_user, params, field):
    government = OrganizationFactory(kind="government", name="Gov")
    auditor = MembershipFactory(organization=government, role=Role.AUDITOR).user
    response = api_as(auditor).get(f"/api/v1/organizations/{government.id}/oversight/breakdown/", params)
    assert response.status_code == 400
    assert field in str(response.json())
    page = as_user(auditor, government).get("/oversight/", params)
    assert page.status_code == 400
    assert f'data-field="{field}"' in page.content.decode()
    assert as_user(auditor, government).get("/oversight/export.xlsx", params).status_code == 400


def test_targets_colours_and_one_alert_when_red(fleet, api_as, as_user):
    period = period_build(kind="month", anchor=MONTH_START)
    auditor_api = api_as(fleet.auditor)
    # auditors read, admins set
    assert auditor_api.post(_api(fleet, "targets"), {"kpi": "utilization", "green_at": 0.6, "amber_at": 0.5},
                            format="json").status_code == 403
    admin = as_user(fleet.admin, fleet.government)
    bad = admin.post("/oversight/targets/", {"kpi": "utilization", "green_at": "50", "amber_at": "60"})
    assert bad.status_code == 400 and "Amber must not be above green" in bad.content.decode()
    # utilization of the month is far below 99 %: red; in-service rate above 50 %: green; allocation amber
    kpis = auditor_api.get(_api(fleet, "kpis"), MONTH).json()["kpis"]
    assert admin.post("/oversight/targets/", {"kpi": "utilization", "green_at": "99",
                                              "amber_at": "98"}).status_code == 302
    assert admin.post("/oversight/targets/", {"kpi": "in_service_rate", "green_at": "50",
                                              "amber_at": "40"}).status_code == 302
    allocation_pct = kpis["allocation_rate"] * 100
    assert api_as(fleet.admin).post(_api(fleet, "targets"), {
        "kpi": "allocation_rate", "green_at": (allocation_pct + 5) / 100, "amber_at": (allocation_pct - 5) / 100},
        format="json").status_code == 201
    statuses = auditor_api.get(_api(fleet, "kpis"), MONTH).json()["status"]
    assert statuses == {"utilization": "red", "in_service_rate": "green", "allocation_rate": "amber"}
    html = as_user(fleet.auditor, fleet.government).get("/oversight/", MONTH).content.decode()
    assert _tile(html, "utilization")[1] == "red"
    assert _tile(html, "in_service_rate")[1] == "green"
    assert _tile(html, "allocation_rate")[1] == "amber"
    assert _tile(html, "consumption_rate")[1] == "none"

    mail.outbox.clear()
    assert targets_check(organization=fleet.government, period=period) == 1
    assert targets_check(organization=fleet.government, period=period) == 0  # still red: no second alert
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert fleet.auditor.email in message.to and fleet.admin.email in message.to
    assert "Measured utilization" in message.body and "实测利用率" in message.body
    first = as_user(fleet.auditor, fleet.government).get("/oversight/", MONTH).content.decode()
    assert first.count('class="flash flash-error kpi-alert"') == 1
    again = as_user(fleet.auditor, fleet.government).get("/oversight/", MONTH).content.decode()
    assert "kpi-alert" not in again  # shown once, not on every refresh


def test_excel_and_csv_downloads(fleet, as_user):
    from io import BytesIO

    from openpyxl import load_workbook

    client = as_user(fleet.auditor, fleet.government)
    xlsx = client.get("/oversight/export.xlsx", {**MONTH, "by": "provider"})
    assert xlsx.status_code == 200
    sheet = load_workbook(BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert "in_service_rate" in " ".join(str(c) for c in rows[1])
    assert {row[0] for row in rows[2:]} == {"Ascend Cloud", "East Compute"}
    csv_body = client.get("/oversight/export.csv", {**MONTH, "by": "region"}).content.decode("utf-8-sig")
    assert "cn-shanghai" in csv_body and "cn-suzhou" in csv_body and "cn-beijing" not in csv_body
    assert date(2026, 11, 1).isoformat() in csv_body


def test_settlement_gates_hook(fleet, api_as):
    api = api_as(fleet.auditor)
    kpis = api.get(_api(fleet, "kpis"), MONTH).json()["kpis"]
    body = api.get(_api(fleet, "settlement-gates"), {**MONTH, "gate.utilization": 0.99,
                                                     "gate.in_service_rate": 0.5}).json()
    assert body["kpis"] == kpis
    assert body["gates"]["utilization"] == {"minimum": 0.99, "value": kpis["utilization"], "met": False}
    assert body["gates"]["in_service_rate"]["met"] is True
    assert body["all_met"] is False
    bad = api.get(_api(fleet, "settlement-gates"), {**MONTH, "gate.happiness": 1})
    assert bad.status_code == 400 and "gates" in str(bad.json())
    assert api.get(_api(fleet, "settlement-gates"), {**MONTH, "gate.utilization": "lots"}).status_code == 400
    assert api_as(fleet.other_auditor).get(_api(fleet, "settlement-gates"), MONTH).status_code == 404


def test_monthly_pdf_report(fleet, as_user, api_as):
    api_as(fleet.admin).post(_api(fleet, "targets"), {"kpi": "utilization", "green_at": 0.99, "amber_at": 0.9},
                             format="json")
    response = as_user(fleet.auditor, fleet.government).get("/oversight/report.pdf", MONTH)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert as_user(fleet.other_auditor, fleet.other_government).get(
        "/oversight/report.pdf", {**MONTH, "region": "cn-shanghai"}).status_code == 404
    assert as_user(fleet.auditor, fleet.government).get("/oversight/report.pdf",
                                                        {"period": "fortnight"}).status_code == 400


def test_api_series_every_day_equals_plain_python(fleet, api_as):
    from tests.oversight.fleet import at

    days = api_as(fleet.auditor).get(_api(fleet, "series"), MONTH).json()["days"]
    assert [day["day"] for day in days] == [f"2026-11-{n:02d}" for n in range(1, 31)]
    for number, day in enumerate(days, start=1):
        expected = expected_month(fleet, start=at(number), end=at(number + 1))
        inside = [d for d in expected.values() if d["region"] in JURISDICTION]
        assert_kpis_equal(day["kpis"], expected_kpis(inside, local_region_codes=JURISDICTION,
                                                     customers=fleet.customers))


def test_pages_in_chinese_and_without_data(db, as_user):
    government = OrganizationFactory(kind="government", name="Gov")
    auditor = MembershipFactory(organization=government, role=Role.AUDITOR).user
    client = as_user(auditor, government)
    english = client.get("/oversight/").content.decode()
    assert "No data for this period yet" in english
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get("/oversight/").content.decode()
    assert "在役率" in chinese and "消纳率" in chinese and "该时段暂无数据" in chinese
    assert "指标目标" in client.get("/oversight/targets/").content.decode()
