"""The agent's HTTP client for ``/api/agent/v1`` (stdlib only: urllib, with timeouts).

Errors are sorted by what the agent should do about them:

- ``CredentialRejected`` (401): the token or credential is unknown, used or revoked; retrying cannot
  help, the agent stops with a non-zero status.
- ``WrongNode`` (403): the credential belongs to another node; the state folder is inconsistent.
- ``ReportRejected`` (400): the server refused this body (nothing stored); resending it cannot help.
- ``TransientError``: connection refused/reset, timeouts, 5xx, 429 and any other answer; retry later
  with backoff (``retry_after`` carries the server's Retry-After when it sent one).
"""

from __future__ import annotations

import json
import logging
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from . import __version__

logger = logging.getLogger(__name__)

API_PREFIX = "/api/agent/v1"


class AgentAPIError(Exception):
    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class CredentialRejected(AgentAPIError):
    pass


class WrongNode(AgentAPIError):
    pass


class ReportRejected(AgentAPIError):
    pass


class TransientError(AgentAPIError):
    def __init__(self, message: str, *, status: int | None = None, body: Any = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status, body=body)
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # the HTTP-date form is not worth parsing here


class AgentClient:
    def __init__(self, server: str, *, timeout_s: float = 10.0, ca_file: str | None = None) -> None:
        parsed = urllib.parse.urlsplit(server)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"--server must be an http(s):// URL, got {server!r}")
        if parsed.scheme == "http" and parsed.hostname not in ("localhost", "127.0.0.1", "::1"):
            logger.warning("talking to %s over plain HTTP: the credential crosses the network unencrypted",
                           server)
        self.base = server.rstrip("/")
        self.timeout_s = timeout_s
        context = ssl.create_default_context(cafile=ca_file) if parsed.scheme == "https" else None
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler()]
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)
        self.user_agent = f"tidegrid-agent/{__version__}"

    def _post(self, path: str, payload: dict[str, Any], *, credential: str | None = None,
              timeout_s: float | None = None) -> tuple[int, Any]:
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        # The scheme was checked to be http(s) in __init__.
        request = urllib.request.Request(self.base + API_PREFIX + path, data=data, method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", self.user_agent)
        if credential:
            request.add_header("Authorization", f"Node {credential}")
        try:
            with self._opener.open(request, timeout=timeout_s or self.timeout_s) as response:
                return response.status, _json_or_text(response.read())
        except urllib.error.HTTPError as error:
            body = _json_or_text(error.read())
            raise _classify(error.code, body, error.headers.get("Retry-After")) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise TransientError(f"cannot reach {self.base}: {reason}") from None

    # Enrollment is rare and heavier than a heartbeat; when a whole fleet enrolls at once the server
    # queues. Giving up early would send the request again while the first one still waits in the
    # queue, and a herd of such duplicates starves everything else, so wait longer for this one.
    ENROLL_TIMEOUT_S = 60.0

    def enroll(self, payload: dict[str, Any]) -> dict[str, Any]:
        status, body = self._post("/enroll", payload, timeout_s=max(self.timeout_s, self.ENROLL_TIMEOUT_S))
        if status not in (200, 201) or not isinstance(body, dict) or "credential" not in body:
            raise TransientError(f"unexpected enrollment answer {status}: {str(body)[:200]}", status=status)
        return body

    def heartbeat(self, credential: str, report: dict[str, Any], *, timeout_s: float | None = None) -> dict[str, Any]:
        status, body = self._post("/heartbeat", report, credential=credential, timeout_s=timeout_s)
        if status != 200 or not isinstance(body, dict):
            raise TransientError(f"unexpected heartbeat answer {status}: {str(body)[:200]}", status=status)
        return body


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return raw[:500].decode("utf-8", "replace")


def _message(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("detail"):
            return str(body["detail"])
    return str(body)[:300]


def _classify(status: int, body: Any, retry_after: str | None) -> AgentAPIError:
    message = f"HTTP {status}: {_message(body)}"
    if status == 401:
        return CredentialRejected(message, status=status, body=body)
    if status == 403:
        return WrongNode(message, status=status, body=body)
    if status == 400:
        return ReportRejected(message, status=status, body=body)
    return TransientError(message, status=status, body=body, retry_after=_retry_after(retry_after))
