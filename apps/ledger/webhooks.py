"""POST /stripe/webhook: Stripe's signed events. The signature is checked on the raw body before anything
is parsed; each event id is applied once (payments.stripe_event_process)."""

import json
import logging
import time

import stripe
from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core.api.errors import error_body

from .payments import stripe_event_process

logger = logging.getLogger(__name__)

# How far a signature's timestamp may be from now, either way (Stripe's default for the past).
SIGNATURE_TOLERANCE_S = stripe.Webhook.DEFAULT_TOLERANCE


@csrf_exempt  # Stripe cannot send a CSRF token; the signature is the authentication
@require_POST
def stripe_webhook(request):
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return JsonResponse(error_body("not_configured", _("Stripe webhooks are not configured "
                                                           "(STRIPE_WEBHOOK_SECRET).")), status=503)
    payload = request.body
    header = request.headers.get("Stripe-Signature", "")
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=SIGNATURE_TOLERANCE_S)
        if _signed_at(header) > time.time() + SIGNATURE_TOLERANCE_S:
            raise stripe.SignatureVerificationError("Timestamp in the future", header, payload)
        event = json.loads(payload)
        if not _is_event(event):
            raise ValueError("not an event")
    except stripe.SignatureVerificationError:
        logger.warning("Stripe webhook with a bad signature refused")
        return JsonResponse(error_body("bad_signature", _("The Stripe signature does not match.")), status=400)
    except (ValueError, RecursionError):
        return JsonResponse(error_body("bad_payload", _("The body is not a Stripe event.")), status=400)
    processed = stripe_event_process(event=event)
    return JsonResponse({"received": True, "duplicate": not processed})


def _signed_at(header: str) -> int:
    """The latest ``t=`` of a Stripe-Signature header (verify_header has parsed it already)."""
    stamps = [int(value) for key, _sep, value in (item.strip().partition("=") for item in header.split(","))
              if key == "t"]
    return max(stamps)


def _is_event(event) -> bool:
    """A Stripe event object as stripe_event_process reads it: id and type strings, data.object a dict."""
    return (isinstance(event, dict) and isinstance(event.get("id"), str) and 0 < len(event["id"]) <= 100
            and isinstance(event.get("type"), str) and isinstance(event.get("data"), dict)
            and isinstance(event["data"].get("object"), dict))
