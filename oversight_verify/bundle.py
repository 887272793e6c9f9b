"""The evidence bundle format and its verification. Pure Python (no Django, no database).

A bundle is a zip of JSON Lines files and ``manifest.json``. Every record carries ``sha256``, the
SHA-256 of its canonical JSON without that key; the manifest lists every file's SHA-256 and line count,
the KPIs the platform reported for the period (and per day), the jurisdiction, and the audit chain head
at export time. ``verify`` checks all hashes, recomputes each device-day's state seconds and each
customer's share-seconds from the raw state spans and allocations, then every KPI from the records,
and returns one message per mismatch (empty: the bundle verifies).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import defaultdict
from datetime import datetime

from .kpi import empty_totals, kpis_from_totals

FORMAT = "tidegrid-oversight-evidence/1"
FILES = ("device_days.jsonl", "consumption.jsonl", "state_spans.jsonl", "allocations.jsonl", "usage_records.jsonl")
STATES = ("in_service", "maintenance", "quarantine", "unreachable")
_SECONDS_TOLERANCE = 1e-3


def canonical(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_line(record: dict) -> str:
    """One JSON Lines line: the record with its own hash."""
    body = {k: v for k, v in record.items() if k != "sha256"}
    return canonical({**body, "sha256": sha256_hex(canonical(body).encode("utf-8"))})


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _overlap(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def _close(a: float, b: float, tolerance: float = _SECONDS_TOLERANCE) -> bool:
    return abs(a - b) <= max(tolerance, 1e-9 * max(abs(a), abs(b)))


def _read_records(archive: zipfile.ZipFile, name: str, problems: list[str]) -> list[tuple[int, dict]]:
    records = []
    text = archive.read(name).decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            record = json.loads(line)
            claimed = record.pop("sha256")
        except (ValueError, KeyError, AttributeError, TypeError):
            problems.append(f"{name} line {number}: not a valid record")
            continue
        if sha256_hex(canonical(record).encode("utf-8")) != claimed:
            problems.append(f"{name} line {number}: record changed (its SHA-256 does not match its content)")
            continue
        records.append((number, record))
    return records


def verify(source) -> tuple[list[str], dict]:
    """Verify a bundle (path or bytes). Returns (problems, summary)."""
    if isinstance(source, bytes):
        data = source
    else:
        with open(source, "rb") as handle:
            data = handle.read()
    problems: list[str] = []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest_bytes = archive.read("manifest.json")
        manifest = json.loads(manifest_bytes)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        return [f"not a readable evidence bundle: {exc}"], {}
    if manifest.get("format") != FORMAT:
        problems.append(f"manifest.json: unknown format {manifest.get('format')!r}")
    listed = manifest.get("files", {})
    for name in FILES:
        if name not in listed:
            problems.append(f"manifest.json: {name} is not listed")
    for name, entry in listed.items():
        if name not in archive.namelist():
            problems.append(f"{name}: listed in the manifest but missing")
            continue
        if sha256_hex(archive.read(name)) != entry.get("sha256"):
            problems.append(f"{name}: SHA-256 does not match the manifest")
    for name in archive.namelist():
        if name != "manifest.json" and name not in listed:
            problems.append(f"{name}: not listed in the manifest")
    records = {name: _read_records(archive, name, problems) if name in archive.namelist() else []
               for name in FILES}
    jurisdiction = set(manifest.get("jurisdiction", []))

    # 1. Each device-day's state seconds, from the state spans.
    spans = defaultdict(list)
    for _n, span in records["state_spans.jsonl"]:
        spans[span["device"]].append((span["state"], _t(span["start"]), _t(span["end"])))
    allocations = defaultdict(list)
    for _n, allocation in records["allocations.jsonl"]:
        end = _t(allocation["end"]) if allocation.get("end") else None
        allocations[allocation["device"]].append((allocation["customer"], allocation["share"],
                                                  _t(allocation["start"]), end))
    device_days = {}
    for number, day in records["device_days.jsonl"]:
        key = (day["device"], day["day"])
        device_days[key] = day
        d0, d1 = _t(day["day_start"]), _t(day["day_end"])
        seconds = dict.fromkeys(STATES, 0.0)
        for state, s0, s1 in spans.get(day["device"], []):
            seconds[state] = seconds.get(state, 0.0) + _overlap(s0, s1, d0, d1)
        for state in STATES:
            if not _close(day[f"{state}_s"], seconds[state]):
                problems.append(f"device_days.jsonl line {number} (device {day['device']}, {day['day']}): "
                                f"{state}_s is {day[f'{state}_s']}, state_spans.jsonl gives {seconds[state]}")
        if not _close(day["registered_s"], sum(seconds.values())):
            problems.append(f"device_days.jsonl line {number} (device {day['device']}, {day['day']}): "
                            f"registered_s is {day['registered_s']}, state_spans.jsonl gives {sum(seconds.values())}")

    # 2. Each customer's share-seconds per device-day, from allocations while in service.
    recomputed = defaultdict(float)
    for (device, day_key), day in device_days.items():
        d0, d1 = _t(day["day_start"]), _t(day["day_end"])
        in_service = [(s0, s1) for state, s0, s1 in spans.get(device, []) if state == "in_service"]
        for customer, share, a0, a1 in allocations.get(device, []):
            for s0, s1 in in_service:
                lo = max(a0, s0, d0)
                hi = min(a1 or d1, s1, d1)
                if hi > lo:
                    recomputed[(device, day_key, customer)] += share * (hi - lo).total_seconds()
    seen = set()
    per_device_day = defaultdict(float)
    for number, line in records["consumption.jsonl"]:
        key = (line["device"], line["day"], line["customer"])
        seen.add(key)
        per_device_day[(line["device"], line["day"])] += line["share_s"]
        if not _close(line["share_s"], recomputed.get(key, 0.0)):
            problems.append(f"consumption.jsonl line {number} (device {line['device']}, {line['day']}, customer "
                            f"{line['customer']}): share_s is {line['share_s']}, allocations.jsonl and "
                            f"state_spans.jsonl give {recomputed.get(key, 0.0)}")
        if line["local"] != (line.get("customer_region") in jurisdiction):
            problems.append(f"consumption.jsonl line {number}: local is {line['local']} but the customer is "
                            f"registered in {line.get('customer_region')!r}")
        if (line["device"], line["day"]) not in device_days:
            problems.append(f"consumption.jsonl line {number}: no device-day {line['device']} {line['day']}")
    for key, value in recomputed.items():
        if key not in seen and value > _SECONDS_TOLERANCE:
            problems.append(f"consumption.jsonl: missing device {key[0]}, {key[1]}, customer {key[2]} "
                            f"({value} share-seconds in allocations.jsonl)")
    for key, day in device_days.items():
        if not _close(day["allocated_share_s"], per_device_day.get(key, 0.0)):
            problems.append(f"device_days.jsonl (device {key[0]}, {key[1]}): allocated_share_s is "
                            f"{day['allocated_share_s']}, consumption.jsonl adds up to {per_device_day.get(key, 0.0)}")

    # 3. Every KPI, for the period and for each day, from the records.
    totals_by_day: dict = defaultdict(empty_totals)
    tflops = {}
    for key, day in device_days.items():
        totals = totals_by_day[day["day"]]
        tflops[key] = day["fp16_tflops"]
        for name in ("registered_s", "in_service_s", "maintenance_s", "quarantine_s", "unreachable_s",
                     "allocated_share_s", "utilized_s", "energy_j"):
            totals[name] += day[name]
        totals["onboarded_tflops_s"] += day["fp16_tflops"] * day["registered_s"]
        totals["delivered_tflops_s"] += day["fp16_tflops"] * day["allocated_share_s"]
    for _n, line in records["consumption.jsonl"]:
        weighted = tflops.get((line["device"], line["day"]), 0.0) * line["share_s"]
        totals = totals_by_day[line["day"]]
        totals["delivered_local_tflops_s" if line["local"] else "delivered_other_tflops_s"] += weighted
    period_totals = empty_totals()
    for totals in totals_by_day.values():
        for name, value in totals.items():
            period_totals[name] += value
    _compare_kpis("period", manifest.get("kpis", {}), kpis_from_totals(period_totals), problems)
    for day_key, reported in sorted(manifest.get("kpis_by_day", {}).items()):
        day_totals = totals_by_day.get(day_key, empty_totals())
        _compare_kpis(f"day {day_key}", reported, kpis_from_totals(day_totals), problems)
    summary = {"manifest_sha256": sha256_hex(manifest_bytes), "period": manifest.get("period"),
               "organization": manifest.get("organization"), "audit_chain_head": manifest.get("audit_chain_head"),
               "kpis": kpis_from_totals(period_totals),
               "records": {name: len(rows) for name, rows in records.items()}}
    return problems, summary


def _compare_kpis(where: str, reported: dict, recomputed: dict, problems: list[str]) -> None:
    for name, value in recomputed.items():
        if name not in reported:
            problems.append(f"manifest.json: {where}: KPI {name} missing")
            continue
        claimed = reported[name]
        if claimed is None or value is None:
            same = claimed is None and value is None
        else:
            same = abs(claimed - value) <= max(1e-9 * max(abs(claimed), abs(value)), 1e-9)
        if not same:
            problems.append(f"KPI {name} ({where}): the platform reported {claimed}, the records give {value}")
