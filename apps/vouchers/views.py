"""Voucher pages. Government operators: programmes (create, rule versions, open/pause/close/kill, budget
burn-down) and the applications queue. Customers: open programmes, applications, grants with today's
rate and the next taper step, and the voucher line of each charge."""

from __future__ import annotations

import uuid
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.forms import apply_service_errors
from apps.tenancy.access import Actor, access_object, active_organization, role_at_least, role_in
from apps.tenancy.models import Organization, Role

from . import selectors, services
from .forms import ActionForm, AnswerForm, ApplicationForm, DecisionForm, ProgramForm, RuleVersionForm, yuan_to_fen
from .models import Application, Program, RedemptionMode, RuleVersion


def _organization(request) -> Organization | None:
    return active_organization(request)


def _government(request) -> Organization:
    return active_organization(request, kind=Organization.Kind.GOVERNMENT,
                               missing=_("Voucher programmes are run by government organizations."))


def _program(request, pk, min_role=Role.VIEWER) -> Program:
    organization = _government(request)
    program = access_object(Actor(user=request.user), Program.objects.select_related("organization"), pk,
                            min_role=min_role)
    if program.organization_id != organization.pk:
        raise Http404
    return program


@login_required
def home(request):
    organization = _organization(request)
    if organization is None:
        return redirect("portal:dashboard")
    if organization.kind == Organization.Kind.GOVERNMENT:
        programs = [(program, selectors.burn_down(program)) for program in selectors.programs_of(organization)]
        return render(request, "vouchers/programs.html", {
            "organization": organization, "programs": programs,
            "flags": selectors.idle_flags_for(organization)[:50],
            "claims": selectors.claims_for(organization)[:50],
            "spikes": selectors.spike_flags_for(organization)[:50],
            "can_edit": role_at_least(role_in(Actor(user=request.user), organization), Role.ADMIN)})
    if organization.kind == Organization.Kind.PROVIDER:
        return render(request, "vouchers/provider.html", {
            "organization": organization, "months": selectors.provider_voucher_revenue(organization)})
    if organization.kind != Organization.Kind.CUSTOMER:
        raise Http404
    return render(request, "vouchers/customer.html", {
        "organization": organization,
        "grants": [selectors.grant_status(grant) for grant in selectors.grants_of(organization)],
        "applications": selectors.applications_for(organization)[:20],
        "open_programs": selectors.open_programs(),
        "lines": selectors.voucher_charges(organization, limit=25),
        "claims": selectors.claims_for(organization)[:24],
        "claim_grants": [grant for grant in selectors.grants_of(organization)
                         if grant.program.redemption_mode == RedemptionMode.CLAIM],
        "can_apply": role_at_least(role_in(Actor(user=request.user), organization), Role.ADMIN),
    })


@login_required
@require_http_methods(["GET", "POST"])
def program_new(request):
    organization = _government(request)
    form = ProgramForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            program = services.program_create(
                actor=Actor(user=request.user), organization=organization, name=data["name"], name_zh=data["name_zh"],
                budget_fen=yuan_to_fen(data["budget"]), valid_from=data["valid_from"], valid_until=data["valid_until"],
                redemption_mode=data["redemption_mode"] or RedemptionMode.DEDUCT)
            messages.success(request, _("Programme created as a draft. Add a rule version, publish it, then open it."))
            return redirect("vouchers:program_detail", pk=program.pk)
        except ValidationError as error:
            apply_service_errors(form, error)
    return render(request, "vouchers/program_new.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


def _program_page(request, program, *, version_form=None, action_form=None, status=200):
    return render(request, "vouchers/program_detail.html", {
        "program": program, "burn": selectors.burn_down(program),
        "versions": program.versions.prefetch_related("steps", "compute_regions").order_by("-number"),
        "version_form": version_form or RuleVersionForm(initial={"taper_basis": RuleVersion.TaperBasis.GRANT_AGE}),
        "action_form": action_form or ActionForm(),
        "grants": program.grants.select_related("organization"),
        "can_edit": role_at_least(role_in(Actor(user=request.user), program.organization), Role.ADMIN),
    }, status=status)


@login_required
def program_detail(request, pk):
    return _program_page(request, _program(request, pk))


@login_required
@require_POST
def version_new(request, pk):
    program = _program(request, pk, min_role=Role.ADMIN)
    form = RuleVersionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.rule_version_create(
                actor=Actor(user=request.user), program=program, effective_from=data["effective_from"],
                taper_basis=data["taper_basis"], steps=data["parsed_steps"],
                annual_cap_fen=yuan_to_fen(data.get("annual_cap")), grant_cap_fen=yuan_to_fen(data.get("grant_cap")),
                size_classes=data["size_classes"], industries=data["industries"], vendors=data["vendors"],
                billing_modes=data["billing_modes"])
            messages.success(request, _("Rule version saved as a draft. Publishing freezes it."))
            return redirect("vouchers:program_detail", pk=program.pk)
        except ValidationError as error:
            apply_service_errors(form, error)
    return _program_page(request, program, version_form=form, status=400)


@login_required
@require_POST
def version_publish(request, pk, number):
    program = _program(request, pk, min_role=Role.ADMIN)
    version = RuleVersion.objects.filter(program=program, number=number).first()
    if version is None:
        raise Http404
    try:
        services.rule_version_publish(actor=Actor(user=request.user), version=version)
        messages.success(request, _("Version %(n)s is published and frozen.") % {"n": number})
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("vouchers:program_detail", pk=program.pk)


@login_required
@require_POST
def program_action(request, pk):
    program = _program(request, pk, min_role=Role.ADMIN)
    form = ActionForm(request.POST)
    if form.is_valid():
        actor, data = Actor(user=request.user), form.cleaned_data
        try:
            if data["action"] == "kill":
                services.program_kill(actor=actor, program=program, reason=data["reason"])
            else:
                services.program_transition(actor=actor, program=program, action=data["action"], reason=data["reason"])
            messages.success(request, _("Done."))
            return redirect("vouchers:program_detail", pk=program.pk)
        except ValidationError as error:
            apply_service_errors(form, error)
    return _program_page(request, program, action_form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def apply(request, pk):
    organization = _organization(request)
    if organization is None or organization.kind != Organization.Kind.CUSTOMER:
        raise Http404
    program = selectors.open_programs().filter(pk=pk).first()
    if program is None:
        raise Http404
    form = ApplicationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application = services.application_submit(
                actor=Actor(user=request.user), program=program, organization=organization,
                description=data["description"], requested_fen=yuan_to_fen(data["requested"]),
                attachment=data.get("attachment"))
            messages.success(request, _("Application sent. You will get an e-mail when it is decided."))
            return redirect("vouchers:application_detail", pk=application.pk)
        except ValidationError as error:
            apply_service_errors(form, error)
    return render(request, "vouchers/apply.html", {"program": program, "form": form},
                  status=400 if request.method == "POST" else 200)


@login_required
def application_list(request):
    organization = _organization(request)
    if organization is None:
        return redirect("portal:dashboard")
    state = request.GET.get("state")
    applications = selectors.applications_for(organization)
    if state in Application.State.values:
        applications = applications.filter(state=state)
    return render(request, "vouchers/applications.html", {
        "organization": organization, "applications": applications[:200], "state": state,
        "states": Application.State.choices})


@login_required
@require_http_methods(["GET", "POST"])
def application_detail(request, pk):
    organization = _organization(request)
    if organization is None:
        raise Http404
    application = selectors.applications_for(organization).filter(pk=pk).first()
    if application is None:
        raise Http404
    actor = Actor(user=request.user)
    is_operator = organization.kind == Organization.Kind.GOVERNMENT
    can_act = role_at_least(role_in(actor, organization), Role.ADMIN)
    decision_form = DecisionForm(request.POST or None if is_operator else None,
                                 initial={"amount": application.requested_fen / 100})
    answer_form = AnswerForm(request.POST or None if not is_operator else None,
                             initial={"description": application.description})
    status = 200
    if request.method == "POST":
        if not can_act:
            raise Http404
        form = decision_form if is_operator else answer_form
        if form.is_valid():
            data = form.cleaned_data
            try:
                if is_operator:
                    services.application_decide(actor=actor, application=application, decision=data["decision"],
                                                reason=data["reason"], amount_fen=yuan_to_fen(data.get("amount")),
                                                starts_on=data.get("starts_on"))
                else:
                    services.application_resubmit(actor=actor, application=application,
                                                  description=data["description"])
                messages.success(request, _("Saved."))
                return redirect("vouchers:application_detail", pk=application.pk)
            except ValidationError as error:
                apply_service_errors(form, error)
        status = 400
    return render(request, "vouchers/application_detail.html", {
        "application": application, "is_operator": is_operator, "can_act": can_act,
        "decision_form": decision_form, "answer_form": answer_form,
        "open_states": (Application.State.SUBMITTED, Application.State.INFO_REQUESTED),
    }, status=status)


@login_required
@require_POST
def flag_decide(request, pk):
    organization = _government(request)
    flag = selectors.idle_flags_for(organization).filter(pk=pk).first()
    if flag is None:
        raise Http404
    decision, reason = request.POST.get("decision", ""), request.POST.get("reason", "")
    try:
        services.idle_flag_decide(actor=Actor(user=request.user), flag=flag, decision=decision, reason=reason)
        messages.success(request, _("Saved."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("vouchers:home")


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


@login_required
@require_POST
def claim_new(request):
    """The customer claims a month of a claim-mode grant (after that month's invoice)."""
    organization = _organization(request)
    if organization is None or organization.kind != Organization.Kind.CUSTOMER:
        raise Http404
    grant_id = request.POST.get("grant")
    grant = selectors.grants_of(organization).filter(pk=grant_id).first() if _is_uuid(grant_id) else None
    if grant is None:
        raise Http404
    try:
        month = date.fromisoformat(f"{request.POST.get('month', '')}-01")
    except ValueError:
        month = None
    try:
        services.claim_submit(actor=Actor(user=request.user), grant=grant, period_start=month)
        messages.success(request, _("Claim sent. You will get an e-mail when it is decided."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("vouchers:home")


@login_required
@require_POST
def claim_decide(request, pk):
    organization = _government(request)
    claim = selectors.claims_for(organization).filter(pk=pk).first()
    if claim is None:
        raise Http404
    try:
        services.claim_decide(actor=Actor(user=request.user), claim=claim, decision=request.POST.get("decision", ""),
                              reason=request.POST.get("reason", ""))
        messages.success(request, _("Saved."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("vouchers:home")


@login_required
@require_POST
def spike_close(request, pk):
    organization = _government(request)
    flag = selectors.spike_flags_for(organization).filter(pk=pk).first()
    if flag is None:
        raise Http404
    try:
        services.spike_flag_close(actor=Actor(user=request.user), flag=flag, reason=request.POST.get("reason", ""))
        messages.success(request, _("Saved."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("vouchers:home")
