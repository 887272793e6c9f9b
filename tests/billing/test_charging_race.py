"""Charges racing on real parallel connections: a record is never charged twice and a small wallet is
never overspent, whatever the interleaving."""

import random
import threading
from collections import defaultdict

import pytest
from django.db import connection

from apps.billing.charging import usage_charge
from apps.billing.models import UsageRecord
from apps.billing.seed import price_book_seed
from apps.catalog.reference import reference_data_sync
from apps.ledger.models import Account, LedgerTransaction
from tests.billing.conftest import account_balance, fund, local

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _run_usage(place, agent, count: int) -> list:
    """``count`` half-T4 slices that each ran 09:00–10:00 (105 fen each)."""
    records = []
    for index in range(count):
        _workload, assignment = place(name=f"w{index}")
        agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 0))
        agent.report(assignment, "stopped", finished_at=local(2026, 3, 10, 10, 0))
        records.append(UsageRecord.objects.get(assignment=assignment).pk)
    return records


@pytest.fixture
def reference():
    reference_data_sync()  # transactional tests start from an emptied database
    price_book_seed()


def test_racing_charges_never_double_charge_nor_overspend(reference, customer, place, agent):
    # given 8 finished runs of 105 fen each (840 fen due) and only 500 fen in the wallet
    records = _run_usage(place, agent, 8)
    fund(customer.organization, 500)
    barrier = threading.Barrier(8)
    errors = []

    def charger(seed: int) -> None:
        order = records[:]
        random.Random(seed).shuffle(order)
        try:
            barrier.wait(timeout=30)
            for record_id in order * 2:  # every thread charges every record, twice
                usage_charge(record_id=record_id, now=local(2026, 3, 10, 10, 1))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    # when 8 threads, each on its own connection, charge all records at once
    threads = [threading.Thread(target=charger, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then exactly the wallet's 500 fen were taken, never more, and no record got more than it cost
    assert errors == []
    assert account_balance(customer.organization, Account.Kind.CUSTOMER_CASH) == 0
    per_record = defaultdict(int)
    for txn in LedgerTransaction.objects.filter(kind="charge"):
        per_record[txn.details["usage_record"]] += txn.details["amount_fen"]
    assert sum(per_record.values()) == 500
    for record in UsageRecord.objects.all():
        assert per_record[str(record.pk)] == record.charged_fen <= 105
    assert sum(1 for record in UsageRecord.objects.all() if record.settled) == 500 // 105
