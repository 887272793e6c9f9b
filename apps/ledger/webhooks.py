"""POST /stripe/webhook: Stripe's signed events. The signature is checked on the raw body before anything
is parsed; each event id is applied once (payments.stripe_event_process)."""

import json
import logging

import stripe
from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core.api.errors import error_body

from .payments import stripe_event_process

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe cannot send a CSRF token; the signature is the authentication
@require_POST
def stripe_webhook(request):
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return JsonResponse(error_body("not_configured", _("Stripe webhooks are not configured "
                                                           "(STRIPE_WEBHOOK_SECRET).")), status=503)
    payload = request.body
    try:
        stripe.Webhook.construct_event(payload, request.headers.get("Stripe-Signature", ""), secret)
        event = json.loads(payload)
        if not isinstance(event, dict) or not isinstance(event.get("id"), str) \
                or not isinstance((event.get("data") or {}).get("object"), dict):
            raise ValueError("not an event")
    except stripe.SignatureVerificationError:
        logger.warning("Stripe webhook with a bad signature refused")
        return JsonResponse(error_body("bad_signature", _("The Stripe signature does not match.")), status=400)
    except ValueError:
        return JsonResponse(error_body("bad_payload", _("The body is not a Stripe event.")), status=400)
    processed = stripe_event_process(event=event)
    return JsonResponse({"received": True, "duplicate": not processed})
