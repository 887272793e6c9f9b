"""Providers choose how a cluster's cards are shared (MIG/vNPU profiles, fractional slices, whole cards);
the market's availability and the placement engine follow that choice."""

import pytest
from django.urls import reverse

from apps.booking.models import Workload
from apps.catalog.models import Cluster
from apps.catalog.selectors import availability_list
from apps.scheduling.services import place_pending
from tests.scheduling.conftest import enroll_node, pending_workload

pytestmark = pytest.mark.django_db

A100 = {"model": "NVIDIA A100-SXM4-80GB", "count": 2, "memory": 81920}


def _set_sharing(as_user, provider, cluster, mode, role="admin"):
    client = as_user(getattr(provider, role), provider.organization)
    return client.post(reverse("fleet:cluster_sharing", args=[cluster.pk]), {"gpu_sharing": mode}, follow=True)


def test_a100_cards_sell_mig_profiles_by_default_and_a_quarter_slice_waits(provider, customer, cluster):
    enroll_node(provider, cluster, "a100-mig", **A100)
    [row] = availability_list()
    assert {s.profile for s in row.slices} >= {"1g.10gb", "3g.40gb", "7g.80gb"}
    assert not any(s.profile == "" for s in row.slices)
    quarter = pending_workload(customer, gpu_milli=250, gpu_memory_mib=20480,
                               accelerator_models=["nvidia-a100-80gb"])
    place_pending(region_code="cn-shanghai")
    quarter.refresh_from_db()
    assert quarter.state == Workload.State.PENDING


def test_a_fractional_cluster_sells_quarter_slices_of_an_a100(as_user, provider, customer, cluster):
    enroll_node(provider, cluster, "a100-shared", **A100)
    response = _set_sharing(as_user, provider, cluster, "fractional")
    assert "Fractional slices" in response.content.decode()
    [row] = availability_list()
    assert [(s.label, s.cards) for s in row.slices] == [("10 %", 2), ("25 %", 2), ("50 %", 2), ("75 %", 2)]
    assert row.cards_free == 2
    quarter = pending_workload(customer, gpu_milli=250, gpu_memory_mib=20480,
                               accelerator_models=["nvidia-a100-80gb"])
    place_pending(region_code="cn-shanghai")
    quarter.refresh_from_db()
    assert quarter.state == Workload.State.PLACED
    [row] = availability_list()
    assert row.cards_free == 1  # the quarter slice took a card; 75 % of it is still free
    assert [(s.label, s.cards) for s in row.slices] == [("10 %", 2), ("25 %", 2), ("50 %", 2), ("75 %", 2)]


def test_sharing_cannot_change_while_a_card_is_in_use(as_user, provider, customer, cluster):
    enroll_node(provider, cluster, "a100-busy", **A100)
    pending_workload(customer, gpu_milli=0, gpu_memory_mib=0, gpu_count=1)
    place_pending(region_code="cn-shanghai")
    response = _set_sharing(as_user, provider, cluster, "whole")
    assert "1 cards of this cluster are in use" in response.content.decode()
    cluster.refresh_from_db()
    assert cluster.gpu_sharing == Cluster.GpuSharing.CHIP_DEFAULT


def test_whole_only_clusters_offer_no_slices(provider, cluster):
    enroll_node(provider, cluster, "t4-whole")
    Cluster.objects.filter(pk=cluster.pk).update(gpu_sharing="whole")
    [row] = availability_list()
    assert row.slices == [] and row.cards_free == 4


def test_an_unknown_mode_is_refused_and_nothing_changes(as_user, provider, cluster):
    response = _set_sharing(as_user, provider, cluster, "half-and-half")
    assert response.status_code == 200 and "Choose one of the listed sharing modes." in response.content.decode()
    cluster.refresh_from_db()
    assert cluster.gpu_sharing == Cluster.GpuSharing.CHIP_DEFAULT


def test_members_cannot_change_sharing_and_other_providers_do_not_see_the_cluster(
        as_user, provider, other_provider, cluster):
    assert _set_sharing(as_user, provider, cluster, "whole", role="member").status_code == 403
    client = as_user(other_provider.admin, other_provider.organization)
    response = client.post(reverse("fleet:cluster_sharing", args=[cluster.pk]), {"gpu_sharing": "whole"})
    assert response.status_code == 404
    cluster.refresh_from_db()
    assert cluster.gpu_sharing == Cluster.GpuSharing.CHIP_DEFAULT
