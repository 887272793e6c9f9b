"""Providers see which of their revenue was voucher-funded."""

import pytest

from apps.ledger.services import customer_charge
from tests.billing.conftest import fund
from tests.vouchers.conftest import clone_record, local, make_grant, make_program

pytestmark = pytest.mark.django_db


def test_a_provider_sees_the_voucher_funded_part_of_its_share(gov, enterprise, provider, template_record, api_as,
                                                               as_user):
    program = make_program(gov)
    make_grant(program, enterprise)
    fund(enterprise.organization, 100_000)
    record = clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800)
    # 1,800 fen charged, the provider's share 85 % = 1,530; the voucher pays 900 (50 %), so the
    # voucher-funded part of the provider's share is 1,530 × 900 / 1,800 = 765
    customer_charge(organization=enterprise.organization, amount_fen=1_800, idempotency_key=f"usage:{record.pk}:1800",
                    memo="t", provider_organization=provider.organization, provider_share_fen=1_530,
                    details={"usage_record": str(record.pk)})
    rows = api_as(provider.admin).get(f"/api/v1/organizations/{provider.organization.pk}/voucher-revenue/").json()
    assert [(r["charges"], r["charged_fen"], r["voucher_fen"], r["provider_share_fen"],
             r["voucher_funded_share_fen"]) for r in rows] == [(1, 1_800, 900, 1_530, 765)]
    page = as_user(provider.admin, provider.organization).get("/vouchers/").content.decode()
    assert "Voucher-funded revenue" in page and "¥7.65" in page
    # customers and strangers do not get this view
    assert api_as(enterprise.admin).get(
        f"/api/v1/organizations/{enterprise.organization.pk}/voucher-revenue/").status_code == 404
    assert api_as(enterprise.admin).get(
        f"/api/v1/organizations/{provider.organization.pk}/voucher-revenue/").status_code == 404
