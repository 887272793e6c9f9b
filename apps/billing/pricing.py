"""The arithmetic of prices, kept free of the database so it can be checked by hand.

* A slice is billed as a share of a card: the larger of its compute share and its memory share
  (a slice that takes half a card's memory keeps others from half the card, whatever its compute).
* Rates are Decimal; the accrued cost of a usage record is Decimal fen with 6 places; posted and
  invoiced amounts are integer fen, rounded once per invoice line, half-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

RATE_PLACES = Decimal("0.000001")  # CNY per hour, card fractions
FEN_PLACES = Decimal("0.000001")  # accrued cost, in fen
FEN_PER_CNY = Decimal(100)
SECONDS_PER_HOUR = Decimal(3600)


def round_fen(value: Decimal) -> int:
    """The one rounding rule: to whole fen, half-up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate(value: Decimal) -> Decimal:
    return value.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Share:
    card_fraction: Decimal
    compute_share: Decimal
    memory_share: Decimal


def card_share(*, card_memory_mib: int, gpu_count: int = 0, gpu_milli: int = 0, gpu_memory_mib: int = 0) -> Share:
    """How many cards a shape is billed as. Whole cards count 1 each; a slice or profile counts
    max(compute milli / 1000, memory / card memory)."""
    if gpu_count:
        whole = Decimal(gpu_count)
        return Share(whole, whole, whole)
    compute = Decimal(gpu_milli) / Decimal(1000)
    memory = Decimal(gpu_memory_mib) / Decimal(card_memory_mib) if card_memory_mib else Decimal(0)
    return Share(rate(min(max(compute, memory), Decimal(1))), rate(compute), rate(memory))


def shape_hourly(*, card_hourly: Decimal, card_fraction: Decimal, discount: Decimal) -> Decimal:
    """CNY per hour for a shape: the card price × card fraction × (1 − discount), to 6 places."""
    return rate(card_hourly * card_fraction * (1 - discount))


def discounted(value: Decimal, discount: Decimal) -> Decimal:
    return rate(value * (1 - discount))


def cost_fen(*, hourly: Decimal, off_peak_hourly: Decimal, peak_seconds: int, off_peak_seconds: int) -> Decimal:
    """Exact cost of a stretch in fen (6 places): each second at its hourly rate / 3600."""
    cny_seconds = hourly * peak_seconds + off_peak_hourly * off_peak_seconds
    return (cny_seconds * FEN_PER_CNY / SECONDS_PER_HOUR).quantize(FEN_PLACES, rounding=ROUND_HALF_UP)


def off_peak_seconds(*, start: datetime, end: datetime, windows: list, timezone_name: str) -> int:
    """Seconds of [start, end) that fall inside the region's local off-peak hours ([from, to) pairs)."""
    if end <= start or not windows:
        return 0
    zone = ZoneInfo(timezone_name)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = local_start.date() - timedelta(days=1)  # a window of the day before cannot reach in, but be safe
    total = 0
    while day <= local_end.date():
        for window_from, window_to in windows:
            lo = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(hours=window_from)
            hi = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(hours=window_to)
            overlap = (min(hi, local_end) - max(lo, local_start)).total_seconds()
            total += max(0, int(overlap))
        day += timedelta(days=1)
    return total


def in_windows(*, at: datetime, windows: list, timezone_name: str) -> bool:
    local = at.astimezone(ZoneInfo(timezone_name))
    hour = local.hour + local.minute / 60
    return any(lo <= hour < hi for lo, hi in windows)


@dataclass(frozen=True)
class BandShare:
    """The part of a month's card-hours that falls in one volume band, and its discount."""

    from_card_hours: Decimal
    to_card_hours: Decimal | None
    card_hours: Decimal
    discount: Decimal


def volume_bands_apply(*, card_hours: Decimal, bands: list[tuple[Decimal, Decimal]], scheme: str) -> list[BandShare]:
    """Split a month's card-hours over the bands ((from, discount) pairs, any order).

    ``graduated``: each band's card-hours get that band's discount. ``volume``: all card-hours get the
    discount of the highest band reached (returned as one share)."""
    ordered = sorted(bands)
    if not ordered or card_hours <= 0:
        return []
    ends = [start for start, _discount in ordered[1:]] + [None]
    if scheme == "volume":
        reached = [(start, end, discount) for (start, discount), end in zip(ordered, ends, strict=True)
                   if card_hours > start or start == 0]
        start, end, discount = reached[-1]
        return [BandShare(start, end, card_hours, discount)]
    shares = []
    for (start, discount), end in zip(ordered, ends, strict=True):
        upper = card_hours if end is None else min(card_hours, end)
        if upper > start:
            shares.append(BandShare(start, end, upper - start, discount))
    return shares
