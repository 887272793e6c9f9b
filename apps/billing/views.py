"""Billing pages: the public price list; customers' usage and invoices; providers' monthly statements."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.catalog.models import Region
from apps.core.forms import apply_service_errors
from apps.tenancy.access import Actor, access_object, active_organization, role_at_least, role_in
from apps.tenancy.models import Organization, Role

from . import selectors
from .fapiao import fapiao_defaults, fapiao_issue, fapiao_reject, fapiao_request_create
from .forms import FapiaoIssueForm, FapiaoRejectForm, FapiaoRequestForm
from .invoicing import month_of
from .models import BillingMode, CustomerTier, FapiaoRequest, Invoice
from .pdf import invoice_pdf


def _month(request):
    """(the month asked for, an error message or None); a bad month falls back to this month."""
    try:
        return selectors.month_parse(request.GET.get("month")), None
    except ValidationError as error:
        return month_of(timezone.now()), error.message_dict["month"][0]


def _months_around(month):
    previous = (month.replace(day=1) - timezone.timedelta(days=1)).replace(day=1)
    following = (month.replace(day=28) + timezone.timedelta(days=4)).replace(day=1)
    return previous, following if following <= month_of(timezone.now()) else None


@require_GET
def pricing(request):
    """Public: the current list prices and how a bill is computed."""
    regions = list(Region.objects.all())
    region = next((r for r in regions if r.code == request.GET.get("region")), None)
    mode = request.GET.get("mode") if request.GET.get("mode") in BillingMode.values else None
    rows = selectors.price_table(region=region, billing_mode=mode)
    terms = selectors.price_book_terms()
    return render(request, "billing/pricing.html", {
        "rows": rows, "terms": terms, "regions": regions, "region": region, "mode": mode,
        "modes": BillingMode.choices, "mode_labels": dict(BillingMode.choices),
        "tier_labels": dict(CustomerTier.choices),
    })


@login_required
@require_GET
def usage(request):
    organization = active_organization(request, kind=Organization.Kind.CUSTOMER)
    if organization is None:
        return redirect("portal:dashboard")
    month, error = _month(request)
    days = selectors.usage_by_day(organization=organization, period_start=month)
    previous, following = _months_around(month)
    return render(request, "billing/usage.html", {
        "organization": organization, "month": month, "error": error, "previous": previous, "following": following,
        "workloads": selectors.usage_by_workload(organization=organization, period_start=month),
        "preview": selectors.invoice_preview(organization=organization, period_start=month),
        "funds": selectors.funds_status(organization=organization),
        "chart": json.dumps({"labels": [d.strftime("%m-%d") for d, _fen in days],
                             "values": [fen / 100 for _d, fen in days], "label": _("Cost (¥)")}),
        "has_usage": any(fen for _d, fen in days),
    }, status=400 if error else 200)


@login_required
@require_GET
def invoice_list(request):
    organization = active_organization(request, kind=Organization.Kind.CUSTOMER)
    if organization is None:
        return redirect("portal:dashboard")
    return render(request, "billing/invoice_list.html", {
        "organization": organization, "invoices": Invoice.objects.filter(organization=organization)})


def _invoice(request, pk) -> Invoice:
    return access_object(Actor(user=request.user), Invoice.objects.all(), pk)


@login_required
@require_GET
def invoice_detail(request, pk):
    return _invoice_page(request, _invoice(request, pk))


def _invoice_page(request, invoice, *, fapiao_form=None, status=200):
    fapiao_requests = list(invoice.fapiao_requests.all())
    open_request = next((r for r in fapiao_requests if r.state != FapiaoRequest.State.REJECTED), None)
    return render(request, "billing/invoice_detail.html", {
        "invoice": invoice, "lines": invoice.lines.all(), "fapiao_requests": fapiao_requests,
        "can_request_fapiao": open_request is None and invoice.total_fen > 0
        and role_at_least(role_in(Actor(user=request.user), invoice.organization), Role.ADMIN),
        "fapiao_form": fapiao_form or FapiaoRequestForm(initial=fapiao_defaults(invoice=invoice)),
    }, status=status)


@login_required
@require_POST
def fapiao_request(request, pk):
    actor = Actor(user=request.user)
    invoice = access_object(actor, Invoice.objects.select_related("organization"), pk, min_role=Role.ADMIN)
    form = FapiaoRequestForm(request.POST)
    if form.is_valid():
        try:
            fapiao_request_create(actor=actor, invoice=invoice, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Fapiao requested; platform staff issue it, usually within three working "
                                        "days."))
            return redirect("billing:invoice_detail", pk=invoice.pk)
    return _invoice_page(request, invoice, fapiao_form=form, status=400)


def _staff(request):
    if not request.user.is_staff:
        raise Http404


@login_required
@require_GET
def staff_fapiao_list(request):
    """Staff only (404 for everyone else): fapiao requests waiting for an answer, and the latest answered."""
    _staff(request)
    queryset = FapiaoRequest.objects.select_related("invoice", "organization")
    return render(request, "billing/staff_fapiao_list.html", {
        "waiting": queryset.filter(state=FapiaoRequest.State.REQUESTED).order_by("requested_at"),
        "answered": queryset.exclude(state=FapiaoRequest.State.REQUESTED).order_by("-decided_at")[:50]})


@login_required
def staff_fapiao_detail(request, pk):
    _staff(request)
    fapiao = FapiaoRequest.objects.select_related("invoice", "organization").filter(pk=pk).first()
    if fapiao is None:
        raise Http404
    actor = Actor(user=request.user)
    issue_form, reject_form, status = FapiaoIssueForm(prefix="issue"), FapiaoRejectForm(prefix="reject"), 200
    if request.method == "POST":
        rejecting = "reject-reason" in request.POST
        form = FapiaoRejectForm(request.POST, prefix="reject") if rejecting else FapiaoIssueForm(request.POST,
                                                                                                 prefix="issue")
        if form.is_valid():
            try:
                if rejecting:
                    fapiao_reject(actor=actor, fapiao_request=fapiao, **form.cleaned_data)
                else:
                    fapiao_issue(actor=actor, fapiao_request=fapiao, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Fapiao request answered."))
                return redirect("billing:staff_fapiao_list")
        if rejecting:
            reject_form = form
        else:
            issue_form = form
        status = 400
    return render(request, "billing/staff_fapiao_detail.html", {
        "fapiao": fapiao, "issue_form": issue_form, "reject_form": reject_form}, status=status)


@login_required
@require_GET
def invoice_download_pdf(request, pk):
    invoice = _invoice(request, pk)
    response = HttpResponse(invoice_pdf(invoice=invoice, request=request), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response


def _csv_download(filename: str):
    """An attachment response and a csv writer on it."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so spreadsheet programs read the Chinese text as UTF-8
    return response, csv.writer(response)


INVOICE_CSV_HEADER = ["position", "kind", "workload", "accelerator_model", "region", "billing_mode", "price_book",
                      "started_at", "ended_at", "card_fraction", "card_hours", "peak_seconds", "off_peak_seconds",
                      "hourly_cny", "off_peak_hourly_cny", "discount", "exact_fen", "amount_fen"]


@login_required
@require_GET
def invoice_download_csv(request, pk):
    invoice = _invoice(request, pk)
    response, writer = _csv_download(f"{invoice.number}.csv")
    writer.writerow(["invoice", invoice.number, invoice.invoice_title, invoice.tax_id,
                     f"{invoice.period_start:%Y-%m}", "rounding: each line to whole fen, half-up"])
    writer.writerow(INVOICE_CSV_HEADER)
    for line in invoice.lines.all():
        writer.writerow([line.position, line.kind, line.workload_name or line.description, line.accelerator_model,
                         line.region, line.billing_mode, line.price_book_id or "",
                         line.started_at.isoformat() if line.started_at else "",
                         line.ended_at.isoformat() if line.ended_at else "", line.card_fraction, line.card_hours,
                         line.peak_seconds, line.off_peak_seconds, line.hourly, line.off_peak_hourly, line.discount,
                         line.exact_fen, line.amount_fen])
    writer.writerow(["total", "", "", "", "", "", "", "", "", "", invoice.card_hours, "", "", "", "", "", "",
                     invoice.total_fen])
    return response


def _provider_statement(request):
    organization = active_organization(request, kind=Organization.Kind.PROVIDER)
    if organization is None:
        raise Http404(_("Statements are for provider organizations."))
    month, error = _month(request)
    return organization, month, error, selectors.provider_statement(organization=organization, period_start=month)


@login_required
@require_GET
def statement(request):
    organization, month, error, lines = _provider_statement(request)
    previous, following = _months_around(month)
    return render(request, "billing/statement.html", {
        "organization": organization, "month": month, "error": error, "lines": lines, "previous": previous,
        "following": following, "totals": {
            "card_hours": sum((line.card_hours for line in lines), 0),
            "customer_fen": sum(line.customer_fen for line in lines),
            "earnings_fen": sum(line.earnings_fen for line in lines),
            "paid_fen": sum(line.paid_fen for line in lines)},
    }, status=400 if error else 200)


@login_required
@require_GET
def statement_csv(request):
    _org, month, error, lines = _provider_statement(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    response, writer = _csv_download(f"statement-{month:%Y-%m}.csv")
    writer.writerow(["month", "cluster", "region", "accelerator_model", "card_hours", "customer_fen", "earnings_fen",
                     "paid_fen"])
    for line in lines:
        writer.writerow([f"{month:%Y-%m}", line.cluster, line.region, line.accelerator_model, line.card_hours,
                         line.customer_fen, line.earnings_fen, line.paid_fen])
    return response
