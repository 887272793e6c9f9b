"""One error format for the whole API:

    {"error": {"code": "validation_error", "message": "…", "fields": {"email": ["…"]}}}

``fields`` is present for validation errors (keys are request fields; ``non_field_errors`` for the
rest). Django ValidationErrors raised by services become 400s here, so services need not know DRF.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .parsers import RequestTooLarge


def _as_field_dict(detail) -> dict:
    if isinstance(detail, dict):
        return {key: _as_field_dict(value) if isinstance(value, dict) else [str(item) for item in _as_list(value)]
                for key, value in detail.items()}
    return {"non_field_errors": [str(item) for item in _as_list(detail)]}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _django_validation_detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {field: [message for error in errors for message in error.messages]
                for field, errors in exc.error_dict.items()}
    return exc.messages


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=_django_validation_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()

    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500

    if isinstance(exc, exceptions.ValidationError):
        body = {"code": "validation_error", "message": _("Some fields are not valid."),
                "fields": _as_field_dict(exc.detail)}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        body = {"code": code if isinstance(code, str) else "error", "message": str(detail)}
    response.data = {"error": body}
    return response


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def error_response(code: str, message: str, *, http_status: int = status.HTTP_400_BAD_REQUEST,
                   fields: dict | None = None) -> Response:
    return Response(error_body(code, message, fields), status=http_status)
