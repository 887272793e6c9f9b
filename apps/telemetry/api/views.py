"""The agent API. Agents are machines, not users: they authenticate with a bootstrap token (enroll) or
their node credential (heartbeat), and every answer uses the API's error format."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.errors import error_response

from .. import services
from .authentication import NodeCredentialAuthentication
from .serializers import EnrollSerializer, HeartbeatSerializer


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
        try:
            node, credential = services.node_enroll(bootstrap_token=data.pop("bootstrap_token"),
                                                    hostname=data.pop("hostname"), inventory=data)
        except services.EnrollmentRefused as refused:
            return error_response("enrollment_refused", str(refused), http_status=status.HTTP_401_UNAUTHORIZED)
        return Response({
            "node_id": str(node.id), "credential": credential,
            "heartbeat_interval_s": services.heartbeat_interval_s(),
            "cluster_id": str(node.cluster_id), "region": node.cluster.region.code,
        }, status=status.HTTP_201_CREATED)


class HeartbeatView(AgentAPIView):
    authentication_classes = [NodeCredentialAuthentication]

    @extend_schema(request=HeartbeatSerializer, responses={200: OpenApiTypes.OBJECT}, tags=["agent"],
                   summary="Report telemetry, receive assignments")
    def post(self, request):
        node = request.auth
        serializer = HeartbeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = serializer.validated_data
        if report["node_id"] != node.id:
            return error_response("wrong_node", "This credential belongs to another node.",
                                  http_status=status.HTTP_403_FORBIDDEN)
        return Response(services.heartbeat_ingest(node=node, report=report))
