"""The arithmetic of vouchers, free of Django so every figure can be checked by hand.

Rates are basis points (1 bp = 0.01 %; 5000 bp = 50 %). Money is fen: exact amounts are Decimal (6
places, as billing accrues them), posted amounts integer fen.

* **Taper steps.** A rule version has ordered steps; each starts either on a calendar date or after the
  grant has run some months (the taper clock starts on the grant's start date), and may apply only to
  one hardware class (domestic or imported chips) and/or one size class (the startup rate). At a moment,
  the matching *tracks* (steps with the same classes) are tried from the most specific (hardware and
  size) to the general one; the first track with a step already started gives the rate: its latest
  started step. So a startup track that drops to 30 % after 12 months says so with a step at 12 months,
  and a track that has not started yet falls back to the general rate.
* **Segments.** The seconds of a usage record are split at every step start, rule-version start and
  the edges of the window in which the grant pays (grant start, programme validity): each segment has
  one rate, like billing splits usage at month starts and price changes.
* **Rounding.** The exact subsidy of a usage record is Σ segment cost × rate / 10000 (Decimal). Like
  the provider's share, the share posted with a charge is cumulative over the record: after a charge
  brings the record's posted total to ``after`` of its rounded cost ``T``, the voucher is entitled to
  ``round_half_up(S × after / T)`` in all (exactly ``round_half_up(S)`` once the record is fully
  charged), minus what it already paid. So the voucher share of a record, once charged, is its exact
  subsidy rounded once, half-up.
* **Limits.** The share of one charge is the smallest of: that entitlement, the charge itself, the
  grant's balance, what is left of the enterprise's annual cap, and the programme's budget. The first
  (in that order) that binds is recorded as the reason.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

BP = 10_000  # basis points in 100 %

DOMESTIC = "domestic"
IMPORTED = "imported"
# The catalog's vendors by where their chips come from (信创: domestic accelerators).
DOMESTIC_VENDORS = frozenset({"huawei", "iluvatar", "cambricon", "hygon"})

# Why a charge's share is what it is (in this order of precedence when several bind at once).
LIMIT_RATE = "rate"
LIMIT_CHARGE = "charge"
LIMIT_GRANT = "grant_balance"
LIMIT_ANNUAL_CAP = "annual_cap"
LIMIT_BUDGET = "program_budget"


def hardware_class(vendor: str) -> str:
    return DOMESTIC if vendor in DOMESTIC_VENDORS else IMPORTED


def round_fen(value: Decimal) -> int:
    """To whole fen, half-up (billing's one rounding rule)."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


@dataclass(frozen=True)
class Step:
    """One taper step: ``rate_bp`` from ``starts_on`` (calendar) or after ``starts_after_months`` of the
    grant (age), for every chip and size unless ``hardware_class`` / ``size_class`` narrow it."""

    rate_bp: int
    starts_on: date | None = None
    starts_after_months: int | None = None
    hardware_class: str = ""
    size_class: str = ""

    def __post_init__(self):
        if (self.starts_on is None) == (self.starts_after_months is None):
            raise ValueError("a step starts either on a date or after a number of months")
        if not 0 <= self.rate_bp <= BP:
            raise ValueError("a rate is between 0 and 10000 basis points")
        if self.starts_after_months is not None and self.starts_after_months < 0:
            raise ValueError("a grant-age step starts after zero or more months")

    def start(self, *, grant_start: date, zone: ZoneInfo) -> datetime:
        day = self.starts_on if self.starts_on is not None else add_months(grant_start, self.starts_after_months)
        return local_midnight(day, zone)

    def specificity(self) -> int:
        return (2 if self.size_class else 0) + (1 if self.hardware_class else 0)

    def matches(self, *, hardware: str, size: str) -> bool:
        return self.hardware_class in ("", hardware) and self.size_class in ("", size)


@dataclass(frozen=True)
class Schedule:
    """The steps of one rule version, in force from ``effective_from`` until the next version."""

    effective_from: datetime
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    rate_bp: int
    step: Step | None = None

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def rate_at(steps: Iterable[Step], *, at: datetime, grant_start: date, hardware: str, size: str,
            zone: ZoneInfo) -> tuple[int, Step | None]:
    """The rate in force at ``at`` and the step that gives it (0 and None before any step)."""
    matching = [step for step in steps if step.matches(hardware=hardware, size=size)]
    for specificity in sorted({step.specificity() for step in matching}, reverse=True):
        started = [step for step in matching if step.specificity() == specificity
                   and step.start(grant_start=grant_start, zone=zone) <= at]
        if started:
            # Within a track the latest start wins; two steps of one track on one date: the later listed.
            best = max(enumerate(started), key=lambda item: (item[1].start(grant_start=grant_start, zone=zone),
                                                             item[0]))[1]
            return best.rate_bp, best
    return 0, None


def _schedule_at(schedules: list[Schedule], at: datetime) -> Schedule | None:
    in_force = [schedule for schedule in schedules if schedule.effective_from <= at]
    return max(in_force, key=lambda schedule: schedule.effective_from) if in_force else None


def rate_segments(*, schedules: Iterable[Schedule], start: datetime, end: datetime, grant_start: date,
                  hardware: str, size: str, zone: ZoneInfo, pays_from: datetime | None = None,
                  pays_until: datetime | None = None) -> list[Segment]:
    """Split [start, end) at every boundary where the rate may change; each segment has one rate.
    Outside [pays_from, pays_until) (the grant's start, the programme's validity) the rate is 0."""
    schedules = sorted(schedules, key=lambda schedule: schedule.effective_from)
    if end <= start:
        return []
    cuts = {start, end}
    for schedule in schedules:
        cuts.add(schedule.effective_from)
        cuts.update(step.start(grant_start=grant_start, zone=zone) for step in schedule.steps)
    for moment in (pays_from, pays_until):
        if moment is not None:
            cuts.add(moment)
    points = sorted(moment for moment in cuts if start <= moment <= end)
    segments: list[Segment] = []
    for lo, hi in itertools.pairwise(points):
        rate, step = 0, None
        schedule = _schedule_at(schedules, lo)
        paying = (pays_from is None or lo >= pays_from) and (pays_until is None or lo < pays_until)
        if schedule is not None and paying:
            rate, step = rate_at(schedule.steps, at=lo, grant_start=grant_start, hardware=hardware, size=size,
                                 zone=zone)
        if segments and segments[-1].rate_bp == rate and segments[-1].step == step:
            segments[-1] = Segment(segments[-1].start, hi, rate, step)  # same rate: one segment
        else:
            segments.append(Segment(lo, hi, rate, step))
    return segments


def next_step(*, schedules: Iterable[Schedule], after: datetime, grant_start: date, hardware: str, size: str,
              zone: ZoneInfo, horizon_years: int = 10) -> tuple[datetime, int] | None:
    """The next moment after ``after`` where the rate changes, and the rate from then (for the customer's
    "next taper step")."""
    schedules = list(schedules)
    current = _schedule_at(schedules, after)
    now_rate = rate_at(current.steps, at=after, grant_start=grant_start, hardware=hardware, size=size,
                       zone=zone)[0] if current else 0
    moments = set()
    for schedule in schedules:
        if schedule.effective_from > after:
            moments.add(schedule.effective_from)
        moments.update(step.start(grant_start=grant_start, zone=zone) for step in schedule.steps)
    limit = after.replace(year=after.year + horizon_years)
    for moment in sorted(m for m in moments if after < m <= limit):
        schedule = _schedule_at(schedules, moment)
        rate = rate_at(schedule.steps, at=moment, grant_start=grant_start, hardware=hardware, size=size,
                       zone=zone)[0] if schedule else 0
        if rate != now_rate:
            return moment, rate
    return None


def subsidy_exact(segments: Iterable[Segment], cost_of: Callable[[datetime, datetime], Decimal]) -> Decimal:
    """Σ cost of each segment × its rate, exact (Decimal fen). ``cost_of(start, end)`` prices a stretch
    the way billing does (peak and off-peak seconds)."""
    total = Decimal(0)
    for segment in segments:
        if segment.rate_bp:
            total += cost_of(segment.start, segment.end) * segment.rate_bp / BP
    return total


def entitlement(*, exact: Decimal, cost_target: int, charged_after: int, already_paid: int) -> int:
    """What the voucher should pay with a charge that brings the record's posted total to
    ``charged_after`` of its rounded cost ``cost_target``: its cumulative share minus what it paid."""
    if cost_target <= 0 or exact <= 0:
        return 0
    cumulative = round_fen(exact * min(charged_after, cost_target) / cost_target)
    return max(0, cumulative - already_paid)


@dataclass(frozen=True)
class Limited:
    share_fen: int
    limited_by: str
    wanted_fen: int
    limits: dict = field(default_factory=dict)


def share_limit(*, wanted: int, charge: int, grant_balance: int, annual_cap_left: int | None,
                budget_left: int) -> Limited:
    """The share of one charge: the smallest of the entitlement and every limit; the reason is the
    first of them (rate, charge, grant, annual cap, budget) that equals the result."""
    candidates = [(LIMIT_RATE, wanted), (LIMIT_CHARGE, charge), (LIMIT_GRANT, grant_balance)]
    if annual_cap_left is not None:
        candidates.append((LIMIT_ANNUAL_CAP, annual_cap_left))
    candidates.append((LIMIT_BUDGET, budget_left))
    share = max(0, min(amount for _reason, amount in candidates))
    reason = next(reason for reason, amount in candidates if max(0, amount) == share)
    return Limited(share_fen=share, limited_by=reason, wanted_fen=wanted,
                   limits={reason_: amount for reason_, amount in candidates})
