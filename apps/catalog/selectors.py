from __future__ import annotations

from django.db.models import QuerySet

from .models import AcceleratorModel, Region


def region_list() -> QuerySet[Region]:
    return Region.objects.order_by("code")


def _normalized(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def accelerator_model_match(*, reported_name: str, memory_total_mib: int | None = None,
                            models: list[AcceleratorModel] | None = None) -> AcceleratorModel | None:
    """The catalog model for a name reported by a driver ("NVIDIA A100-SXM4-80GB", "910B3").

    Exact driver names first; otherwise the catalog entry whose code/name is contained in the reported
    name, preferring the one whose memory is closest to what the device reports. Pass ``models`` to
    match many devices against one loaded catalog.
    """
    wanted = _normalized(reported_name)
    models = list(AcceleratorModel.objects.all()) if models is None else models
    for model in models:
        if any(_normalized(name) == wanted for name in model.driver_names):
            return model
    candidates = [m for m in models
                  if any(_normalized(name) and _normalized(name) in wanted for name in [m.name, *m.driver_names])]
    if not candidates:
        return None
    if memory_total_mib:
        return min(candidates, key=lambda m: abs(m.memory_mib - memory_total_mib))
    return candidates[0]
