"""Acceptance 1 (core): KPIs of a generated 30-day history equal those computed from the raw rows."""

from collections import defaultdict
from datetime import date, timedelta

import pytest

from apps.oversight.models import ConsumptionDay, DeviceDay
from apps.oversight.periods import period_build
from apps.oversight.rollups import day_rollup
from apps.oversight.selectors import breakdown, kpi_series, kpis_for, scope_build
from tests.oversight.fleet import MONTH_START, assert_kpis_equal, at, expected_kpis, expected_month

JURISDICTION = {"cn-shanghai", "cn-suzhou"}


def _in_jurisdiction(expected):
    return [d for d in expected.values() if d["region"] in JURISDICTION]


def test_month_kpis_equal_plain_python_from_raw_rows(fleet):
    expected = expected_month(fleet)
    want = expected_kpis(_in_jurisdiction(expected), local_region_codes=JURISDICTION, customers=fleet.customers)
    scope = scope_build(organization=fleet.government, params={})
    got = kpis_for(scope=scope, period=period_build(kind="month", anchor=MONTH_START))
    assert_kpis_equal(got, want)
    # The history has every case in it: none of these is trivially 0 or 1.
    for name in ("maintenance_rate", "unreachable_rate", "quarantine_rate", "allocation_rate", "utilization",
                 "delivered_local_pflops_days", "delivered_other_pflops_days"):
        assert 0 < got[name] < 1 or (name.startswith("delivered") and got[name] > 0), name
    assert got["in_service_rate"] < 1


def test_breakdowns_equal_plain_python(fleet):
    expected = _in_jurisdiction(expected_month(fleet))
    scope = scope_build(organization=fleet.government, params={})
    period = period_build(kind="month", anchor=MONTH_START)
    for dimension in ("region", "provider", "cluster", "node", "vendor_class", "model"):
        groups = defaultdict(list)
        for device in expected:
            groups[str(device[dimension])].append(device)
        rows = {str(row["key"]): row for row in breakdown(scope=scope, period=period, dimension=dimension)}
        assert set(rows) == set(groups), dimension
        for key, devices in groups.items():
            assert_kpis_equal(rows[key]["kpis"], expected_kpis(devices, local_region_codes=JURISDICTION,
                                                                customers=fleet.customers))
    # Industry: each consuming enterprise's share of what was delivered.
    by_industry = {row["key"]: row["kpis"] for row in breakdown(scope=scope, period=period, dimension="industry")}
    delivered = defaultdict(float)
    for device in expected:
        for customer_id, share in device["share_by_customer"].items():
            industry = next(c.industry for c in fleet.customers.values() if c.id == customer_id)
            delivered[industry] += device["tflops"] * share / 1000 / 86400
    assert set(by_industry) == set(delivered)
    total = sum(delivered.values())
    for industry, value in delivered.items():
        assert by_industry[industry]["delivered_pflops_days"] == pytest.approx(value, rel=1e-9)
        assert by_industry[industry]["share_of_delivered"] == pytest.approx(value / total, rel=1e-9)


def test_drill_down_scope_and_a_custom_period(fleet):
    start, end = date(2026, 11, 5), date(2026, 11, 12)
    expected = expected_month(fleet, start=at(5), end=at(13))
    node = fleet.nodes["sh-2"]
    scope = scope_build(organization=fleet.government, params={"node": str(node.id)})
    got = kpis_for(scope=scope, period=period_build(kind="custom", anchor=start, end=end))
    devices = [d for d in expected.values() if d["node"] == node.id]
    assert_kpis_equal(got, expected_kpis(devices, local_region_codes=JURISDICTION, customers=fleet.customers))
    assert got["unreachable_rate"] > 0


def test_daily_series_adds_up_to_each_day(fleet):
    scope = scope_build(organization=fleet.government, params={"region": "cn-shanghai"})
    series = kpi_series(scope=scope, period=period_build(kind="week", anchor=date(2026, 11, 12)))
    assert [point["day"] for point in series] == [date(2026, 11, 9) + timedelta(days=i) for i in range(7)]
    outage_day = next(point for point in series if point["day"] == date(2026, 11, 12))
    expected = expected_month(fleet, start=at(12), end=at(13))
    devices = [d for d in expected.values() if d["region"] == "cn-shanghai"]
    assert_kpis_equal(outage_day["kpis"], expected_kpis(devices, local_region_codes=JURISDICTION,
                                                        customers=fleet.customers))


def test_rollup_is_idempotent(fleet):
    day = date(2026, 11, 12)
    before = sorted(DeviceDay.objects.filter(day=day).values_list("device_id", "in_service_s", "allocated_share_s",
                                                                  "utilized_s", "energy_j"))
    consumption = ConsumptionDay.objects.filter(device_day__day=day).count()
    assert day_rollup(day=day) == len(before)
    assert day_rollup(day=day) == len(before)
    after = sorted(DeviceDay.objects.filter(day=day).values_list("device_id", "in_service_s", "allocated_share_s",
                                                                 "utilized_s", "energy_j"))
    assert after == before
    assert ConsumptionDay.objects.filter(device_day__day=day).count() == consumption


def test_the_beat_job_rolls_up_today_and_yesterday_only_just_after_midnight(db):
    from apps.oversight.rollups import recent_days_rollup

    assert list(recent_days_rollup(now=at(12, 1))) == ["2026-11-11", "2026-11-12"]
    assert list(recent_days_rollup(now=at(12, 9))) == ["2026-11-12"]


def test_month_over_month_change_and_trend(fleet):
    from apps.oversight.labels import change_display
    from apps.oversight.selectors import kpi_overview

    scope = scope_build(organization=fleet.government, params={})
    december = kpi_overview(scope=scope, period=period_build(kind="month", anchor=date(2026, 12, 1)))
    november = kpis_for(scope=scope, period=period_build(kind="month", anchor=MONTH_START))
    assert december["previous_period"].start == MONTH_START
    assert december["previous"] == november
    # December has only the spill-over of one day: nothing in service, the change is against November
    assert december["kpis"]["in_service_rate"] is None and december["change"]["in_service_rate"] is None
    november_overview = kpi_overview(scope=scope, period=period_build(kind="month", anchor=MONTH_START))
    assert november_overview["change"]["delivered_pflops_days"] == pytest.approx(
        november["delivered_pflops_days"] - november_overview["previous"]["delivered_pflops_days"])
    assert change_display("utilization", 0.0123) == "▲ +1.2 pp"
    assert change_display("utilization", -0.05) == "▼ -5.0 pp"
    assert change_display("energy_kwh", 0.0) == "→ +0.000"
