from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from apps.core.ratelimit import client_ip, rate_limit_check, rate_limit_hit

from .services import api_key_authenticate

FAILURE_SCOPE = "api-key-failures"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key tg_xxxxxxxx_...`` (``Bearer`` is accepted too)."""

    keywords = ("api-key", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, credential = header.partition(" ")
        if scheme.lower() not in self.keywords:
            return None
        credential = credential.strip()
        if not credential:
            raise exceptions.AuthenticationFailed(_("The Authorization header has no key after the scheme."))
        # Failed guesses are limited per source: past the limit the source gets 429s, whatever key it sends,
        # until its oldest failure leaves the window. Other sources (the key's real owner) are not affected.
        source = client_ip(request)
        limit, window_s = settings.TIDEGRID_API_KEY_FAILURES_PER_SOURCE, settings.TIDEGRID_API_KEY_FAILURE_WINDOW_S
        blocked = rate_limit_check(scope=FAILURE_SCOPE, ident=source, limit=limit, window_s=window_s)
        if not blocked.allowed:
            raise exceptions.Throttled(wait=blocked.retry_after_s,
                                       detail=str(_("Too many failed API-key attempts from this address.")))
        api_key = api_key_authenticate(plaintext=credential)
        if api_key is None:
            rate_limit_hit(scope=FAILURE_SCOPE, ident=source, limit=limit, window_s=window_s)
            raise exceptions.AuthenticationFailed(_("This API key is not valid or was revoked."))
        return api_key.created_by, api_key

    def authenticate_header(self, request):
        return "Api-Key"


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.tenancy.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": 'Send "Api-Key <key>"; keys are created per organization.'}
