"""Price quotes: the seeded book prices every model × region × mode, and a quote explains its number."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from apps.billing.models import BillingProfile, PriceBook, PriceEntry
from apps.billing.selectors import price_quote, price_table
from apps.catalog.models import AcceleratorModel, Region

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _model(code):
    return AcceleratorModel.objects.get(code=code)


def _region(code):
    return Region.objects.get(code=code)


def test_the_seeded_book_prices_every_model_region_and_mode():
    # given the migrated reference catalog
    models, regions = AcceleratorModel.objects.count(), Region.objects.count()
    # when the price table is read
    rows = price_table()
    # then every model × region × mode has a price, spot below reserved below on demand
    assert (models, regions) == (16, 10)
    assert len(rows) == 16 * 10 * 3
    by_key = {(r.accelerator_model, r.region, r.billing_mode): r.hourly for r in rows}
    for model in AcceleratorModel.objects.values_list("code", flat=True):
        for region in Region.objects.values_list("code", flat=True):
            assert by_key[(model, region, "spot")] < by_key[(model, region, "reserved")] \
                < by_key[(model, region, "on_demand")]
    assert by_key[("nvidia-a100-80gb", "cn-suzhou", "on_demand")] == Decimal("14.00")
    assert by_key[("nvidia-h100-80gb", "cn-suzhou", "on_demand")] == Decimal("25.00")
    assert by_key[("nvidia-t4", "cn-suzhou", "on_demand")] == Decimal("2.00")


def test_whole_cards_cost_the_card_price_times_the_count():
    quote = price_quote(accelerator_model=_model("nvidia-a100-80gb"), region=_region("cn-suzhou"),
                        billing_mode="on_demand", gpu_count=2)
    assert quote.card_fraction == 2
    assert quote.hourly == quote.list_hourly == Decimal("28.00")
    # off-peak: Suzhou (Jiangsu) valley hours, seeded −30 %
    assert quote.off_peak_hourly == Decimal("19.60")
    assert "28" in quote.formula and "−30 %" in quote.formula


def test_a_slice_is_billed_at_the_larger_of_its_compute_and_memory_share():
    # given a T4 slice with 250 milli of compute but half the card's memory (16384 MiB)
    t4 = _model("nvidia-t4")
    quote = price_quote(accelerator_model=t4, region=_region("cn-suzhou"), billing_mode="on_demand",
                        gpu_milli=250, gpu_memory_mib=t4.memory_mib // 2)
    # then it is billed as half a card: ¥2.00 × 0.5
    assert quote.card_fraction == Decimal("0.5")
    assert quote.compute_share == Decimal("0.25") and quote.memory_share == Decimal("0.5")
    assert quote.hourly == Decimal("1.00")
    assert "0.5" in quote.formula and "25 %" in quote.formula and "50 %" in quote.formula


def test_a_mig_profile_is_priced_by_its_compute_and_memory_share():
    # 3g.40gb on an A100 80GB: compute round(3000/7) = 429 milli, memory 40192/81920 = 0.490625
    quote = price_quote(accelerator_model=_model("nvidia-a100-80gb"), region=_region("cn-suzhou"),
                        billing_mode="on_demand", profile="3g.40gb")
    assert quote.card_fraction == Decimal("0.490625")
    assert quote.hourly == Decimal("6.86875")  # 14 × 0.490625


def test_a_customer_tier_discount_is_applied_and_named(customer):
    BillingProfile.objects.create(organization=customer.organization, tier="enterprise")
    quote = price_quote(organization=customer.organization, accelerator_model=_model("nvidia-h100-80gb"),
                        region=_region("cn-suzhou"), billing_mode="on_demand", gpu_count=1)
    assert quote.list_hourly == Decimal("25.00")
    assert quote.hourly == Decimal("23.00")  # −8 %
    assert "Enterprise" in quote.formula


def test_the_provider_is_paid_the_price_less_the_margin_and_never_below_the_floor():
    quote = price_quote(accelerator_model=_model("nvidia-t4"), region=_region("cn-suzhou"),
                        billing_mode="on_demand", gpu_count=1)
    assert quote.provider_hourly == Decimal("1.70")  # 2.00 × (1 − 15 %)
    spot = price_quote(accelerator_model=_model("nvidia-t4"), region=_region("cn-suzhou"),
                       billing_mode="spot", gpu_count=1)
    # spot ¥0.90, off-peak ¥0.63 → 85 % = 0.5355, floor ¥0.50
    assert spot.provider_off_peak_hourly == Decimal("0.5355")
    assert spot.provider_hourly >= Decimal("0.50")


@pytest.mark.parametrize("shape, field", [
    ({}, "gpu_count"),
    ({"gpu_count": 1, "gpu_milli": 100}, "gpu_count"),
    ({"gpu_milli": 1000, "gpu_memory_mib": 100}, "gpu_milli"),
    ({"gpu_milli": 100}, "gpu_memory_mib"),
    ({"gpu_milli": 100, "gpu_memory_mib": 999_999}, "gpu_memory_mib"),
    ({"profile": "9g.99gb"}, "profile"),
    ({"gpu_count": -1}, "gpu_count"),
])
def test_a_bad_shape_is_a_field_error(shape, field):
    with pytest.raises(ValidationError) as error:
        price_quote(accelerator_model=_model("nvidia-a100-80gb"), region=_region("cn-suzhou"),
                    billing_mode="on_demand", **shape)
    assert field in error.value.message_dict


def test_an_unknown_mode_or_a_time_before_any_price_is_a_field_error():
    with pytest.raises(ValidationError) as error:
        price_quote(accelerator_model=_model("nvidia-t4"), region=_region("cn-suzhou"), billing_mode="free",
                    gpu_count=1)
    assert "billing_mode" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        price_quote(accelerator_model=_model("nvidia-t4"), region=_region("cn-suzhou"), billing_mode="spot",
                    gpu_count=1, at=datetime(2020, 1, 1, tzinfo=SH))
    assert "accelerator_model" in error.value.message_dict


def test_a_published_price_book_cannot_be_edited():
    book = PriceBook.objects.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        PriceEntry.objects.filter(book=book).update(hourly=Decimal("1"))
    with pytest.raises(DatabaseError), transaction.atomic():
        PriceBook.objects.filter(pk=book.pk).update(platform_margin=Decimal("0.5"))
    with pytest.raises(DatabaseError), transaction.atomic():
        PriceEntry.objects.filter(book=book).delete()
    assert PriceEntry.objects.filter(book=book, hourly=Decimal("1")).count() == 0
    assert book.effective_from < datetime.now(SH) - timedelta(days=1)
