"""Reporting periods: whole days in settings.TIME_ZONE, from a kind and an anchor date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

KINDS = ("day", "week", "month", "quarter", "custom")
MAX_CUSTOM_DAYS = 366


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # first day
    end: date  # last day (inclusive)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def previous(self) -> Period:
        """The period before: the previous calendar month / quarter / week / day, or as many days."""
        if self.kind in ("month", "quarter"):
            return period_build(kind=self.kind, anchor=self.start - timedelta(days=1))
        return Period(self.kind, self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def bounds(self) -> tuple[datetime, datetime]:
        return day_bounds(self.start)[0], day_bounds(self.end)[1]

    def as_dict(self) -> dict:
        return {"kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat()}


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = local_zone()
    return (datetime.combine(day, time.min, tzinfo=zone),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))


def today() -> date:
    return timezone.localdate(timezone=local_zone())


def period_build(*, kind: str, anchor: date, end: date | None = None) -> Period:
    if kind == "day":
        return Period(kind, anchor, anchor)
    if kind == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return Period(kind, start, start + timedelta(days=6))
    if kind == "month":
        start = anchor.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return Period(kind, start, following - timedelta(days=1))
    if kind == "quarter":
        start = anchor.replace(month=(anchor.month - 1) // 3 * 3 + 1, day=1)
        following = (start + timedelta(days=95)).replace(day=1)
        return Period(kind, start, following - timedelta(days=1))
    if kind == "custom":
        if end is None:
            raise ValidationError({"end": [_("A custom period needs an end date.")]})
        if end < anchor:
            raise ValidationError({"end": [_("The end date is before the start date.")]})
        if (end - anchor).days + 1 > MAX_CUSTOM_DAYS:
            raise ValidationError({"end": [_("A custom period is at most %(days)d days.") % {"days": MAX_CUSTOM_DAYS}]})
        return Period(kind, anchor, end)
    raise ValidationError({"period": [_("Choose day, week, month, quarter or custom.")]})


def _parse_date(value: str, field: str) -> date:
    try:
        parsed = date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({field: [_("Enter a date as YYYY-MM-DD.")]}) from exc
    if not date(2000, 1, 1) <= parsed <= date(2100, 12, 31):
        raise ValidationError({field: [_("Enter a date between 2000 and 2100.")]})
    return parsed


def period_parse(params) -> Period:
    """A period from query parameters ``period``, ``start`` and ``end`` (dates as YYYY-MM-DD); the
    current month by default. Bad input raises ValidationError with field errors."""
    kind = (params.get("period") or "month").strip()
    if kind not in KINDS:
        raise ValidationError({"period": [_("Choose day, week, month, quarter or custom.")]})
    start = params.get("start")
    anchor = _parse_date(start, "start") if start else today()
    end = params.get("end")
    return period_build(kind=kind, anchor=anchor, end=_parse_date(end, "end") if end else None)
