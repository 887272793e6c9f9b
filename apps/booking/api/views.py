from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.views import OrganizationScopedMixin
from apps.tenancy.models import Role

from .. import services
from ..models import Workload
from .serializers import WorkloadCreateSerializer, WorkloadSerializer

# Everything WorkloadSerializer reads, fetched in a fixed number of queries for any page size.
WORKLOAD_PREFETCH = ("events", "allocations__node__cluster__region", "allocations__device__model",
                     "allocations__assignment")

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                               description="Repeat a create safely: the same key returns the same workload.")


class WorkloadListCreateView(OrganizationScopedMixin, generics.ListAPIView):
    """The organization's workloads (instances and batch jobs), newest first; book a new one."""

    serializer_class = WorkloadSerializer
    write_role = Role.MEMBER
    base_queryset = Workload.objects.select_related("preferred_region").prefetch_related(*WORKLOAD_PREFETCH)

    def get_queryset(self):
        queryset = super().get_queryset()
        state = self.request.query_params.get("state")
        return queryset.filter(state=state) if state else queryset

    @extend_schema(request=WorkloadCreateSerializer, responses={201: WorkloadSerializer, 200: WorkloadSerializer},
                   parameters=[IDEMPOTENCY])
    def post(self, request, organization_id):
        serializer = WorkloadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        fields["spec"] = dict(fields.get("spec") or {})
        workload, created = services.workload_submit_idempotent(
            actor=self.actor, organization=self.organization, idempotency_key=request.headers.get("Idempotency-Key"),
            payload=request.data, **fields)
        return Response(WorkloadSerializer(workload).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class WorkloadDetailView(OrganizationScopedMixin, generics.RetrieveAPIView):
    serializer_class = WorkloadSerializer
    base_queryset = Workload.objects.select_related("preferred_region").prefetch_related(*WORKLOAD_PREFETCH)


class WorkloadStopView(OrganizationScopedMixin, APIView):
    write_role = Role.MEMBER
    base_queryset = Workload.objects.all()

    @extend_schema(request=None, responses=WorkloadSerializer)
    def post(self, request, organization_id, pk):
        workload = services.workload_stop(actor=self.actor, workload=self.get_object())
        return Response(WorkloadSerializer(workload).data)
