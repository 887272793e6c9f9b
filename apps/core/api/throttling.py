"""DRF throttles on the atomic Redis limiter (apps/core/ratelimit.py). Rates come from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], read at request time; a scope without a rate is not limited."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from ..ratelimit import client_ip, rate_limit_hit


class _AtomicRateThrottle(BaseThrottle):
    scope = ""

    def ident_for(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view):
        self.retry_after_s = None
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        ident = self.ident_for(request)
        if rate is None or ident is None:
            return True
        limit, window_s = SimpleRateThrottle.parse_rate(None, rate)
        result = rate_limit_hit(scope=f"api-{self.scope}", ident=ident, limit=limit, window_s=window_s)
        self.retry_after_s = result.retry_after_s
        return result.allowed

    def wait(self):
        return self.retry_after_s


class UserRateThrottle(_AtomicRateThrottle):
    """Requests per signed-in user (session or API key), across all web processes."""

    scope = "user"

    def ident_for(self, request):
        return str(request.user.pk) if request.user and request.user.is_authenticated else None


class AnonRateThrottle(_AtomicRateThrottle):
    """Requests per client address for anonymous callers."""

    scope = "anon"

    def ident_for(self, request):
        return None if request.user and request.user.is_authenticated else client_ip(request)
