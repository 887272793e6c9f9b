from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from .models import AcceleratorModel, Cluster, Device, Node, ProviderProfile, Region, RegionLatency


def region_list() -> QuerySet[Region]:
    return Region.objects.order_by("code")


def _normalized(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def accelerator_model_match(*, reported_name: str, memory_total_mib: int | None = None,
                            models: list[AcceleratorModel] | None = None) -> AcceleratorModel | None:
    """The catalog model for a name reported by a driver ("NVIDIA A100-SXM4-80GB", "910B3").

    Exact driver names first; otherwise the catalog entry whose code/name is contained in the reported
    name, preferring the one whose memory is closest to what the device reports. Pass ``models`` to
    match many devices against one loaded catalog.
    """
    wanted = _normalized(reported_name)
    models = list(AcceleratorModel.objects.all()) if models is None else models
    for model in models:
        if any(_normalized(name) == wanted for name in model.driver_names):
            return model
    candidates = [m for m in models
                  if any(_normalized(name) and _normalized(name) in wanted for name in [m.name, *m.driver_names])]
    if not candidates:
        return None
    if memory_total_mib:
        return min(candidates, key=lambda m: abs(m.memory_mib - memory_total_mib))
    return candidates[0]


def nodes_on_sale() -> QuerySet[Node]:
    """Nodes whose capacity is sold (market and placement): active, online, of an approved provider.
    A provider not (or no longer) approved keeps its fleet, but none of it is offered."""
    return Node.objects.filter(state=Node.State.ACTIVE, liveness=Node.Liveness.ONLINE,
                               organization__provider_profile__state=ProviderProfile.State.APPROVED)


def provider_profile(*, organization) -> ProviderProfile:
    """The organization's vetting record, or an unsaved draft when it has none yet."""
    return ProviderProfile.objects.filter(organization=organization).first() or ProviderProfile(
        organization=organization)


# Fractional slice sizes the market lists (compute share; the slice gets the same share of card memory).
MARKET_SLICE_SIZES_MILLI = (100, 250, 500, 750)


@dataclass
class SliceOption:
    """A slice shape that can start now somewhere, and on how many cards."""

    label: str
    compute_milli: int
    memory_mib: int
    profile: str  # "" for a fractional slice
    cards: int


@dataclass
class Availability:
    """Live supply of one accelerator model in one region: what a customer could start right now."""

    model: AcceleratorModel
    region: Region
    cards_total: int = 0
    cards_free: int = 0
    slices: list[SliceOption] = field(default_factory=list)

    @property
    def cards_busy_pct(self) -> int:
        return round(100 * (self.cards_total - self.cards_free) / self.cards_total) if self.cards_total else 0


def availability_list(*, region: Region | None = None, vendor: str | None = None,
                      min_memory_mib: int = 0) -> list[Availability]:
    """Per model × region: cards on nodes on sale, whole cards free, and the slice shapes that fit.

    One grouped query (a histogram of free compute × free memory per model, region and sharing mode)
    keeps this cheap at fleet scale: devices with the same free counters are counted together.
    """
    devices = (Device.objects.filter(node__in=nodes_on_sale(), model__isnull=False)
               .exclude(health__in=(Device.Health.QUARANTINED, Device.Health.FAILED)))
    if region is not None:
        devices = devices.filter(node__cluster__region=region)
    if vendor:
        devices = devices.filter(model__vendor=vendor)
    if min_memory_mib:
        devices = devices.filter(model__memory_mib__gte=min_memory_mib)
    histogram = (devices.values("model_id", "node__cluster__region_id", "node__cluster__gpu_sharing",
                                "free_compute_milli", "free_memory_mib", "memory_total_mib")
                 .annotate(n=Count("id")))
    models_by_id = {m.id: m for m in AcceleratorModel.objects.all()}
    regions_by_id = {r.id: r for r in Region.objects.all()}
    rows: dict[tuple[int, int], Availability] = {}
    slices: dict[tuple[int, int], dict[tuple[str, int, int, str], int]] = {}
    for bucket in histogram:
        model = models_by_id[bucket["model_id"]]
        key = (bucket["model_id"], bucket["node__cluster__region_id"])
        row = rows.setdefault(key, Availability(model=model, region=regions_by_id[key[1]]))
        n, free_milli, free_mem = bucket["n"], bucket["free_compute_milli"], bucket["free_memory_mib"]
        row.cards_total += n
        if free_milli >= 1000 and free_mem >= bucket["memory_total_mib"]:
            row.cards_free += n
        slicing = Cluster(gpu_sharing=bucket["node__cluster__gpu_sharing"]).slicing_for(model)
        for option in _slice_shapes(model, slicing):
            _label, milli, mem, _profile = option
            if free_milli >= milli and free_mem >= mem:
                counts = slices.setdefault(key, {})
                counts[option] = counts.get(option, 0) + n
    for key, row in rows.items():
        row.slices = [SliceOption(label=label, compute_milli=milli, memory_mib=mem, profile=profile, cards=n)
                      for (label, milli, mem, profile), n in sorted(slices.get(key, {}).items(),
                                                                     key=lambda item: (item[0][1], item[0][0]))]
    return sorted(rows.values(), key=lambda a: (a.region.code, a.model.vendor, -a.model.fp16_tflops))


def _slice_shapes(model: AcceleratorModel, slicing: str) -> list[tuple[str, int, int, str]]:
    if slicing == AcceleratorModel.Slicing.FRACTIONAL:
        return [(f"{milli // 10} %", milli, model.memory_mib * milli // 1000, "") for milli in MARKET_SLICE_SIZES_MILLI]
    if slicing in (AcceleratorModel.Slicing.MIG, AcceleratorModel.Slicing.VNPU):
        return [(p["name"], p["compute_milli"], p["memory_mib"], p["name"]) for p in model.profiles]
    return []


# "Nearby" for a customer who accepts overflow: close enough for interactive work and data transfer.
NEARBY_RTT_MS = 30


def regions_near(*, region: Region, max_rtt_ms: int = NEARBY_RTT_MS) -> list[str]:
    """Codes of the regions within ``max_rtt_ms`` of ``region``, nearest first."""
    rows = (RegionLatency.objects.filter(Q(region_a=region) | Q(region_b=region), rtt_ms__lte=max_rtt_ms)
            .select_related("region_a", "region_b").order_by("rtt_ms"))
    return [(row.region_b if row.region_a_id == region.id else row.region_a).code for row in rows]
