"""Charging throughput with and without vouchers (issue 12): how much the co-pay split costs per charge.

Run (prints a table; nothing is asserted about speed):

    .venv/bin/python tidegrid/embedded.py --ephemeral -- .venv/bin/python -m pytest \\
        benchmarks/bench_voucher_charging.py -q -s -p no:cacheprovider

It reuses the test fixtures: a real T4 run reported by a simulated agent gives the template usage record;
CHARGES closed records of 100 s are cloned from it and each is charged once through
``ledger.services.customer_charge`` (what billing's minutely run calls), first for a customer without
vouchers, then for one holding a 50 % deduct-at-charge grant (with a yearly cap), then with a grant in a
claim-after-settlement programme. One connection, sequential: the cost per charge, not concurrency.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta

import pytest

from apps.ledger.services import customer_charge
from tests.billing.conftest import agent, fund, place  # noqa: F401
from tests.conftest import cluster, customer, provider  # noqa: F401
from tests.vouchers.conftest import (  # noqa: F401
    clone_record,
    enterprise,
    gov,
    local,
    make_grant,
    make_program,
    template_record,
)

CHARGES = int(os.environ.get("CHARGES", "400"))

pytestmark = pytest.mark.django_db


QUERIES: dict[str, int] = {}


def _run(records, label: str, amount: int = 100, after: int = 100) -> list[float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.billing.models import UsageRecord

    timings = []
    for index, record in enumerate(records):
        connection.queries_log.clear()  # the log is a bounded deque: count from empty each time
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            customer_charge(organization=record.organization, amount_fen=amount,
                            idempotency_key=f"usage:{record.pk}:{after}", memo="bench",
                            provider_organization=record.provider_organization,
                            details={"usage_record": str(record.pk)})
        timings.append((time.perf_counter() - started) * 1000)
        UsageRecord.objects.filter(pk=record.pk).update(charged_fen=after)
        if index == len(records) - 1:
            QUERIES[label] = len(queries.captured_queries)
    return timings


def _row(label: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"| {label} | {len(timings)} | {1000 / statistics.mean(timings):.0f} | {statistics.mean(timings):.2f} ms "
            f"| {statistics.median(timings):.2f} ms | {p99:.2f} ms |")


def test_charging_throughput_with_and_without_vouchers(gov, enterprise, template_record):  # noqa: F811
    fund(enterprise.organization, 10**9)

    def records(day):
        return [clone_record(template_record, start=local(2026, 4, day, 8) + timedelta(seconds=100 * i), seconds=100)
                for i in range(CHARGES)]

    # Each record is charged twice (40 then 60 fen), as billing's minutely run does for running work: the
    # first charge of a record chooses its grant, later ones reuse it.
    plain = records(1)
    plain_first, plain_later = _run(plain, "plain first", 40, 40), _run(plain, "plain later", 60, 100)
    program = make_program(gov, annual_cap_fen=10**9, budget_fen=10**10)
    make_grant(program, enterprise, amount_fen=10**9)
    funded = records(2)
    first, later = _run(funded, "voucher first", 40, 40), _run(funded, "voucher later", 60, 100)
    print()
    print("| charges | n | charges/s | mean | p50 | p99 | queries |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(_row("without vouchers, first charge of a record", plain_first) + f" {QUERIES['plain first']} |")
    print(_row("without vouchers, later charges", plain_later) + f" {QUERIES['plain later']} |")
    print(_row("50 % grant, first charge (chooses the grant)", first) + f" {QUERIES['voucher first']} |")
    print(_row("50 % grant, later charges", later) + f" {QUERIES['voucher later']} |")
