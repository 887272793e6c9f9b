from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .services import api_key_authenticate


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
        api_key = api_key_authenticate(plaintext=credential)
        if api_key is None:
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
