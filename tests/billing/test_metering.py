"""Metering: usage records follow what the agent confirms, to the second, once per event."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from apps.billing.metering import meter_assignment, meter_reconcile
from apps.billing.models import MeterEvent, PriceBook, UsageRecord
from apps.billing.seed import price_book_seed  # noqa: F401  (the seeded book is the migration's)
from apps.catalog.models import Node
from apps.scheduling import dispatch
from apps.scheduling.models import Assignment
from apps.telemetry import services as telemetry
from tests.billing.conftest import local

pytestmark = pytest.mark.django_db


def test_a_run_reported_by_the_agent_becomes_one_usage_record_to_the_second(place, agent):
    # given a half-T4 slice (500 milli, 4 GiB of 16 GiB → billed as 0.5 card) in Shanghai, ¥2.10 per card-hour
    workload, assignment = place()
    # when the agent reports it running from 09:00:00.700 and stopped at 09:30:15.200 (peak hours)
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 0, 0, 700000))
    agent.report(assignment, "stopped", started_at=local(2026, 3, 10, 9, 0, 0, 700000),
                 finished_at=local(2026, 3, 10, 9, 30, 15, 200000))
    # then one closed record of 1815 whole seconds at ¥1.05 per hour: 1815 × 105 / 3600 = 52.9375 fen
    record = UsageRecord.objects.get()
    assert (record.started_at, record.ended_at) == (local(2026, 3, 10, 9, 0, 0), local(2026, 3, 10, 9, 30, 15))
    assert record.card_fraction == Decimal("0.5")
    assert record.hourly == Decimal("1.05")
    assert (record.peak_seconds, record.off_peak_seconds) == (1815, 0)
    assert record.cost_fen == Decimal("52.937500")
    assert record.price_book_id == PriceBook.objects.get().pk
    assert record.workload == workload and record.end_reason == UsageRecord.EndReason.STOPPED


def test_a_repeated_or_replayed_event_changes_nothing(place, agent):
    _workload, assignment = place()
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 0))
    agent.report(assignment, "succeeded", exit_code=0, finished_at=local(2026, 3, 10, 10, 0))
    before = list(UsageRecord.objects.values_list("pk", "ended_at", "cost_fen"))
    # when the same end is applied again (a duplicate signal, the reconciliation sweep)
    assignment.refresh_from_db()
    meter_assignment(assignment=assignment)
    meter_reconcile(since=local(2020, 1, 1))
    # then nothing changes
    assert list(UsageRecord.objects.values_list("pk", "ended_at", "cost_fen")) == before
    assert MeterEvent.objects.count() == 2


def test_a_late_report_of_a_short_job_is_billed_from_its_start_to_its_end(place, agent):
    # given a job the agent first reports when it has already finished (a spool replay)
    _workload, assignment = place()
    agent.report(assignment, "succeeded", exit_code=0, started_at=local(2026, 3, 10, 23, 0),
                 finished_at=local(2026, 3, 10, 23, 20))
    # then it is billed for those 20 minutes, all off-peak in Shanghai (22:00–24:00): ¥1.05 × 0.7 = ¥0.735/h
    record = UsageRecord.objects.get()
    assert (record.peak_seconds, record.off_peak_seconds) == (0, 1200)
    assert record.off_peak_hourly == Decimal("0.735")
    assert record.cost_fen == Decimal("24.500000")  # 1200 × 73.5 / 3600


def test_usage_spanning_the_off_peak_start_is_split_at_it(place, agent):
    _workload, assignment = place()
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 21, 30))
    agent.report(assignment, "stopped", finished_at=local(2026, 3, 10, 22, 30))
    record = UsageRecord.objects.get()
    assert (record.peak_seconds, record.off_peak_seconds) == (1800, 1800)
    # 1800 × 105 / 3600 + 1800 × 73.5 / 3600 = 52.5 + 36.75
    assert record.cost_fen == Decimal("89.250000")


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=30)
def test_when_the_node_is_lost_billing_stops_at_its_last_heartbeat(place, agent):
    # given a running workload whose node last reported at 10:00:00
    _workload, assignment = place()
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 0))
    Node.objects.filter(pk=agent.node.pk).update(last_heartbeat_at=local(2026, 3, 10, 10, 0, 0, 500000))
    # when the liveness sweep notices the silence minutes later
    telemetry.nodes_mark_unreachable(now=local(2026, 3, 10, 10, 7))
    # then the usage ends at the last heartbeat, not when the loss was noticed
    record = UsageRecord.objects.get()
    assert Assignment.objects.get().state == Assignment.State.LOST
    assert record.ended_at == local(2026, 3, 10, 10, 0, 0)
    assert record.end_reason == UsageRecord.EndReason.NODE_LOST
    assert record.peak_seconds + record.off_peak_seconds == 3600


def test_work_stopped_before_it_started_is_not_billed(place):
    _workload, assignment = place()
    dispatch.assignment_stop(assignment=assignment)
    assert Assignment.objects.get().state == Assignment.State.STOPPED
    assert not UsageRecord.objects.exists()


def test_usage_crossing_a_month_start_is_split_there(place, agent):
    _workload, assignment = place()
    agent.report(assignment, "running", started_at=local(2026, 3, 31, 23, 0))
    agent.report(assignment, "stopped", finished_at=local(2026, 4, 1, 1, 0))
    first, second = UsageRecord.objects.order_by("started_at")
    assert (first.started_at, first.ended_at) == (local(2026, 3, 31, 23, 0), local(2026, 4, 1, 0, 0))
    assert first.end_reason == UsageRecord.EndReason.MONTH_END
    assert (second.started_at, second.ended_at) == (local(2026, 4, 1, 0, 0), local(2026, 4, 1, 1, 0))
    assert second.end_reason == UsageRecord.EndReason.STOPPED and second.previous == first


def test_usage_crossing_a_price_change_is_split_and_priced_by_each_book(place, agent, new_book):
    # given T4 Shanghai on-demand rising from ¥2.10 to ¥3.00 per card-hour at 10:00
    book = new_book(effective_from=local(2026, 3, 10, 10, 0), hourly={("nvidia-t4", "cn-shanghai"): "3.00"})
    _workload, assignment = place()
    agent.report(assignment, "running", started_at=local(2026, 3, 10, 9, 30))
    agent.report(assignment, "stopped", finished_at=local(2026, 3, 10, 10, 30))
    old, new = UsageRecord.objects.order_by("started_at")
    assert old.end_reason == UsageRecord.EndReason.PRICE_CHANGE
    assert (old.hourly, new.hourly) == (Decimal("1.05"), Decimal("1.5"))
    assert new.price_book_id == book.pk
    assert (old.cost_fen, new.cost_fen) == (Decimal("52.500000"), Decimal("75.000000"))


def test_missed_events_are_applied_by_the_reconciliation(place, agent):
    # given an assignment that ran and stopped while billing did not hear about it
    _workload, assignment = place()
    Assignment.objects.filter(pk=assignment.pk).update(
        state=Assignment.State.SUCCEEDED, started_at=local(2026, 3, 10, 9, 0),
        finished_at=local(2026, 3, 10, 9, 10), last_reported_at=local(2026, 3, 10, 9, 10))
    # when the sweep reconciles the last hour
    applied = meter_reconcile(since=local(2026, 3, 10, 8, 30))
    # then the usage is there
    assert applied == 1
    record = UsageRecord.objects.get()
    assert record.ended_at - record.started_at == timedelta(minutes=10)
