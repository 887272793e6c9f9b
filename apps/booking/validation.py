"""Rules a workload must satisfy, as field errors. ``Workload.clean`` runs them, so every way of booking
(API, portal form, admin) gets the same answers through ``full_clean``."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from .images import image_get

if TYPE_CHECKING:
    from .models import Workload


def reservation_max_hours() -> int:
    return settings.TIDEGRID_RESERVATION_MAX_HOURS


# Limits of a run spec (issue 10): what an agent is asked to set up must stay small.
ENV_MAX_VARS = 64
ENV_MAX_NAME_BYTES = 128
ENV_MAX_VALUE_BYTES = 4096
ENV_MAX_TOTAL_BYTES = 32 * 1024
COMMAND_MAX_TOTAL_BYTES = 32 * 1024


def gpu_shape_errors(*, gpu_count: int, gpu_milli: int, gpu_memory_mib: int, profile: str) -> dict[str, list[str]]:
    """The GPU-shape rule, as field errors (empty when it holds): exactly one of whole cards, a fractional
    slice (1–999 milli-GPU with its memory) or a MIG/vNPU profile. The API serializer, the portal form,
    the model's validation and billing's quotes all ask this; the database's CHECK is the backstop."""
    gpu_count, gpu_milli, gpu_memory_mib = gpu_count or 0, gpu_milli or 0, gpu_memory_mib or 0
    if [gpu_count > 0, gpu_milli > 0, bool(profile)].count(True) != 1 or min(gpu_count, gpu_milli, gpu_memory_mib) < 0:
        return {"gpu_count": [_("Ask for exactly one GPU shape: whole cards (gpu_count), a fractional slice "
                                "(gpu_milli and gpu_memory_mib) or a profile.")]}
    if gpu_milli and gpu_milli >= 1000:
        return {"gpu_milli": [_("A slice is between 1 and 999 milli-GPU; ask for gpu_count for whole cards.")]}
    if gpu_milli and not gpu_memory_mib:
        return {"gpu_memory_mib": [_("A slice needs its GPU memory (MiB).")]}
    return {}


def workload_validate(workload: Workload) -> None:
    errors: dict[str, list[str]] = {}
    errors.update(gpu_shape_errors(gpu_count=workload.gpu_count, gpu_milli=workload.gpu_milli,
                                   gpu_memory_mib=workload.gpu_memory_mib, profile=workload.profile))
    if not errors:
        _catalog_fit(workload, errors)
    _spec_limits(workload, errors)
    _image(workload, errors)
    if "spec" not in errors:
        _command(workload, errors)
    _window(workload, errors)
    if errors:
        raise ValidationError(errors)


def _image(workload: Workload, errors: dict) -> None:
    if not workload.image:
        return
    image = image_get(workload.image)
    if image is None:
        errors["image"] = [_("Unknown image “%(key)s”: choose one of the curated images (GET /api/v1/images/).")
                           % {"key": workload.image}]
        return
    from apps.catalog.models import AcceleratorModel

    vendors = set(workload.vendors or [])
    models = list(AcceleratorModel.objects.filter(code__in=workload.accelerator_models or [])
                  .values_list("name", "vendor"))
    wrong = sorted({name for name, vendor in models if vendor not in image.vendors})
    wrong += sorted(AcceleratorModel.Vendor(v).label for v in vendors - set(image.vendors)
                    if v in AcceleratorModel.Vendor.values)
    if wrong:
        supported = ", ".join(str(AcceleratorModel.Vendor(v).label) for v in image.vendors)
        errors["image"] = [_("%(image)s runs on %(supported)s only, not on %(wrong)s. Choose another image or "
                             "other accelerators.") % {"image": image.name, "supported": supported,
                                                       "wrong": ", ".join(str(w) for w in wrong)}]


def _accepted_models(workload: Workload):
    """The catalog models the workload may run on: those it names, else any (of its vendors)."""
    from apps.catalog.models import AcceleratorModel

    models = AcceleratorModel.objects.all()
    if workload.accelerator_models:
        models = models.filter(code__in=workload.accelerator_models)
    if workload.vendors:
        models = models.filter(vendor__in=workload.vendors)
    return list(models)


def _catalog_fit(workload: Workload, errors: dict) -> None:
    """What no card it accepts could ever hold is refused now, instead of pending forever on quota: an unknown
    MIG/vNPU profile, slice memory or a minimum card memory above the largest card."""
    models = _accepted_models(workload)
    if not models:
        return  # unknown model codes are the serializer's field error
    if workload.profile:
        names = sorted({p.get("name") for m in models for p in (m.profiles or [])} - {None})
        if workload.profile not in names:
            errors["profile"] = [_("No accelerator this workload accepts has the profile “%(profile)s” "
                                   "(known: %(names)s).") % {"profile": workload.profile,
                                                            "names": ", ".join(names) or _("none")}]
    largest = max(m.memory_mib for m in models)
    for field in ("gpu_memory_mib", "min_gpu_memory_mib"):
        if getattr(workload, field) > largest:
            errors[field] = [_("%(asked)d MiB is more than the largest card this workload accepts has "
                               "(%(largest)d MiB).") % {"asked": getattr(workload, field), "largest": largest}]


def _spec_limits(workload: Workload, errors: dict) -> None:
    spec = workload.spec if isinstance(workload.spec, dict) else {}
    env = spec.get("env") or {}
    command = spec.get("command") or []
    problems = []
    if not isinstance(env, dict) or not isinstance(command, list):
        errors["spec"] = [_("The run spec has a command (a list of strings) and env (names to strings).")]
        return
    sizes = [(len(str(name).encode()), len(str(value).encode())) for name, value in env.items()]
    if len(env) > ENV_MAX_VARS:
        problems.append(_("at most %(n)d environment variables") % {"n": ENV_MAX_VARS})
    if any(name > ENV_MAX_NAME_BYTES for name, _value in sizes):
        problems.append(_("names of at most %(n)d bytes") % {"n": ENV_MAX_NAME_BYTES})
    if any(value > ENV_MAX_VALUE_BYTES for _name, value in sizes):
        problems.append(_("values of at most %(n)d bytes") % {"n": ENV_MAX_VALUE_BYTES})
    if sum(name + value for name, value in sizes) > ENV_MAX_TOTAL_BYTES:
        problems.append(_("at most %(n)d KiB of environment in all") % {"n": ENV_MAX_TOTAL_BYTES // 1024})
    if sum(len(str(arg).encode()) for arg in command) > COMMAND_MAX_TOTAL_BYTES:
        problems.append(_("a command of at most %(n)d KiB") % {"n": COMMAND_MAX_TOTAL_BYTES // 1024})
    if problems:
        errors["spec"] = [_("The run spec is too large: %(limits)s.") % {"limits": "; ".join(problems)}]


def _command(workload: Workload, errors: dict) -> None:
    if workload.kind == workload.Kind.BATCH and not (workload.spec or {}).get("command"):
        errors["spec"] = [_("A batch job needs a command to run.")]


def _window(workload: Workload, errors: dict) -> None:
    start, end = workload.window_start, workload.window_end
    if workload.billing_mode != workload.BillingMode.RESERVED:
        if start or end:
            errors["window_start"] = [_("Only reserved bookings have a window; choose the reserved billing mode "
                                        "or leave the window empty.")]
        return
    if start is None:
        errors["window_start"] = [_("A reservation needs the start of its window.")]
    if end is None:
        errors["window_end"] = [_("A reservation needs the end of its window.")]
    if start is None or end is None:
        return
    if workload._state.adding and start <= timezone.now():
        errors["window_start"] = [_("The window must start in the future.")]
    elif workload._state.adding and start > timezone.now() + timedelta(days=settings.TIDEGRID_RESERVATION_AHEAD_DAYS):
        errors["window_start"] = [_("Reservations open at most %(days)d days ahead.")
                                  % {"days": settings.TIDEGRID_RESERVATION_AHEAD_DAYS}]
    if end <= start:
        errors["window_end"] = [_("The window must end after it starts.")]
    elif end - start > timedelta(hours=reservation_max_hours()):
        errors["window_end"] = [_("A reservation lasts at most %(hours)d hours; book another window for more.")
                                % {"hours": reservation_max_hours()}]
