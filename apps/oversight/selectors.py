"""KPI reads for government operators: totals, breakdowns and daily series over the precomputed
device-days, always inside one jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import F, FloatField, Q, QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from apps.catalog.models import AcceleratorModel, Cluster, Node, Region
from apps.tenancy.models import Organization
from oversight_verify.kpi import TOTAL_FIELDS, empty_totals, kpis_from_totals

from .models import (
    ClusterConsumptionDay,
    ClusterDay,
    ConsumptionDay,
    DeviceDay,
    KpiAlert,
    KpiTarget,
    NodeConsumptionDay,
    NodeDay,
)
from .periods import Period

# Breakdown dimensions: key → DeviceDay field grouped by (industry and size group consumption rows).
DIMENSIONS = ("region", "provider", "cluster", "node", "device", "vendor_class", "model", "industry", "size")
CONSUMER_DIMENSIONS = ("industry", "size")
DRILL_NEXT = {None: "region", "region": "provider", "provider": "cluster", "cluster": "node", "node": "device"}
_GROUP_FIELD = {"region": "region_id", "provider": "provider_id", "cluster": "cluster_id", "node": "node_id",
                "device": "device_id", "vendor_class": "domestic", "model": "model_id"}


@dataclass(frozen=True)
class Source:
    """Where KPIs are summed from: device-days (node and device views) or cluster-days (the rest)."""

    days: type
    consumption: type
    link: str
    onboarded: object
    delivered: object
    weighted: object


DEVICE_SOURCE = Source(DeviceDay, ConsumptionDay, "device_day", F("fp16_tflops") * F("registered_s"),
                       F("fp16_tflops") * F("allocated_share_s"), F("device_day__fp16_tflops") * F("share_s"))
CLUSTER_SOURCE = Source(ClusterDay, ClusterConsumptionDay, "cluster_day", F("onboarded_tflops_s"),
                        F("delivered_tflops_s"), F("delivered_tflops_s"))
NODE_SOURCE = Source(NodeDay, NodeConsumptionDay, "node_day", F("onboarded_tflops_s"), F("delivered_tflops_s"),
                     F("delivered_tflops_s"))


@dataclass(frozen=True)
class Scope:
    """A government organization's jurisdiction, optionally narrowed to a region, provider, cluster or
    node inside it, and to domestic or imported accelerators or one model."""

    organization: Organization
    region_ids: tuple
    region: Region | None = None
    provider: Organization | None = None
    cluster: Cluster | None = None
    node: Node | None = None
    vendor_class: str = ""
    model: AcceleratorModel | None = None
    filters: dict = field(default_factory=dict)

    @property
    def level(self) -> str | None:
        for name in ("node", "cluster", "provider", "region"):
            if getattr(self, name) is not None:
                return name
        return None

    def source(self, dimension: str | None = None) -> Source:
        """The smallest table that answers: cluster-days above node level, node-days for a node or a
        breakdown by node, device-days only for a breakdown by device."""
        if dimension == "device":
            return DEVICE_SOURCE
        if self.node is not None or dimension == "node":
            return NODE_SOURCE
        return CLUSTER_SOURCE

    def device_days(self) -> QuerySet[DeviceDay]:
        return self.days(DEVICE_SOURCE)

    def days(self, source: Source) -> QuerySet:
        queryset = source.days.objects.filter(region_id__in=self.region_ids)
        if self.region is not None:
            queryset = queryset.filter(region=self.region)
        if self.provider is not None:
            queryset = queryset.filter(provider=self.provider)
        if self.cluster is not None:
            queryset = queryset.filter(cluster=self.cluster)
        if self.node is not None:
            queryset = queryset.filter(node=self.node)
        if self.vendor_class:
            queryset = queryset.filter(domestic=self.vendor_class == "domestic")
        if self.model is not None:
            queryset = queryset.filter(model=self.model)
        return queryset


def _uuid_or_400(value: str, name: str):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise ValidationError({name: [_("Not a valid identifier.")]}) from exc


def scope_build(*, organization: Organization, params) -> Scope:
    """The scope named by query parameters (region code, provider/cluster/node ids, vendor_class, model
    code). Malformed values are field errors (400); anything outside the jurisdiction is a 404."""
    region_ids = tuple(organization.jurisdiction.values_list("id", flat=True))
    chosen: dict = {"filters": {}}
    if params.get("region"):
        region = Region.objects.filter(code=params["region"], id__in=region_ids).first()
        if region is None:
            raise Http404(_("Not found."))
        chosen["region"] = region
    if params.get("provider"):
        pk = _uuid_or_400(params["provider"], "provider")
        provider = Organization.objects.filter(pk=pk, kind=Organization.Kind.PROVIDER,
                                               clusters__region_id__in=region_ids).distinct().first()
        if provider is None:
            raise Http404(_("Not found."))
        chosen["provider"] = provider
    if params.get("cluster"):
        pk = _uuid_or_400(params["cluster"], "cluster")
        cluster = Cluster.objects.filter(pk=pk, region_id__in=region_ids).select_related("region").first()
        if cluster is None:
            raise Http404(_("Not found."))
        chosen["cluster"] = cluster
    if params.get("node"):
        pk = _uuid_or_400(params["node"], "node")
        node = Node.objects.filter(pk=pk, cluster__region_id__in=region_ids).select_related("cluster").first()
        if node is None:
            raise Http404(_("Not found."))
        chosen["node"] = node
    vendor_class = params.get("vendor_class") or ""
    if vendor_class not in ("", "domestic", "imported"):
        raise ValidationError({"vendor_class": [_("Choose domestic or imported.")]})
    chosen["vendor_class"] = vendor_class
    if params.get("model"):
        model = AcceleratorModel.objects.filter(code=params["model"]).first()
        if model is None:
            raise ValidationError({"model": [_("Unknown accelerator model.")]})
        chosen["model"] = model
    for name in ("region", "provider", "cluster", "node"):
        if chosen.get(name) is not None:
            chosen["filters"][name] = params[name]
    if vendor_class:
        chosen["filters"]["vendor_class"] = vendor_class
    if chosen.get("model") is not None:
        chosen["filters"]["model"] = params["model"]
    return Scope(organization=organization, region_ids=region_ids, **chosen)


def _sums(source: Source) -> dict:
    return {
        **{f"sum_{name}": Sum(name) for name in ("registered_s", "in_service_s", "maintenance_s", "quarantine_s",
                                                 "unreachable_s", "allocated_share_s", "utilized_s", "energy_j")},
        "sum_onboarded_tflops_s": Sum(source.onboarded, output_field=FloatField()),
        "sum_delivered_tflops_s": Sum(source.delivered, output_field=FloatField()),
    }


def _consumption_sums(scope: Scope, source: Source) -> dict:
    local = Q(customer_region_id__in=scope.region_ids)
    weighted = source.weighted
    return {
        "sum_delivered_local_tflops_s": Sum(weighted, filter=local, output_field=FloatField()),
        "sum_delivered_other_tflops_s": Sum(weighted, filter=~local | Q(customer_region__isnull=True),
                                        output_field=FloatField()),
    }


def _clean(row: dict) -> dict:
    totals = empty_totals()
    totals.update({name: float(row[f"sum_{name}"] or 0) for name in TOTAL_FIELDS if f"sum_{name}" in row})
    return totals


def kpi_totals(*, scope: Scope, start: date, end: date) -> dict:
    source = scope.source()
    days = scope.days(source).filter(day__gte=start, day__lte=end)
    totals = _clean(days.aggregate(**_sums(source)))
    consumption = source.consumption.objects.filter(**{f"{source.link}__in": days})
    totals.update({k[4:]: float(v or 0)
                   for k, v in consumption.aggregate(**_consumption_sums(scope, source)).items()})
    return totals


def kpis_for(*, scope: Scope, period: Period) -> dict:
    return kpis_from_totals(kpi_totals(scope=scope, start=period.start, end=period.end))


def kpi_series(*, scope: Scope, period: Period) -> list[dict]:
    """Per day of the period: its KPIs (days without data have none)."""
    source = scope.source()
    days = scope.days(source).filter(day__gte=period.start, day__lte=period.end)
    by_day = {row["day"]: _clean(row) for row in days.values("day").annotate(**_sums(source))}
    consumption = (source.consumption.objects.filter(**{f"{source.link}__in": days}).values(f"{source.link}__day")
                   .annotate(**_consumption_sums(scope, source)))
    for row in consumption:
        totals = by_day.setdefault(row[f"{source.link}__day"], empty_totals())
        totals["delivered_local_tflops_s"] = float(row["sum_delivered_local_tflops_s"] or 0)
        totals["delivered_other_tflops_s"] = float(row["sum_delivered_other_tflops_s"] or 0)
    return [{"day": day, "kpis": kpis_from_totals(by_day[day]) if day in by_day else None}
            for day in period.day_list()]


def _labels(dimension: str, keys: list, language: str | None) -> dict:
    if dimension == "region":
        return {r.id: r.display_name(language) for r in Region.objects.filter(id__in=keys)}
    if dimension == "provider":
        return dict(Organization.objects.filter(id__in=keys).values_list("id", "name"))
    if dimension == "cluster":
        return dict(Cluster.objects.filter(id__in=keys).values_list("id", "name"))
    if dimension == "node":
        return dict(Node.objects.filter(id__in=keys).values_list("id", "hostname"))
    if dimension == "device":
        from apps.catalog.models import Device

        return {d.id: f"{d.node.hostname}/{d.index} {d.reported_name}"
                for d in Device.objects.filter(id__in=keys).select_related("node")}
    if dimension == "vendor_class":
        return {True: _("Domestic"), False: _("Imported")}
    if dimension == "model":
        return {**dict(AcceleratorModel.objects.filter(id__in=keys).values_list("id", "name")), None: _("Unknown")}
    if dimension == "industry":
        return {**dict(Organization.Industry.choices), "": _("Not stated")}
    if dimension == "size":
        return {**dict(Organization.SizeClass.choices), "": _("Not stated")}
    return {}


def _key_out(dimension: str, key, region_codes: dict):
    if dimension in ("region", "model"):
        return region_codes.get(key, key)
    if dimension == "vendor_class":
        return "domestic" if key else "imported"
    if dimension in CONSUMER_DIMENSIONS:
        return key
    return str(key) if key is not None else None


def breakdown(*, scope: Scope, period: Period, dimension: str, language: str | None = None) -> list[dict]:
    """Rows of KPIs per value of ``dimension`` (industry and size: consumption KPIs only, other tenants
    appear only in these aggregates). Each row: key, label, kpis."""
    if dimension not in DIMENSIONS:
        raise ValidationError({"by": [_("Choose one of: %(choices)s.") % {"choices": ", ".join(DIMENSIONS)}]})
    source = scope.source(dimension)
    days = scope.days(source).filter(day__gte=period.start, day__lte=period.end)
    link = source.link
    rows: dict = {}
    if dimension in CONSUMER_DIMENSIONS:
        group = "industry" if dimension == "industry" else "size_class"
        whole = kpi_totals(scope=scope, start=period.start, end=period.end)
        consumption = (source.consumption.objects.filter(**{f"{link}__in": days}).values(group)
                       .annotate(sum_delivered_tflops_s=Sum(source.weighted, output_field=FloatField()),
                                 sum_allocated_share_s=Sum("share_s"), **_consumption_sums(scope, source)))
        for row in consumption:
            totals = empty_totals()
            totals.update({k: float(row[f"sum_{k}"] or 0) for k in (
                "delivered_tflops_s", "allocated_share_s", "delivered_local_tflops_s", "delivered_other_tflops_s")})
            totals["onboarded_tflops_s"] = whole["onboarded_tflops_s"]
            kpis = kpis_from_totals(totals)
            consumer_kpis = {k: kpis[k] for k in ("delivered_pflops_days", "delivered_local_pflops_days",
                                                  "delivered_other_pflops_days", "consumption_rate",
                                                  "consumption_rate_local", "consumption_rate_other")}
            consumer_kpis["share_of_delivered"] = (totals["delivered_tflops_s"] / whole["delivered_tflops_s"]
                                                   if whole["delivered_tflops_s"] else None)
            rows[row[group]] = {"totals": totals, "kpis": consumer_kpis}
    else:
        group = _GROUP_FIELD[dimension]
        for row in days.values(group).annotate(**_sums(source)):
            rows[row[group]] = {"totals": _clean(row)}
        consumption = (source.consumption.objects.filter(**{f"{link}__in": days})
                       .values(f"{link}__{group}").annotate(**_consumption_sums(scope, source)))
        for row in consumption:
            entry = rows.get(row[f"{link}__{group}"])
            if entry is not None:
                entry["totals"]["delivered_local_tflops_s"] = float(row["sum_delivered_local_tflops_s"] or 0)
                entry["totals"]["delivered_other_tflops_s"] = float(row["sum_delivered_other_tflops_s"] or 0)
        for entry in rows.values():
            entry["kpis"] = kpis_from_totals(entry["totals"])
    keys = list(rows)
    labels = _labels(dimension, keys, language)
    region_codes = (dict(Region.objects.filter(id__in=keys).values_list("id", "code")) if dimension == "region" else
                    dict(AcceleratorModel.objects.filter(id__in=keys).values_list("id", "code"))
                    if dimension == "model" else {})
    result = []
    for key, entry in rows.items():
        result.append({
            "key": _key_out(dimension, key, region_codes),
            "label": str(labels.get(key, key if key not in (None, "") else _("Unknown"))),
            "kpis": entry["kpis"],
        })
    return sorted(result, key=lambda row: row["label"])


def targets_for(*, organization: Organization) -> dict:
    return {t.kpi: t for t in KpiTarget.objects.filter(organization=organization)}


def alerts_unshown(*, organization: Organization) -> list[KpiAlert]:
    return list(KpiAlert.objects.filter(organization=organization, shown_at__isnull=True))


def kpi_overview(*, scope: Scope, period: Period) -> dict:
    """The period's KPIs, the previous period's, the change, and each targeted KPI's status."""
    from oversight_verify.kpi import status_of

    kpis = kpis_for(scope=scope, period=period)
    previous_period = period.previous()
    previous = kpis_for(scope=scope, period=previous_period)
    change = {name: (value - previous[name] if value is not None and previous[name] is not None else None)
              for name, value in kpis.items()}
    targets = targets_for(organization=scope.organization)
    status = {name: status_of(kpis.get(name), green_at=t.green_at, amber_at=t.amber_at)
              for name, t in targets.items()}
    return {"kpis": kpis, "previous": previous, "previous_period": previous_period, "change": change,
            "status": status, "targets": targets}


def settlement_gates(*, scope: Scope, period: Period, gates: dict) -> dict:
    """The KPI-gated settlement hook: the period's KPIs and, for each gate (KPI → minimum value), whether
    it was met — the form a voucher claim's settlement reads. Unknown KPIs are field errors."""
    from oversight_verify.kpi import KPIS

    unknown = sorted(set(gates) - set(KPIS))
    if unknown:
        raise ValidationError({"gates": [_("Unknown KPI: %(names)s.") % {"names": ", ".join(unknown)}]})
    kpis = kpis_for(scope=scope, period=period)
    results = {name: {"minimum": minimum, "value": kpis[name],
                      "met": kpis[name] is not None and kpis[name] >= minimum} for name, minimum in gates.items()}
    return {"period": period.as_dict(), "scope": scope.filters, "kpis": kpis, "gates": results,
            "all_met": all(result["met"] for result in results.values())}
