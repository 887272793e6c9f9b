"""Abuse limits and input hygiene, over real HTTP against the live test server (issue 10): JSON nesting and
body size limits with the API's error body, atomic per-user rate limits, throttled API-key guessing, login
protection by account and source, and invitation errors that reveal nothing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from apps.ledger.models import Payment
from apps.tenancy.services import api_key_create
from tests.conftest import make_tenant


def _member_key(tenant) -> str:
    _key, plaintext = api_key_create(actor=tenant.actor("owner"), organization=tenant.organization,
                                     name="member key", role="member")
    return plaintext


def _post_raw(url: str, body: bytes, *, key: str | None = None) -> tuple[int, str, bytes]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Api-Key {key}"} if key else {})}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the test server
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def _nested(depth: int) -> bytes:
    return b'{"amount_fen": ' + b"[" * (depth - 1) + b"1" + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize("depth, code", [(5_000, "parse_error"), (33, "parse_error"), (32, "validation_error")])
def test_json_nested_too_deep_is_a_400_with_the_api_error_body(live_server, transactional_db, depth, code):
    tenant = make_tenant(name="Deep JSON")
    url = f"{live_server.url}/api/v1/organizations/{tenant.organization.pk}/wallet/top-ups/"
    status, content_type, body = _post_raw(url, _nested(depth), key=_member_key(tenant))
    assert status == 400, body[:300]
    assert content_type == "application/json"
    assert json.loads(body)["error"]["code"] == code
    assert not Payment.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/organizations/{org}/wallet/top-ups/", "/api/agent/v1/heartbeat",
                                  "/stripe/webhook"])
def test_a_body_over_the_upload_limit_is_a_json_413(live_server, transactional_db, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    tenant = make_tenant(name="Big Bodies")
    url = live_server.url + path.format(org=tenant.organization.pk)
    body = json.dumps({"amount_fen": 1_000, "padding": "x" * 200_000}).encode()
    status, content_type, answer = _post_raw(url, body, key=_member_key(tenant))
    assert status == 413
    assert content_type == "application/json"
    assert json.loads(answer)["error"]["code"] == "request_too_large"
    # Just under the limit is parsed as usual (here: a validation error for the wallet).
    status, _type, _answer = _post_raw(url, b'{"amount_fen": 5}',
                                       key=_member_key(tenant))
    assert status != 413
