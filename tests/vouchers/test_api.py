"""The voucher REST API: operators run programmes and decide applications; customers apply and see their
grants and voucher lines. Bad input is a 400 with field errors, never a 500."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.vouchers.models import Application, Program
from tests.vouchers.conftest import make_enterprise, make_program

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def base(org) -> str:
    return f"/api/v1/organizations/{org.pk}/"


def test_an_operator_creates_versions_publishes_and_opens_a_programme(gov, api_as):
    client = api_as(gov.admin)
    response = client.post(base(gov.organization) + "voucher-programs/", {
        "name": "Shanghai vouchers", "name_zh": "上海算力券", "budget_fen": 100_000_000,
        "valid_from": "2026-01-01", "valid_until": "2029-01-01"}, format="json")
    assert response.status_code == 201, response.content
    program_id = response.json()["id"]
    url = base(gov.organization) + f"voucher-programs/{program_id}/"
    response = client.post(url + "versions/", {
        "effective_from": "2027-01-01T00:00:00+08:00", "taper_basis": "grant_age", "annual_cap_fen": 200_000_000,
        "steps": [{"rate_bp": 5000, "starts_after_months": 0}, {"rate_bp": 3000, "starts_after_months": 12},
                  {"rate_bp": 10000, "starts_after_months": 0, "size_class": "startup"}],
        "compute_regions": ["cn-shanghai"], "vendors": ["huawei", "nvidia"]}, format="json")
    assert response.status_code == 201, response.content
    assert client.post(url + "versions/1/publish/").status_code == 200
    assert client.post(url + "versions/1/publish/").status_code == 400  # already frozen
    response = client.post(url + "transition/", {"action": "open"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "open"
    detail = client.get(url).json()
    assert detail["burn_down"]["left_fen"] == 100_000_000
    assert [s["rate_bp"] for s in detail["versions"][0]["steps"]] == [5000, 3000, 10000]
    response = client.post(url + "transition/", {"action": "kill"}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["error"]["fields"]
    assert client.post(url + "transition/", {"action": "kill", "reason": "fraud"}, format="json").json()["killed_at"]


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "name_zh": "x", "budget_fen": 0, "valid_from": "2026-01-01", "valid_until": "2027-01-01"},
     "budget_fen"),
    ({"name": "x", "name_zh": "x", "budget_fen": "lots", "valid_from": "2026-01-01", "valid_until": "2027-01-01"},
     "budget_fen"),
    ({"name": "x", "name_zh": "x", "budget_fen": 10, "valid_from": "2027-01-01", "valid_until": "2026-01-01"},
     "valid_until"),
    ({"name": "x", "name_zh": "x", "budget_fen": 10, "valid_from": "not a date", "valid_until": "2026-01-01"},
     "valid_from"),
    ({"name": "x", "name_zh": "x", "budget_fen": 10, "valid_from": "2026-01-01", "valid_until": "2027-01-01",
      "redemption_mode": "kpi"}, "redemption_mode"),
])
def test_bad_programme_input_is_400_with_the_field(gov, api_as, body, field):
    response = api_as(gov.admin).post(base(gov.organization) + "voucher-programs/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Program.objects.exists()


@pytest.mark.parametrize("version, field", [
    ({"effective_from": "2027-01-01T00:00:00+08:00", "taper_basis": "grant_age", "steps": []}, "steps"),
    ({"effective_from": "2027-01-01T00:00:00+08:00", "taper_basis": "grant_age",
      "steps": [{"rate_bp": 20000, "starts_after_months": 0}]}, "steps"),
    ({"effective_from": "2027-01-01T00:00:00+08:00", "taper_basis": "sideways",
      "steps": [{"rate_bp": 100, "starts_after_months": 0}]}, "taper_basis"),
    ({"effective_from": "2027-01-01T00:00:00+08:00", "taper_basis": "grant_age",
      "steps": [{"rate_bp": 100, "starts_after_months": 0}], "compute_regions": ["cn-beijing"]}, "compute_regions"),
    ({"effective_from": "2027-01-01T00:00:00+08:00", "taper_basis": "grant_age",
      "steps": [{"rate_bp": 100, "starts_after_months": 0}], "vendors": ["acme"]}, "vendors"),
    ({"effective_from": "2027-01-01T00:00:00+08:00", "taper_basis": "calendar",
      "steps": [{"rate_bp": 100, "starts_after_months": 0}]}, "steps"),
    ({"steps": "nonsense"}, "steps"),
])
def test_bad_rule_versions_are_400(gov, api_as, version, field):
    program = make_program(gov, open_it=False)
    response = api_as(gov.admin).post(base(gov.organization) + f"voucher-programs/{program.pk}/versions/", version,
                                      format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_a_customer_applies_with_an_attachment_and_the_operator_approves(gov, api_as):
    program = make_program(gov)
    firm = make_enterprise("API Firm", 21)
    client = api_as(firm.admin)
    assert [p["id"] for p in client.get(base(firm.organization) + "voucher-programs/open/").json()["results"]] == [
        str(program.pk)]
    response = client.post(base(firm.organization) + "voucher-applications/", {
        "program": str(program.pk), "description": "LLM pretraining", "requested_fen": 500_000,
        "attachment": SimpleUploadedFile("plan.pdf", b"%PDF plan")}, format="multipart")
    assert response.status_code == 201, response.content
    application_id = response.json()["id"]
    assert response.json()["has_attachment"] is True
    operator = api_as(gov.admin)
    queue = operator.get(base(gov.organization) + "voucher-applications/").json()["results"]
    assert [a["id"] for a in queue] == [application_id]
    decision = base(gov.organization) + f"voucher-applications/{application_id}/decision/"
    response = operator.post(decision, {"decision": "approve", "amount_fen": 400_000}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["error"]["fields"]
    response = operator.post(decision, {"decision": "approve", "reason": "ok", "amount_fen": 400_000,
                                        "starts_on": "2026-02-01"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "approved"
    grants = client.get(base(firm.organization) + "voucher-grants/").json()
    assert len(grants) == 1 and grants[0]["balance_fen"] == 400_000 and grants[0]["program"] == str(program.pk)
    assert client.get(base(firm.organization) + "voucher-lines/").json() == []


def test_bad_application_input_is_400(gov, api_as):
    program = make_program(gov)
    firm = make_enterprise("Sloppy", 22)
    url = base(firm.organization) + "voucher-applications/"
    client = api_as(firm.admin)
    for body in ({"program": str(program.pk), "description": "", "requested_fen": 5},
                 {"program": str(program.pk), "description": "x", "requested_fen": -1},
                 {"program": "not-a-uuid", "description": "x", "requested_fen": 5},
                 {"program": str(program.pk), "description": "x", "requested_fen": 5,
                  "attachment": SimpleUploadedFile("virus.exe", b"MZ")}):
        response = client.post(url, body, format="multipart")
        assert response.status_code == 400, (body, response.content)
    assert not Application.objects.exists()


def test_the_openapi_schema_lists_the_voucher_endpoints(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = set(schema["paths"])
    assert "/api/v1/organizations/{organization_id}/voucher-programs/" in paths
    assert "/api/v1/organizations/{organization_id}/voucher-grants/" in paths
