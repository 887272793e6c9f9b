from dataclasses import asdict

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenancy.access import actor_from_request
from apps.tenancy.api.scoping import OrganizationScopedMixin
from apps.tenancy.models import Organization

from .. import selectors
from ..fapiao import fapiao_defaults, fapiao_issue, fapiao_reject, fapiao_request_create
from ..models import FapiaoRequest, Invoice
from .serializers import (
    FapiaoIssueSerializer,
    FapiaoRejectSerializer,
    FapiaoRequestCreateSerializer,
    FapiaoRequestSerializer,
    InvoiceDetailSerializer,
    InvoiceSerializer,
    MonthQuerySerializer,
    PriceQuoteSerializer,
    PriceRowSerializer,
    QuoteQuerySerializer,
)


class PriceListView(APIView):
    """Public list prices: one whole card per hour, per model × region × billing mode."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=None, responses=PriceRowSerializer(many=True))
    def get(self, request):
        rows = selectors.price_table(billing_mode=request.query_params.get("billing_mode") or None)
        region = request.query_params.get("region")
        return Response(PriceRowSerializer([asdict(r) for r in rows if not region or r.region == region],
                                           many=True).data)


class PriceQuoteView(OrganizationScopedMixin, APIView):
    """What one GPU shape costs per hour for this organization (its customer tier applied), and why."""

    @extend_schema(parameters=[QuoteQuerySerializer], responses=PriceQuoteSerializer)
    def get(self, request, organization_id):
        query = QuoteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        quote = selectors.price_quote(organization=self.organization, **query.validated_data)
        data = asdict(quote)
        data["off_peak_hours"] = [list(window) for window in quote.off_peak_hours]
        return Response(PriceQuoteSerializer(data).data)


def _month(request):
    query = MonthQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return selectors.month_parse(query.validated_data.get("month"))


class UsageView(OrganizationScopedMixin, APIView):
    """A month's usage: cost per day, per workload, and the invoice as it would read now."""

    @extend_schema(parameters=[MonthQuerySerializer], responses=OpenApiResponse(OpenApiTypes.OBJECT))
    def get(self, request, organization_id):
        month = _month(request)
        organization = self.organization
        preview = selectors.invoice_preview(organization=organization, period_start=month)
        return Response({
            "month": f"{month:%Y-%m}",
            "usage_fen": preview.usage_fen, "volume_discount_fen": preview.volume_discount_fen,
            "card_hours": str(preview.card_hours),
            "days": [{"date": day.isoformat(), "amount_fen": fen}
                     for day, fen in selectors.usage_by_day(organization=organization, period_start=month)],
            "workloads": [{**asdict(row), "workload_id": str(row.workload_id), "card_hours": str(row.card_hours)}
                          for row in selectors.usage_by_workload(organization=organization, period_start=month)],
        })


class InvoiceListView(OrganizationScopedMixin, generics.ListAPIView):
    serializer_class = InvoiceSerializer
    base_queryset = Invoice.objects.all()


class InvoiceDetailView(OrganizationScopedMixin, generics.RetrieveAPIView):
    serializer_class = InvoiceDetailSerializer
    base_queryset = Invoice.objects.prefetch_related("lines")


class StatementView(OrganizationScopedMixin, APIView):
    """A provider's earnings of a month per cluster and model."""

    @extend_schema(parameters=[MonthQuerySerializer], responses=OpenApiResponse(OpenApiTypes.OBJECT))
    def get(self, request, organization_id):
        month = _month(request)
        organization = self.organization
        if organization.kind != Organization.Kind.PROVIDER:
            raise Http404(_("Statements are for provider organizations."))
        lines = selectors.provider_statement(organization=organization, period_start=month)
        return Response({"month": f"{month:%Y-%m}",
                         "lines": [{**asdict(line), "card_hours": str(line.card_hours)} for line in lines]})


class InvoiceFapiaoView(OrganizationScopedMixin, APIView):
    """发票 requests for one invoice (GET, any member) and a new request (POST, owners and admins). The
    title and tax id default to the organization's profile."""

    base_queryset = Invoice.objects.select_related("organization")

    @extend_schema(responses=FapiaoRequestSerializer(many=True))
    def get(self, request, organization_id, pk):
        invoice = self.get_object()
        return Response(FapiaoRequestSerializer(invoice.fapiao_requests.all(), many=True).data)

    @extend_schema(request=FapiaoRequestCreateSerializer, responses={201: FapiaoRequestSerializer})
    def post(self, request, organization_id, pk):
        invoice = self.get_object()
        serializer = FapiaoRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {**fapiao_defaults(invoice=invoice), **serializer.validated_data}
        fapiao = fapiao_request_create(actor=self.actor, invoice=invoice, kind=data["kind"], title=data["title"],
                                       tax_id=data["tax_id"])
        return Response(FapiaoRequestSerializer(fapiao).data, status=status.HTTP_201_CREATED)


STAFF_404 = OpenApiResponse(OpenApiTypes.OBJECT, description="Not platform staff, or no such request.")


class _StaffFapiaoView(APIView):
    def fapiao(self, request, pk) -> FapiaoRequest:
        fapiao = FapiaoRequest.objects.select_related("invoice", "organization").filter(pk=pk).first() \
            if request.user.is_staff else None
        if fapiao is None:
            raise Http404
        return fapiao


class StaffFapiaoIssueView(_StaffFapiaoView):
    """Platform staff only (404 for everyone else): the fapiao was issued; its number and date."""

    @extend_schema(request=FapiaoIssueSerializer, responses={200: FapiaoRequestSerializer, 404: STAFF_404})
    def post(self, request, pk):
        fapiao = self.fapiao(request, pk)
        serializer = FapiaoIssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fapiao = fapiao_issue(actor=actor_from_request(request), fapiao_request=fapiao, **serializer.validated_data)
        return Response(FapiaoRequestSerializer(fapiao).data)


class StaffFapiaoRejectView(_StaffFapiaoView):
    """Platform staff only (404 for everyone else): the request is rejected, with the reason."""

    @extend_schema(request=FapiaoRejectSerializer, responses={200: FapiaoRequestSerializer, 404: STAFF_404})
    def post(self, request, pk):
        fapiao = self.fapiao(request, pk)
        serializer = FapiaoRejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fapiao = fapiao_reject(actor=actor_from_request(request), fapiao_request=fapiao, **serializer.validated_data)
        return Response(FapiaoRequestSerializer(fapiao).data)
