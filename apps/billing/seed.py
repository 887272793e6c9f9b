"""The first price book: plausible CNY prices for every catalog model × region × billing mode, so a clean
database and the demo can quote and bill. Loaded by a data migration; later prices are new versions.

On-demand list prices per card-hour follow what Chinese public clouds and GPU rental markets asked in
2025–26 (A100 80GB ≈ ¥14, H100 ≈ ¥25, T4 ≈ ¥2, Ascend 910B ≈ ¥9). Western 东数西算 hub regions with
cheap power are cheaper, the coastal metros dearer; reserved is −25 %, spot −55 %.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

ON_DEMAND_CNY = {
    "nvidia-h100-80gb": "25.00",
    "nvidia-h20-96gb": "12.00",
    "nvidia-a100-40gb": "10.00",
    "nvidia-a100-80gb": "14.00",
    "nvidia-a800-80gb": "13.00",
    "nvidia-l40s": "8.00",
    "nvidia-rtx-4090": "3.50",
    "nvidia-t4": "2.00",
    "nvidia-v100-16gb": "4.00",
    "nvidia-v100-32gb": "5.00",
    "huawei-ascend-910b3": "9.00",
    "huawei-ascend-910b4": "7.00",
    "huawei-ascend-310p3": "1.80",
    "iluvatar-bi-v150": "5.00",
    "cambricon-mlu370-x8": "4.50",
    "hygon-k100-ai": "6.00",
}
REGION_FACTOR = {
    "cn-shanghai": "1.05", "cn-beijing": "1.05", "cn-hangzhou": "1.02", "cn-suzhou": "1.00",
    "cn-chengdu": "0.95", "cn-shaoguan": "0.95",
    "cn-ulanqab": "0.88", "cn-guian": "0.88", "cn-zhongwei": "0.88", "cn-qingyang": "0.88",
}
MODE_FACTOR = {"on_demand": "1", "reserved": "0.75", "spot": "0.45"}
# The provider's floor: a quarter of the on-demand price, below every customer rate of the book
# (spot × strategic × off-peak = 0.45 × 0.85 × 0.70 = 0.268 of on-demand).
FLOOR_FACTOR = Decimal("0.25")
PLATFORM_MARGIN = Decimal("0.15")
OFF_PEAK_DISCOUNT = Decimal("0.30")
TIER_DISCOUNTS = {"list": Decimal("0"), "enterprise": Decimal("0.08"), "strategic": Decimal("0.15")}
VOLUME_BANDS = [(Decimal("0"), Decimal("0")), (Decimal("100"), Decimal("0.10")), (Decimal("1000"), Decimal("0.20"))]
EFFECTIVE_FROM = datetime(2025, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def seed_rows(model_codes: list[str], region_codes: list[str]) -> list[dict]:
    """(model, region, mode, hourly, floor) for every model with a base price and every region."""
    rows = []
    for model in model_codes:
        if model not in ON_DEMAND_CNY:
            continue
        for region in region_codes:
            base = Decimal(ON_DEMAND_CNY[model]) * Decimal(REGION_FACTOR.get(region, "1"))
            for mode, factor in MODE_FACTOR.items():
                rows.append({"model": model, "region": region, "mode": mode, "hourly": _cents(base * Decimal(factor)),
                             "floor": _cents(base * FLOOR_FACTOR)})
    return rows


def price_book_seed(*, apps=None) -> bool:
    """Create and publish the first price book unless one exists. ``apps``: a migration's app registry."""
    get = apps.get_model if apps is not None else _live_model
    PriceBook = get("billing", "PriceBook")
    if PriceBook.objects.exists():
        return False
    AcceleratorModel, Region = get("catalog", "AcceleratorModel"), get("catalog", "Region")
    models = {m.code: m for m in AcceleratorModel.objects.all()}
    regions = {r.code: r for r in Region.objects.all()}
    book = PriceBook.objects.create(name="2025 list prices", effective_from=EFFECTIVE_FROM,
                                    platform_margin=PLATFORM_MARGIN, notes="Seeded reference prices.")
    get("billing", "PriceEntry").objects.bulk_create([
        get("billing", "PriceEntry")(book=book, accelerator_model=models[row["model"]], region=regions[row["region"]],
                                     billing_mode=row["mode"], hourly=row["hourly"], provider_floor_hourly=row["floor"])
        for row in seed_rows(list(models), list(regions))])
    get("billing", "OffPeakDiscount").objects.bulk_create([
        get("billing", "OffPeakDiscount")(book=book, region=region, discount=OFF_PEAK_DISCOUNT)
        for region in regions.values()])
    get("billing", "TierDiscount").objects.bulk_create([
        get("billing", "TierDiscount")(book=book, tier=tier, discount=discount)
        for tier, discount in TIER_DISCOUNTS.items()])
    get("billing", "VolumeBand").objects.bulk_create([
        get("billing", "VolumeBand")(book=book, from_card_hours=start, discount=discount)
        for start, discount in VOLUME_BANDS])
    # Published last: the trigger freezes a book and its rows once published_at is set.
    PriceBook.objects.filter(pk=book.pk).update(published_at=EFFECTIVE_FROM)
    return True


def _live_model(app_label: str, model_name: str):
    from django.apps import apps

    return apps.get_model(app_label, model_name)
