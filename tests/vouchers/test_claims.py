"""Two programmes on one customer — one deducts at each charge, one is claimed after settlement — and
the claim's approval crediting the wallet. Arithmetic in the comments."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from apps.billing.invoicing import invoice_issue
from apps.billing.models import UsageRecord
from apps.catalog.models import AcceleratorModel
from apps.vouchers import services
from apps.vouchers.models import Claim, UsageSubsidy, YearUse
from apps.vouchers.selectors import budget_left, grant_balance
from tests.billing.conftest import account_balance, fund
from tests.ledger.test_concurrency import _assert_books_balance
from tests.vouchers.conftest import clone_record, local, make_government, make_grant, make_program
from tests.vouchers.test_charging import charge

pytestmark = pytest.mark.django_db


def make_claim_program(gov, **rules):
    from apps.vouchers.models import Program

    program = make_program(gov, open_it=False, name="Beijing-style claim", **rules)
    Program.objects.filter(pk=program.pk).update(redemption_mode="claim")
    program.refresh_from_db()
    return services.program_transition(actor=gov.actor("admin"), program=program, action="open")


def test_one_deduct_and_one_claim_programme_on_one_customer(gov, enterprise, template_record, api_as):
    # A: deducts 30 % at each charge. B (another operator over Shanghai): 50 % claimed after settlement,
    # domestic chips only.
    district = make_government("Pudong Claims Office", ["cn-shanghai"])
    deduct = make_program(gov, steps=[{"rate_bp": 3000, "starts_after_months": 0}], name="Deduct")
    claim_program = make_claim_program(district, steps=[{"rate_bp": 5000, "starts_after_months": 0}],
                                       vendors=["huawei"])
    deduct_grant, claim_grant = make_grant(deduct, enterprise), make_grant(claim_program, enterprise)
    fund(enterprise.organization, 100_000)
    # April, on an Ascend (domestic): B pays the higher rate, so B funds it — by claim: the customer pays
    # all 1,800 now and may claim 1,800 × 50 % = 900.
    ascend = clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800)
    UsageRecord.objects.filter(pk=ascend.pk).update(
        accelerator_model=AcceleratorModel.objects.filter(vendor="huawei").first())
    first = charge(ascend)
    assert first.details["voucher"]["grant"] == str(claim_grant.pk)
    assert (first.details["voucher"]["share_fen"], first.details["voucher"]["claimable_fen"],
            first.details["copay_fen"]) == (0, 900, 1_800)
    # April, on the T4 (imported): only A counts → deducted, 1,800 × 30 % = 540, co-pay 1,260.
    second = charge(clone_record(template_record, start=local(2026, 4, 2, 10), seconds=1800))
    assert second.details["voucher"]["grant"] == str(deduct_grant.pk)
    assert (second.details["voucher"]["share_fen"], second.details["copay_fen"]) == (540, 1_260)
    assert account_balance(enterprise.organization, "customer_cash") == 100_000 - 1_800 - 1_260

    # Before April's invoice there is nothing to claim.
    with pytest.raises(ValidationError) as error:
        services.claim_submit(actor=enterprise.actor("admin"), grant=claim_grant, period_start=date(2026, 4, 1))
    assert "period_start" in error.value.message_dict
    invoice_issue(organization=enterprise.organization, period_start=date(2026, 4, 1))
    wallet_before = account_balance(enterprise.organization, "customer_cash")
    # the claim goes through the API; the deduct grant cannot be claimed
    client = api_as(enterprise.admin)
    url = f"/api/v1/organizations/{enterprise.organization.pk}/voucher-claims/"
    assert client.post(url, {"grant": str(deduct_grant.pk), "period_start": "2026-04-01"},
                       format="json").status_code == 400
    response = client.post(url, {"grant": str(claim_grant.pk), "period_start": "2026-04-01"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["requested_fen"] == 900
    assert client.post(url, {"grant": str(claim_grant.pk), "period_start": "2026-04-01"},
                       format="json").status_code == 400  # once per month
    claim = Claim.objects.get()
    # The operator of B approves: the wallet gets 900 back; B's grant and budget pay it.
    operator = api_as(district.admin)
    decision = f"/api/v1/organizations/{district.organization.pk}/voucher-claims/{claim.pk}/decision/"
    assert operator.post(decision, {"decision": "approve"}, format="json").status_code == 400  # no reason
    # A's operator cannot decide B's claim
    other = api_as(gov.admin).post(f"/api/v1/organizations/{gov.organization.pk}/voucher-claims/{claim.pk}/decision/",
                                   {"decision": "approve", "reason": "x"}, format="json")
    assert other.status_code == 404
    response = operator.post(decision, {"decision": "approve", "reason": "Invoice and delivery verified"},
                             format="json")
    assert response.status_code == 200 and response.json()["approved_fen"] == 900
    assert account_balance(enterprise.organization, "customer_cash") == wallet_before + 900
    assert grant_balance(claim_grant) == claim_grant.amount_fen - 900
    assert budget_left(claim_program) == claim_program.budget_fen - 900
    assert grant_balance(deduct_grant) == deduct_grant.amount_fen - 540
    use = UsageSubsidy.objects.get(usage_record=ascend)
    assert (use.share_fen, use.claimable_fen) == (900, 0)
    assert YearUse.objects.get(program=claim_program).used_fen == 900
    _assert_books_balance()


def test_a_claim_is_paid_only_up_to_the_annual_cap(gov, enterprise, template_record):
    program = make_claim_program(gov, annual_cap_fen=500)
    grant = make_grant(program, enterprise)
    fund(enterprise.organization, 100_000)
    record = clone_record(template_record, start=local(2026, 5, 3, 10), seconds=1800)
    charge(record)  # claimable 900
    invoice_issue(organization=enterprise.organization, period_start=date(2026, 5, 1))
    claim = services.claim_submit(actor=enterprise.actor("admin"), grant=grant, period_start=date(2026, 5, 1))
    claim = services.claim_decide(actor=gov.actor("admin"), claim=claim, decision="approve", reason="ok")
    assert (claim.requested_fen, claim.approved_fen) == (900, 500)
    assert UsageSubsidy.objects.get(usage_record=record).claimable_fen == 0
    _assert_books_balance()
