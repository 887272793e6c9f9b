"""Oversight pages for government operators (auditor or above of a government organization); every
other organization kind gets a 404, as does anything outside the operator's jurisdiction."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from apps.core.forms import apply_service_errors
from apps.tenancy.access import active_organization, actor_from_request, role_at_least
from apps.tenancy.models import Organization, Role
from oversight_verify.kpi import KPIS, TARGETABLE

from . import exports, selectors, services
from .forms import PeriodForm, TargetForm
from .labels import CONSUMER_TABLE_KPIS, DIMENSION_LABELS, KPI_LABELS, STATUS_LABELS, TABLE_KPIS, kpi_display
from .periods import period_parse

TILE_KPIS = ("in_service_rate", "allocation_rate", "utilization", "consumption_rate", "delivered_pflops_days",
             "onboarded_pflops_days", "energy_kwh", "pflops_days_per_mwh")
SERIES_KPIS = ("in_service_rate", "allocation_rate", "utilization", "consumption_rate")


def operator_organization(request) -> Organization:
    return active_organization(request, kind=Organization.Kind.GOVERNMENT, min_role=Role.AUDITOR,
                               missing=_("Oversight is for government operators."))


def page_query(request, organization):
    """(form, period, scope, dimension) from the query string; period is None when the form has errors
    (shown on the page with status 400). Scope outside the jurisdiction is a 404."""
    form = PeriodForm(request.GET)
    try:
        period = period_parse(request.GET)
        scope = selectors.scope_build(organization=organization, params=request.GET)
        dimension = request.GET.get("by") or selectors.DRILL_NEXT[scope.level]
        if dimension not in selectors.DIMENSIONS:
            raise ValidationError({"by": [_("Choose one of: %(choices)s.") % {
                "choices": ", ".join(selectors.DIMENSIONS)}]})
    except ValidationError as error:
        form = PeriodForm(request.GET)
        form.is_valid()
        apply_service_errors(form, error)
        return form, None, None, None
    return form, period, scope, dimension


def _drill_link(request, scope, dimension: str, key) -> str | None:
    if dimension not in ("region", "provider", "cluster", "node") or key is None:
        return None
    params = {k: v for k, v in request.GET.items() if k != "by"}
    params[dimension] = key
    return f"{reverse('oversight:dashboard')}?{urlencode(params)}"


def _breadcrumbs(request, scope) -> list[tuple[str, str]]:
    base = {k: v for k, v in request.GET.items() if k in ("period", "start", "end", "vendor_class", "model")}
    crumbs = [(str(_("Jurisdiction")), f"{reverse('oversight:dashboard')}?{urlencode(base)}")]
    for name in ("region", "provider", "cluster", "node"):
        value = getattr(scope, name)
        if value is None:
            continue
        base[name] = request.GET[name]
        label = (value.display_name(get_language()) if name == "region" else
                 getattr(value, "hostname", None) or str(value))
        crumbs.append((label, f"{reverse('oversight:dashboard')}?{urlencode(base)}"))
    return crumbs


@login_required
@require_GET
def dashboard(request):
    organization = operator_organization(request)
    form, period, scope, dimension = page_query(request, organization)
    if period is None:
        return render(request, "oversight/dashboard.html", {"form": form, "organization": organization},
                      status=400)
    overview = selectors.kpi_overview(scope=scope, period=period)
    rows = selectors.breakdown(scope=scope, period=period, dimension=dimension, language=get_language())
    columns = CONSUMER_TABLE_KPIS if dimension in selectors.CONSUMER_DIMENSIONS else TABLE_KPIS
    for row in rows:
        row["link"] = _drill_link(request, scope, dimension, row["key"])
        row["cells"] = [kpi_display(name, row["kpis"].get(name)) for name in columns]
    series = selectors.kpi_series(scope=scope, period=period)
    chart = {
        "labels": [point["day"].isoformat() for point in series],
        "rates": [{"key": name, "label": str(KPI_LABELS[name]),
                   "data": [round(point["kpis"][name] * 100, 2) if point["kpis"] and point["kpis"][name] is not None
                            else None for point in series]} for name in SERIES_KPIS],
        "delivered": {"label": str(KPI_LABELS["delivered_pflops_days"]),
                      "data": [round(point["kpis"]["delivered_pflops_days"], 4) if point["kpis"] else None
                               for point in series]},
    }
    tiles = [{"key": name, "label": KPI_LABELS[name], "value": kpi_display(name, overview["kpis"][name]),
              "change": overview["change"][name], "status": overview["status"].get(name, "none"),
              "status_label": STATUS_LABELS[overview["status"].get(name, "none")],
              "target": overview["targets"].get(name)} for name in TILE_KPIS]
    states = [{"key": name, "label": KPI_LABELS[name], "value": kpi_display(name, overview["kpis"][name])}
              for name in ("maintenance_rate", "quarantine_rate", "unreachable_rate", "consumption_rate_local",
                           "consumption_rate_other", "delivered_local_pflops_days", "delivered_other_pflops_days")]
    alerts = selectors.alerts_unshown(organization=organization)
    services.alerts_mark_shown(alerts=alerts)
    query = request.GET.urlencode()
    return render(request, "oversight/dashboard.html", {
        "organization": organization, "form": form, "period": period, "scope": scope, "tiles": tiles,
        "states": states, "rows": rows, "columns": [KPI_LABELS[name] for name in columns],
        "dimension": dimension, "dimension_label": DIMENSION_LABELS[dimension], "chart": json.dumps(chart),
        "breadcrumbs": _breadcrumbs(request, scope), "alerts": alerts, "kpi_labels": KPI_LABELS, "query": query,
        "dimensions": [(key, label, f"?{urlencode({**request.GET.dict(), 'by': key})}")
                       for key, label in DIMENSION_LABELS.items()],
        "can_set_targets": role_at_least(request.active_membership.role, Role.ADMIN),
    })


def _to_stored(kpi: str, value: float) -> float:
    return value / 100 if KPIS[kpi] == "ratio" else value


def _to_shown(kpi: str, value: float) -> float:
    return round(value * 100, 4) if KPIS[kpi] == "ratio" else value


@login_required
@require_http_methods(["GET", "POST"])
def targets(request):
    organization = operator_organization(request)
    can_edit = role_at_least(request.active_membership.role, Role.ADMIN)
    form = TargetForm()
    status = 200
    if request.method == "POST":
        if not can_edit:
            return HttpResponse(status=403)
        form = TargetForm(request.POST)
        if form.is_valid():
            kpi = form.cleaned_data["kpi"]
            try:
                services.target_set(actor=actor_from_request(request), organization=organization, kpi=kpi,
                                    green_at=_to_stored(kpi, form.cleaned_data["green_at"]),
                                    amber_at=_to_stored(kpi, form.cleaned_data["amber_at"]))
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Target saved."))
                return redirect("oversight:targets")
        status = 400
    existing = selectors.targets_for(organization=organization)
    rows = [{"kpi": name, "label": KPI_LABELS[name], "unit": "%" if KPIS[name] == "ratio" else "",
             "green_at": _to_shown(name, existing[name].green_at) if name in existing else None,
             "amber_at": _to_shown(name, existing[name].amber_at) if name in existing else None}
            for name in TARGETABLE]
    return render(request, "oversight/targets.html", {"organization": organization, "form": form, "rows": rows,
                                                      "can_edit": can_edit}, status=status)


def _query_or_400(request, organization):
    form, period, scope, dimension = page_query(request, organization)
    if period is None:
        errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
        return None, HttpResponse(json.dumps({"errors": errors}, ensure_ascii=False), status=400,
                                  content_type="application/json")
    return (period, scope, dimension), None


@login_required
@require_GET
def export(request, fmt: str):
    organization = operator_organization(request)
    query, error = _query_or_400(request, organization)
    if error is not None:
        return error
    period, scope, dimension = query
    build = exports.table_xlsx if fmt == "xlsx" else exports.table_csv
    body = build(scope=scope, period=period, dimension=dimension, language=get_language())
    content_type = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx"
                    else "text/csv; charset=utf-8")
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="oversight-{dimension}-{period.start}-{period.end}.{fmt}"'
    return response


@login_required
@require_GET
def evidence(request):
    organization = operator_organization(request)
    query, error = _query_or_400(request, organization)
    if error is not None:
        return error
    period, scope, _dimension = query
    body = exports.evidence_bundle(actor=actor_from_request(request), scope=scope, period=period)
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="evidence-{period.start}-{period.end}.zip"'
    return response


@login_required
@require_GET
def report(request):
    from .pdf import report_pdf

    organization = operator_organization(request)
    query, error = _query_or_400(request, organization)
    if error is not None:
        return error
    period, scope, _dimension = query
    response = HttpResponse(report_pdf(scope=scope, period=period, request=request), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="oversight-report-{period.start}-{period.end}.pdf"'
    return response
