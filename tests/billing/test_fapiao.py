"""发票 requests on invoices: the customer asks (title and tax id from the profile, editable), staff issue
(number and date) or reject (reason); shown on the invoice page; API; cross-tenant 404; staff-only 404."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.billing.fapiao import fapiao_request_create
from apps.billing.models import CustomerTier, FapiaoRequest, Invoice, VolumeScheme
from tests.conftest import make_tenant
from tests.factories import UserFactory

TAX_ID = "91310000MA1FL0TG7X"


def make_invoice(organization, total_fen=12_345, number="INV-202611-0001") -> Invoice:
    organization.invoice_title = "上海潮汐智能科技有限公司"
    organization.tax_id = TAX_ID
    organization.save(update_fields=["invoice_title", "tax_id"])
    return Invoice.objects.create(
        organization=organization, number=number, period_start=datetime.date(2026, 10, 1),
        period_end=datetime.date(2026, 11, 1), issued_at=timezone.now() - datetime.timedelta(days=5),
        customer_name=organization.name, customer_tier=CustomerTier.values[0], volume_scheme=VolumeScheme.values[0],
        usage_fen=total_fen, total_fen=total_fen)


def api_url(invoice, path=""):
    return f"/api/v1/organizations/{invoice.organization_id}/invoices/{invoice.pk}/fapiao/{path}"


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


@pytest.mark.django_db
def test_a_customer_requests_a_fapiao_on_the_invoice_page_and_staff_issue_it(as_user, tenant, staff, client):
    invoice = make_invoice(tenant.organization)
    customer = as_user(tenant.admin, tenant.organization)
    page = customer.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert TAX_ID in page and "上海潮汐智能科技有限公司" in page  # prefilled from the profile

    bad = customer.post(f"/billing/invoices/{invoice.pk}/fapiao/", {"kind": "special", "title": "X",
                                                                    "tax_id": "not-a-tax-id"})
    assert bad.status_code == 400 and not FapiaoRequest.objects.exists()
    response = customer.post(f"/billing/invoices/{invoice.pk}/fapiao/",
                             {"kind": "special", "title": "潮汐智能（上海）分公司", "tax_id": TAX_ID.lower()})
    assert response.status_code == 302
    fapiao = FapiaoRequest.objects.get()
    assert (fapiao.kind, fapiao.title, fapiao.tax_id, fapiao.amount_fen) == ("special", "潮汐智能（上海）分公司",
                                                                             TAX_ID, 12_345)
    page = customer.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "Requested" in page and 'id="fapiao-form"' not in page  # one open request per invoice

    client.force_login(staff)
    assert invoice.number in client.get("/staff/fapiao/").content.decode()
    bad = client.post(f"/staff/fapiao/{fapiao.pk}/", {"issue-fapiao_number": "12ab", "issue-issued_on": "2026-11-30"})
    assert bad.status_code == 400
    today = timezone.localdate().isoformat()
    assert client.post(f"/staff/fapiao/{fapiao.pk}/", {"issue-fapiao_number": "26312000000012345678",
                                                       "issue-issued_on": today}).status_code == 302
    fapiao.refresh_from_db()
    assert fapiao.state == "issued" and fapiao.fapiao_number == "26312000000012345678"
    page = as_user(tenant.viewer, tenant.organization).get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "26312000000012345678" in page and "Issued" in page
    assert list(AuditEvent.objects.filter(action__startswith="billing.fapiao").values_list("action", flat=True)
                .order_by("seq")) == ["billing.fapiao_requested", "billing.fapiao_issued"]


@pytest.mark.django_db
def test_the_api_requests_with_profile_defaults_and_staff_reject_then_the_customer_asks_again(api_as, tenant,
                                                                                              staff):
    invoice = make_invoice(tenant.organization)
    customer = api_as(tenant.owner)
    created = customer.post(api_url(invoice), {"kind": "ordinary"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["title"], body["tax_id"], body["state"]) == ("上海潮汐智能科技有限公司", TAX_ID, "requested")
    again = customer.post(api_url(invoice), {"kind": "ordinary"}, format="json")
    assert again.status_code == 400 and "invoice" in again.json()["error"]["fields"]

    staff_api = api_as(staff)
    missing_reason = staff_api.post(f"/api/v1/staff/fapiao/{body['id']}/reject/", {}, format="json")
    assert missing_reason.status_code == 400 and "reason" in str(missing_reason.json())
    rejected = staff_api.post(f"/api/v1/staff/fapiao/{body['id']}/reject/", {"reason": "税号与名称不符"},
                              format="json")
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    issue_after_reject = staff_api.post(f"/api/v1/staff/fapiao/{body['id']}/issue/",
                                        {"fapiao_number": "12345678", "issued_on": timezone.localdate().isoformat()},
                                        format="json")
    assert issue_after_reject.status_code == 400

    second = customer.post(api_url(invoice), {"kind": "ordinary", "tax_id": "91310000MA1FL0TG8Y"}, format="json")
    assert second.status_code == 201 and second.json()["tax_id"] == "91310000MA1FL0TG8Y"
    listed = api_as(tenant.viewer).get(api_url(invoice)).json()
    assert sorted(r["state"] for r in listed) == ["rejected", "requested"]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "gold"}, "kind"),
    ({"kind": "ordinary", "tax_id": "123"}, "tax_id"),
    ({"kind": "ordinary", "title": "   "}, "title"),
])
def test_bad_fapiao_input_is_a_400_with_the_field(api_as, tenant, body, field):
    invoice = make_invoice(tenant.organization)
    response = api_as(tenant.owner).post(api_url(invoice), body, format="json")
    assert response.status_code == 400 and field in str(response.json())
    assert not FapiaoRequest.objects.exists()


@pytest.mark.django_db
def test_other_tenants_and_non_staff_get_404(api_as, as_user, tenant, other_tenant, staff):
    invoice = make_invoice(tenant.organization)
    fapiao = fapiao_request_create(actor=tenant.actor("owner"), invoice=invoice, kind="ordinary", title="T",
                                   tax_id=TAX_ID)
    stranger = api_as(other_tenant.owner)
    assert stranger.get(api_url(invoice)).status_code == 404
    assert stranger.post(api_url(invoice), {"kind": "ordinary"}, format="json").status_code == 404
    # The stranger's own organization id with this invoice: still 404.
    foreign = f"/api/v1/organizations/{other_tenant.organization.pk}/invoices/{invoice.pk}/fapiao/"
    assert stranger.get(foreign).status_code == 404
    page = as_user(other_tenant.owner, other_tenant.organization)
    assert page.post(f"/billing/invoices/{invoice.pk}/fapiao/", {"kind": "ordinary", "title": "T",
                                                                 "tax_id": TAX_ID}).status_code == 404
    for user in (tenant.owner, other_tenant.owner):
        client = api_as(user)
        assert client.post(f"/api/v1/staff/fapiao/{fapiao.pk}/issue/", {"fapiao_number": "12345678",
                                                                        "issued_on": "2026-11-30"},
                           format="json").status_code == 404
        assert client.post(f"/api/v1/staff/fapiao/{fapiao.pk}/reject/", {"reason": "x"},
                           format="json").status_code == 404
        web = as_user(user)
        assert web.get("/staff/fapiao/").status_code == 404
        assert web.get(f"/staff/fapiao/{fapiao.pk}/").status_code == 404
    # Members and viewers of the invoice's own organization may look, not request.
    assert api_as(tenant.member).post(api_url(invoice), {"kind": "ordinary"}, format="json").status_code == 403
    fapiao.refresh_from_db()
    assert fapiao.state == "requested"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_for_one_invoice_make_one():
    tenant = make_tenant(name="Fapiao Race")
    invoice = make_invoice(tenant.organization, number="INV-RACE-1")
    barrier, outcomes = threading.Barrier(4), []

    def worker():
        try:
            barrier.wait()
            fapiao_request_create(actor=tenant.actor("owner"), invoice=invoice, kind="ordinary", title="T",
                                  tax_id=TAX_ID)
            outcomes.append("created")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ValidationError"] * 3 + ["created"]
    assert FapiaoRequest.objects.filter(invoice=invoice).count() == 1
