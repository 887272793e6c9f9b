"""Ledger invariants with vouchers (hypothesis): every transaction balances; no grant, annual cap or
programme budget below zero; voucher share + co-pay = charge, always."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.billing.models import UsageRecord
from apps.billing.pricing import round_fen
from apps.ledger.models import Account, Entry, LedgerTransaction
from apps.ledger.services import InsufficientFunds, charge_reverse, customer_charge
from apps.vouchers.models import UsageSubsidy, YearUse
from apps.vouchers.selectors import budget_left, grant_balance
from tests.billing.conftest import fund
from tests.vouchers.conftest import clone_record, local, make_grant, make_program

pytestmark = pytest.mark.django_db

operation = st.one_of(
    # a usage record: day of 2026/2027 (0–700), seconds, price, and in how many charges it is posted
    st.tuples(st.just("usage"), st.integers(0, 700), st.integers(1, 20_000), st.integers(1, 50_000),
              st.integers(1, 3)),
    st.tuples(st.just("top_up"), st.integers(1, 50_000)),
    st.tuples(st.just("reverse"), st.integers(0, 1_000)),
)


@pytest.fixture
def world(gov, enterprise, template_record):
    program = make_program(gov, budget_fen=40_000, annual_cap_fen=25_000)
    grant = make_grant(program, enterprise, amount_fen=30_000)
    return program, grant, enterprise, template_record


def _check_books(program, grant):
    for txn in LedgerTransaction.objects.prefetch_related("entries"):
        assert sum(e.amount_fen for e in txn.entries.all()) == 0, txn
        if txn.kind == "charge":
            note = txn.details.get("voucher") or {}
            assert note.get("share_fen", 0) + txn.details["copay_fen"] == txn.details["amount_fen"]
    for account in Account.objects.all():
        total = Entry.objects.filter(account=account).aggregate(s=Sum("amount_fen"))["s"] or 0
        assert account.balance_fen == total
        if account.has_floor:
            assert account.balance_fen >= -account.credit_limit_fen
    assert 0 <= grant_balance(grant) <= grant.amount_fen
    assert 0 <= budget_left(program) <= program.budget_fen
    for use in YearUse.objects.all():
        assert 0 <= use.used_fen <= 25_000
    spent = grant.amount_fen - grant_balance(grant)
    assert spent == program.budget_fen - budget_left(program)
    assert spent == sum(YearUse.objects.values_list("used_fen", flat=True))
    assert spent == (UsageSubsidy.objects.aggregate(s=Sum("share_fen"))["s"] or 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=1, max_size=12))
def test_random_charges_keep_every_book_and_limit_exact(world, operations):
    program, grant, customer, template = world
    from django.db import transaction

    sid = transaction.savepoint()
    try:
        fund(customer.organization, 20_000, key="fund-start")
        for index, op in enumerate(operations):
            if op[0] == "usage":
                _kind, day, seconds, fen_per_hour, pieces = op
                start = local(2026, 1, 20, 10) + timedelta(days=day, seconds=index)
                record = clone_record(template, start=start, seconds=seconds, fen_per_hour=fen_per_hour)
                target = round_fen(record.cost_fen)
                charged = 0
                for piece in range(pieces):
                    amount = target - charged if piece == pieces - 1 else (target - charged) // 2
                    if amount <= 0:
                        continue
                    try:
                        customer_charge(organization=customer.organization, amount_fen=amount,
                                        idempotency_key=f"usage:{record.pk}:{charged + amount}", memo="prop",
                                        provider_organization=record.provider_organization,
                                        details={"usage_record": str(record.pk)})
                    except InsufficientFunds:
                        break
                    charged += amount
                    UsageRecord.objects.filter(pk=record.pk).update(charged_fen=charged)
            elif op[0] == "top_up":
                fund(customer.organization, op[1], key=f"top-up:{index}")
            else:
                charges = list(LedgerTransaction.objects.filter(kind="charge").order_by("created_at", "id"))
                if charges:
                    charge_reverse(charge=charges[op[1] % len(charges)], memo="re-billed")
            _check_books(program, grant)
    finally:
        transaction.savepoint_rollback(sid)
