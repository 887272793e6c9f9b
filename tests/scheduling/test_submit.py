import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.booking.models import Workload
from apps.booking.services import workload_submit
from apps.catalog.models import Region

pytestmark = pytest.mark.django_db


def _fields(**overrides):
    fields = {"name": "train", "preferred_region": Region.objects.get(code="cn-shanghai"), "gpu_milli": 250,
              "gpu_memory_mib": 2048, "spec": {"command": ["python", "train.py"]}}
    fields.update(overrides)
    return fields


def test_submitting_queues_placement_after_commit(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        workload = workload_submit(actor=customer.actor("member"), organization=customer.organization, **_fields())
    assert workload.state == Workload.State.PENDING
    assert len(callbacks) == 1


def test_viewers_cannot_book(customer):
    with pytest.raises(PermissionDenied):
        workload_submit(actor=customer.actor("viewer"), organization=customer.organization, **_fields())
    assert not Workload.objects.exists()


def test_providers_do_not_book(provider):
    with pytest.raises(ValidationError):
        workload_submit(actor=provider.actor("owner"), organization=provider.organization, **_fields())


@pytest.mark.parametrize("overrides", [
    {"gpu_milli": 250, "gpu_count": 2},  # two GPU shapes at once
    {"gpu_milli": 1200},                 # a slice bigger than a card
    {"name": ""},
])
def test_a_malformed_request_writes_nothing(customer, overrides):
    with pytest.raises(ValidationError):
        workload_submit(actor=customer.actor("member"), organization=customer.organization, **_fields(**overrides))
    assert not Workload.objects.exists()
