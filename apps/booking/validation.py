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


def workload_validate(workload: Workload) -> None:
    errors: dict[str, list[str]] = {}
    _image(workload, errors)
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
