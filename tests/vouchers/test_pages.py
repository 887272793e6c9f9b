"""Voucher pages, in both languages: the operator's programmes, versions, state buttons and queue; the
customer's grants, voucher lines and application form. Bad form input is a form error (400)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.vouchers.models import Application, Grant, Program
from tests.billing.conftest import fund
from tests.vouchers.conftest import clone_record, local, make_enterprise, make_grant, make_program
from tests.vouchers.test_charging import charge

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_an_operator_creates_a_programme_with_a_taper_and_opens_it_in_the_portal(gov, as_user):
    client = as_user(gov.admin, gov.organization)
    response = client.post("/vouchers/programs/new/", {"name": "Portal vouchers", "name_zh": "门户算力券",
                                                       "budget": "1000000", "valid_from": "2026-01-01",
                                                       "valid_until": "2029-01-01"})
    program = Program.objects.get()
    assert response.status_code == 302 and program.budget_fen == 100_000_000
    response = client.post(f"/vouchers/programs/{program.pk}/versions/", {
        "effective_from": "2030-01-01T00:00", "taper_basis": "grant_age", "steps": "50 0\n30 12\n100% 0 startup",
        "annual_cap": "2000000"})
    assert response.status_code == 302, response.content.decode()[:3000]
    version = program.versions.get()
    assert [(s.rate_bp, s.starts_after_months, s.size_class) for s in version.steps.all()] == [
        (5000, 0, ""), (3000, 12, ""), (10000, 0, "startup")]
    assert client.post(f"/vouchers/programs/{program.pk}/versions/1/publish/").status_code == 302
    assert client.post(f"/vouchers/programs/{program.pk}/action/", {"action": "open"}).status_code == 302
    program.refresh_from_db()
    assert program.state == "open"
    page = client.get(f"/vouchers/programs/{program.pk}/").content.decode()
    assert "Budget burn-down" in page and "¥1,000,000.00" in page and "50 %" in page
    assert "Portal vouchers" in client.get("/vouchers/").content.decode()


def test_bad_portal_input_is_a_form_error(gov, as_user):
    client = as_user(gov.admin, gov.organization)
    response = client.post("/vouchers/programs/new/", {"name": "", "budget": "-3", "valid_from": "2027-01-01",
                                                       "valid_until": "2026-01-01"})
    assert response.status_code == 400 and not Program.objects.exists()
    program = make_program(gov, open_it=False)
    response = client.post(f"/vouchers/programs/{program.pk}/versions/", {
        "effective_from": "2030-01-01T00:00", "taper_basis": "grant_age", "steps": "fifty percent"})
    assert response.status_code == 400 and "Line 1" in response.content.decode()
    response = client.post(f"/vouchers/programs/{program.pk}/action/", {"action": "kill", "reason": ""})
    assert response.status_code == 400


def test_a_customer_applies_and_the_operator_decides_in_the_portal(gov, as_user):
    program = make_program(gov)
    firm = make_enterprise("Portal Firm", 41)
    client = as_user(firm.admin, firm.organization)
    assert "Apply" in client.get("/vouchers/").content.decode()
    response = client.post(f"/vouchers/programs/{program.pk}/apply/", {
        "description": "Protein folding", "requested": "5000",
        "attachment": SimpleUploadedFile("plan.pdf", b"%PDF")})
    application = Application.objects.get()
    assert response.status_code == 302 and application.requested_fen == 500_000
    operator = as_user(gov.admin, gov.organization)
    assert "Portal Firm" in operator.get("/vouchers/applications/").content.decode()
    response = operator.post(f"/vouchers/applications/{application.pk}/", {"decision": "approve", "reason": ""})
    assert response.status_code == 400
    response = operator.post(f"/vouchers/applications/{application.pk}/", {
        "decision": "approve", "reason": "Good project", "amount": "4000", "starts_on": "2026-02-01"})
    assert response.status_code == 302
    assert Grant.objects.get().amount_fen == 400_000


def test_the_customer_sees_rate_next_step_caps_and_the_voucher_line_in_both_languages(
        gov, enterprise, template_record, as_user):
    program = make_program(gov, annual_cap_fen=200_000_000)
    make_grant(program, enterprise, amount_fen=1_000_000)
    fund(enterprise.organization, 100_000)
    charge(clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800))
    client = as_user(enterprise.admin, enterprise.organization)
    page = client.get("/vouchers/").content.decode()
    assert "My grants" in page and "¥9,991.00" in page  # ¥10,000 − ¥9 left of the grant
    assert "¥9.00" in page  # the voucher paid 900 fen of the 1,800 charge
    client.cookies["django_language"] = "zh-hans"
    page = client.get("/vouchers/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "我的算力券" in page and "上海算力券" in page


def test_the_usage_page_and_the_invoice_show_what_vouchers_paid(gov, enterprise, template_record, as_user):
    from datetime import date

    from apps.billing.invoicing import invoice_issue

    program = make_program(gov)
    make_grant(program, enterprise)
    fund(enterprise.organization, 100_000)
    charge(clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800))  # voucher 900 of 1,800
    client = as_user(enterprise.admin, enterprise.organization)
    page = client.get("/billing/usage/?month=2026-04").content.decode()
    assert 'id="usage-vouchers"' in page and "¥9.00" in page
    invoice = invoice_issue(organization=enterprise.organization, period_start=date(2026, 4, 1))
    page = client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert 'id="invoice-vouchers"' in page and "¥9.00" in page
    assert client.get(f"/billing/invoices/{invoice.pk}/pdf/").status_code == 200
