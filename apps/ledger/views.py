"""Customer portal: wallet balance and top-up, the ledger, payments and refunds."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.core.forms import apply_service_errors
from apps.tenancy.access import Actor, access_object, active_organization, role_at_least, role_in
from apps.tenancy.models import Organization, Role

from . import payments as payment_services
from .bank_transfers import bank_transfer_record, remittance_reference_get
from .forms import BankTransferForm, RefundForm, TestCardForm, ThresholdForm, TopUpForm, yuan_to_fen
from .gateway import PaymentsNotConfigured, payments_configured, payments_stand_in, payments_test_mode
from .models import LedgerProfile, LedgerTransaction, Payment
from .selectors import account_statement, balance_get, bank_transfers_of, payments_of
from .services import fen_display, low_balance_threshold_set


def _context_organization(request, min_role=Role.VIEWER):
    """(the active organization, the user's role in it), or (None, None) when the user has none yet."""
    organization = active_organization(request, min_role=min_role)
    return (organization, request.active_membership.role) if organization else (None, None)


def _wallet_page(request, organization, role, *, top_up_form=None, threshold_form=None, status=200):
    balance = balance_get(organization=organization)
    context = {
        "organization": organization, "balance": balance, "role": role,
        "is_customer": organization.kind == Organization.Kind.CUSTOMER,
        "payments_configured": payments_configured(), "test_mode": payments_test_mode(),
        "can_top_up": role_at_least(role, Role.MEMBER) and balance.mode == LedgerProfile.Mode.PREPAID,
        "can_manage": role_at_least(role, Role.ADMIN),
        "top_up_form": top_up_form or TopUpForm(initial={"preset": "50000", "method": Payment.Method.CARD}),
        "threshold_form": threshold_form or ThresholdForm(initial={"threshold": balance.threshold_fen / 100}),
        "recent": account_statement(organization=organization)[:5],
        "webhook_url": request.build_absolute_uri(reverse("ledger:stripe_webhook")),
        "remittance_reference": remittance_reference_get(organization=organization)
        if organization.kind == Organization.Kind.CUSTOMER else "",
        "bank": {"account_name": settings.TIDEGRID_BANK_ACCOUNT_NAME, "bank_name": settings.TIDEGRID_BANK_NAME,
                 "account_number": settings.TIDEGRID_BANK_ACCOUNT_NUMBER},
        "bank_transfers": bank_transfers_of(organization=organization)[:10],
    }
    return render(request, "ledger/wallet.html", context, status=status)


@login_required
@require_GET
def wallet(request):
    organization, role = _context_organization(request)
    if organization is None:
        return redirect("tenancy:organization_create")
    return _wallet_page(request, organization, role)


@login_required
@require_POST
def top_up(request):
    organization, role = _context_organization(request, min_role=Role.MEMBER)
    if organization is None:
        return redirect("tenancy:organization_create")
    form = TopUpForm(request.POST)
    if form.is_valid():
        try:
            payment, _created = payment_services.top_up_create(
                actor=Actor(user=request.user), organization=organization, amount_fen=form.cleaned_data["amount_fen"],
                method=form.cleaned_data["method"])
            return redirect("ledger:pay", pk=payment.pk)
        except PaymentsNotConfigured:
            form.add_error(None, _("Card payments are not configured on this platform yet."))
        except ValidationError as exc:
            apply_service_errors(form, exc)
    return _wallet_page(request, organization, role, top_up_form=form, status=400)


@login_required
@require_GET
def pay(request, pk):
    """Stripe's Payment Element for one started top-up (the one page that loads Stripe.js); against the
    local stand-in, a test card form instead."""
    actor = Actor(user=request.user)
    payment = access_object(actor, Payment.objects.select_related("organization"), pk, min_role=Role.MEMBER)
    if payment.state == Payment.State.SUCCEEDED or not payment.client_secret or not payments_configured():
        return redirect("ledger:payments")
    return _pay_page(request, payment)


def _pay_page(request, payment, *, card_form=None, status=200):
    return render(request, "ledger/pay.html", {
        "test_mode": payments_test_mode(),
        "stand_in": payments_stand_in(),
        "card_form": card_form or TestCardForm(),
        "payment": payment, "amount": fen_display(payment.amount_fen),
        "stripe_js_url": settings.STRIPE_JS_URL, "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "return_url": request.build_absolute_uri(reverse("ledger:payments") + f"?paid={payment.pk}"),
        "stripe_locale": "zh" if (get_language() or "").startswith("zh") else "en",
    }, status=status)


@login_required
@require_POST
def pay_test_card(request, pk):
    """Test mode against the local Stripe stand-in only (404 otherwise): pay a top-up with a test card."""
    if not payments_stand_in():
        raise Http404
    actor = Actor(user=request.user)
    payment = access_object(actor, Payment.objects.select_related("organization"), pk, min_role=Role.MEMBER)
    form = TestCardForm(request.POST)
    if form.is_valid():
        month, year = form.cleaned_data["expiry"]
        try:
            payment_services.stand_in_card_pay(actor=actor, payment=payment, number=form.cleaned_data["number"],
                                               exp_month=month, exp_year=year, cvc=form.cleaned_data["cvc"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect(reverse("ledger:payments") + f"?paid={payment.pk}")
    return _pay_page(request, payment, card_form=form, status=400)


@login_required
@require_POST
def threshold(request):
    organization, role = _context_organization(request, min_role=Role.ADMIN)
    if organization is None:
        return redirect("tenancy:organization_create")
    form = ThresholdForm(request.POST)
    if form.is_valid():
        low_balance_threshold_set(actor=Actor(user=request.user), organization=organization,
                                  threshold_fen=yuan_to_fen(form.cleaned_data["threshold"]))
        messages.success(request, _("The low-balance warning is now set to %(amount)s.")
                         % {"amount": fen_display(yuan_to_fen(form.cleaned_data["threshold"]))})
        return redirect("ledger:wallet")
    return _wallet_page(request, organization, role, threshold_form=form, status=400)


@login_required
@require_GET
def transactions(request):
    organization, _role = _context_organization(request)
    if organization is None:
        return redirect("tenancy:organization_create")
    kind = request.GET.get("kind") or None
    if kind not in LedgerTransaction.Kind.values:
        kind = None
    page = Paginator(account_statement(organization=organization, kind=kind), 25).get_page(request.GET.get("page"))
    return render(request, "ledger/transactions.html", {
        "organization": organization, "page": page, "kind": kind, "kinds": LedgerTransaction.Kind.choices})


def _payments_page(request, organization, role, *, refund_forms=None, status=200):
    page = Paginator(payments_of(organization=organization), 25).get_page(request.GET.get("page"))
    refund_forms = refund_forms or {}
    rows = [(p, refund_forms.get(p.pk) or RefundForm(initial={"amount": p.refundable_fen / 100},
                                                      prefix=f"refund-{p.pk}"))
            for p in page.object_list]
    just_paid = request.GET.get("paid")
    return render(request, "ledger/payments.html", {
        "organization": organization, "page": page, "rows": rows,
        "can_refund": role_at_least(role, Role.ADMIN),
        "waiting": any(str(p.pk) == just_paid and p.state == Payment.State.CREATED for p in page.object_list),
    }, status=status)


@login_required
@require_GET
def payments(request):
    organization, role = _context_organization(request)
    if organization is None:
        return redirect("tenancy:organization_create")
    return _payments_page(request, organization, role)


@login_required
@require_POST
def refund(request, pk):
    actor = Actor(user=request.user)
    payment = access_object(actor, Payment.objects.select_related("organization"), pk, min_role=Role.ADMIN)
    form = RefundForm(request.POST, prefix=f"refund-{payment.pk}")
    if form.is_valid():
        try:
            payment_services.refund_create(actor=actor, payment=payment,
                                           amount_fen=yuan_to_fen(form.cleaned_data["amount"]))
            messages.success(request, _("Refunded %(amount)s to the card.")
                             % {"amount": fen_display(yuan_to_fen(form.cleaned_data["amount"]))})
            return redirect("ledger:payments")
        except PaymentsNotConfigured:
            form.add_error(None, _("Card payments are not configured on this platform yet."))
        except ValidationError as exc:
            apply_service_errors(form, exc)
    organization = payment.organization
    return _payments_page(request, organization, role_in(actor, organization), refund_forms={payment.pk: form},
                          status=400)


@login_required
def bank_transfer_new(request):
    """Staff only (everyone else: 404): record a corporate bank transfer against a remittance reference."""
    if not request.user.is_staff:
        raise Http404
    form = BankTransferForm(request.POST or None, initial={"remittance_reference": request.GET.get("reference", "")})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                transfer, created = bank_transfer_record(
                    actor=Actor(user=request.user), remittance_reference=data["remittance_reference"],
                    amount_fen=yuan_to_fen(data["amount"]), bank_reference=data["bank_reference"],
                    value_date=data["value_date"], note=data["note"])
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                params = {"amount": fen_display(transfer.amount_fen), "organization": transfer.organization.name,
                          "reference": transfer.bank_reference}
                if created:
                    messages.success(request, _("Recorded %(amount)s from %(organization)s (bank reference "
                                                "%(reference)s); the wallet is credited.") % params)
                else:
                    messages.info(request, _("Bank reference %(reference)s was already recorded (%(amount)s for "
                                             "%(organization)s); nothing was credited again.") % params)
                return redirect("ledger:bank_transfer_new")
        status = 400
    return render(request, "ledger/bank_transfer_new.html", {"form": form}, status=status)
