"""发票 (fapiao) requests: a customer asks for a Chinese VAT invoice for one of its monthly invoices; platform
staff issue it in the tax system and enter its number and date here, or reject the request with a reason.

The title and tax id default to the organization's profile and may be edited in the request (they are
copied into it: a later profile change does not alter a request). One request per invoice may be open or
issued at a time (a partial unique constraint, so two concurrent requests cannot both pass); after a
rejection the customer may ask again.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.tenancy.access import Actor, require_role
from apps.tenancy.models import Role

from .models import FapiaoRequest, Invoice

_TAX_ID = re.compile(r"^[0-9A-Z]{15,20}$")  # 纳税人识别号: 15, 17, 18 (统一社会信用代码) or 20 characters
_FAPIAO_NUMBER = re.compile(r"^[0-9]{8,20}$")  # 8 digits (paper) to 20 digits (全电发票)


def fapiao_defaults(*, invoice: Invoice) -> dict[str, str]:
    """What the request form starts with: the organization's profile, else what the invoice carries."""
    organization = invoice.organization
    return {"title": organization.invoice_title or invoice.invoice_title or organization.name,
            "tax_id": organization.tax_id or invoice.tax_id or organization.credit_code,
            "kind": FapiaoRequest.Kind.ORDINARY}


def fapiao_request_create(*, actor: Actor, invoice: Invoice, kind: str, title: str, tax_id: str) -> FapiaoRequest:
    require_role(actor, invoice.organization, Role.ADMIN, _("Owners and admins request fapiao."))
    title, tax_id = str(title or "").strip(), re.sub(r"\s+", "", str(tax_id or "")).upper()
    errors: dict[str, list[str]] = {}
    if kind not in FapiaoRequest.Kind.values:
        errors["kind"] = [_("Choose an ordinary or a special VAT invoice.")]
    if not title or len(title) > 200:
        errors["title"] = [_("Enter the invoice title (the company name as registered), at most 200 characters.")]
    if not _TAX_ID.match(tax_id):
        errors["tax_id"] = [_("Enter the taxpayer identification number: 15 to 20 letters and digits.")]
    if invoice.total_fen <= 0:
        errors["invoice"] = [_("This invoice has nothing to invoice.")]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            request = FapiaoRequest.objects.create(
                invoice=invoice, organization=invoice.organization, kind=kind, title=title, tax_id=tax_id,
                amount_fen=invoice.total_fen, requested_by=actor.user)
            audit_record(actor=actor, action="billing.fapiao_requested", organization=invoice.organization,
                         target=request, details={"invoice": invoice.number, "kind": kind, "title": title,
                                                  "tax_id": tax_id, "amount_fen": invoice.total_fen})
    except IntegrityError:
        raise ValidationError({"invoice": [_("A fapiao for this invoice was already requested.")]}) from None
    return request


def _staff_only(actor: Actor) -> None:
    if not getattr(actor.user, "is_staff", False):
        raise PermissionDenied(_("Only platform staff issue or reject fapiao."))


@transaction.atomic
def fapiao_issue(*, actor: Actor, fapiao_request: FapiaoRequest, fapiao_number: str,
                 issued_on: datetime.date) -> FapiaoRequest:
    _staff_only(actor)
    request = FapiaoRequest.objects.select_for_update().get(pk=fapiao_request.pk)
    fapiao_number = str(fapiao_number or "").strip()
    errors: dict[str, list[str]] = {}
    if request.state != FapiaoRequest.State.REQUESTED:
        errors["state"] = [_("This request is already %(state)s.") % {"state": request.get_state_display()}]
    if not _FAPIAO_NUMBER.match(fapiao_number):
        errors["fapiao_number"] = [_("Enter the fapiao number: 8 to 20 digits.")]
    if not isinstance(issued_on, datetime.date) or isinstance(issued_on, datetime.datetime):
        errors["issued_on"] = [_("Enter the date the fapiao was issued.")]
    elif issued_on > timezone.localdate() or issued_on < request.invoice.issued_at.date():
        errors["issued_on"] = [_("The issue date lies between the invoice's date and today.")]
    if errors:
        raise ValidationError(errors)
    request.state, request.fapiao_number, request.issued_on = FapiaoRequest.State.ISSUED, fapiao_number, issued_on
    request.decided_by, request.decided_at = actor.user, timezone.now()
    request.save(update_fields=["state", "fapiao_number", "issued_on", "decided_by", "decided_at"])
    audit_record(actor=actor, action="billing.fapiao_issued", organization=request.organization, target=request,
                 details={"invoice": request.invoice.number, "fapiao_number": fapiao_number,
                          "issued_on": issued_on.isoformat()})
    return request


@transaction.atomic
def fapiao_reject(*, actor: Actor, fapiao_request: FapiaoRequest, reason: str) -> FapiaoRequest:
    _staff_only(actor)
    request = FapiaoRequest.objects.select_for_update().get(pk=fapiao_request.pk)
    reason = str(reason or "").strip()
    errors: dict[str, list[str]] = {}
    if request.state != FapiaoRequest.State.REQUESTED:
        errors["state"] = [_("This request is already %(state)s.") % {"state": request.get_state_display()}]
    if not reason or len(reason) > 300:
        errors["reason"] = [_("Say why, in at most 300 characters.")]
    if errors:
        raise ValidationError(errors)
    request.state, request.reject_reason = FapiaoRequest.State.REJECTED, reason
    request.decided_by, request.decided_at = actor.user, timezone.now()
    request.save(update_fields=["state", "reject_reason", "decided_by", "decided_at"])
    audit_record(actor=actor, action="billing.fapiao_rejected", organization=request.organization, target=request,
                 details={"invoice": request.invoice.number, "reason": reason})
    return request
