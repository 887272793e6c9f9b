"""100 charges on 100 parallel PostgreSQL connections against a programme budget that covers only some
of them: not one fen overspent, the rest paid by the customer, books balanced."""

import pytest
from django.db import connection

from apps.ledger.models import LedgerTransaction
from apps.ledger.services import customer_charge
from apps.vouchers.models import UsageSubsidy, YearUse
from apps.vouchers.selectors import budget_left, grant_balance
from tests.billing.conftest import account_balance, fund
from tests.ledger.test_concurrency import _assert_books_balance, _parallel_connections_available, _race
from tests.vouchers.conftest import clone_record, local, make_grant, make_program

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHARGES = 100


def test_a_hundred_parallel_charges_never_overspend_grant_or_budget(gov, enterprise, template_record):
    # Each charge is 100 fen (100 s at 3,600 fen/h) at 50 %: it wants 50 fen from the voucher, 5,000 in all.
    # The grant holds 4,500 and the programme budget 4,000: the budget binds after 80 shares.
    program = make_program(gov, budget_fen=4_000)
    grant = make_grant(program, enterprise, amount_fen=4_500)
    fund(enterprise.organization, 100_000)
    records = [clone_record(template_record, start=local(2026, 4, 1, 10, i // 60, i % 60) , seconds=100)
               for i in range(CHARGES)]
    threads = min(CHARGES, _parallel_connections_available())
    per_thread = -(-CHARGES // threads)

    def work(i):
        done = []
        for j in range(per_thread):
            n = i * per_thread + j
            if n >= CHARGES:
                break
            record = records[n]
            txn = customer_charge(organization=enterprise.organization, amount_fen=100,
                                  idempotency_key=f"usage:{record.pk}:100", memo="race",
                                  provider_organization=record.provider_organization,
                                  details={"usage_record": str(record.pk)})
            done.append(txn.details["voucher"]["share_fen"])
        return done

    results = _race(work, threads)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    shares = [share for result in results for share in result]
    assert len(shares) == CHARGES
    assert sorted(set(shares)) == [0, 50] and shares.count(50) == 80
    assert budget_left(program) == 0
    assert grant_balance(grant) == 4_500 - 4_000
    assert YearUse.objects.get().used_fen == 4_000
    assert sum(UsageSubsidy.objects.values_list("share_fen", flat=True)) == 4_000
    # the customer paid the rest: 100 × 100 − 4,000 = 6,000
    assert account_balance(enterprise.organization, "customer_cash") == 100_000 - 6_000
    charges = LedgerTransaction.objects.filter(kind="charge")
    assert charges.count() == CHARGES
    assert all(t.details["voucher"]["share_fen"] + t.details["copay_fen"] == 100 for t in charges)
    limited = [t.details["voucher"]["limited_by"] for t in charges if t.details["voucher"]["share_fen"] == 0]
    assert set(limited) == {"program_budget"}
    _assert_books_balance()
    connection.close()
