"""Billing pages and API: public prices, usage, invoices (page, PDF, CSV), statements; every one scoped
to its organization, with bad input answered 4xx."""

import re
import zlib
from datetime import date

import pytest
from django.urls import reverse

from apps.billing.invoicing import invoice_issue
from tests.billing.conftest import fund, local

pytestmark = pytest.mark.django_db
MARCH = date(2026, 3, 1)


@pytest.fixture
def invoiced(customer, agent, place):
    """A March invoice for the customer: one half-T4 run of 30 minutes."""
    fund(customer.organization, 10_000)
    _workload, assignment = place(name="resnet")
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 0))
    agent.report(assignment, "stopped", finished_at=local(2026, 3, 10, 9, 30))
    return invoice_issue(organization=customer.organization, period_start=MARCH, now=local(2026, 4, 1, 1, 0))


# --- public prices ----------------------------------------------------------------------------------------

def test_the_pricing_page_is_public_and_explains_the_formula(client):
    response = client.get(reverse("billing:pricing"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "NVIDIA A100 80GB" in body and "¥14" in body
    assert "larger of its compute share and its memory share" in body
    assert "half-up" in body


def test_the_pricing_page_filters_and_ignores_unknown_filters(client):
    response = client.get(reverse("billing:pricing"), {"region": "cn-guian", "mode": "spot"})
    assert response.status_code == 200
    assert len(response.context["rows"]) == 16
    assert client.get(reverse("billing:pricing"), {"region": "nowhere", "mode": "free"}).status_code == 200


def test_the_pricing_page_reads_in_chinese(client):
    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("billing:pricing"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "价格" in response.content.decode()


def test_the_price_list_api_is_public(api):
    response = api.get("/api/v1/prices/", {"region": "cn-suzhou", "billing_mode": "on_demand"})
    assert response.status_code == 200
    assert {row["accelerator_model"] for row in response.json()} >= {"nvidia-t4", "nvidia-h100-80gb"}
    assert len(response.json()) == 16


# --- quotes ---------------------------------------------------------------------------------------------

def test_a_member_gets_a_quote_with_the_formula(api_as, customer):
    response = api_as(customer.viewer).get(
        f"/api/v1/organizations/{customer.organization.id}/price-quote/",
        {"accelerator_model": "nvidia-t4", "region": "cn-suzhou", "gpu_milli": 250, "gpu_memory_mib": 8192})
    assert response.status_code == 200, response.json()
    assert response.json()["hourly"] == "1.000000" and "0.5" in response.json()["formula"]


@pytest.mark.parametrize("params, field", [
    ({"region": "cn-suzhou", "gpu_count": 1}, "accelerator_model"),
    ({"accelerator_model": "nvidia-x", "region": "cn-suzhou", "gpu_count": 1}, "accelerator_model"),
    ({"accelerator_model": "nvidia-t4", "region": "cn-suzhou", "gpu_milli": 1000}, "gpu_milli"),
    ({"accelerator_model": "nvidia-t4", "region": "cn-suzhou", "gpu_count": 1, "gpu_milli": 5}, "gpu_count"),
    ({"accelerator_model": "nvidia-t4", "region": "cn-suzhou", "profile": "3g.40gb"}, "profile"),
    ({"accelerator_model": "nvidia-t4", "region": "cn-suzhou", "gpu_count": 1, "billing_mode": "free"},
     "billing_mode"),
    ({"accelerator_model": "nvidia-t4", "region": "cn-suzhou", "gpu_count": "two"}, "gpu_count"),
])
def test_a_bad_quote_request_is_a_field_error(api_as, customer, params, field):
    response = api_as(customer.member).get(f"/api/v1/organizations/{customer.organization.id}/price-quote/", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_another_tenant_cannot_quote_for_an_organization(api_as, customer, other_tenant):
    response = api_as(other_tenant.owner).get(f"/api/v1/organizations/{customer.organization.id}/price-quote/",
                                              {"accelerator_model": "nvidia-t4", "region": "cn-suzhou",
                                               "gpu_count": 1})
    assert response.status_code == 404


# --- usage ----------------------------------------------------------------------------------------------

def test_the_usage_page_shows_the_month_by_day_and_by_workload(as_user, customer, invoiced):
    response = as_user(customer.viewer, customer.organization).get(reverse("billing:usage"), {"month": "2026-03"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "resnet" in body and "usage-chart" in body and "chart-4.6.1.umd.min.js" in body
    # 1800 s × ¥1.05/h = 52.5 fen → 53 on the invoice line
    assert response.context["preview"].usage_fen == 0  # already invoiced: nothing left to preview
    assert [w.amount_fen for w in response.context["workloads"]] == [53]


def test_the_usage_page_without_usage_says_what_to_do(as_user, customer):
    response = as_user(customer.member, customer.organization).get(reverse("billing:usage"))
    assert response.status_code == 200
    assert "No usage in this month yet" in response.content.decode()


def test_a_bad_month_on_the_usage_page_is_a_400_with_a_message(as_user, customer):
    response = as_user(customer.member, customer.organization).get(reverse("billing:usage"), {"month": "2026-13"})
    assert response.status_code == 400
    assert "YYYY-MM" in response.content.decode()


def test_another_tenant_sees_only_its_own_usage(as_user, other_tenant, invoiced):
    response = as_user(other_tenant.owner, other_tenant.organization).get(reverse("billing:usage"),
                                                                          {"month": "2026-03"})
    assert response.status_code == 200
    assert response.context["workloads"] == [] and "resnet" not in response.content.decode()


def test_the_usage_api_gives_days_and_workloads(api_as, customer, invoiced):
    response = api_as(customer.viewer).get(f"/api/v1/organizations/{customer.organization.id}/usage/",
                                           {"month": "2026-03"})
    assert response.status_code == 200
    days = {day["date"]: day["amount_fen"] for day in response.json()["days"]}
    assert days["2026-03-10"] == 53 and sum(days.values()) == 53
    assert response.json()["workloads"][0]["name"] == "resnet"


def test_the_usage_api_refuses_a_bad_month_and_strangers(api_as, customer, other_tenant):
    url = f"/api/v1/organizations/{customer.organization.id}/usage/"
    bad = api_as(customer.owner).get(url, {"month": "March"})
    assert bad.status_code == 400 and "month" in bad.json()["error"]["fields"]
    assert api_as(other_tenant.owner).get(url).status_code == 404


# --- invoices -------------------------------------------------------------------------------------------

def test_the_invoice_pages_show_lines_rounding_and_title(as_user, customer, invoiced):
    client = as_user(customer.viewer, customer.organization)
    listing = client.get(reverse("billing:invoice_list"))
    assert invoiced.number in listing.content.decode()
    detail = client.get(reverse("billing:invoice_detail", args=[invoiced.pk]))
    body = detail.content.decode()
    assert detail.status_code == 200
    assert "resnet" in body and "half-up" in body and "¥0.53" in body


def test_the_invoice_pdf_is_a_pdf_with_embedded_chinese_fonts(as_user, customer, invoiced):
    client = as_user(customer.owner, customer.organization)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("billing:invoice_pdf", args=[invoiced.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert b"Noto-Sans-CJK-SC" in _pdf_objects(response.content)  # the Chinese font is embedded


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF with its compressed streams inflated (WeasyPrint packs font dictionaries in object streams)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"".join(parts)


def test_the_invoice_csv_has_one_row_per_line_and_the_total(as_user, customer, invoiced):
    response = as_user(customer.viewer, customer.organization).get(reverse("billing:invoice_csv",
                                                                           args=[invoiced.pk]))
    rows = response.content.decode("utf-8-sig").strip().splitlines()
    assert response.status_code == 200
    assert "half-up" in rows[0]
    assert rows[2].split(",")[2] == "resnet" and rows[2].endswith(",53")
    assert rows[-1].startswith("total") and rows[-1].endswith(",53")


def test_another_tenant_cannot_open_an_invoice(as_user, other_tenant, invoiced):
    client = as_user(other_tenant.owner, other_tenant.organization)
    for name in ("billing:invoice_detail", "billing:invoice_pdf", "billing:invoice_csv"):
        assert client.get(reverse(name, args=[invoiced.pk])).status_code == 404
    assert invoiced.number not in client.get(reverse("billing:invoice_list")).content.decode()
    assert client.get("/billing/invoices/not-a-uuid/").status_code == 404


def test_the_invoice_api_lists_and_details_only_own_invoices(api_as, customer, other_tenant, invoiced):
    base = f"/api/v1/organizations/{customer.organization.id}/invoices/"
    listing = api_as(customer.viewer).get(base)
    assert [row["number"] for row in listing.json()["results"]] == [invoiced.number]
    detail = api_as(customer.viewer).get(f"{base}{invoiced.pk}/")
    assert detail.json()["total_fen"] == 53 and detail.json()["lines"][0]["amount_fen"] == 53
    assert api_as(other_tenant.owner).get(base).status_code == 404
    assert api_as(other_tenant.owner).get(f"{base}{invoiced.pk}/").status_code == 404
    other_base = f"/api/v1/organizations/{other_tenant.organization.id}/invoices/"
    assert api_as(other_tenant.owner).get(f"{other_base}{invoiced.pk}/").status_code == 404


# --- provider statements --------------------------------------------------------------------------------

def test_the_provider_sees_its_earnings_per_cluster_and_model(as_user, provider, invoiced):
    client = as_user(provider.viewer, provider.organization)
    response = client.get(reverse("billing:statement"), {"month": "2026-03"})
    assert response.status_code == 200
    [line] = response.context["lines"]
    # 1800 s × ¥0.8925/h (85 % of ¥1.05) = 44.625 fen → 45
    assert (line.cluster, line.accelerator_model, line.customer_fen, line.earnings_fen) == (
        "sh-a", "NVIDIA T4 16GB", 53, 45)
    csv_rows = client.get(reverse("billing:statement_csv"), {"month": "2026-03"}).content.decode("utf-8-sig")
    assert "sh-a,cn-shanghai,NVIDIA T4 16GB" in csv_rows and csv_rows.strip().endswith(",53,45,45")


def test_statements_are_not_for_customers_nor_other_providers(as_user, api_as, customer, other_provider, invoiced):
    assert as_user(customer.owner, customer.organization).get(reverse("billing:statement")).status_code == 404
    response = as_user(other_provider.owner, other_provider.organization).get(reverse("billing:statement"),
                                                                              {"month": "2026-03"})
    assert response.context["lines"] == []
    url = f"/api/v1/organizations/{customer.organization.id}/statements/"
    assert api_as(customer.owner).get(url).status_code == 404
    bad = api_as(other_provider.owner).get(f"/api/v1/organizations/{other_provider.organization.id}/statements/",
                                           {"month": "2026-3"})
    assert bad.status_code == 400


def test_a_bad_month_on_the_statement_csv_is_a_400(as_user, provider):
    response = as_user(provider.owner, provider.organization).get(reverse("billing:statement_csv"),
                                                                  {"month": "x"})
    assert response.status_code == 400


def test_the_month_so_far_previews_the_invoice_of_that_month_only(as_user, customer, agent, place):
    fund(customer.organization, 10_000)
    for name, start, end in [("feb", local(2026, 2, 10, 9), local(2026, 2, 10, 10)),
                             ("mar", local(2026, 3, 10, 9), local(2026, 3, 10, 11))]:
        _workload, assignment = place(name=name)
        agent.report(assignment, "running", started_at=start)
        agent.report(assignment, "stopped", finished_at=end)
    response = as_user(customer.viewer, customer.organization).get(reverse("billing:usage"), {"month": "2026-03"})
    # only March's 2 h × ¥1.05
    assert response.context["preview"].usage_fen == 210
    assert [w.name for w in response.context["workloads"]] == ["mar"]
