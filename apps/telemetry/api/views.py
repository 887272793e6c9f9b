"""The agent API. Agents are machines, not users: they authenticate with a bootstrap token (enroll) or
their node credential (heartbeat), and every answer uses the API's error format."""

import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.errors import error_body, error_response
from apps.core.ratelimit import client_ip, rate_limit_give_back, rate_limit_hit

from .. import services
from ..reports import heartbeat_parse
from .serializers import EnrollSerializer


class AgentAPIView(APIView):
    permission_classes = [AllowAny]  # authentication below decides
    throttle_classes: list = []


class EnrollView(AgentAPIView):
    authentication_classes: list = []

    @extend_schema(request=EnrollSerializer, responses={201: OpenApiTypes.OBJECT}, tags=["agent"],
                   summary="Exchange a bootstrap token for a node credential")
    def post(self, request):
        serializer = EnrollSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        # Token guesses are counted per source address before the token is checked (a valid one gives its
        # count back), so parallel guesses cannot get more tries than the limit.
        key = ("agent-enroll-fail", client_ip(request))
        if not _attempt_reserve(key):
            return _throttled(error_response)
        try:
            node, credential = services.node_enroll(bootstrap_token=data.pop("bootstrap_token"),
                                                    hostname=data.pop("hostname"), inventory=data)
        except services.EnrollmentRefused as refused:
            return error_response("enrollment_refused", str(refused), http_status=status.HTTP_401_UNAUTHORIZED)
        except services.DeviceUuidTaken as taken:
            _attempt_give_back(key)
            return error_response("device_uuid_conflict", str(taken), http_status=status.HTTP_409_CONFLICT)
        _attempt_give_back(key)
        return Response({
            "node_id": str(node.id), "credential": credential,
            "heartbeat_interval_s": services.heartbeat_interval_s(),
            "cluster_id": str(node.cluster_id), "region": node.cluster.region.code,
            # An agent that lost its state re-enrolls and continues after the last report the server has.
            "last_seq": node.last_seq,
        }, status=status.HTTP_201_CREATED)


@csrf_exempt
@require_POST
def heartbeat(request):
    """``POST /api/agent/v1/heartbeat`` — the platform's hottest endpoint (every node, every few seconds),
    so it is a plain Django view: the typed protocol (agents/protocol.py) parses the raw body, the
    credential check is cached, and no DRF machinery runs. Errors keep the API's error format."""
    key = ("agent-auth-fail", client_ip(request))
    if not _attempt_reserve(key):
        return _throttled(_json_error)
    scheme, _sep, credential = request.headers.get("Authorization", "").partition(" ")
    node = services.credential_authenticate(plaintext=credential.strip()) if scheme.lower() == "node" else None
    if node is None:
        return _json_error(401, "authentication_failed",
                           "Unknown or revoked node credential: send 'Authorization: Node <credential>' "
                           "or re-enroll the node.")
    _attempt_give_back(key)
    hit = rate_limit_hit(scope="agent-node", ident=str(node.id), limit=settings.TIDEGRID_AGENT_RATE_PER_MIN,
                         window_s=60)
    if not hit.allowed:
        return _throttled(_json_error, hit.retry_after_s)
    report, errors = heartbeat_parse(request.body)
    if report is None:
        code = "parse_error" if "body" in errors else "validation_error"
        return _json_error(400, code, "The report is not valid.", fields=errors)
    if report.node_id != str(node.id):
        return _json_error(403, "wrong_node", "This credential belongs to another node.")
    try:
        return JsonResponse(services.heartbeat_ingest(node=node, report=report))
    except ValidationError as error:  # nothing was stored
        return _json_error(400, "validation_error", "The report is not valid.", fields=error.message_dict)


def _attempt_reserve(key: tuple[str, str]) -> bool:
    scope, ident = key
    return rate_limit_hit(scope=scope, ident=ident, limit=settings.TIDEGRID_AGENT_AUTH_FAILURES_PER_IP,
                          window_s=settings.TIDEGRID_AGENT_AUTH_FAILURE_WINDOW_S).allowed


def _attempt_give_back(key: tuple[str, str]) -> None:
    scope, ident = key
    rate_limit_give_back(scope=scope, ident=ident)


def _throttled(respond, retry_after_s: float | None = None):
    retry_after_s = math.ceil(retry_after_s) if retry_after_s else settings.TIDEGRID_AGENT_AUTH_FAILURE_WINDOW_S
    message = _("Too many requests from this node or address; retry later.")
    if respond is _json_error:
        response = _json_error(429, "throttled", message)
    else:
        response = error_response("throttled", message, http_status=status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(retry_after_s)
    return response


def _json_error(status_code: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    response = JsonResponse(error_body(code, message, fields), status=status_code)
    if status_code == 401:
        response["WWW-Authenticate"] = "Node"
    return response
