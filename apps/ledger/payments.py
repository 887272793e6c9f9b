"""Card top-ups and refunds through Stripe, and the webhook events that settle them.

The wallet is credited only by the signed ``payment_intent.succeeded`` webhook, never by the browser.
Every event id is recorded in the same database transaction as the ledger posting it causes, so a
redelivered event (Stripe retries, or several endpoints) credits once.

A refund from the portal first takes the money out of the wallet (conditional update: it can never
refund more than the wallet holds, whatever runs concurrently) and only then asks Stripe; when Stripe
refuses, a new transaction gives the money back. Refunds made outside the portal (Stripe dashboard)
arrive as ``charge.refunded`` and are reconciled against what the portal already took.
"""

from __future__ import annotations

import logging

import stripe
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.audit.services import audit_record
from apps.core.api.idempotency import idempotency_key_check
from apps.tenancy.access import Actor, require_role
from apps.tenancy.models import Organization, Role

from .gateway import payments_stand_in, stripe_client
from .models import Account, LedgerProfile, LedgerTransaction, Payment, Refund, StripeEvent
from .services import (
    InsufficientFunds,
    account_get_or_create,
    bilingual_mail_send,
    fen_display,
    low_balance_rearm,
    platform_account,
    profile_get,
    transaction_post,
    whole_fen,
)

logger = logging.getLogger(__name__)

TOP_UP_MIN_FEN = 1_000  # ¥10
TOP_UP_MAX_FEN = 10_000_000  # ¥100,000 per card payment
TOP_UP_PRESETS_FEN = (10_000, 50_000, 100_000, 500_000)
# The ledger memo per method (stored in the language of the moment, like every memo).
TOP_UP_MEMOS = {Payment.Method.CARD: gettext_noop("Card top-up"),
                Payment.Method.ALIPAY: gettext_noop("Alipay top-up"),
                Payment.Method.WECHAT_PAY: gettext_noop("WeChat Pay top-up")}


class PaymentGatewayError(ValidationError):
    """Stripe refused or could not be reached; nothing was charged or refunded."""


def _wallet(organization: Organization) -> Account:
    return account_get_or_create(organization=organization, kind=Account.Kind.CUSTOMER_CASH)


def _stripe_message(exc: stripe.StripeError) -> str:
    return getattr(exc, "user_message", None) or str(exc) or exc.__class__.__name__


# --- top-ups --------------------------------------------------------------------------------------------

def top_up_create(*, actor: Actor, organization: Organization, amount_fen: int,
                  idempotency_key: str | None = None, method: str = Payment.Method.CARD) -> tuple[Payment, bool]:
    """Start a top-up: a Payment row and a Stripe PaymentIntent for one payment method type (card, alipay,
    wechat_pay) whose client secret the browser uses to pay (Alipay redirects, WeChat Pay shows a QR code:
    Stripe.js follows the intent's next_action). Returns ``(payment, created)``; the same idempotency key
    returns the first payment."""
    require_role(actor, organization, Role.MEMBER, _("Members, admins and owners can top up; viewers cannot."))
    if organization.kind != Organization.Kind.CUSTOMER:
        raise ValidationError({"organization": [_("Only customer organizations have a wallet.")]})
    if not whole_fen(amount_fen, at_least=TOP_UP_MIN_FEN, at_most=TOP_UP_MAX_FEN):
        raise ValidationError({"amount_fen": [_("Top up between %(min)s and %(max)s.")
                                              % {"min": fen_display(TOP_UP_MIN_FEN),
                                                 "max": fen_display(TOP_UP_MAX_FEN)}]})
    if profile_get(organization=organization).mode == LedgerProfile.Mode.POSTPAID:
        raise ValidationError({"amount_fen": [_("This organization pays by invoice (postpaid); it has no wallet "
                                                "to top up.")]})
    if method not in Payment.Method.values:
        raise ValidationError({"method": [_("Choose card, Alipay or WeChat Pay.")]})
    idempotency_key_check(idempotency_key)
    client = stripe_client()  # PaymentsNotConfigured before anything is written

    key = f"{organization.pk}:{idempotency_key}" if idempotency_key else None
    payment = Payment(organization=organization, created_by=actor.user, amount_fen=amount_fen, method=method)
    payment.idempotency_key = key or f"payment:{payment.pk}"
    try:
        with transaction.atomic():
            payment.save(force_insert=True)
    except IntegrityError:
        payment = Payment.objects.get(idempotency_key=key)  # this key was used before, or is being used now
    if payment.amount_fen != amount_fen:
        raise ValidationError({"idempotency_key": [_("This Idempotency-Key was used with a different amount.")]})
    if payment.method != method:
        raise ValidationError({"idempotency_key": [_("This Idempotency-Key was used with another payment method.")]})
    # One PaymentIntent per Payment: the row stays locked while Stripe is asked, so concurrent requests
    # with the same key wait here and then return the intent the first one created. Stripe's own
    # idempotency key makes a retry of this call (after a crash) return the same PaymentIntent.
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.stripe_payment_intent_id:
            return payment, False
        try:
            intent = client.v1.payment_intents.create(
                params={"amount": amount_fen, "currency": "cny", "payment_method_types": [payment.method],
                        "metadata": {"payment": str(payment.pk), "organization": str(organization.pk)}},
                options={"idempotency_key": f"tidegrid-payment-{payment.pk}"})
        except stripe.StripeError as exc:
            failure = exc
            Payment.objects.filter(pk=payment.pk, state=Payment.State.CREATED).update(
                state=Payment.State.FAILED, failure_message=_stripe_message(exc)[:500])
        else:
            failure = None
            Payment.objects.filter(pk=payment.pk).update(
                stripe_payment_intent_id=intent.id, client_secret=intent.client_secret,
                state=Payment.State.CREATED, failure_message="")
            audit_record(actor=actor, action="ledger.top_up_started", organization=organization, target=payment,
                         details={"amount_fen": amount_fen, "payment_intent": intent.id,
                                  "method": payment.method})
    if failure is not None:
        raise PaymentGatewayError(_("The payment could not be started: %(reason)s")
                                  % {"reason": _stripe_message(failure)}) from failure
    payment.refresh_from_db()
    return payment, True


def stand_in_card_pay(*, actor: Actor, payment: Payment, number: str, exp_month: int, exp_year: int,
                      cvc: str) -> None:
    """Test mode against the local Stripe stand-in only: what Stripe.js and the card network do after the
    customer pressed Pay (localstripe's Stripe.js has no Payment Element). The card becomes a PaymentMethod at
    the stand-in, which confirms the intent; the wallet is still credited only by the signed webhook."""
    if not payments_stand_in():
        raise PermissionDenied(_("Test cards are only taken in test mode against the local Stripe stand-in."))
    require_role(actor, payment.organization, Role.MEMBER, _("Members, admins and owners can top up; viewers cannot."))
    if payment.state == Payment.State.SUCCEEDED or not payment.stripe_payment_intent_id \
            or payment.method != Payment.Method.CARD:
        raise ValidationError(_("This payment cannot be paid by card (any more)."))
    client = stripe_client()
    try:
        method = client.v1.payment_methods.create(params={
            "type": "card", "card": {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc}})
        client.v1.payment_intents.update(payment.stripe_payment_intent_id, params={"payment_method": method.id})
        client.v1.payment_intents.confirm(payment.stripe_payment_intent_id)
    except stripe.StripeError as exc:
        raise PaymentGatewayError(_("The card payment did not go through: %(reason)s")
                                  % {"reason": _stripe_message(exc)}) from exc
    audit_record(actor=actor, action="ledger.test_card_paid", organization=payment.organization, target=payment,
                 details={"card_last4": number[-4:]})


# --- refunds --------------------------------------------------------------------------------------------

def refund_create(*, actor: Actor, payment: Payment, amount_fen: int) -> Refund:
    """Refund (part of) a top-up to the card. Never more than the payment left to refund, nor more than
    the wallet still holds; both are checked under locks, so concurrent refunds cannot overdraw."""
    organization = payment.organization
    require_role(actor, organization, Role.ADMIN, _("Only owners and admins can refund payments."))
    if not whole_fen(amount_fen, at_least=1):
        raise ValidationError({"amount_fen": [_("Enter a positive amount.")]})
    client = stripe_client()

    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.state != Payment.State.SUCCEEDED:
            raise ValidationError({"amount_fen": [_("Only paid top-ups can be refunded.")]})
        if amount_fen > payment.refundable_fen:
            raise ValidationError({"amount_fen": [_("At most %(left)s of this payment is left to refund.")
                                                  % {"left": fen_display(payment.refundable_fen)}]})
        refund = Refund.objects.create(payment=payment, amount_fen=amount_fen, requested_by=actor.user)
        try:
            transaction_post(
                idempotency_key=f"refund:{refund.pk}", kind=LedgerTransaction.Kind.REFUND,
                memo=_("Refund to card"), organization=organization,
                lines=[(_wallet(organization), -amount_fen), (platform_account(Account.Kind.STRIPE_CLEARING),
                                                               amount_fen)],
                details={"payment": str(payment.pk), "refund": str(refund.pk)})
        except InsufficientFunds as exc:
            raise ValidationError({"amount_fen": [
                _("The wallet holds %(available)s; a refund cannot exceed what is left in it.")
                % {"available": fen_display(exc.available_fen)}]}) from exc
        Payment.objects.filter(pk=payment.pk).update(refunded_fen=F("refunded_fen") + amount_fen)
        audit_record(actor=actor, action="ledger.refund_requested", organization=organization, target=refund,
                     details={"payment": str(payment.pk), "amount_fen": amount_fen})

    try:
        stripe_refund = client.v1.refunds.create(
            params={"payment_intent": payment.stripe_payment_intent_id, "amount": amount_fen,
                    "metadata": {"refund": str(refund.pk), "payment": str(payment.pk)}},
            options={"idempotency_key": f"tidegrid-refund-{refund.pk}"})
    except stripe.StripeError as exc:
        _refund_failed(refund=refund, reason=_stripe_message(exc))
        raise PaymentGatewayError(_("Stripe did not accept the refund, so the money stays in the wallet: "
                                    "%(reason)s") % {"reason": _stripe_message(exc)}) from exc
    Refund.objects.filter(pk=refund.pk).update(stripe_refund_id=stripe_refund.id, state=Refund.State.SUCCEEDED)
    refund.refresh_from_db()
    return refund


@transaction.atomic
def _refund_failed(*, refund: Refund, reason: str) -> None:
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    Refund.objects.filter(pk=refund.pk).update(state=Refund.State.FAILED, failure_message=reason[:500])
    Payment.objects.filter(pk=payment.pk).update(refunded_fen=F("refunded_fen") - refund.amount_fen)
    transaction_post(
        idempotency_key=f"refund-reversal:{refund.pk}", kind=LedgerTransaction.Kind.REFUND_REVERSAL,
        memo=_("Refund not accepted by Stripe; money back in the wallet"), organization=payment.organization,
        lines=[(platform_account(Account.Kind.STRIPE_CLEARING), -refund.amount_fen),
               (_wallet(payment.organization), refund.amount_fen)],
        details={"payment": str(payment.pk), "refund": str(refund.pk), "reason": reason[:300]})
    low_balance_rearm(organization=payment.organization)


# --- webhook events -------------------------------------------------------------------------------------

def stripe_event_process(*, event: dict) -> bool:
    """Apply one verified Stripe event. Returns False when the event id was seen before (nothing done)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                StripeEvent.objects.create(event_id=event["id"], type=str(event.get("type", ""))[:100],
                                           object_id=str(event["data"]["object"].get("id") or "")[:100])
        except IntegrityError:
            StripeEvent.objects.filter(pk=event["id"]).update(deliveries=F("deliveries") + 1)
            return False
        handler = _HANDLERS.get(event.get("type", ""))
        if handler is not None:
            handler(event["data"]["object"])
    return True


def _payment_for_intent(intent: dict) -> Payment | None:
    """The Payment behind a PaymentIntent, locked. Found by intent id, or by the payment id in the
    metadata (the webhook can race the response that stores the intent id)."""
    queryset = Payment.objects.select_for_update()
    payment = queryset.filter(stripe_payment_intent_id=intent.get("id")).first() if intent.get("id") else None
    if payment is None:
        payment_id = (intent.get("metadata") or {}).get("payment")
        try:
            payment = queryset.filter(pk=payment_id).first() if payment_id else None
        except ValidationError:
            payment = None
        if payment is not None and payment.stripe_payment_intent_id not in (None, intent.get("id")):
            return None  # metadata pointing at another intent's payment: not ours to trust
    if payment is None:
        logger.warning("Stripe event for unknown PaymentIntent %s ignored", intent.get("id"))
    return payment


def _on_payment_succeeded(intent: dict) -> None:
    payment = _payment_for_intent(intent)
    if payment is None or payment.state == Payment.State.SUCCEEDED:
        return
    if (intent.get("currency") or "").lower() != "cny":
        logger.error("PaymentIntent %s paid in %s, not CNY: not credited", intent.get("id"), intent.get("currency"))
        return
    amount = int(intent.get("amount_received") or intent.get("amount") or 0)
    organization = payment.organization
    transaction_post(
        idempotency_key=f"top-up:{payment.pk}", kind=LedgerTransaction.Kind.TOP_UP,
        memo=_(TOP_UP_MEMOS[payment.method]), organization=organization,
        lines=[(platform_account(Account.Kind.STRIPE_CLEARING), -amount), (_wallet(organization), amount)],
        details={"payment": str(payment.pk), "payment_intent": intent.get("id"), "method": payment.method})
    Payment.objects.filter(pk=payment.pk).update(
        state=Payment.State.SUCCEEDED, succeeded_at=timezone.now(), failure_message="", amount_fen=amount,
        stripe_payment_intent_id=intent.get("id"))
    low_balance_rearm(organization=organization)
    audit_record(actor=None, action="ledger.top_up_succeeded", organization=organization, target=payment,
                 details={"amount_fen": amount, "payment_intent": intent.get("id"), "method": payment.method})


def _on_payment_failed(intent: dict) -> None:
    payment = _payment_for_intent(intent)
    if payment is None or payment.state == Payment.State.SUCCEEDED:
        return
    reason = ((intent.get("last_payment_error") or {}).get("message") or _("The card was declined."))[:500]
    Payment.objects.filter(pk=payment.pk).update(state=Payment.State.FAILED, failure_message=reason)
    user = payment.created_by
    if user is not None and user.email:
        context = {"organization": payment.organization, "amount": fen_display(payment.amount_fen),
                   "reason": reason, "site_url": settings.SITE_URL}
        transaction.on_commit(lambda: _send_payment_failed(user.email, context))


def _send_payment_failed(email: str, context: dict) -> None:
    bilingual_mail_send(subject=gettext_noop("Top-up failed: %(amount)s"), subject_params={"amount": context["amount"]},
                        template="ledger/email/payment_failed.txt", context=context, recipients=[email])


def _on_charge_refunded(charge: dict) -> None:
    """Stripe's total refunded for the charge, against what the ledger already took from the wallet: the
    difference (a refund made in the Stripe dashboard) is taken too, but only what the wallet still
    holds; the rest is recorded as unrecovered for staff."""
    intent_id = charge.get("payment_intent")
    payment = Payment.objects.select_for_update().filter(stripe_payment_intent_id=intent_id).first() \
        if intent_id else None
    if payment is None or payment.state != Payment.State.SUCCEEDED:
        return
    stripe_total = min(int(charge.get("amount_refunded") or 0), payment.amount_fen)
    missing = stripe_total - payment.refunded_fen
    if missing <= 0:
        return
    organization = payment.organization
    wallet = Account.objects.select_for_update().get(pk=_wallet(organization).pk)
    taken = min(missing, max(wallet.balance_fen, 0))
    if taken:
        transaction_post(
            idempotency_key=f"stripe-refund:{payment.pk}:{stripe_total}", kind=LedgerTransaction.Kind.REFUND,
            memo=_("Refund to card (made at Stripe)"), organization=organization,
            lines=[(wallet, -taken), (platform_account(Account.Kind.STRIPE_CLEARING), taken)],
            details={"payment": str(payment.pk), "charge": charge.get("id"), "refunded_total_fen": stripe_total,
                     "unrecovered_fen": missing - taken})
    Payment.objects.filter(pk=payment.pk).update(refunded_fen=stripe_total,
                                                 unrecovered_fen=F("unrecovered_fen") + (missing - taken))
    audit_record(actor=None, action="ledger.refund_reconciled", organization=organization, target=payment,
                 details={"refunded_total_fen": stripe_total, "taken_fen": taken, "unrecovered_fen": missing - taken})


_HANDLERS = {
    "payment_intent.succeeded": _on_payment_succeeded,
    "payment_intent.payment_failed": _on_payment_failed,
    "charge.refunded": _on_charge_refunded,
}
