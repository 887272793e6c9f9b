"""Loads the reference catalog (accelerator models, region facts, latencies) from apps/catalog/data into
the database. Idempotent: run by a migration, by `make run`'s demo loader and by `manage.py
sync_reference_data` after the data files change."""

from __future__ import annotations

from django.db import transaction

from .data.accelerators import ACCELERATORS
from .data.region_facts import LATENCY_MS, REGION_FACTS
from .data.regions import REGIONS


@transaction.atomic
def reference_data_sync(*, region_model=None, latency_model=None, accelerator_model=None) -> dict:
    """The model classes can be passed in so a data migration can use its historical models."""
    from .models import AcceleratorModel, Region, RegionLatency

    Region_ = region_model or Region
    RegionLatency_ = latency_model or RegionLatency
    AcceleratorModel_ = accelerator_model or AcceleratorModel

    regions = {}
    for code, name, name_zh, province in REGIONS:
        facts = REGION_FACTS.get(code, {})
        regions[code], _ = Region_.objects.update_or_create(code=code, defaults={
            "name": name, "name_zh": name_zh, "province": province,
            "timezone": facts.get("timezone", "Asia/Shanghai"), "hub": facts.get("hub", ""),
            "peak_hours": [list(window) for window in facts.get("peak_hours", [])],
            "off_peak_hours": [list(window) for window in facts.get("off_peak_hours", [])],
            "electricity_cny_per_kwh": facts.get("electricity_cny_per_kwh"),
        })
    for (code_a, code_b), rtt in LATENCY_MS.items():
        first, second = sorted([regions[code_a], regions[code_b]], key=lambda region: region.pk)
        RegionLatency_.objects.update_or_create(region_a=first, region_b=second, defaults={"rtt_ms": rtt})
    for item in ACCELERATORS:
        AcceleratorModel_.objects.update_or_create(code=item["code"], defaults={
            "vendor": item["vendor"], "name": item["name"], "driver_names": list(item.get("nvml_names", [])),
            "memory_mib": item["memory_mib"], "memory_type": item.get("memory_type", ""),
            "fp16_tflops": item["fp16_tflops"], "fp32_tflops": item.get("fp32_tflops") or None,
            "tdp_w": item.get("tdp_w") or None, "interconnect": item.get("interconnect", ""),
            "architecture": item.get("architecture", ""), "slicing": item["slicing"],
            "profiles": [dict(profile) for profile in item.get("profiles", [])],
        })
    return {"regions": len(regions), "latencies": len(LATENCY_MS), "accelerators": len(ACCELERATORS)}
