"""Shared pieces of the booking tests: request bodies and URLs."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

# A quarter of a T4 (fractional sharing), as a batch job.
SLICE = {"name": "finetune", "kind": "batch", "preferred_region": "cn-shanghai", "gpu_milli": 250,
         "gpu_memory_mib": 4096, "accelerator_models": ["nvidia-t4"], "image": "pytorch",
         "spec": {"command": ["python", "train.py"]}}

INSTANCE = {"name": "notebook", "kind": "instance", "preferred_region": "cn-shanghai", "gpu_milli": 250,
            "gpu_memory_mib": 4096, "accelerator_models": ["nvidia-t4"], "image": "pytorch"}


def workloads_url(tenant, suffix: str = "") -> str:
    return f"/api/v1/organizations/{tenant.organization.id}/workloads/{suffix}"


def reserved(hours_from_now: float = 2, length_hours: float = 4, **extra) -> dict:
    start = timezone.now() + timedelta(hours=hours_from_now)
    return {**SLICE, "billing_mode": "reserved", "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=length_hours)).isoformat(), **extra}
