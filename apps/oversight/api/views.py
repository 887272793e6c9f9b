"""Oversight REST API: /organizations/{id}/oversight/… for government operators (auditor or above);
any other organization is a 404, as is a scope outside the jurisdiction; bad periods and filters 400."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenancy.api.scoping import OrganizationScopedMixin

from .. import exports, selectors, services
from ..periods import period_parse
from ..selectors import DIMENSIONS, DRILL_NEXT
from .serializers import BreakdownQuerySerializer, ExportQuerySerializer, OversightQuerySerializer, TargetSerializer


class OversightMixin(OrganizationScopedMixin):
    read_role = services.READ_ROLE
    write_role = services.WRITE_ROLE

    @property
    def government(self):
        organization = self.organization
        services.require_government(organization)
        return organization

    def query(self):
        organization = self.government
        period = period_parse(self.request.query_params)
        scope = selectors.scope_build(organization=organization, params=self.request.query_params)
        return period, scope

    def dimension(self, scope) -> str:
        from django.core.exceptions import ValidationError

        dimension = self.request.query_params.get("by") or DRILL_NEXT[scope.level]
        if dimension not in DIMENSIONS:
            raise ValidationError({"by": [f"Choose one of: {', '.join(DIMENSIONS)}."]})
        return dimension


def _scope_dict(scope) -> dict:
    return {"jurisdiction": list(scope.organization.jurisdiction.values_list("code", flat=True)), **scope.filters}


class KpiView(OversightMixin, APIView):
    """The period's KPIs for the jurisdiction (or a region/provider/cluster/node in it), the previous
    period's, the change, and the status of each KPI with a target. Rates are fractions."""

    @extend_schema(parameters=[OversightQuerySerializer], responses=OpenApiResponse(OpenApiTypes.OBJECT))
    def get(self, request, organization_id):
        period, scope = self.query()
        overview = selectors.kpi_overview(scope=scope, period=period)
        return Response({"period": period.as_dict(), "previous_period": overview["previous_period"].as_dict(),
                         "scope": _scope_dict(scope), "kpis": overview["kpis"], "previous": overview["previous"],
                         "change": overview["change"], "status": overview["status"]})


class BreakdownView(OversightMixin, APIView):
    """KPIs per region, provider, cluster, node, device, vendor class, model, industry or enterprise
    size (industry and size: consumption KPIs only; other tenants appear only in aggregates)."""

    @extend_schema(parameters=[BreakdownQuerySerializer], responses=OpenApiResponse(OpenApiTypes.OBJECT))
    def get(self, request, organization_id):
        period, scope = self.query()
        dimension = self.dimension(scope)
        rows = selectors.breakdown(scope=scope, period=period, dimension=dimension)
        return Response({"period": period.as_dict(), "scope": _scope_dict(scope), "by": dimension, "rows": rows})


class SeriesView(OversightMixin, APIView):
    """Per day of the period: the day's KPIs (null where nothing was observed)."""

    @extend_schema(parameters=[OversightQuerySerializer], responses=OpenApiResponse(OpenApiTypes.OBJECT))
    def get(self, request, organization_id):
        period, scope = self.query()
        series = selectors.kpi_series(scope=scope, period=period)
        return Response({"period": period.as_dict(), "scope": _scope_dict(scope),
                         "days": [{"day": p["day"].isoformat(), "kpis": p["kpis"]} for p in series]})


class TargetView(OversightMixin, APIView):
    """The operator's targets (GET); set one (POST, admins and owners)."""

    @extend_schema(responses=TargetSerializer(many=True))
    def get(self, request, organization_id):
        targets = selectors.targets_for(organization=self.government)
        return Response(TargetSerializer(list(targets.values()), many=True).data)

    @extend_schema(request=TargetSerializer, responses=TargetSerializer)
    def post(self, request, organization_id):
        organization = self.government
        body = TargetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = services.target_set(actor=self.actor, organization=organization, **body.validated_data)
        return Response(TargetSerializer(target).data, status=201)


class ExportView(OversightMixin, APIView):
    """A breakdown table as CSV or Excel."""

    @extend_schema(parameters=[ExportQuerySerializer], responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request, organization_id):
        from django.core.exceptions import ValidationError

        fmt = request.query_params.get("format") or "csv"
        if fmt not in ("csv", "xlsx"):
            raise ValidationError({"format": ["Choose csv or xlsx."]})
        period, scope = self.query()
        dimension = self.dimension(scope)
        build = exports.table_xlsx if fmt == "xlsx" else exports.table_csv
        response = HttpResponse(build(scope=scope, period=period, dimension=dimension, language=None),
                                content_type="text/csv; charset=utf-8" if fmt == "csv" else
                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="oversight-{dimension}.{fmt}"'
        return response


class EvidenceView(OversightMixin, APIView):
    """The evidence bundle (zip) of the period: raw records, manifest with SHA-256 of every file, the
    audit chain head. Verify offline with ``python -m oversight_verify bundle.zip``."""

    @extend_schema(parameters=[OversightQuerySerializer], responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request, organization_id):
        period, scope = self.query()
        response = HttpResponse(exports.evidence_bundle(actor=self.actor, scope=scope, period=period),
                                content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="evidence-{period.start}-{period.end}.zip"'
        return response


class SettlementGateView(OversightMixin, APIView):
    """The KPI-gated settlement hook: the period's KPIs and which gates were met. Gates come as query
    parameters ``gate.<kpi>=<minimum>`` (rates as fractions), e.g. ``gate.utilization=0.55``."""

    @extend_schema(parameters=[OversightQuerySerializer], responses=OpenApiResponse(OpenApiTypes.OBJECT))
    def get(self, request, organization_id):
        from django.core.exceptions import ValidationError

        period, scope = self.query()
        gates = {}
        for key, value in request.query_params.items():
            if key.startswith("gate."):
                try:
                    gates[key[5:]] = float(value)
                except ValueError as exc:
                    raise ValidationError({key: ["Enter a number."]}) from exc
        return Response(selectors.settlement_gates(scope=scope, period=period, gates=gates))
