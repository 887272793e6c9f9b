"""OpenAPI schema post-processing: every operation documents the API's error answers (the one error body of
apps/core/api/errors.py), so clients and schema-driven tests know what a 4xx looks like."""

from __future__ import annotations

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True,
                           "description": "Per request field (non_field_errors for the rest): the messages."},
            },
            "required": ["code", "message"],
        },
    },
    "required": ["error"],
}

# status: (description, when it applies to an operation)
_ERRORS = {
    "400": ("Invalid input: the fields' errors, or a body that is not valid JSON.",
            lambda op, path: "requestBody" in op or op.get("parameters")),
    "401": ("Not signed in, or the API key is not valid.", lambda op, path: bool(op.get("security", [1]))),
    "403": ("Your role in the organization does not allow this.", lambda op, path: True),
    "404": ("Not found (another organization's objects are not found either), or a page past the last.",
            lambda op, path: "{" in path or any(p.get("name") == "page" for p in op.get("parameters", []))),
    "413": ("The request body is too large.", lambda op, path: "requestBody" in op),
    "429": ("Too many requests or failed API-key attempts; see Retry-After.", lambda op, path: True),
    "503": ("Card payments are not configured on this platform.",
            lambda op, path: path.endswith(("/top-ups/", "/refund/"))),
}


def error_responses(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOKS entry: add the error answers each operation does not declare."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for status, (description, applies) in _ERRORS.items():
                if status not in responses and applies(operation, path):
                    responses[status] = {"description": description,
                                         "content": {"application/json": {"schema": reference}}}
    return result
