"""Answers for the JSON endpoints (the REST API, the agent API, the Stripe webhook) that Django would
otherwise give as HTML pages."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

from .api.errors import error_body

JSON_PATH_PREFIXES = ("/api/", "/stripe/webhook")


def _too_large() -> JsonResponse:
    return JsonResponse(error_body("request_too_large", _("The request body is larger than %(max)s bytes.")
                                   % {"max": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}), status=413)


class JsonBodyLimitMiddleware:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE on a JSON path is a 413 with the API's error body: refused
    from its Content-Length before it is read, or when a view's read of it raises RequestDataTooBig."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(JSON_PATH_PREFIXES):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if limit is not None and length > limit:
                return _too_large()
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig) and request.path.startswith(JSON_PATH_PREFIXES):
            return _too_large()
        return None


def page_not_found(request, exception=None):
    """handler404: the API's JSON error body under the JSON paths (e.g. an id that is not even an id),
    Django's 404 page elsewhere."""
    if request.path.startswith(JSON_PATH_PREFIXES):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return defaults.page_not_found(request, exception)
