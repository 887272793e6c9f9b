"""The one place that builds the Stripe client. Tests point STRIPE_API_BASE at a localstripe server."""

from __future__ import annotations

import stripe
from django.conf import settings


class PaymentsNotConfigured(Exception):
    """STRIPE_SECRET_KEY / STRIPE_PUBLISHABLE_KEY are not set: card payments are off."""


def payments_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY)


def stripe_client() -> stripe.StripeClient:
    if not payments_configured():
        raise PaymentsNotConfigured()
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_BASE},
                               max_network_retries=2)


def payments_test_mode() -> bool:
    """Stripe test keys (or the local stand-in `make run` starts): no real money moves."""
    return payments_configured() and settings.STRIPE_SECRET_KEY.startswith("sk_test_")


def payments_stand_in() -> bool:
    """Payments go to the local Stripe stand-in (localstripe) that `make run` starts without keys."""
    return payments_test_mode() and bool(settings.STRIPE_LOCAL_STAND_IN)
