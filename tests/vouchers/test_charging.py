"""Co-pay on every charge: the voucher share and the customer's co-pay in one balanced transaction,
limited by grant, annual cap and budget; taper steps split at the boundary; no stacking; related parties
refused; reversals give the share back. Arithmetic in the comments."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from apps.billing.charging import usage_charge
from apps.billing.models import UsageRecord
from apps.billing.pricing import round_fen
from apps.ledger.models import Account, LedgerTransaction
from apps.ledger.services import InsufficientFunds, charge_reverse, customer_charge
from apps.tenancy.models import Membership
from apps.vouchers import services
from apps.vouchers.models import UsageSubsidy, YearUse
from apps.vouchers.selectors import budget_left, grant_balance, grant_status
from tests.billing.conftest import account_balance, fund
from tests.vouchers.conftest import clone_record, local, make_government, make_grant, make_program

pytestmark = pytest.mark.django_db
CASH = Account.Kind.CUSTOMER_CASH


def charge(record: UsageRecord, amount: int | None = None) -> LedgerTransaction:
    """Charge a record as billing does (the whole rounded cost unless ``amount``)."""
    record.refresh_from_db()
    amount = amount or round_fen(record.cost_fen) - record.charged_fen
    after = record.charged_fen + amount
    txn = customer_charge(organization=record.organization, amount_fen=amount,
                          idempotency_key=f"usage:{record.pk}:{after}", memo="test",
                          provider_organization=record.provider_organization,
                          details={"usage_record": str(record.pk)})
    UsageRecord.objects.filter(pk=record.pk).update(charged_fen=after)
    record.refresh_from_db()
    return txn


def lines(txn) -> dict:
    return {(e.account.kind, e.account.reference.split(":")[0]): e.amount_fen for e in txn.entries.all()}


def test_a_real_run_is_split_into_voucher_share_and_co_pay(gov, enterprise, place, agent, provider):
    # given a 50 % grant (months 0–12 from 2026-01-15) and ¥10 in the wallet
    program = make_program(gov)
    grant = make_grant(program, enterprise, amount_fen=10_000)
    fund(enterprise.organization, 1_000)
    # when a whole T4 (¥2.10/h) runs 2026-03-02 09:00–09:30 and is charged at stop
    _workload, assignment = place(gpu_count=1)
    agent.report(assignment, "running", started_at=local(2026, 3, 2, 9, 0))
    agent.report(assignment, "stopped", finished_at=local(2026, 3, 2, 9, 30))
    record = UsageRecord.objects.get()
    assert usage_charge(record_id=record.pk) == 105  # 1800 s × 210 fen/h / 3600 = 105 fen
    # then the voucher pays round_half_up(105 × 50 %) = round(52.5) = 53 and the wallet the other 52
    txn = LedgerTransaction.objects.get(kind="charge")
    assert sum(e.amount_fen for e in txn.entries.all()) == 0
    assert txn.details["voucher"]["share_fen"] == 53 and txn.details["copay_fen"] == 52
    assert txn.details["voucher"]["limited_by"] == "rate"
    assert account_balance(enterprise.organization, CASH) == 1_000 - 52
    assert grant_balance(grant) == 10_000 - 53
    assert budget_left(program) == program.budget_fen - 53
    assert UsageSubsidy.objects.get(usage_record=record).share_fen == 53
    # the customer sees the grant's rate today and its next step (30 % from 2027-01-15)
    status = grant_status(grant, now=local(2026, 6, 1))
    assert (status.rate_bp, status.next_step_at, status.next_rate_bp) == (5000, local(2027, 1, 15), 3000)


def test_a_taper_step_crossed_by_a_running_slice_is_paid_at_each_rate(gov, enterprise, template_record):
    # grant from 2026-01-15: 50 % until 2027-01-15 00:00, then 30 %.
    program = make_program(gov)
    make_grant(program, enterprise)
    fund(enterprise.organization, 10_000)
    # a run 2027-01-14 23:00 → 2027-01-15 01:00 at 360 fen/h: 720 fen
    record = clone_record(template_record, start=local(2027, 1, 14, 23), seconds=7200, fen_per_hour=360)
    # charged first at 23:30 (180 fen accrued): 180 × 50 % = 90
    record.accrued_through, record.cost_fen = local(2027, 1, 14, 23, 30), 180
    record.save()
    assert charge(record).details["voucher"]["share_fen"] == 90
    # then to 01:00 (720 fen): 360 × 50 % + 360 × 30 % = 180 + 108 = 288 in all, 288 − 90 = 198 now
    record.accrued_through, record.cost_fen = local(2027, 1, 15, 1), 720
    record.save()
    second = charge(record)
    assert second.details["voucher"]["share_fen"] == 198 and second.details["copay_fen"] == 540 - 198
    assert [s["rate_bp"] for s in second.details["voucher"]["segments"]] == [5000, 3000]
    assert UsageSubsidy.objects.get(usage_record=record).share_fen == 288


def test_the_annual_cap_binds_in_the_middle_of_a_charge_and_resets_next_year(gov, enterprise, template_record):
    program = make_program(gov, annual_cap_fen=1_000)
    make_grant(program, enterprise)
    fund(enterprise.organization, 100_000)
    # 2026: a 1,800 fen run → 900 from the voucher (cap left 100)
    first = clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800)
    assert charge(first).details["voucher"]["share_fen"] == 900
    # a 720 fen run wants 360; only 100 of the cap is left → 100, and the line says why; co-pay 620
    second = charge(clone_record(template_record, start=local(2026, 4, 2, 10), seconds=720))
    assert (second.details["voucher"]["share_fen"], second.details["voucher"]["limited_by"],
            second.details["copay_fen"]) == (100, "annual_cap", 620)
    # nothing more in 2026
    third = charge(clone_record(template_record, start=local(2026, 4, 3, 10), seconds=720))
    assert third.details["voucher"]["share_fen"] == 0
    # 2027 has its own cap (30 % by then: 720 × 30 % = 216)
    fourth = charge(clone_record(template_record, start=local(2027, 2, 1, 10), seconds=720))
    assert fourth.details["voucher"]["share_fen"] == 216
    assert dict(YearUse.objects.values_list("year", "used_fen")) == {2026: 1_000, 2027: 216}


def test_grant_balance_and_programme_budget_bind_with_their_reasons(gov, enterprise, template_record):
    program = make_program(gov, budget_fen=500)
    make_grant(program, enterprise, amount_fen=300)
    fund(enterprise.organization, 100_000)
    # wants 1,800 × 50 % = 900; the grant holds 300 → 300, limited by the grant
    txn = charge(clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800))
    assert (txn.details["voucher"]["share_fen"], txn.details["voucher"]["limited_by"]) == (300, "grant_balance")
    # another enterprise's bigger grant meets the budget: 200 left of 500
    from tests.vouchers.conftest import make_enterprise
    other = make_enterprise("Other AI", 2)
    make_grant(program, other, amount_fen=10_000)
    fund(other.organization, 100_000, key="fund-other")
    record = clone_record(template_record, start=local(2026, 4, 2, 10), seconds=1800)
    UsageRecord.objects.filter(pk=record.pk).update(organization=other.organization)
    record.refresh_from_db()
    txn = charge(record)
    assert (txn.details["voucher"]["share_fen"], txn.details["voucher"]["limited_by"]) == (200, "program_budget")
    assert budget_left(program) == 0


def test_domestic_chips_get_their_own_rate(gov, enterprise, template_record):
    # Hangzhou-style: 20 % in general, 30 % on domestic chips; the T4 is imported → 20 % of 1,800 = 360
    program = make_program(gov, steps=[{"rate_bp": 2000, "starts_after_months": 0},
                                       {"rate_bp": 3000, "starts_after_months": 0, "hardware_class": "domestic"}])
    make_grant(program, enterprise)
    fund(enterprise.organization, 100_000)
    assert charge(clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800)
                  ).details["voucher"]["share_fen"] == 360
    # the same hour on an Ascend 910B (domestic): 1,800 × 30 % = 540
    from apps.catalog.models import AcceleratorModel
    ascend = AcceleratorModel.objects.filter(vendor="huawei").first()
    record = clone_record(template_record, start=local(2026, 4, 2, 10), seconds=1800)
    UsageRecord.objects.filter(pk=record.pk).update(accelerator_model=ascend)
    record.refresh_from_db()
    assert charge(record).details["voucher"]["share_fen"] == 540


def test_related_party_usage_gets_no_subsidy_and_says_why(gov, enterprise, template_record, provider):
    program = make_program(gov)
    grant = make_grant(program, enterprise)
    fund(enterprise.organization, 100_000)
    # the provider's admin is also a member of the customer: its own people booking its own cards
    Membership.objects.create(organization=enterprise.organization, user=provider.admin, role="member")
    txn = charge(clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800))
    refused = txn.details["voucher"]["refused"][0]
    assert txn.details["voucher"]["share_fen"] == 0 and txn.details["copay_fen"] == 1_800
    assert refused["code"] == "related_party" and "member" in refused["message"]
    assert grant_balance(grant) == grant.amount_fen
    assert "Related party" in UsageSubsidy.objects.get().reason


def test_no_stacking_one_record_is_funded_by_one_programme_chosen_by_rate(gov, enterprise, template_record):
    # Two programmes over Shanghai (city and a district), 30 % and 50 %: the 50 % one funds the record alone.
    district = make_government("Pudong Science Bureau", ["cn-shanghai"])
    low = make_program(gov, steps=[{"rate_bp": 3000, "starts_after_months": 0}], name="City")
    high = make_program(district, steps=[{"rate_bp": 5000, "starts_after_months": 0}], name="District")
    low_grant, high_grant = make_grant(low, enterprise), make_grant(high, enterprise)
    fund(enterprise.organization, 100_000)
    record = clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800)
    txn = charge(record, amount=900)
    assert txn.details["voucher"]["grant"] == str(high_grant.pk) and txn.details["voucher"]["share_fen"] == 450
    # even when the chosen grant runs dry the same record's seconds never draw on the other programme
    services.program_kill(actor=district.actor("admin"), program=high, reason="budget audit")
    rest = charge(record)
    assert rest.details["voucher"]["grant"] == str(high_grant.pk) and rest.details["voucher"]["share_fen"] == 0
    assert rest.details["voucher"]["refused"][0]["code"] == "killed"
    assert grant_balance(low_grant) == low_grant.amount_fen
    assert UsageSubsidy.objects.filter(usage_record=record).count() == 1
    # the next record chooses again: the city programme (30 % of 1,800 = 540)
    txn = charge(clone_record(template_record, start=local(2026, 4, 2, 10), seconds=1800))
    assert txn.details["voucher"]["grant"] == str(low_grant.pk) and txn.details["voucher"]["share_fen"] == 540


def test_when_the_co_pay_fails_no_voucher_is_spent(gov, enterprise, template_record):
    program = make_program(gov)
    grant = make_grant(program, enterprise)
    fund(enterprise.organization, 100)
    record = clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800)  # co-pay 900 > 100
    with pytest.raises(InsufficientFunds):
        charge(record)
    assert grant_balance(grant) == grant.amount_fen and budget_left(program) == program.budget_fen
    assert not YearUse.objects.filter(used_fen__gt=0).exists()
    assert not UsageSubsidy.objects.filter(share_fen__gt=0).exists()


def test_a_reversed_charge_gives_the_voucher_share_back(gov, enterprise, template_record):
    program = make_program(gov, annual_cap_fen=10_000)
    grant = make_grant(program, enterprise)
    fund(enterprise.organization, 100_000)
    record = clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800)
    txn = charge(record)
    reversal = charge_reverse(charge=txn, memo="re-billed")
    assert charge_reverse(charge=txn, memo="again").pk == reversal.pk  # once
    assert grant_balance(grant) == grant.amount_fen and budget_left(program) == program.budget_fen
    assert account_balance(enterprise.organization, CASH) == 100_000
    assert YearUse.objects.get().used_fen == 0 and UsageSubsidy.objects.get().share_fen == 0
    with pytest.raises(ValidationError):
        charge_reverse(charge=reversal, memo="reverse a reversal")


def test_ineligible_enterprises_and_places_get_nothing(gov, enterprise, template_record):
    program = make_program(gov, size_classes=["startup"])
    fund(enterprise.organization, 100_000)
    with pytest.raises(ValidationError) as error:  # an SME cannot even be granted a startup programme
        make_grant(program, enterprise)
    assert "organization" in error.value.message_dict
    # a grant that starts after the usage pays nothing for it
    open_program = make_program(gov, name="Open to all")
    make_grant(open_program, enterprise, starts_on=date(2026, 6, 1))
    txn = charge(clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800))
    assert txn.details["voucher"]["share_fen"] == 0
    assert txn.details["voucher"]["refused"][0]["code"] == "no_rate"


def test_usage_outside_the_jurisdiction_is_not_subsidised(enterprise, template_record):
    beijing = make_government("Beijing Bureau", ["cn-beijing", "cn-shanghai"])
    program = make_program(beijing, compute_regions=[])
    make_grant(program, enterprise)
    # the rule version names Beijing only: the Shanghai T4 does not count
    from apps.catalog.models import Region
    version = services.rule_version_create(actor=beijing.actor("admin"), program=program,
                                           effective_from=local(2026, 3, 1), taper_basis="grant_age",
                                           steps=[{"rate_bp": 5000, "starts_after_months": 0}],
                                           compute_regions=[Region.objects.get(code="cn-beijing")])
    services.rule_version_publish(actor=beijing.actor("admin"), version=version, allow_past=True)
    fund(enterprise.organization, 100_000)
    txn = charge(clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800))
    assert txn.details["voucher"]["refused"][0]["code"] == "region"
