"""Time helpers: the protocol's timestamps are ISO 8601 in UTC with an explicit offset."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def now_iso() -> str:
    return utcnow().isoformat()
