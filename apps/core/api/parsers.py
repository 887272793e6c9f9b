"""The API's JSON parser: bodies are read up to DATA_UPLOAD_MAX_MEMORY_SIZE (DRF reads the raw stream,
which Django's own size check never sees) and nested at most TIDEGRID_API_JSON_MAX_DEPTH levels, so neither
a huge body nor ``[[[[…]]]]`` reaches a view (or Python's recursion limit)."""

from __future__ import annotations

import io

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self):
        super().__init__(_("The request body is larger than %(max)s bytes.")
                         % {"max": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})


def json_depth(value) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is depth 0); no recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge()
        max_depth = settings.TIDEGRID_API_JSON_MAX_DEPTH
        too_deep = exceptions.ParseError(_("JSON nested deeper than %(max)s levels is not accepted.")
                                         % {"max": max_depth})
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if json_depth(data) > max_depth:
            raise too_deep
        return data
