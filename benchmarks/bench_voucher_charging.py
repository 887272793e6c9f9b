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


def _run(records) -> list[float]:
    timings = []
    for record in records:
        started = time.perf_counter()
        customer_charge(organization=record.organization, amount_fen=100, idempotency_key=f"usage:{record.pk}:100",
                        memo="bench", provider_organization=record.provider_organization,
                        details={"usage_record": str(record.pk)})
        timings.append((time.perf_counter() - started) * 1000)
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

    plain = _run(records(1))
    program = make_program(gov, annual_cap_fen=10**9, budget_fen=10**10)
    make_grant(program, enterprise, amount_fen=10**9)
    deduct = _run(records(2))
    print()
    print("| charges | n | charges/s | mean | p50 | p99 |")
    print("|---|---:|---:|---:|---:|---:|")
    print(_row("without vouchers", plain))
    print(_row("with a 50 % deduct-at-charge grant", deduct))
