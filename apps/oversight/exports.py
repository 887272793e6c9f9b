"""Downloads: any breakdown table as CSV or Excel, and the evidence bundle (docs/oversight.md)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import defaultdict
from datetime import UTC

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit.selectors import audit_chain_head
from apps.audit.services import audit_record
from apps.billing.models import UsageRecord
from apps.scheduling.models import Allocation
from apps.tenancy.access import Actor
from oversight_verify.bundle import FILES, FORMAT, record_line, sha256_hex

from .labels import CONSUMER_TABLE_KPIS, DIMENSION_LABELS, KPI_LABELS, TABLE_KPIS
from .models import ConsumptionDay, DeviceStateSpan
from .periods import Period, day_bounds
from .selectors import CONSUMER_DIMENSIONS, Scope, breakdown, kpi_series, kpis_for


def table(*, scope: Scope, period: Period, dimension: str, language: str | None) -> tuple[list[str], list[list]]:
    """Header and rows of a breakdown table with raw values (rates as fractions)."""
    columns = CONSUMER_TABLE_KPIS if dimension in CONSUMER_DIMENSIONS else TABLE_KPIS
    header = [str(DIMENSION_LABELS[dimension]), "key"] + [f"{KPI_LABELS[name]} [{name}]" for name in columns]
    rows = [[row["label"], row["key"] if row["key"] is not None else ""] + [row["kpis"].get(name) for name in columns]
            for row in breakdown(scope=scope, period=period, dimension=dimension, language=language)]
    return header, rows


def _title(scope: Scope, period: Period, dimension: str) -> list[str]:
    return ["TideGrid oversight", scope.organization.name, f"{period.start}..{period.end}", f"by {dimension}",
            json.dumps(scope.filters, ensure_ascii=False)]


def table_csv(*, scope: Scope, period: Period, dimension: str, language: str | None) -> bytes:
    header, rows = table(scope=scope, period=period, dimension=dimension, language=language)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_title(scope, period, dimension))
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: spreadsheets read the Chinese as UTF-8


def table_xlsx(*, scope: Scope, period: Period, dimension: str, language: str | None) -> bytes:
    from openpyxl import Workbook

    header, rows = table(scope=scope, period=period, dimension=dimension, language=language)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = dimension
    sheet.append(_title(scope, period, dimension))
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- the evidence bundle ---------------------------------------------------------------------------

def _iso(moment) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _pseudonym(customer_id, organization_id) -> str:
    """Customers appear under a stable pseudonym per operator: the bundle proves the aggregates without
    naming other tenants."""
    return "c_" + hashlib.sha256(f"{organization_id}:{customer_id}".encode()).hexdigest()[:16]


def evidence_bundle(*, actor: Actor, scope: Scope, period: Period) -> bytes:
    """The zip of the raw records behind the period's KPIs, with the manifest; its export is recorded in
    the audit log with the manifest's SHA-256."""
    p0, p1 = period.bounds()
    region_codes = dict(scope.organization.jurisdiction.values_list("id", "code"))
    device_days = list(scope.device_days().filter(day__gte=period.start, day__lte=period.end)
                       .select_related("model").order_by("day", "device_id"))
    device_ids = {row.device_id for row in device_days}
    lines: dict[str, list[str]] = defaultdict(list)
    for row in device_days:
        d0, d1 = day_bounds(row.day)
        lines["device_days.jsonl"].append(record_line({
            "day": row.day.isoformat(), "day_start": _iso(d0), "day_end": _iso(d1), "device": str(row.device_id),
            "node": str(row.node_id), "cluster": str(row.cluster_id), "provider": str(row.provider_id),
            "region": region_codes.get(row.region_id, ""), "model": row.model.code if row.model else None,
            "vendor": row.vendor, "domestic": row.domestic, "fp16_tflops": row.fp16_tflops,
            "registered_s": row.registered_s, "in_service_s": row.in_service_s, "maintenance_s": row.maintenance_s,
            "quarantine_s": row.quarantine_s, "unreachable_s": row.unreachable_s,
            "allocated_share_s": row.allocated_share_s, "utilized_s": row.utilized_s, "energy_j": row.energy_j,
        }))
    from apps.catalog.models import Region

    all_codes = dict(Region.objects.values_list("id", "code"))
    for row in (ConsumptionDay.objects.filter(device_day__in=[d.id for d in device_days])
                .select_related("device_day").order_by("device_day__day", "device_day__device_id", "customer_id")):
        region = all_codes.get(row.customer_region_id)
        lines["consumption.jsonl"].append(record_line({
            "day": row.device_day.day.isoformat(), "device": str(row.device_day.device_id),
            "customer": _pseudonym(row.customer_id, scope.organization.id), "customer_region": region,
            "local": row.customer_region_id in region_codes, "industry": row.industry,
            "size_class": row.size_class, "share_s": row.share_s,
        }))
    for span in (DeviceStateSpan.objects.filter(device_id__in=device_ids, started_at__lt=p1, ended_at__gt=p0)
                 .order_by("device_id", "started_at")):
        lines["state_spans.jsonl"].append(record_line({
            "id": span.id, "device": str(span.device_id), "state": span.state,
            "start": _iso(max(span.started_at, p0)), "end": _iso(min(span.ended_at, p1)),
        }))
    for allocation in (Allocation.objects.filter(device_id__in=device_ids, created_at__lt=p1)
                       .exclude(released_at__lte=p0).order_by("device_id", "created_at")):
        lines["allocations.jsonl"].append(record_line({
            "id": allocation.id, "device": str(allocation.device_id),
            "customer": _pseudonym(allocation.organization_id, scope.organization.id),
            "share": allocation.compute_milli / 1000, "start": _iso(max(allocation.created_at, p0)),
            "end": _iso(min(allocation.released_at, p1)) if allocation.released_at else None,
        }))
    usage = UsageRecord.objects.filter(region_id__in=[scope.region.id] if scope.region else scope.region_ids,
                                       started_at__lt=p1).exclude(ended_at__lte=p0)
    if scope.cluster is not None:
        usage = usage.filter(cluster=scope.cluster)
    for record in usage.order_by("started_at", "id"):
        lines["usage_records.jsonl"].append(record_line({
            "id": str(record.id), "customer": _pseudonym(record.organization_id, scope.organization.id),
            "provider": str(record.provider_organization_id), "cluster": str(record.cluster_id),
            "region": all_codes.get(record.region_id), "card_fraction": str(record.card_fraction),
            "gpu_count": record.gpu_count, "gpu_milli": record.gpu_milli,
            "started_at": _iso(record.started_at), "ended_at": _iso(record.ended_at) if record.ended_at else None,
        }))
    files = {name: ("\n".join(lines[name]) + ("\n" if lines[name] else "")).encode("utf-8") for name in FILES}
    kpis = kpis_for(scope=scope, period=period)
    by_day = {point["day"].isoformat(): point["kpis"] for point in kpi_series(scope=scope, period=period)
              if point["kpis"] is not None}
    manifest = {
        "format": FORMAT,
        "generated_at": _iso(timezone.now()),
        "organization": {"id": str(scope.organization.id), "name": scope.organization.name},
        "jurisdiction": sorted(region_codes.values()),
        "scope": scope.filters,
        "period": {**period.as_dict(), "time_zone": settings.TIME_ZONE, "from": _iso(p0), "until": _iso(p1)},
        "parameters": {"sample_max_gap_s": settings.TIDEGRID_OVERSIGHT_SAMPLE_MAX_GAP_S},
        "audit_chain_head": audit_chain_head(),
        "voucher_lines": "not included: no voucher programs in this platform version",
        "files": {name: {"sha256": sha256_hex(body), "records": len(lines[name])} for name, body in files.items()},
        "kpis": kpis,
        "kpis_by_day": by_day,
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest_bytes)
        for name, body in files.items():
            archive.writestr(name, body)
    with transaction.atomic():
        audit_record(actor=actor, action="oversight.evidence_exported", organization=scope.organization,
                     target=scope.organization, details={
                         "manifest_sha256": sha256_hex(manifest_bytes), "period": period.as_dict(),
                         "scope": scope.filters, "records": {n: len(lines[n]) for n in FILES}})
    return out.getvalue()
