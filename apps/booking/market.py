"""What the customer pages show about supply and price: the market rows (live availability from the
catalog, list prices from billing), the booking form's price estimate, and a workload's usage chart.

Reads only: availability comes from ``catalog.selectors``, prices from ``billing.selectors``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.billing.selectors import Runway, funds_runway, price_quote, price_table
from apps.catalog.forms import RegionChoiceField
from apps.catalog.models import AcceleratorModel, Region
from apps.catalog.selectors import Availability, availability_list
from apps.telemetry.selectors import assignment_recent_series, devices_recent_series

from .models import Workload

MODES = (Workload.BillingMode.ON_DEMAND, Workload.BillingMode.RESERVED, Workload.BillingMode.SPOT)


class MarketFilterForm(forms.Form):
    vendor = forms.ChoiceField(label=gettext_lazy("Vendor"), required=False,
                               choices=[("", gettext_lazy("Any vendor")), *AcceleratorModel.Vendor.choices])
    min_memory_gb = forms.IntegerField(label=gettext_lazy("Memory at least (GB)"), required=False, min_value=0,
                                       max_value=1024)
    region = RegionChoiceField(label=gettext_lazy("Region"), required=False, empty_label=gettext_lazy("All regions"))
    max_price = forms.DecimalField(label=gettext_lazy("Card-hour at most (CNY)"), required=False, min_value=0,
                                   max_digits=8, decimal_places=2)
    available_now = forms.BooleanField(label=gettext_lazy("Only what can start now"), required=False)


@dataclass
class MarketRow:
    availability: Availability
    prices: dict[str, Decimal] = field(default_factory=dict)  # billing mode → list price per card-hour
    off_peak: Decimal | None = None  # on-demand card-hour inside the region's off-peak hours

    @property
    def model(self) -> AcceleratorModel:
        return self.availability.model

    @property
    def region(self) -> Region:
        return self.availability.region

    @property
    def price_per_tflops_hour(self) -> Decimal | None:
        """Vendor-neutral: what one FP16 TFLOPS costs for an hour (on demand), so an Ascend 910B and an
        A100 can be compared by the compute they deliver."""
        price = self.prices.get(Workload.BillingMode.ON_DEMAND)
        if price is None or not self.model.fp16_tflops:
            return None
        return (price / self.model.fp16_tflops).quantize(Decimal("0.0001"))

    @property
    def startable_now(self) -> bool:
        return self.availability.cards_free > 0 or bool(self.availability.slices)


def market_rows(*, vendor: str | None = None, min_memory_gb: int | None = None,
                region: Region | None = None, max_price: Decimal | None = None,
                available_now: bool = False) -> list[MarketRow]:
    supply = availability_list(region=region, vendor=vendor, min_memory_mib=(min_memory_gb or 0) * 1000)
    prices: dict[tuple[str, str], dict[str, Decimal]] = {}
    off_peak: dict[tuple[str, str], Decimal | None] = {}
    for row in price_table(region=region):
        prices.setdefault((row.accelerator_model, row.region), {})[row.billing_mode] = row.hourly
        if row.billing_mode == Workload.BillingMode.ON_DEMAND:
            off_peak[(row.accelerator_model, row.region)] = row.off_peak_hourly
    rows = []
    for availability in supply:
        key = (availability.model.code, availability.region.code)
        row = MarketRow(availability=availability, prices=prices.get(key, {}), off_peak=off_peak.get(key))
        on_demand = row.prices.get(Workload.BillingMode.ON_DEMAND)
        if max_price is not None and (on_demand is None or on_demand > max_price):
            continue
        if available_now and not row.startable_now:
            continue
        rows.append(row)
    return rows


def booking_initial(query, *, organization=None) -> dict:
    """Prefill the booking form from a market link (?model=…&region=…&shape=…&percent=…&profile=…); without
    a region in the link, the organization's registered region, else the region with the most free cards."""
    initial: dict = {}
    # The fallbacks only when the link names no known region: _busiest_free_region reads the whole fleet.
    region = (Region.objects.filter(code=query["region"]).first() if query.get("region") else None) or (
        getattr(organization, "registered_region", None) or _busiest_free_region())
    if region is not None:
        initial["region"] = region
    if query.get("model"):
        initial["accelerator_models"] = [query["model"]]
    if query.get("shape") in ("fractional", "profile", "whole"):
        initial["shape"] = query["shape"]
    if (query.get("percent") or "").isdigit():
        initial["gpu_percent"] = int(query["percent"])
    if query.get("profile"):
        initial["profile"] = query["profile"][:40]
    return initial


def _busiest_free_region() -> Region | None:
    supply = availability_list()
    if not supply:
        return None
    totals: dict[int, tuple[Region, int]] = {}
    for row in supply:
        region, free = totals.get(row.region.id, (row.region, 0))
        totals[row.region.id] = (region, free + row.cards_free)
    return max(totals.values(), key=lambda item: (item[1], item[0].code))[0]


def profiles_by_model() -> dict[str, list[str]]:
    return {m.code: [p["name"] for p in m.profiles] for m in AcceleratorModel.objects.exclude(profiles=[])}


def form_preview(form):
    """A bound copy of an unbound form holding its initial values, so the first page view already shows
    the price of what the market link prefilled."""
    data = {}
    for name, bound in form.fields.items():
        value = bound.prepare_value(form[name].value())
        if value not in (None, "", []):
            data[name] = value
    return type(form)(data=data)


@dataclass
class Estimate:
    """The hourly price of the request on each model it accepts (a range for "any of these")."""

    lines: list[dict] = field(default_factory=list)  # model name, hourly, off-peak hourly, formula
    problem: str = ""
    runway: Runway | None = None  # what a prepaid wallet must hold to book it (the same check as the booking)

    @property
    def low(self) -> Decimal | None:
        return min((line["hourly"] for line in self.lines), default=None)

    @property
    def high(self) -> Decimal | None:
        return max((line["hourly"] for line in self.lines), default=None)


def estimate(*, form, organization) -> Estimate:
    """Quote the form's request; say what is missing instead of failing when it is incomplete."""
    if not form.is_bound:
        return Estimate(problem=_("Fill in the request to see its price."))
    if not form.is_valid():
        return Estimate(problem=_("Fix the marked fields to see the price."))
    fields = form.workload_fields()
    result = Estimate(runway=funds_runway(workload=Workload(organization=organization, **fields)))
    models = list(form.cleaned_data["accelerator_models"]) or list(
        AcceleratorModel.objects.filter(devices__node__cluster__region=fields["preferred_region"]).distinct())
    for model in models:
        try:
            quote = price_quote(organization=organization, accelerator_model=model,
                                region=fields["preferred_region"], billing_mode=fields["billing_mode"],
                                gpu_count=fields.get("gpu_count", 0), gpu_milli=fields.get("gpu_milli", 0),
                                gpu_memory_mib=fields.get("gpu_memory_mib", 0), profile=fields.get("profile", ""))
        except ValidationError as error:
            result.lines.append({"model": model.name, "hourly": None, "problem": " ".join(error.messages)})
            continue
        result.lines.append({"model": model.name, "hourly": quote.hourly, "off_peak_hourly": quote.off_peak_hourly,
                             "formula": quote.formula, "list_hourly": quote.list_hourly})
    priced = [line for line in result.lines if line.get("hourly") is not None]
    if not priced:
        result.problem = (" ".join(line["problem"] for line in result.lines if line.get("problem"))
                          or _("No accelerator in this region matches the request."))
    result.lines = priced + [line for line in result.lines if line.get("hourly") is None]
    return result


def workload_price(*, workload: Workload) -> Decimal | None:
    """The hourly price of the workload where it runs (its placed model), or None when unknown."""
    allocation = next((a for a in workload.allocations.all() if a.device_id and a.device.model_id), None)
    if allocation is None:
        return None
    try:
        quote = price_quote(organization=workload.organization, accelerator_model=allocation.device.model,
                            region=allocation.node.cluster.region, billing_mode=workload.billing_mode,
                            gpu_count=workload.gpu_count, gpu_milli=workload.gpu_milli,
                            gpu_memory_mib=workload.gpu_memory_mib, profile=workload.profile)
    except ValidationError:
        return None
    return quote.hourly


CHART_WINDOW = timezone.timedelta(minutes=30)


def workload_usage_series(*, workload: Workload, detail) -> dict:
    """The latest run's utilization over the run (last 30 minutes): the slice's own readings as its
    agent attributes them ("slice"), or, where the device backend cannot attribute use to one workload,
    the readings of the card(s) it holds ("card"). ``share_pct`` is the slice's share of a card."""
    allocations = [a for a in workload.allocations.all() if a.device_id]
    if not allocations or detail.run is None or detail.run.started_at is None:
        return {"source": None, "devices": [], "share_pct": None}
    latest = max(allocations, key=lambda a: (a.created_at, a.pk))
    run = [a for a in allocations if a.assignment_id == latest.assignment_id] if latest.assignment_id else [latest]
    until = detail.run.finished_at or timezone.now()
    since = max(detail.run.started_at, until - CHART_WINDOW)
    share = run[0].compute_milli / 10 if not workload.gpu_count else None
    if latest.assignment_id:
        own = assignment_recent_series(assignment_id=latest.assignment_id, since=since, until=until)
        if own:
            return {"source": "slice", "share_pct": share, "devices": [
                {"index": run[0].device.index, "points": _points(own)}]}
    series = devices_recent_series(device_ids=[a.device_id for a in run], since=since, until=until)
    index_of = {a.device_id: a.device.index for a in run}
    return {"source": "card", "share_pct": share, "devices": [
        {"index": index_of[device_id], "points": _points(points)}
        for device_id, points in sorted(series.items(), key=lambda item: index_of[item[0]])]}


def _points(rows) -> list[dict]:
    return [{"t": at.isoformat(), "utilization_pct": util, "memory_used_mib": mem} for at, util, mem in rows]
