"""Writes for vouchers: programmes and their rule versions, applications, decisions and grants.

Every change is audited; every decision carries a reason. Programme rows are locked (``FOR UPDATE``)
before their grants, the same order the charging path takes, so a pause or a kill waits for a charge in
flight and every later charge sees it.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.audit.services import audit_record
from apps.catalog.models import AcceleratorModel, Region
from apps.ledger.models import LedgerTransaction
from apps.ledger.services import account_get_or_create, bilingual_mail_send, fen_display, transaction_post
from apps.tenancy.access import Actor, require_role
from apps.tenancy.models import Membership, Organization, Role

from . import selectors, subsidy
from .models import Application, Grant, HardwareClass, Program, RedemptionMode, RuleVersion, TaperStep
from .selectors import BUDGET_KIND, FUNDING_KIND, GRANT_KIND, ISSUED_KIND

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {".pdf", ".png", ".jpg", ".jpeg", ".zip", ".docx", ".xlsx", ".txt"}


def _positive_fen(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError({field: [_("Enter a positive whole number of fen.")]})
    return value


def _require_operator(actor: Actor, program_or_org, min_role: str = Role.ADMIN) -> None:
    organization = getattr(program_or_org, "organization", program_or_org)
    require_role(actor, organization, min_role)


# --- programmes -----------------------------------------------------------------------------------------

@transaction.atomic
def program_create(*, actor: Actor, organization: Organization, name: str, name_zh: str, budget_fen: int,
                   valid_from: date, valid_until: date,
                   redemption_mode: str = RedemptionMode.DEDUCT) -> Program:
    """A draft programme of a government organization."""
    require_role(actor, organization, Role.ADMIN)
    errors: dict[str, list[str]] = {}
    if organization.kind != Organization.Kind.GOVERNMENT:
        errors["organization"] = [_("Only government organizations run voucher programmes.")]
    elif not organization.jurisdiction.exists():
        errors["organization"] = [_("The organization has no jurisdiction to run a programme in.")]
    if not (name or "").strip():
        errors["name"] = [_("Give the programme a name.")]
    if not (name_zh or "").strip():
        errors["name_zh"] = [_("Give the programme a Chinese name.")]
    try:
        _positive_fen(budget_fen, "budget_fen")
    except ValidationError as error:
        errors.update(error.message_dict)
    if not isinstance(valid_from, date) or not isinstance(valid_until, date) or valid_until <= valid_from:
        errors["valid_until"] = [_("The programme must end after it starts.")]
    if redemption_mode not in RedemptionMode.values:
        errors["redemption_mode"] = [_("Choose a redemption mode.")]
    elif redemption_mode == RedemptionMode.KPI:
        errors["redemption_mode"] = [_("KPI-gated settlement is not available yet.")]
    if errors:
        raise ValidationError(errors)
    program = Program.objects.create(organization=organization, name=name.strip()[:200], name_zh=name_zh.strip()[:200],
                                     budget_fen=budget_fen, valid_from=valid_from, valid_until=valid_until,
                                     redemption_mode=redemption_mode, created_by=actor.user)
    audit_record(actor=actor, action="vouchers.program_created", organization=organization, target=program,
                 details={"name": program.name, "budget_fen": budget_fen, "valid_from": str(valid_from),
                          "valid_until": str(valid_until)})
    return program


def _step_values(step: dict, basis: str, position: int) -> TaperStep:
    rate = step.get("rate_bp")
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= 10_000:
        raise ValidationError({"steps": [_("Step %(n)s: a rate is 0 to 10000 basis points.") % {"n": position + 1}]})
    hardware = step.get("hardware_class") or ""
    size = step.get("size_class") or ""
    if hardware and hardware not in HardwareClass.values:
        raise ValidationError({"steps": [_("Step %(n)s: choose domestic or imported chips.") % {"n": position + 1}]})
    if size and size not in Organization.SizeClass.values:
        raise ValidationError({"steps": [_("Step %(n)s: unknown size class.") % {"n": position + 1}]})
    if basis == RuleVersion.TaperBasis.CALENDAR:
        starts_on = step.get("starts_on")
        if not isinstance(starts_on, date):
            raise ValidationError({"steps": [_("Step %(n)s: give the date it starts.") % {"n": position + 1}]})
        return TaperStep(position=position, rate_bp=rate, starts_on=starts_on, hardware_class=hardware, size_class=size)
    months = step.get("starts_after_months")
    if isinstance(months, bool) or not isinstance(months, int) or not 0 <= months <= 600:
        raise ValidationError({"steps": [_("Step %(n)s: give the grant's age in months (0 to 600).")
                                         % {"n": position + 1}]})
    return TaperStep(position=position, rate_bp=rate, starts_after_months=months, hardware_class=hardware,
                     size_class=size)


@transaction.atomic
def rule_version_create(*, actor: Actor, program: Program, effective_from: datetime, taper_basis: str,
                        steps: list[dict], annual_cap_fen: int | None = None, grant_cap_fen: int | None = None,
                        industries: list[str] | None = None, size_classes: list[str] | None = None,
                        compute_regions: list[Region] | None = None, vendors: list[str] | None = None,
                        accelerator_models: list[AcceleratorModel] | None = None,
                        billing_modes: list[str] | None = None) -> RuleVersion:
    """A draft rule version (the next number). Publishing freezes it."""
    _require_operator(actor, program)
    program = Program.objects.select_for_update().get(pk=program.pk)
    errors: dict[str, list[str]] = {}
    if taper_basis not in RuleVersion.TaperBasis.values:
        errors["taper_basis"] = [_("Choose how the taper runs: by calendar date or by the grant's age.")]
    if not isinstance(effective_from, datetime) or timezone.is_naive(effective_from):
        errors["effective_from"] = [_("Give the moment the rules take effect.")]
    for field, value in (("annual_cap_fen", annual_cap_fen), ("grant_cap_fen", grant_cap_fen)):
        if value is not None:
            try:
                _positive_fen(value, field)
            except ValidationError as error:
                errors.update(error.message_dict)
    if not isinstance(steps, list) or not steps or len(steps) > 50:
        errors["steps"] = [_("Give 1 to 50 taper steps.")]
    choice_lists = (("industries", industries, Organization.Industry.values),
                    ("size_classes", size_classes, Organization.SizeClass.values),
                    ("vendors", vendors, AcceleratorModel.Vendor.values),
                    ("billing_modes", billing_modes, ["on_demand", "reserved", "spot"]))
    for field, values, allowed in choice_lists:
        if values and (not isinstance(values, list) or any(value not in allowed for value in values)):
            errors[field] = [_("Choose from: %(values)s.") % {"values": ", ".join(allowed)}]
    jurisdiction = selectors.jurisdiction_ids(program)
    if compute_regions and any(region.id not in jurisdiction for region in compute_regions):
        errors["compute_regions"] = [_("Vouchers count only in regions of the programme's jurisdiction.")]
    if errors:
        raise ValidationError(errors)
    built = [_step_values(step if isinstance(step, dict) else {}, taper_basis, index)
             for index, step in enumerate(steps)]
    number = (program.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = RuleVersion.objects.create(
        program=program, number=number, effective_from=effective_from, taper_basis=taper_basis,
        annual_cap_fen=annual_cap_fen, grant_cap_fen=grant_cap_fen, industries=list(industries or []),
        size_classes=list(size_classes or []), vendors=list(vendors or []), billing_modes=list(billing_modes or []),
        created_by=actor.user)
    for step in built:
        step.version = version
    TaperStep.objects.bulk_create(built)
    version.compute_regions.set(compute_regions or [])
    version.accelerator_models.set(accelerator_models or [])
    audit_record(actor=actor, action="vouchers.rule_version_created", organization=program.organization,
                 target=version, details={"program": str(program.pk), "number": number})
    return version


@transaction.atomic
def rule_version_publish(*, actor: Actor, version: RuleVersion, allow_past: bool = False) -> RuleVersion:
    """Freeze a draft version and put it in force from its ``effective_from``. Usage already charged keeps
    the rules it was charged under, so a version may not start in the past (imports and tests may)."""
    _require_operator(actor, version.program)
    Program.objects.select_for_update().get(pk=version.program_id)
    version = RuleVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_published:
        raise ValidationError({"version": [_("This rule version is already published.")]})
    if not allow_past and version.effective_from < timezone.now():
        raise ValidationError({"effective_from": [_("A new rule version starts now or later, never in the past.")]})
    if RuleVersion.objects.filter(program_id=version.program_id, published_at__isnull=False,
                                  effective_from=version.effective_from).exists():
        raise ValidationError({"effective_from": [_("Another version of this programme starts at the same moment.")]})
    version.published_at = timezone.now()
    version.save(update_fields=["published_at"])
    audit_record(actor=actor, action="vouchers.rule_version_published", organization=version.program.organization,
                 target=version, details={"number": version.number,
                                          "effective_from": version.effective_from.isoformat()})
    return version


_TRANSITIONS = {
    "open": ({Program.State.DRAFT, Program.State.PAUSED}, Program.State.OPEN),
    "pause": ({Program.State.OPEN}, Program.State.PAUSED),
    "close": ({Program.State.DRAFT, Program.State.OPEN, Program.State.PAUSED}, Program.State.CLOSED),
}


@transaction.atomic
def program_transition(*, actor: Actor, program: Program, action: str, reason: str = "") -> Program:
    """open (a draft needs a published rule version; the first opening funds the budget account),
    pause, close. Charges check the state under the programme's lock, so the change is immediate."""
    _require_operator(actor, program)
    program = Program.objects.select_for_update().select_related("organization").get(pk=program.pk)
    if action not in _TRANSITIONS:
        raise ValidationError({"action": [_("Unknown action.")]})
    sources, target = _TRANSITIONS[action]
    if program.state not in sources or program.killed_at is not None:
        raise ValidationError({"state": [_("A %(state)s programme cannot do that.")
                                         % {"state": program.get_state_display()}]})
    if action == "open" and not program.versions.filter(published_at__isnull=False).exists():
        raise ValidationError({"versions": [_("Publish a rule version before opening the programme.")]})
    if action == "open":
        budget = account_get_or_create(organization=program.organization, kind=BUDGET_KIND, reference=program.reference)
        funding = account_get_or_create(organization=program.organization, kind=FUNDING_KIND,
                                        reference=program.reference)
        transaction_post(idempotency_key=f"voucher-budget:{program.pk}", kind=LedgerTransaction.Kind.ADJUSTMENT,
                         memo=f"Voucher programme budget: {program.name}"[:300], organization=program.organization,
                         lines=[(funding, -program.budget_fen), (budget, program.budget_fen)],
                         details={"program": str(program.pk)})
    before = program.state
    program.state = target
    program.save(update_fields=["state"])
    audit_record(actor=actor, action=f"vouchers.program_{action}", organization=program.organization, target=program,
                 details={"before": before, "after": target, "reason": reason[:500]})
    return program


@transaction.atomic
def program_kill(*, actor: Actor, program: Program, reason: str) -> Program:
    """The kill switch: the programme pays nothing more from this moment, for any charge not yet posted."""
    _require_operator(actor, program)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the programme is stopped.")]})
    program = Program.objects.select_for_update().get(pk=program.pk)
    if program.killed_at is not None:
        raise ValidationError({"state": [_("The programme was already stopped.")]})
    program.killed_at, program.kill_reason, program.state = timezone.now(), reason.strip()[:500], Program.State.CLOSED
    program.save(update_fields=["killed_at", "kill_reason", "state"])
    audit_record(actor=actor, action="vouchers.program_killed", organization=program.organization, target=program,
                 details={"reason": program.kill_reason})
    return program


# --- applications and grants ----------------------------------------------------------------------------

def _attachment_check(attachment) -> None:
    if attachment is None:
        return
    name = (getattr(attachment, "name", "") or "").lower()
    if getattr(attachment, "size", 0) > MAX_ATTACHMENT_BYTES:
        raise ValidationError({"attachment": [_("An attachment may be at most 10 MB.")]})
    if not any(name.endswith(suffix) for suffix in ATTACHMENT_TYPES):
        raise ValidationError({"attachment": [_("Attach a PDF, image, ZIP, Word, Excel or text file.")]})


def _notify(*, organization, subject: str, params: dict, template: str, context: dict) -> None:
    recipients = list(Membership.objects.filter(organization=organization, role__in=[Role.OWNER, Role.ADMIN])
                      .values_list("user__email", flat=True))
    if recipients:
        context = {**context, "site_url": settings.SITE_URL}
        transaction.on_commit(lambda: bilingual_mail_send(subject=subject, subject_params=params, template=template,
                                                          context=context, recipients=recipients))


@transaction.atomic
def application_submit(*, actor: Actor, program: Program, organization: Organization, description: str,
                       requested_fen: int, attachment=None) -> Application:
    """A customer applies to an open programme (admins and owners of the customer)."""
    require_role(actor, organization, Role.ADMIN)
    errors: dict[str, list[str]] = {}
    if organization.kind != Organization.Kind.CUSTOMER:
        errors["organization"] = [_("Only customer organizations apply for vouchers.")]
    if program.state != Program.State.OPEN or program.killed_at is not None:
        errors["program"] = [_("This programme does not take applications now.")]
    if not (description or "").strip() or len(description) > 5000:
        errors["description"] = [_("Describe the project (up to 5000 characters).")]
    try:
        _positive_fen(requested_fen, "requested_fen")
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        _attachment_check(attachment)
    except ValidationError as error:
        errors.update(error.message_dict)
    if Application.objects.filter(program=program, organization=organization,
                                  state__in=[Application.State.SUBMITTED, Application.State.INFO_REQUESTED]).exists():
        errors["program"] = [_("Your organization already has an open application to this programme.")]
    if Grant.objects.filter(program=program, organization=organization).exists():
        errors["program"] = [_("Your organization already holds a grant of this programme.")]
    if errors:
        raise ValidationError(errors)
    application = Application(program=program, organization=organization, description=description.strip(),
                              requested_fen=requested_fen, created_by=actor.user)
    if attachment is not None:
        application.attachment.save(attachment.name, attachment, save=False)
    application.save()
    audit_record(actor=actor, action="vouchers.application_submitted", organization=organization, target=application,
                 details={"program": str(program.pk), "requested_fen": requested_fen})
    _notify(organization=program.organization, subject=gettext_noop("Voucher application: %(org)s"),
            params={"org": organization.name}, template="vouchers/email/application_submitted.txt",
            context={"application": application, "program": program, "organization": organization,
                     "requested": fen_display(requested_fen)})
    return application


@transaction.atomic
def application_resubmit(*, actor: Actor, application: Application, description: str) -> Application:
    """The customer answers a request for more information."""
    require_role(actor, application.organization, Role.ADMIN)
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.state != Application.State.INFO_REQUESTED:
        raise ValidationError({"state": [_("Only an application that was asked for more information is answered.")]})
    if not (description or "").strip() or len(description) > 5000:
        raise ValidationError({"description": [_("Describe the project (up to 5000 characters).")]})
    application.description, application.state = description.strip(), Application.State.SUBMITTED
    application.save(update_fields=["description", "state"])
    audit_record(actor=actor, action="vouchers.application_resubmitted", organization=application.organization,
                 target=application, details={})
    return application


DECISIONS = ("approve", "request_info", "reject")


@transaction.atomic
def application_decide(*, actor: Actor, application: Application, decision: str, reason: str,
                       amount_fen: int | None = None, starts_on: date | None = None) -> Application:
    """The programme's operator approves (amount, start date of the taper clock), asks for more
    information, or rejects, always with a reason. Approval creates the grant and credits its voucher
    account; the grant may not exceed the version's largest grant."""
    program = Program.objects.select_for_update().select_related("organization").get(pk=application.program_id)
    _require_operator(actor, program)
    application = Application.objects.select_for_update().select_related("organization").get(pk=application.pk)
    errors: dict[str, list[str]] = {}
    if decision not in DECISIONS:
        errors["decision"] = [_("Approve, ask for more information, or reject.")]
    if not (reason or "").strip():
        errors["reason"] = [_("Give a reason for the decision.")]
    if application.state not in (Application.State.SUBMITTED, Application.State.INFO_REQUESTED):
        errors["state"] = [_("This application was already decided.")]
    if decision == "approve":
        try:
            _positive_fen(amount_fen, "amount_fen")
        except ValidationError as error:
            errors.update(error.message_dict)
        if not isinstance(starts_on, date):
            errors["starts_on"] = [_("Give the date the grant starts (the taper clock).")]
        elif not program.valid_from <= starts_on < program.valid_until:
            errors["starts_on"] = [_("The grant must start while the programme is valid.")]
        if program.state != Program.State.OPEN or program.killed_at is not None:
            errors["program"] = [_("Only an open programme grants vouchers.")]
        version = selectors.version_at(selectors.published_versions(program), timezone.now())
        if version is not None and version.grant_cap_fen and isinstance(amount_fen, int) \
                and amount_fen > version.grant_cap_fen:
            errors["amount_fen"] = [_("A grant of this programme is at most %(cap)s.")
                                    % {"cap": fen_display(version.grant_cap_fen)}]
        if version is not None and not errors:
            refusal = selectors.organization_refusal(program=program, version=version,
                                                     organization=application.organization)
            if refusal is not None:
                errors["organization"] = [_(refusal.message) % refusal.params]
    if errors:
        raise ValidationError(errors)
    state = {"approve": Application.State.APPROVED, "request_info": Application.State.INFO_REQUESTED,
             "reject": Application.State.REJECTED}[decision]
    application.state, application.decision_reason = state, reason.strip()
    application.decided_by, application.decided_at = actor.user, timezone.now()
    application.save(update_fields=["state", "decision_reason", "decided_by", "decided_at"])
    details = {"decision": decision, "reason": application.decision_reason}
    if decision == "approve":
        grant = Grant.objects.create(program=program, organization=application.organization, application=application,
                                     amount_fen=amount_fen, starts_on=starts_on)
        credit = account_get_or_create(organization=application.organization, kind=GRANT_KIND,
                                       reference=grant.reference)
        issued = account_get_or_create(organization=program.organization, kind=ISSUED_KIND, reference=program.reference)
        transaction_post(idempotency_key=f"voucher-grant:{grant.pk}", kind=LedgerTransaction.Kind.ADJUSTMENT,
                         memo=f"Voucher grant: {program.name}"[:300], organization=application.organization,
                         lines=[(issued, -amount_fen), (credit, amount_fen)],
                         details={"program": str(program.pk), "grant": str(grant.pk)})
        details.update({"grant": str(grant.pk), "amount_fen": amount_fen, "starts_on": str(starts_on)})
    audit_record(actor=actor, action="vouchers.application_decided", organization=program.organization,
                 target=application, details=details)
    _notify(organization=application.organization, subject=gettext_noop("Your voucher application: %(program)s"),
            params={"program": program.name}, template="vouchers/email/application_decided.txt",
            context={"application": application, "program": program,
                     "amount": fen_display(amount_fen) if decision == "approve" else "",
                     "starts_on": starts_on if decision == "approve" else ""})
    return application


# --- idle-usage flags -----------------------------------------------------------------------------------

@transaction.atomic
def idle_flag_decide(*, actor: Actor, flag, decision: str, reason: str):
    """The programme's operator decides a held subsidy: ``release`` pays it now (as far as the grant, the
    budget and the year's cap still allow; the customer's wallet gets back what it paid in its place),
    ``reject`` drops it. Both need a reason and are audited. Locks: programme, grant, as charging does."""
    from django.db.models import F

    from apps.ledger.services import customer_payer_account

    from .funding import subsidy_lines
    from .models import IdleFlag, UsageSubsidy, YearUse

    program = Program.objects.select_for_update().select_related("organization").get(pk=flag.grant.program_id)
    _require_operator(actor, program)
    grant = Grant.objects.select_for_update().select_related("organization").get(pk=flag.grant_id)
    flag = IdleFlag.objects.select_for_update().select_related("usage_record").get(pk=flag.pk)
    errors: dict[str, list[str]] = {}
    if decision not in ("release", "reject"):
        errors["decision"] = [_("Release or reject.")]
    if not (reason or "").strip():
        errors["reason"] = [_("Give a reason for the decision.")]
    if flag.state != IdleFlag.State.OPEN:
        errors["state"] = [_("This flag was already decided.")]
    if errors:
        raise ValidationError(errors)
    use = UsageSubsidy.objects.select_for_update().get(usage_record_id=flag.usage_record_id)
    held, released = use.held_fen, 0
    if decision == "release" and held:
        record = flag.usage_record
        year = selectors.local_date(record.started_at).year
        version = selectors.version_at(selectors.published_versions(program), record.started_at)
        cap = version.annual_cap_fen if version else None
        limits = [held, selectors.grant_balance(grant), selectors.budget_left(program)]
        if cap is not None:
            limits.append(cap - selectors.year_used(program=program, organization=grant.organization, year=year))
        released = max(0, min(limits))
        if released:
            payer = customer_payer_account(organization=grant.organization)
            transaction_post(idempotency_key=f"voucher-release:{flag.pk}", kind=LedgerTransaction.Kind.ADJUSTMENT,
                             memo=f"Held voucher subsidy released: {program.name}"[:300],
                             organization=grant.organization,
                             lines=[*subsidy_lines(grant=grant, program=program, share=released), (payer, released)],
                             details={"program": str(program.pk), "grant": str(grant.pk), "idle_flag": flag.pk,
                                      "usage_record": str(record.pk)})
            year_use, _created = YearUse.objects.get_or_create(program=program, organization=grant.organization,
                                                               year=year)
            YearUse.objects.filter(pk=year_use.pk).update(used_fen=F("used_fen") + released)
    UsageSubsidy.objects.filter(pk=use.pk).update(held_fen=0, share_fen=F("share_fen") + released)
    flag.state = IdleFlag.State.RELEASED if decision == "release" else IdleFlag.State.REJECTED
    flag.released_fen, flag.decision_reason = released, reason.strip()
    flag.decided_by, flag.decided_at = actor.user, timezone.now()
    flag.save(update_fields=["state", "released_fen", "decision_reason", "decided_by", "decided_at"])
    audit_record(actor=actor, action="vouchers.idle_flag_decided", organization=program.organization, target=flag,
                 details={"decision": decision, "reason": flag.decision_reason, "held_fen": held,
                          "released_fen": released, "usage_record": str(flag.usage_record_id)})
    return flag


# --- claims after settlement ----------------------------------------------------------------------------

def _month_records(grant: Grant, period_start: date):
    from apps.billing.invoicing import period_bounds

    from .models import UsageSubsidy

    start, end = period_bounds(period_start)
    return (UsageSubsidy.objects.filter(grant=grant, usage_record__started_at__gte=start,
                                        usage_record__started_at__lt=end)
            .select_related("usage_record").order_by("usage_record__started_at", "usage_record_id"))


@transaction.atomic
def claim_submit(*, actor: Actor, grant: Grant, period_start: date):
    """After the month's invoice, the customer claims what its claim-mode grant would have paid of that
    month's usage."""
    from apps.billing.models import Invoice

    from .models import Claim

    require_role(actor, grant.organization, Role.ADMIN)
    errors: dict[str, list[str]] = {}
    if grant.program.redemption_mode != RedemptionMode.CLAIM:
        errors["grant"] = [_("This programme deducts at each charge; there is nothing to claim.")]
    if not isinstance(period_start, date) or period_start.day != 1:
        errors["period_start"] = [_("Give the first day of the month claimed.")]
    elif not Invoice.objects.filter(organization=grant.organization, period_start=period_start).exists():
        errors["period_start"] = [_("Claims are filed after the month's invoice is issued.")]
    elif Claim.objects.filter(grant=grant, period_start=period_start).exists():
        errors["period_start"] = [_("This month was already claimed.")]
    if errors:
        raise ValidationError(errors)
    requested = sum(use.claimable_fen for use in _month_records(grant, period_start))
    if requested <= 0:
        raise ValidationError({"period_start": [_("Nothing to claim for this month.")]})
    claim = Claim.objects.create(grant=grant, period_start=period_start, requested_fen=requested,
                                 created_by=actor.user)
    audit_record(actor=actor, action="vouchers.claim_submitted", organization=grant.organization, target=claim,
                 details={"grant": str(grant.pk), "month": str(period_start), "requested_fen": requested})
    _notify(organization=grant.program.organization, subject=gettext_noop("Voucher claim: %(org)s"),
            params={"org": grant.organization.name}, template="vouchers/email/claim_submitted.txt",
            context={"claim": claim, "requested": fen_display(requested), "organization": grant.organization,
                     "program": grant.program})
    return claim


@transaction.atomic
def claim_decide(*, actor: Actor, claim, decision: str, reason: str):
    """The operator approves a claim (the wallet is credited with what the grant, the budget and the
    year's cap still allow) or rejects it; with a reason; audited. Locks: programme, grant."""
    from django.db.models import F

    from apps.ledger.services import customer_payer_account

    from .funding import subsidy_lines
    from .models import Claim, UsageSubsidy, YearUse

    program = Program.objects.select_for_update().select_related("organization").get(pk=claim.grant.program_id)
    _require_operator(actor, program)
    grant = Grant.objects.select_for_update().select_related("organization").get(pk=claim.grant_id)
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    errors: dict[str, list[str]] = {}
    if decision not in ("approve", "reject"):
        errors["decision"] = [_("Approve or reject.")]
    if not (reason or "").strip():
        errors["reason"] = [_("Give a reason for the decision.")]
    if claim.state != Claim.State.SUBMITTED:
        errors["state"] = [_("This claim was already decided.")]
    if errors:
        raise ValidationError(errors)
    paid = 0
    uses = list(_month_records(grant, claim.period_start).select_for_update(of=("self",)))
    if decision == "approve":
        version = selectors.version_at(selectors.published_versions(program),
                                       subsidy.local_midnight(claim.period_start, selectors.zone()))
        limits = [claim.requested_fen, selectors.grant_balance(grant), selectors.budget_left(program)]
        if version is not None and version.annual_cap_fen:
            limits.append(version.annual_cap_fen - selectors.year_used(
                program=program, organization=grant.organization, year=claim.period_start.year))
        paid = max(0, min(limits))
        if paid:
            payer = customer_payer_account(organization=grant.organization)
            transaction_post(idempotency_key=f"voucher-claim:{claim.pk}", kind=LedgerTransaction.Kind.ADJUSTMENT,
                             memo=f"Voucher claim {claim.period_start:%Y-%m}: {program.name}"[:300],
                             organization=grant.organization,
                             lines=[*subsidy_lines(grant=grant, program=program, share=paid), (payer, paid)],
                             details={"program": str(program.pk), "grant": str(grant.pk), "claim": str(claim.pk)})
            year_use, _created = YearUse.objects.get_or_create(program=program, organization=grant.organization,
                                                               year=claim.period_start.year)
            YearUse.objects.filter(pk=year_use.pk).update(used_fen=F("used_fen") + paid)
    left = paid
    for use in uses:  # what was paid goes to the month's records in time order; the rest is not claimable
        part = min(left, use.claimable_fen)
        left -= part
        UsageSubsidy.objects.filter(pk=use.pk).update(claimable_fen=0, share_fen=F("share_fen") + part)
    claim.state = Claim.State.APPROVED if decision == "approve" else Claim.State.REJECTED
    claim.approved_fen, claim.decision_reason = paid, reason.strip()
    claim.decided_by, claim.decided_at = actor.user, timezone.now()
    claim.save(update_fields=["state", "approved_fen", "decision_reason", "decided_by", "decided_at"])
    audit_record(actor=actor, action="vouchers.claim_decided", organization=program.organization, target=claim,
                 details={"decision": decision, "reason": claim.decision_reason, "requested_fen": claim.requested_fen,
                          "paid_fen": paid})
    _notify(organization=grant.organization, subject=gettext_noop("Your voucher claim: %(program)s"),
            params={"program": program.name}, template="vouchers/email/claim_decided.txt",
            context={"claim": claim, "program": program, "paid": fen_display(paid)})
    return claim


@transaction.atomic
def spike_flag_close(*, actor: Actor, flag, reason: str):
    """The operator closes a spike flag with a reason (audited)."""
    from .models import SpikeFlag

    _require_operator(actor, flag.program)
    flag = SpikeFlag.objects.select_for_update().get(pk=flag.pk)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give a reason for the decision.")]})
    if flag.state != SpikeFlag.State.OPEN:
        raise ValidationError({"state": [_("This flag was already decided.")]})
    flag.state, flag.decision_reason = SpikeFlag.State.CLOSED, reason.strip()
    flag.decided_by, flag.decided_at = actor.user, timezone.now()
    flag.save(update_fields=["state", "decision_reason", "decided_by", "decided_at"])
    audit_record(actor=actor, action="vouchers.spike_flag_closed", organization=flag.program.organization,
                 target=flag, details={"reason": flag.decision_reason, "day": str(flag.day),
                                       "subsidy_fen": flag.subsidy_fen, "baseline_fen": flag.baseline_fen})
    return flag
