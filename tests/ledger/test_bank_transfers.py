"""Corporate bank transfers (对公转账): the remittance reference on the wallet, staff recording a received
transfer (page and API, staff only), credited once however often or concurrently it is recorded."""

import datetime
import threading

import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.ledger.bank_transfers import bank_transfer_record, remittance_reference_get
from apps.ledger.models import BankTransfer, LedgerTransaction
from apps.ledger.selectors import wallet_balance
from apps.tenancy.access import Actor
from tests.conftest import make_tenant
from tests.factories import UserFactory

TODAY = datetime.date.today()


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


def record(client, **overrides):
    body = {"remittance_reference": "", "amount_fen": 250_000, "bank_reference": "CMB20261201-0001",
            "value_date": TODAY.isoformat(), **overrides}
    return client.post("/api/v1/staff/bank-transfers/", body, format="json")


@pytest.mark.django_db
def test_the_wallet_shows_a_stable_reference_and_the_platforms_bank_account(as_user, tenant, other_tenant,
                                                                              settings):
    settings.TIDEGRID_BANK_ACCOUNT_NUMBER = "6222 1234 5678"
    settings.TIDEGRID_BANK_NAME = "Example Bank"
    reference = remittance_reference_get(organization=tenant.organization)
    assert reference == remittance_reference_get(organization=tenant.organization)
    assert reference != remittance_reference_get(organization=other_tenant.organization)
    page = as_user(tenant.viewer, tenant.organization).get("/wallet/").content.decode()
    assert reference in page and "6222 1234 5678" in page and "Example Bank" in page


@pytest.mark.django_db
def test_staff_record_a_transfer_through_the_api_and_it_is_credited_once(api_as, tenant, staff):
    reference = remittance_reference_get(organization=tenant.organization)
    client = api_as(staff)
    first = record(client, remittance_reference=reference.lower())  # as typed from a remark
    assert first.status_code == 201, first.content
    assert first.json()["amount_fen"] == 250_000 and first.json()["organization"] == str(tenant.organization.pk)
    again = record(client, remittance_reference=reference)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert wallet_balance(organization=tenant.organization) == 250_000
    assert LedgerTransaction.objects.filter(kind="bank_transfer", organization=tenant.organization).count() == 1
    assert AuditEvent.objects.filter(action="ledger.bank_transfer_recorded").count() == 1

    # The same bank reference with another amount is a mistake: refused, nothing written.
    conflict = record(client, remittance_reference=reference, amount_fen=1)
    assert conflict.status_code == 400 and "bank_reference" in str(conflict.json())
    assert wallet_balance(organization=tenant.organization) == 250_000

    # The customer sees it in the wallet API and the list (their own organization only).
    listed = api_as(tenant.viewer).get(f"/api/v1/organizations/{tenant.organization.pk}/bank-transfers/").json()
    assert [t["bank_reference"] for t in listed["results"]] == ["CMB20261201-0001"]
    wallet = api_as(tenant.viewer).get(f"/api/v1/organizations/{tenant.organization.pk}/wallet/").json()
    assert wallet["remittance_reference"] == reference


@pytest.mark.django_db
@pytest.mark.parametrize(("overrides", "field"), [
    ({"remittance_reference": "TGNOSUCHREF"}, "remittance_reference"),
    ({"amount_fen": 0}, "amount_fen"),
    ({"amount_fen": "lots"}, "amount_fen"),
    ({"bank_reference": "  "}, "bank_reference"),
    ({"bank_reference": "<script>"}, "bank_reference"),
    ({"value_date": "yesterday"}, "value_date"),
    ({"value_date": (TODAY + datetime.timedelta(days=30)).isoformat()}, "value_date"),
])
def test_bad_input_is_a_400_with_the_field_and_nothing_is_written(api_as, tenant, staff, overrides, field):
    reference = remittance_reference_get(organization=tenant.organization)
    response = record(api_as(staff), **{"remittance_reference": reference, **overrides})
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert not BankTransfer.objects.exists()
    assert wallet_balance(organization=tenant.organization) == 0


@pytest.mark.django_db
def test_non_staff_get_404_for_the_api_and_the_page(api_as, as_user, tenant):
    reference = remittance_reference_get(organization=tenant.organization)
    for user in (tenant.owner, tenant.admin):
        assert record(api_as(user), remittance_reference=reference).status_code == 404
        client = as_user(user, tenant.organization)
        assert client.get("/staff/bank-transfers/new/").status_code == 404
        assert client.post("/staff/bank-transfers/new/", {"remittance_reference": reference, "amount": "10",
                                                          "bank_reference": "X1",
                                                          "value_date": TODAY.isoformat()}).status_code == 404
    assert not BankTransfer.objects.exists()


@pytest.mark.django_db
def test_cross_tenant_bank_transfer_list_is_404(api_as, tenant, other_tenant):
    response = api_as(other_tenant.owner).get(f"/api/v1/organizations/{tenant.organization.pk}/bank-transfers/")
    assert response.status_code == 404


@pytest.mark.django_db
def test_staff_record_through_the_page_twice_and_the_wallet_shows_it_once(as_user, tenant, staff):
    reference = remittance_reference_get(organization=tenant.organization)
    client = as_user(staff)
    form = {"remittance_reference": reference, "amount": "1234.56", "bank_reference": "ICBC-998877",
            "value_date": TODAY.isoformat(), "note": "PO 17"}
    assert client.post("/staff/bank-transfers/new/", form).status_code == 302
    assert client.post("/staff/bank-transfers/new/", form, follow=True).content.decode().count(
        "was already recorded") == 1
    bad = client.post("/staff/bank-transfers/new/", {**form, "bank_reference": "ICBC-1", "amount": "-1"})
    assert bad.status_code == 400
    assert wallet_balance(organization=tenant.organization) == 123_456
    page = as_user(tenant.viewer, tenant.organization).get("/wallet/").content.decode()
    table = page.split('id="bank-transfers"', 1)[1].split("</table>", 1)[0]
    assert table.count("ICBC-998877") == 1 and "+¥1,234.56" in table


@pytest.mark.django_db(transaction=True)
def test_parallel_recordings_of_one_transfer_credit_once():
    tenant = make_tenant(name="Parallel Transfers")
    staff = UserFactory(is_staff=True)
    reference = remittance_reference_get(organization=tenant.organization)
    barrier = threading.Barrier(6)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(bank_transfer_record(actor=Actor(user=staff), remittance_reference=reference,
                                                amount_fen=88_800, bank_reference="BOC-777", value_date=TODAY))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(created for _transfer, created in results) == [False] * 5 + [True]
    assert len({transfer.pk for transfer, _created in results}) == 1
    assert wallet_balance(organization=tenant.organization) == 88_800
    assert LedgerTransaction.objects.filter(kind="bank_transfer").count() == 1
