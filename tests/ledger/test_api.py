"""REST API: balance, transactions, top-ups, payments, refunds — scoped to the organization."""

import pytest

from apps.ledger.models import Payment, Refund
from apps.ledger.selectors import wallet_balance
from apps.ledger.services import customer_charge
from tests.ledger.test_pages import fund
from tests.ledger.test_stripe import _paid_top_up

pytestmark = pytest.mark.django_db


def url(organization, path):
    return f"/api/v1/organizations/{organization.pk}/{path}"


def test_balance(api_as, tenant):
    fund(tenant.organization, 12_345)
    body = api_as(tenant.viewer).get(url(tenant.organization, "wallet/")).json()
    assert body["mode"] == "prepaid"
    assert body["available_fen"] == body["balance_fen"] == 12_345
    assert body["low"] is False and body["low_balance_threshold_fen"] == 10_000


def test_transactions_list_only_this_organizations_entries(api_as, tenant, provider):
    fund(tenant.organization, 10_000)
    customer_charge(organization=tenant.organization, amount_fen=500, idempotency_key="c", memo="GPU",
                    provider_organization=provider.organization, provider_share_fen=400)
    body = api_as(tenant.member).get(url(tenant.organization, "ledger/transactions/")).json()
    assert [t["kind"] for t in body["results"]] == ["charge", "top_up"]
    assert body["results"][0]["entries"] == [{"account": "customer_cash", "amount_fen": -500,
                                              "balance_after_fen": 9_500}]
    provider_body = api_as(provider.owner).get(url(provider.organization, "ledger/transactions/")).json()
    assert provider_body["results"][0]["entries"] == [{"account": "provider_payable", "amount_fen": 400,
                                                       "balance_after_fen": 400}]
    filtered = api_as(tenant.member).get(url(tenant.organization, "ledger/transactions/?kind=top_up")).json()
    assert [t["kind"] for t in filtered["results"]] == ["top_up"]


def test_create_a_top_up_returns_the_client_secret_once_per_key(stripe_on, key_client, tenant):
    client = key_client(tenant, "member")
    first = client.post(url(tenant.organization, "wallet/top-ups/"), {"amount_fen": 20_000}, format="json",
                        HTTP_IDEMPOTENCY_KEY="order-7")
    again = client.post(url(tenant.organization, "wallet/top-ups/"), {"amount_fen": 20_000}, format="json",
                        HTTP_IDEMPOTENCY_KEY="order-7")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["client_secret"].startswith("pi_") and first.json()["publishable_key"] == "pk_test_tidegrid"
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("body, field", [
    ({}, "amount_fen"),
    ({"amount_fen": "lots"}, "amount_fen"),
    ({"amount_fen": 999}, "amount_fen"),
    ({"amount_fen": 10_000_001}, "amount_fen"),
    ({"amount_fen": -5}, "amount_fen"),
])
def test_bad_top_ups_are_400_with_field_errors(stripe_on, api_as, tenant, body, field):
    response = api_as(tenant.member).post(url(tenant.organization, "wallet/top-ups/"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Payment.objects.exists()


def test_top_up_without_keys_is_503(stripe_off, api_as, tenant):
    response = api_as(tenant.member).post(url(tenant.organization, "wallet/top-ups/"), {"amount_fen": 10_000},
                                          format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payments_not_configured"


def test_viewers_cannot_top_up(stripe_on, api_as, tenant):
    response = api_as(tenant.viewer).post(url(tenant.organization, "wallet/top-ups/"), {"amount_fen": 10_000},
                                          format="json")
    assert response.status_code == 403


def test_payments_list_and_refund(stripe_on, api_as, tenant):
    payment = _paid_top_up(tenant, 30_000)
    listing = api_as(tenant.viewer).get(url(tenant.organization, "payments/")).json()
    assert listing["results"][0]["id"] == str(payment.pk)
    assert listing["results"][0]["refundable_fen"] == 30_000
    assert "client_secret" not in listing["results"][0]

    response = api_as(tenant.admin).post(url(tenant.organization, f"payments/{payment.pk}/refund/"),
                                         {"amount_fen": 7_000}, format="json")
    assert response.status_code == 201 and response.json()["state"] == "succeeded"
    assert wallet_balance(organization=tenant.organization) == 23_000


@pytest.mark.parametrize("body", [{}, {"amount_fen": 0}, {"amount_fen": "x"}, {"amount_fen": 30_001}])
def test_bad_refunds_are_400_and_change_nothing(stripe_on, api_as, tenant, body):
    payment = _paid_top_up(tenant, 30_000)
    response = api_as(tenant.owner).post(url(tenant.organization, f"payments/{payment.pk}/refund/"), body,
                                         format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert wallet_balance(organization=tenant.organization) == 30_000
    assert not Refund.objects.exists()


def test_members_cannot_refund(stripe_on, api_as, tenant):
    payment = _paid_top_up(tenant, 30_000)
    response = api_as(tenant.member).post(url(tenant.organization, f"payments/{payment.pk}/refund/"),
                                          {"amount_fen": 100}, format="json")
    assert response.status_code == 403


def test_every_endpoint_is_404_for_another_tenant(stripe_on, api_as, tenant, other_tenant):
    payment = _paid_top_up(other_tenant, 30_000)
    stranger = api_as(tenant.owner)
    org = other_tenant.organization
    assert stranger.get(url(org, "wallet/")).status_code == 404
    assert stranger.get(url(org, "ledger/transactions/")).status_code == 404
    assert stranger.get(url(org, "payments/")).status_code == 404
    assert stranger.post(url(org, "wallet/top-ups/"), {"amount_fen": 10_000}, format="json").status_code == 404
    assert stranger.post(url(org, f"payments/{payment.pk}/refund/"), {"amount_fen": 100},
                         format="json").status_code == 404
    # Their payment under my organization's URL is just as unknown.
    assert api_as(tenant.owner).post(url(tenant.organization, f"payments/{payment.pk}/refund/"),
                                     {"amount_fen": 100}, format="json").status_code == 404
    assert wallet_balance(organization=org) == 30_000
    assert Payment.objects.filter(organization=tenant.organization).count() == 0


def test_an_api_key_of_another_organization_sees_nothing(key_client, tenant, other_tenant):
    fund(other_tenant.organization, 5_000)
    client = key_client(tenant, "admin")
    assert client.get(url(other_tenant.organization, "wallet/")).status_code == 404
    assert client.get(url(tenant.organization, "ledger/transactions/")).json()["results"] == []


def test_the_schema_documents_the_endpoints(api_as, tenant):
    schema = api_as(tenant.owner).get("/api/v1/schema/?format=json").json()
    for path in ("/api/v1/organizations/{organization_id}/wallet/",
                 "/api/v1/organizations/{organization_id}/wallet/top-ups/",
                 "/api/v1/organizations/{organization_id}/ledger/transactions/",
                 "/api/v1/organizations/{organization_id}/payments/",
                 "/api/v1/organizations/{organization_id}/payments/{id}/refund/"):
        assert path in schema["paths"], path
