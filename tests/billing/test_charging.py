"""Charging: accrued usage is posted to the ledger every minute and at stop, rounded once per record;
an empty wallet gets a warning, a grace period, then its on-demand work stops."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings

from apps.billing.charging import usage_charge, usage_charge_all
from apps.billing.funds import funds_review, funds_status
from apps.billing.models import BillingProfile, UsageRecord
from apps.booking.models import Workload
from apps.ledger.models import Account, LedgerTransaction
from apps.scheduling.models import Assignment
from tests.billing.conftest import account_balance, fund, local

pytestmark = pytest.mark.django_db
CASH, PAYABLE, REVENUE = Account.Kind.CUSTOMER_CASH, Account.Kind.PROVIDER_PAYABLE, Account.Kind.PLATFORM_REVENUE


def _charges():
    return sum(t.details["amount_fen"] for t in LedgerTransaction.objects.filter(kind="charge"))


def test_a_stopped_run_is_charged_once_and_split_with_the_provider(place, agent, customer, provider):
    # given ¥10 in the wallet and a half-T4 run of 1815 s at ¥1.05/h (52.9375 fen)
    fund(customer.organization, 1000)
    _workload, assignment = place()
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 0))
    agent.report(assignment, "stopped", finished_at=local(2026, 3, 10, 9, 30, 15))
    record = UsageRecord.objects.get()
    # when it is charged (at stop, then again by the minutely run)
    usage_charge(record_id=record.pk)
    usage_charge_all()
    # then 53 fen left the wallet once; the provider earns 85 %: 1815 × 89.25 / 3600 = 44.9969 → 45 fen
    assert account_balance(customer.organization, CASH) == 1000 - 53
    assert account_balance(provider.organization, PAYABLE) == 45
    assert account_balance(None, REVENUE) == 8
    record.refresh_from_db()
    assert (record.charged_fen, record.provider_charged_fen, record.settled) == (53, 45, True)


def test_continuous_charges_add_up_to_the_line_rounded_once(place, agent, customer):
    # given an open run whose agent confirms it every few minutes
    fund(customer.organization, 1000)
    _workload, assignment = place()
    start = local(2026, 3, 10, 9, 0)
    agent.report(assignment, "running", started_at=start)
    record = UsageRecord.objects.get()
    posted = []
    # when the minutely run charges at confirmed 100 s (2.9167 fen) and 250 s (7.2917 fen)
    for seconds in (100, 250):
        Assignment.objects.filter(pk=assignment.pk).update(last_reported_at=start + timedelta(seconds=seconds))
        posted.append(usage_charge(record_id=record.pk, now=local(2026, 3, 10, 12, 0)))
    # and the run stops at 1815 s (52.9375 fen)
    agent.report(assignment, "stopped", finished_at=start + timedelta(seconds=1815))
    posted.append(usage_charge(record_id=record.pk))
    # then each charge is round(accrued) − posted, and the total is the record's amount rounded once
    assert posted == [3, 4, 46]
    assert _charges() == 53


def test_an_open_run_is_not_billed_past_what_the_agent_confirmed(place, agent, customer):
    fund(customer.organization, 1000)
    _workload, assignment = place()
    start = local(2026, 3, 10, 9, 0)
    agent.report(assignment, "running", started_at=start)
    Assignment.objects.filter(pk=assignment.pk).update(last_reported_at=start + timedelta(minutes=10))
    # when charging runs an hour later than the last report
    usage_charge_all(now=start + timedelta(hours=1, minutes=10))
    # then only the confirmed 10 minutes are billed: 600 × 105 / 3600 = 17.5 → 18 fen
    record = UsageRecord.objects.get()
    assert record.accrued_through == start + timedelta(minutes=10)
    assert _charges() == 18


@override_settings(TIDEGRID_BILLING_OUT_OF_FUNDS_GRACE_S=600)
def test_an_empty_wallet_pays_what_it_has_warns_and_stops_on_demand_work_after_the_grace(
        place, agent, customer, django_capture_on_commit_callbacks):
    # given 20 fen in the wallet, an on-demand run that costs 53 fen and a reserved one
    fund(customer.organization, 20)
    on_demand, assignment = place()
    reserved, _other = place(name="reserved", billing_mode="reserved", window_start=local(2026, 3, 10, 0, 0),
                             window_end=local(2026, 12, 31, 0, 0))
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 0))
    Assignment.objects.filter(pk=assignment.pk).update(last_reported_at=local(2026, 3, 10, 9, 30, 15))
    now = local(2026, 3, 10, 9, 31)
    # when charging runs
    with django_capture_on_commit_callbacks(execute=True):
        usage_charge_all(now=now)
    # then the 20 fen are taken, 33 stay outstanding, and owners and admins are told when work stops
    assert account_balance(customer.organization, CASH) == 0
    status = funds_status(organization=customer.organization, now=now)
    assert (status.level, status.outstanding_fen) == ("out", 33)
    assert status.stop_at == now + timedelta(seconds=600)
    warnings = [m for m in mail.outbox if "Out of funds" in m.subject]  # (the ledger also sends "low balance")
    assert len(warnings) == 1 and "09:41" in warnings[0].body
    assert set(warnings[0].to) == {customer.owner.email, customer.admin.email}
    # when the grace has not passed, nothing stops; when it has, on-demand work stops, reserved runs on
    funds_review(now=now + timedelta(seconds=599))
    assert Workload.objects.get(pk=on_demand.pk).state == Workload.State.RUNNING
    funds_review(now=now + timedelta(seconds=600))
    on_demand.refresh_from_db()
    assert on_demand.state == Workload.State.STOPPING
    assert "ran out of funds" in on_demand.events.last().reason
    assert Workload.objects.get(pk=reserved.pk).state == Workload.State.PLACED


def test_a_top_up_collects_the_outstanding_and_clears_the_warning(place, agent, customer):
    fund(customer.organization, 20)
    _workload, assignment = place()
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 0))
    agent.report(assignment, "stopped", finished_at=local(2026, 3, 10, 9, 30, 15))
    usage_charge_all()
    assert BillingProfile.objects.get().out_of_funds_since is not None
    # when the customer tops up and the next run charges
    fund(customer.organization, 500, key="top-up-2")
    usage_charge_all()
    funds_review()
    # then the record is fully paid and the warning is gone
    assert account_balance(customer.organization, CASH) == 520 - 53
    assert UsageRecord.objects.get().settled
    assert funds_status(organization=customer.organization).level == "ok"


def test_the_runway_warning_appears_when_the_balance_lasts_less_than_an_hour(place, agent, customer):
    fund(customer.organization, 100)  # ¥1.00 at ¥1.05/h lasts 57 minutes
    _workload, assignment = place()
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 0))
    status = funds_status(organization=customer.organization)
    assert status.level == "low" and 3400 < status.runway_seconds < 3600


def test_the_out_of_funds_warning_is_on_the_workload_and_usage_pages(place, agent, customer, as_user):
    # given a customer whose wallet could not pay for its running workload
    fund(customer.organization, 20)
    workload, assignment = place()
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 0))
    Assignment.objects.filter(pk=assignment.pk).update(last_reported_at=local(2026, 3, 10, 9, 30))
    usage_charge_all(now=local(2026, 3, 10, 9, 31))
    client = as_user(customer.viewer, customer.organization)
    # then the workload page and the usage page say when on-demand work stops
    for url in (f"/workloads/{workload.pk}/", "/billing/usage/"):
        body = client.get(url).content.decode()
        assert 'id="funds-warning"' in body and "Your prepaid wallet is empty." in body, url


def test_a_customer_in_good_standing_sees_no_warning(customer, as_user):
    fund(customer.organization, 100_000)
    body = as_user(customer.viewer, customer.organization).get("/billing/usage/").content.decode()
    assert 'id="funds-warning"' not in body
