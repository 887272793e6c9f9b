"""Hand-computed voucher scenarios on the pure arithmetic (apps/vouchers/subsidy.py): no database."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from apps.vouchers.subsidy import (
    DOMESTIC,
    IMPORTED,
    LIMIT_ANNUAL_CAP,
    LIMIT_BUDGET,
    LIMIT_GRANT,
    LIMIT_RATE,
    Schedule,
    Step,
    add_months,
    entitlement,
    hardware_class,
    next_step,
    rate_segments,
    share_limit,
    subsidy_exact,
)

SH = ZoneInfo("Asia/Shanghai")
EPOCH = datetime(2020, 1, 1, tzinfo=SH)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def flat(fen_per_hour: int):
    """A price of ``fen_per_hour``, every second alike."""
    return lambda start, end: Decimal(fen_per_hour) * Decimal(int((end - start).total_seconds())) / 3600


# 50 % for months 0–12 of the grant, 30 % for 12–24, 20 % for 24–36, nothing after.
AGE_TAPER = Schedule(EPOCH, (Step(5000, starts_after_months=0), Step(3000, starts_after_months=12),
                             Step(2000, starts_after_months=24), Step(0, starts_after_months=36)))


def test_a_taper_step_crossed_in_the_middle_of_a_charge_pays_each_rate_for_its_own_seconds():
    # A grant started 2026-01-15: its 12th month ends at 2027-01-15 00:00 Shanghai time.
    # A run 2027-01-14 23:00 → 2027-01-15 01:00 at 360 fen/h (0.1 fen a second), charged in one go:
    #   23:00–00:00  3600 s × 0.1 = 360 fen × 50 % = 180
    #   00:00–01:00  3600 s × 0.1 = 360 fen × 30 % = 108
    #   subsidy 288 fen of the 720 fen charge; co-pay 432.
    segments = rate_segments(schedules=[AGE_TAPER], start=at(2027, 1, 14, 23), end=at(2027, 1, 15, 1),
                             grant_start=date(2026, 1, 15), hardware=IMPORTED, size="sme", zone=SH)
    assert [(s.start.hour, s.seconds, s.rate_bp) for s in segments] == [(23, 3600, 5000), (0, 3600, 3000)]
    exact = subsidy_exact(segments, flat(360))
    assert exact == Decimal(288)
    assert entitlement(exact=exact, cost_target=720, charged_after=720, already_paid=0) == 288


def test_charges_of_a_running_slice_converge_on_the_rounded_subsidy():
    # The same run charged at 23:30 and at 01:00.
    # First charge: 1800 s = 180 fen, all at 50 % → 90 fen from the voucher.
    first = rate_segments(schedules=[AGE_TAPER], start=at(2027, 1, 14, 23), end=at(2027, 1, 14, 23, 30),
                          grant_start=date(2026, 1, 15), hardware=IMPORTED, size="sme", zone=SH)
    assert entitlement(exact=subsidy_exact(first, flat(360)), cost_target=180, charged_after=180,
                       already_paid=0) == 90
    # Second charge of 540 fen: the record's subsidy is now 288 in all, 90 already paid → 198.
    whole = rate_segments(schedules=[AGE_TAPER], start=at(2027, 1, 14, 23), end=at(2027, 1, 15, 1),
                          grant_start=date(2026, 1, 15), hardware=IMPORTED, size="sme", zone=SH)
    assert entitlement(exact=subsidy_exact(whole, flat(360)), cost_target=720, charged_after=720,
                       already_paid=90) == 198
    # A charge that could only take part of what was due (a short wallet: 100 of 720 fen posted)
    # gets the proportional share: 288 × 100 / 720 = 40.
    assert entitlement(exact=Decimal(288), cost_target=720, charged_after=100, already_paid=0) == 40


def test_rounding_is_once_per_record_half_up():
    # 7 s at 50 % of 1 fen/s... priced 3600 fen/h: 7 fen × 50 % = 3.5 → 4 (half-up), once.
    segments = rate_segments(schedules=[AGE_TAPER], start=at(2026, 6, 1, 12), end=at(2026, 6, 1, 12, 0, 7),
                             grant_start=date(2026, 1, 15), hardware=IMPORTED, size="", zone=SH)
    assert entitlement(exact=subsidy_exact(segments, flat(3600)), cost_target=7, charged_after=7,
                       already_paid=0) == 4


def test_the_annual_cap_reached_in_the_middle_of_a_charge_pays_only_up_to_the_cap():
    # Beijing: 20 %, ¥2,000,000 (200,000,000 fen) per enterprise per year; 199,999,900 fen already used.
    # A 1,000 fen charge wants 200 fen; only 100 fen of the cap is left → the voucher pays 100, the
    # customer 900, and the line says the annual cap bound.
    cap, used = 200_000_000, 199_999_900
    result = share_limit(wanted=200, charge=1000, grant_balance=5_000_000, annual_cap_left=cap - used,
                         budget_left=10**9)
    assert (result.share_fen, result.limited_by, 1000 - result.share_fen) == (100, LIMIT_ANNUAL_CAP, 900)


def test_whichever_limit_binds_first_is_the_reason():
    assert share_limit(wanted=200, charge=1000, grant_balance=50, annual_cap_left=None,
                       budget_left=70).limited_by == LIMIT_GRANT
    assert share_limit(wanted=200, charge=1000, grant_balance=500, annual_cap_left=300,
                       budget_left=70).limited_by == LIMIT_BUDGET
    assert share_limit(wanted=200, charge=1000, grant_balance=500, annual_cap_left=300,
                       budget_left=700).limited_by == LIMIT_RATE
    # nothing left anywhere: 0, never negative
    assert share_limit(wanted=200, charge=1000, grant_balance=0, annual_cap_left=-5,
                       budget_left=0).share_fen == 0


def test_domestic_chips_get_the_domestic_rate_and_imported_ones_the_general_rate():
    # Hangzhou: 30 % on domestic chips, 20 % otherwise. One hour at ¥20/h (2,000 fen):
    #   Ascend (Huawei, domestic): 2,000 × 30 % = 600 fen; NVIDIA (imported): 2,000 × 20 % = 400 fen.
    hangzhou = Schedule(EPOCH, (Step(2000, starts_on=date(2026, 1, 1)),
                                Step(3000, starts_on=date(2026, 1, 1), hardware_class=DOMESTIC)))
    assert hardware_class("huawei") == DOMESTIC and hardware_class("nvidia") == IMPORTED

    def subsidy(vendor):
        segments = rate_segments(schedules=[hangzhou], start=at(2026, 5, 1, 10), end=at(2026, 5, 1, 11),
                                 grant_start=date(2026, 2, 1), hardware=hardware_class(vendor), size="sme",
                                 zone=SH)
        return entitlement(exact=subsidy_exact(segments, flat(2000)), cost_target=2000, charged_after=2000,
                           already_paid=0)

    assert subsidy("huawei") == 600
    assert subsidy("nvidia") == 400


SHANGHAI = Schedule(EPOCH, (Step(3000, starts_after_months=0),
                            Step(10000, starts_after_months=0, size_class="startup"),
                            Step(3000, starts_after_months=12, size_class="startup")))


def test_a_startup_rate_ends_after_its_year():
    # Shanghai: 30 %, but 100 % for the first year for startups. Grant from 2026-03-01, so the
    # startup rate ends at 2027-03-01 00:00. A startup's run 2027-02-28 23:00 → 2027-03-01 01:00 at
    # 3,600 fen/h: 3,600 × 100 % + 3,600 × 30 % = 4,680 fen subsidy of 7,200.
    segments = rate_segments(schedules=[SHANGHAI], start=at(2027, 2, 28, 23), end=at(2027, 3, 1, 1),
                             grant_start=date(2026, 3, 1), hardware=IMPORTED, size="startup", zone=SH)
    assert [s.rate_bp for s in segments] == [10000, 3000]
    assert subsidy_exact(segments, flat(3600)) == Decimal(4680)
    # An SME gets 30 % all along: 7,200 × 30 % = 2,160.
    sme = rate_segments(schedules=[SHANGHAI], start=at(2027, 2, 28, 23), end=at(2027, 3, 1, 1),
                        grant_start=date(2026, 3, 1), hardware=IMPORTED, size="sme", zone=SH)
    assert subsidy_exact(sme, flat(3600)) == Decimal(2160)
    # The startup's page shows the next step: 30 % from 2027-03-01.
    assert next_step(schedules=[SHANGHAI], after=at(2027, 1, 10), grant_start=date(2026, 3, 1),
                     hardware=IMPORTED, size="startup", zone=SH) == (at(2027, 3, 1), 3000)
    assert next_step(schedules=[SHANGHAI], after=at(2027, 1, 10), grant_start=date(2026, 3, 1),
                     hardware=IMPORTED, size="sme", zone=SH) is None


def test_calendar_steps_and_a_new_rule_version_split_usage_too():
    # Version 1 (from 2026-01-01): 50 % until 2026-07-01, 40 % after. Version 2 from 2026-09-01 12:00: 25 %.
    v1 = Schedule(at(2026, 1, 1), (Step(5000, starts_on=date(2026, 1, 1)), Step(4000, starts_on=date(2026, 7, 1))))
    v2 = Schedule(at(2026, 9, 1, 12), (Step(2500, starts_on=date(2026, 1, 1)),))
    segments = rate_segments(schedules=[v2, v1], start=at(2026, 9, 1, 11), end=at(2026, 9, 1, 13),
                             grant_start=date(2026, 2, 1), hardware=IMPORTED, size="", zone=SH)
    assert [(s.start.hour, s.rate_bp) for s in segments] == [(11, 4000), (12, 2500)]
    # Before the grant starts and after the programme ends, nothing is paid.
    outside = rate_segments(schedules=[v1], start=at(2026, 1, 31, 23), end=at(2026, 2, 1, 1),
                            grant_start=date(2026, 2, 1), hardware=IMPORTED, size="", zone=SH,
                            pays_from=at(2026, 2, 1), pays_until=at(2026, 2, 1, 0, 30))
    assert [(s.seconds, s.rate_bp) for s in outside] == [(3600, 0), (1800, 5000), (1800, 0)]


def test_grant_age_counts_calendar_months():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)


def test_a_step_is_either_dated_or_aged_and_a_rate_is_a_share():
    with pytest.raises(ValueError):
        Step(5000)
    with pytest.raises(ValueError):
        Step(5000, starts_on=date(2026, 1, 1), starts_after_months=0)
    with pytest.raises(ValueError):
        Step(10001, starts_after_months=0)


def test_after_the_last_step_the_rate_is_zero():
    segments = rate_segments(schedules=[AGE_TAPER], start=at(2029, 1, 14), end=at(2029, 1, 16),
                             grant_start=date(2026, 1, 15), hardware=IMPORTED, size="", zone=SH)
    assert [(s.end - s.start, s.rate_bp) for s in segments] == [(timedelta(days=1), 2000), (timedelta(days=1), 0)]
