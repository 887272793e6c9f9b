from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.models import AcceleratorModel
from apps.tenancy.api.scoping import OrganizationScopedMixin
from apps.tenancy.models import Role

from .. import services
from ..images import IMAGES
from ..models import Workload
from ..selectors import WORKLOAD_PREFETCH, quota_view
from .serializers import (
    ImageSerializer,
    QuotaSerializer,
    ReservationExtendSerializer,
    WorkloadCreateSerializer,
    WorkloadDetailSerializer,
    WorkloadSerializer,
)

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                               description="Repeat a create safely: the same key returns the same workload.")
WORKLOADS = Workload.objects.select_related("preferred_region").prefetch_related(*WORKLOAD_PREFETCH)


class WorkloadListCreateView(OrganizationScopedMixin, generics.ListAPIView):
    """The organization's workloads (instances and batch jobs), newest first; book a new one."""

    serializer_class = WorkloadSerializer
    write_role = Role.MEMBER
    base_queryset = WORKLOADS

    def get_queryset(self):
        queryset = super().get_queryset()
        state = self.request.query_params.get("state")
        return queryset.filter(state=state) if state else queryset

    @extend_schema(parameters=[OpenApiParameter("state", OpenApiTypes.STR, enum=Workload.State.values)])
    def get(self, request, *args, **kwargs):
        state = request.query_params.get("state")
        if state and state not in Workload.State.values:
            raise ValidationError({"state": [_("Unknown state “%(value)s”: one of %(choices)s.") % {
                "value": state, "choices": ", ".join(Workload.State.values)}]})
        return super().get(request, *args, **kwargs)

    @extend_schema(request=WorkloadCreateSerializer,
                   responses={201: WorkloadDetailSerializer, 200: WorkloadDetailSerializer},
                   parameters=[IDEMPOTENCY])
    def post(self, request, organization_id):
        serializer = WorkloadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        fields["spec"] = dict(fields.get("spec") or {})
        workload, created = services.workload_submit_idempotent(
            actor=self.actor, organization=self.organization, idempotency_key=request.headers.get("Idempotency-Key"),
            payload=request.data, **fields)
        return Response(_detail(workload), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _detail(workload: Workload) -> dict:
    return WorkloadDetailSerializer(WORKLOADS.get(pk=workload.pk)).data


class WorkloadDetailView(OrganizationScopedMixin, generics.RetrieveAPIView):
    """One workload: state, why it waits and its place in the queue, where it runs, connection details,
    the run's exit code and log tail, and the timeline."""

    serializer_class = WorkloadDetailSerializer
    base_queryset = WORKLOADS


class _WorkloadAction(OrganizationScopedMixin, APIView):
    write_role = Role.MEMBER
    base_queryset = Workload.objects.all()


class WorkloadStopView(_WorkloadAction):
    @extend_schema(request=None, responses=WorkloadDetailSerializer)
    def post(self, request, organization_id, pk):
        """Stop it: a pending workload at once, a placed or running one through its node's agent."""
        workload = services.workload_stop(actor=self.actor, workload=self.get_object())
        return Response(_detail(workload))


class WorkloadRestartView(_WorkloadAction):
    @extend_schema(request=None, responses=WorkloadDetailSerializer)
    def post(self, request, organization_id, pk):
        """Run a stopped, succeeded, failed or lost workload again: it goes back to pending and is placed
        anew (subject to the organization's quota)."""
        workload = services.workload_restart(actor=self.actor, workload=self.get_object())
        return Response(_detail(workload))


class WorkloadReservationExtendView(_WorkloadAction):
    @extend_schema(request=ReservationExtendSerializer, responses=WorkloadDetailSerializer)
    def post(self, request, organization_id, pk):
        """Move a reserved workload's window end later."""
        workload = self.get_object()
        serializer = ReservationExtendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workload = services.workload_reservation_extend(actor=self.actor, workload=workload,
                                                        window_end=serializer.validated_data["window_end"])
        return Response(_detail(workload))


class ImageListView(APIView):
    """The curated images a workload can run in, with the accelerator vendors each runs on."""

    @extend_schema(responses=ImageSerializer(many=True), parameters=[
        OpenApiParameter("vendor", OpenApiTypes.STR, enum=AcceleratorModel.Vendor.values,
                         description="only images that run on this vendor's accelerators")])
    def get(self, request):
        vendor = request.query_params.get("vendor")
        if vendor and vendor not in AcceleratorModel.Vendor.values:
            raise ValidationError({"vendor": [_("Unknown vendor “%(value)s”: one of %(choices)s.") % {
                "value": vendor, "choices": ", ".join(AcceleratorModel.Vendor.values)}]})
        images = [image.as_dict() for image in IMAGES if not vendor or vendor in image.vendors]
        return Response(ImageSerializer(images, many=True).data)


class QuotaView(OrganizationScopedMixin, APIView):
    """How many whole cards and slices the organization may run at once, and how many it uses."""

    read_role = Role.VIEWER

    @extend_schema(responses=QuotaSerializer)
    def get(self, request, organization_id):
        return Response(QuotaSerializer(quota_view(organization=self.organization)).data)
