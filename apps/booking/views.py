"""Customer portal: the market (live availability and prices), the booking form with a price estimate,
and the organization's workloads with live status, placement, connection details and a usage chart."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.selectors import ssh_key_list
from apps.core.forms import apply_service_errors
from apps.tenancy.access import Actor, access_object, active_organization, role_at_least
from apps.tenancy.models import Organization, Role

from . import market, services
from .forms import WorkloadBookingForm
from .images import IMAGES
from .lifecycle import workload_can_extend, workload_can_restart, workload_can_stop, workload_is_live
from .models import Workload
from .selectors import WORKLOAD_PREFETCH, workload_detail_context, workload_list_queryset


def _customer(request) -> Organization:
    return active_organization(request, kind=Organization.Kind.CUSTOMER,
                               missing=_("Switch to a customer organization to book compute."))


@login_required
@require_GET
def market_view(request):
    """Accelerator models × regions: what can start now, at what price, and how it compares."""
    filters = market.MarketFilterForm(request.GET or None)
    cleaned = filters.cleaned_data if filters.is_valid() else {}
    rows = market.market_rows(**{k: v for k, v in cleaned.items() if v not in (None, "")})
    template = "booking/partials/market_rows.html" if request.htmx else "booking/market.html"
    return render(request, template, {"rows": rows, "filters": filters})


@login_required
@require_http_methods(["GET", "POST"])
def workload_new(request):
    organization = _customer(request)
    actor = Actor(user=request.user)
    initial = market.booking_initial(request.GET, organization=organization)
    form = WorkloadBookingForm(request.POST or None, initial=initial)
    estimate = None
    if request.method == "POST" and form.is_valid():
        try:
            workload = services.workload_submit(actor=actor, organization=organization, **form.workload_fields())
        except ValidationError as error:
            # Priced before the service's errors mark the form: the runway the refusal speaks of stays in view.
            estimate = market.estimate(form=form, organization=organization)
            apply_service_errors(form, error)
        else:
            messages.success(request, _("“%(name)s” is booked. It starts as soon as the scheduler places it.")
                             % {"name": workload.name})
            return redirect("booking:workload_detail", pk=workload.pk)
    return render(request, "booking/workload_new.html", {
        "form": form, "images": IMAGES, "can_book": role_at_least(request.active_membership.role, Role.MEMBER),
        "profiles": market.profiles_by_model(),
        "estimate": estimate or market.estimate(form=form if form.is_bound else market.form_preview(form),
                                                organization=organization),
    })


@login_required
@require_POST
def workload_estimate(request):
    """htmx: the price estimate for the form as it is filled in."""
    organization = _customer(request)
    form = WorkloadBookingForm(request.POST)
    form.is_valid()
    return render(request, "booking/partials/estimate.html",
                  {"estimate": market.estimate(form=form, organization=organization)})


@login_required
@require_GET
def workload_list(request):
    organization = active_organization(request)
    if organization is None:
        return redirect("tenancy:organization_create")
    membership = request.active_membership
    page = Paginator(workload_list_queryset(organization=organization), 25).get_page(request.GET.get("page"))
    may_act = bool(membership) and role_at_least(membership.role, Role.MEMBER)
    rows = []
    for workload in page.object_list:
        detail = workload_detail_context(workload=workload, with_queue=False)
        rows.append({"w": workload, "detail": detail, "suffix": f"-{workload.pk}",
                     "models": sorted({a.model_name for a in detail.allocations if a.model_name}),
                     "cost_so_far": (None if workload.cost_so_far_fen is None
                                     else (workload.cost_so_far_fen / 100).quantize(Decimal("0.01"))),
                     "can_stop": may_act and workload_can_stop(workload),
                     "can_restart": may_act and workload_can_restart(workload)})
    template = "booking/partials/workload_rows.html" if request.htmx else "booking/workload_list.html"
    return render(request, template, {
        "organization": organization, "page": page, "rows": rows,
        "can_book": organization.kind == Organization.Kind.CUSTOMER and role_at_least(membership.role, Role.MEMBER),
        "any_live": any(workload_is_live(w) for w in page.object_list),
    })


def _detail_context(request, workload: Workload) -> dict:
    detail = workload_detail_context(workload=workload)
    membership = request.active_membership
    may_act = bool(membership) and role_at_least(membership.role, Role.MEMBER)
    return {
        "workload": workload, "detail": detail, "live": workload_is_live(workload),
        "progress": _progress(workload.state), "can_stop": may_act and workload_can_stop(workload),
        "can_restart": may_act and workload_can_restart(workload),
        "can_extend": may_act and workload_can_extend(workload),
        "extend_form": ExtendForm(), "price": market.workload_price(workload=workload),
        "has_ssh_keys": bool(detail.access) and ssh_key_list(user=request.user).exists(),
    }


def _workload(request, pk) -> Workload:
    # organization: workload_price quotes for it (the status partial is polled every few seconds).
    queryset = (Workload.objects.select_related("preferred_region", "organization")
                .prefetch_related(*WORKLOAD_PREFETCH))
    return access_object(Actor(user=request.user), queryset, pk)


def _acted_on(request, pk) -> tuple[Actor, Workload]:
    """The acting member and the workload (another tenant's is 404, a viewer may not act)."""
    actor = Actor(user=request.user)
    return actor, access_object(actor, Workload.objects.all(), pk, min_role=Role.MEMBER)


@login_required
@require_GET
def workload_detail(request, pk):
    workload = _workload(request, pk)
    return render(request, "booking/workload_detail.html", _detail_context(request, workload))


@login_required
@require_GET
def workload_status(request, pk):
    """htmx: the live part of the workload page (state, progress, placement, connection, log)."""
    workload = _workload(request, pk)
    return render(request, "booking/partials/workload_status.html", _detail_context(request, workload))


@login_required
@require_GET
def workload_usage(request, pk):
    """The chart data: utilization and memory of the card(s) the latest run holds, while it runs."""
    workload = _workload(request, pk)
    return JsonResponse(market.workload_usage_series(workload=workload,
                                                     detail=workload_detail_context(workload=workload,
                                                                                    with_queue=False)))


@login_required
@require_POST
def workload_stop(request, pk):
    actor, workload = _acted_on(request, pk)
    workload = services.workload_stop(actor=actor, workload=workload)
    messages.success(request, _("“%(name)s” is %(state)s.") % {"name": workload.name,
                                                                "state": workload.get_state_display()})
    return _back(request, workload)


@login_required
@require_POST
def workload_restart(request, pk):
    actor, workload = _acted_on(request, pk)
    try:
        workload = services.workload_restart(actor=actor, workload=workload)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("“%(name)s” is queued to run again.") % {"name": workload.name})
    return _back(request, workload)


def _back(request, workload: Workload):
    """To the list when the action was taken there (a fixed target, never a URL from the request)."""
    if request.POST.get("back") == "list":
        return redirect("booking:workload_list")
    return redirect("booking:workload_detail", pk=workload.pk)


class ExtendForm(forms.Form):
    window_end = forms.DateTimeField(label=_("New end of the reservation"),
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


@login_required
@require_POST
def workload_extend(request, pk):
    actor, workload = _acted_on(request, pk)
    form = ExtendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the new end of the reservation as a date and time."))
        return redirect("booking:workload_detail", pk=workload.pk)
    try:
        workload = services.workload_reservation_extend(actor=actor, workload=workload,
                                                        window_end=form.cleaned_data["window_end"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The reservation now ends %(end)s.")
                         % {"end": timezone.localtime(workload.window_end).strftime("%Y-%m-%d %H:%M")})
    return redirect("booking:workload_detail", pk=workload.pk)


# The steps a customer watches: booked → placed → starting → running.
_STEPS = [Workload.State.PENDING, Workload.State.PLACED, Workload.State.STARTING, Workload.State.RUNNING]


# How a finished workload's bar ends: green only for a success; a failure (or a lost/preempted run) is red
# all along, a stop by the customer grey.
_OUTCOME_CLASS = {Workload.State.SUCCEEDED: "done", Workload.State.FAILED: "failed", Workload.State.LOST: "failed",
                  Workload.State.PREEMPTED: "failed", Workload.State.STOPPED: "ended",
                  Workload.State.STOPPING: "ended"}


def _progress(state: str) -> list[dict]:
    reached = _STEPS.index(state) if state in _STEPS else (len(_STEPS) if state != Workload.State.PENDING else 0)
    labels = [_("Booked"), _("Placed"), _("Starting"), _("Running")]
    outcome = _OUTCOME_CLASS.get(state)
    steps = [{"label": label, "css": ("current" if i == reached and state in _STEPS
                                      else (outcome or "done") if i < reached else "")}
             for i, label in enumerate(labels)]
    if outcome:
        steps.append({"label": Workload.State(state).label, "css": f"{outcome} current"})
    return steps

