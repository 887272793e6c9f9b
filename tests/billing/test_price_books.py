"""Publishing prices: staff only, never in the past, never below the provider's floor; billing terms."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.billing.models import BillingProfile, PriceBook
from apps.billing.selectors import price_book_at
from apps.billing.services import billing_profile_set, price_book_copy, price_book_publish
from apps.tenancy.access import Actor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return Actor(user=UserFactory(is_staff=True))


def test_staff_publish_a_new_version_that_takes_over_at_its_start(staff):
    start = timezone.now() + timedelta(days=1)
    draft = price_book_copy(actor=staff, name="2026 Q4", effective_from=start,
                            hourly={("nvidia-t4", "cn-shanghai"): "2.50"})
    book = price_book_publish(actor=staff, book=draft)
    assert book.is_published
    assert price_book_at().pk != book.pk  # not yet
    assert price_book_at(at=start).pk == book.pk
    assert book.entries.get(accelerator_model__code="nvidia-t4", region__code="cn-shanghai",
                            billing_mode="on_demand").hourly == Decimal("2.50")


def test_a_book_cannot_start_in_the_past_or_twice(staff):
    draft = price_book_copy(actor=staff, name="late", effective_from=timezone.now() - timedelta(hours=1))
    with pytest.raises(ValidationError) as error:
        price_book_publish(actor=staff, book=draft)
    assert "effective_from" in error.value.message_dict
    on_time = price_book_copy(actor=staff, name="ok", effective_from=timezone.now() + timedelta(hours=1))
    price_book_publish(actor=staff, book=on_time)
    with pytest.raises(ValidationError):
        price_book_publish(actor=staff, book=on_time)


def test_a_price_below_the_provider_floor_is_refused(staff):
    draft = price_book_copy(actor=staff, name="too cheap", effective_from=timezone.now() + timedelta(hours=1),
                            hourly={("nvidia-t4", "cn-shanghai", "spot"): "0.10"})
    with pytest.raises(ValidationError) as error:
        price_book_publish(actor=staff, book=draft)
    assert "below the provider floor" in error.value.messages[0]
    assert not PriceBook.objects.get(pk=draft.pk).is_published


def test_an_unknown_price_to_change_is_refused(staff):
    with pytest.raises(ValidationError) as error:
        price_book_copy(actor=staff, name="x", effective_from=timezone.now() + timedelta(hours=1),
                        hourly={("nvidia-t9", "cn-shanghai"): "1"})
    assert "hourly" in error.value.message_dict


def test_only_staff_change_prices_and_terms(customer):
    member = customer.actor("owner")
    with pytest.raises(PermissionDenied):
        price_book_copy(actor=member, name="mine", effective_from=timezone.now() + timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        billing_profile_set(actor=member, organization=customer.organization, tier="strategic",
                            volume_scheme="volume")


def test_staff_set_a_customers_terms_and_bad_values_are_field_errors(staff, customer, provider):
    profile = billing_profile_set(actor=staff, organization=customer.organization, tier="strategic",
                                  volume_scheme="volume")
    assert (profile.tier, profile.volume_scheme) == ("strategic", "volume")
    for fields, key in [({"tier": "gold", "volume_scheme": "volume"}, "tier"),
                        ({"tier": "list", "volume_scheme": "flat"}, "volume_scheme")]:
        with pytest.raises(ValidationError) as error:
            billing_profile_set(actor=staff, organization=customer.organization, **fields)
        assert key in error.value.message_dict
    with pytest.raises(ValidationError):
        billing_profile_set(actor=staff, organization=provider.organization, tier="list", volume_scheme="volume")
    assert BillingProfile.objects.get().tier == "strategic"
