"""1-minute and 1-hour rollups of device samples, and retention. Plain SQL: the database aggregates
millions of rows far faster than Python would, and the upsert makes every run idempotent."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import AssignmentSample, DeviceRollup, DeviceSample

_UPSERT = """
INSERT INTO telemetry_devicerollup (device_id, resolution, bucket, samples, utilization_avg, utilization_max,
                                    memory_used_avg_mib, temperature_avg_c, power_avg_w)
SELECT device_id, %(resolution)s, date_trunc(%(unit)s, collected_at) AS bucket, count(*),
       avg(utilization_pct), max(utilization_pct), avg(memory_used_mib), avg(temperature_c), avg(power_w)
FROM telemetry_devicesample
WHERE collected_at >= %(since)s AND collected_at < %(until)s
GROUP BY device_id, date_trunc(%(unit)s, collected_at)
ON CONFLICT (device_id, resolution, bucket) DO UPDATE SET
    samples = EXCLUDED.samples, utilization_avg = EXCLUDED.utilization_avg,
    utilization_max = EXCLUDED.utilization_max, memory_used_avg_mib = EXCLUDED.memory_used_avg_mib,
    temperature_avg_c = EXCLUDED.temperature_avg_c, power_avg_w = EXCLUDED.power_avg_w
"""


def _floor(moment: datetime, unit: str) -> datetime:
    moment = moment.replace(second=0, microsecond=0)
    return moment.replace(minute=0) if unit == "hour" else moment


def telemetry_rollup(*, now: datetime | None = None, lookback_hours: int = 2) -> dict:
    """Recompute the buckets of the last ``lookback_hours`` (late and replayed samples land there too)."""
    now = now or timezone.now()
    counts = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for resolution, unit in (("minute", "minute"), ("hour", "hour")):
            since = _floor(now - timedelta(hours=lookback_hours), unit)
            cursor.execute(_UPSERT, {"resolution": resolution, "unit": unit, "since": since, "until": now})
            counts[resolution] = cursor.rowcount
    return counts


def telemetry_prune(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    raw_cutoff = now - timedelta(hours=settings.TIDEGRID_TELEMETRY_RAW_RETENTION_HOURS)
    minute_cutoff = now - timedelta(days=settings.TIDEGRID_TELEMETRY_MINUTE_RETENTION_DAYS)
    hour_cutoff = now - timedelta(days=settings.TIDEGRID_TELEMETRY_HOUR_RETENTION_DAYS)
    raw, _ = DeviceSample.objects.filter(collected_at__lt=raw_cutoff).delete()
    AssignmentSample.objects.filter(collected_at__lt=raw_cutoff).delete()
    minute, _ = DeviceRollup.objects.filter(resolution="minute", bucket__lt=minute_cutoff).delete()
    hour, _ = DeviceRollup.objects.filter(resolution="hour", bucket__lt=hour_cutoff).delete()
    return {"raw": raw, "minute": minute, "hour": hour}
