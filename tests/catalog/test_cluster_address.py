"""A cluster's public address: the provider form validates it, only the provider's admins set it."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.catalog.models import Cluster

pytestmark = pytest.mark.django_db


def _post(client, cluster, **data):
    return client.post(reverse("fleet:cluster_address", args=[cluster.pk]), data)


def test_an_admin_declares_and_clears_the_address(as_user, provider, cluster):
    client = as_user(provider.admin, provider.organization)
    response = _post(client, cluster, public_host="GPU.Example.com.", public_port_min=30000, public_port_max=30999)
    assert response.status_code == 302
    cluster.refresh_from_db()
    assert (cluster.public_host, cluster.public_port_min, cluster.public_port_max) == ("gpu.example.com", 30000, 30999)
    assert cluster.public_port(30000) and cluster.public_port(30999) and not cluster.public_port(31000)
    page = client.get(reverse("fleet:cluster_detail", args=[cluster.pk])).content.decode()
    assert "gpu.example.com" in page and "30000" in page
    assert AuditEvent.objects.filter(action="cluster.address_changed").count() == 1
    assert _post(client, cluster, public_host="", public_port_min="", public_port_max="").status_code == 302
    cluster.refresh_from_db()
    assert cluster.public_host == "" and cluster.public_port_min is None and not cluster.public_port(30000)


@pytest.mark.parametrize("data,field", [
    ({"public_host": "http://gpu.example.com", "public_port_min": 30000, "public_port_max": 30100}, "public_host"),
    ({"public_host": "gpu.example.com:22", "public_port_min": 30000, "public_port_max": 30100}, "public_host"),
    ({"public_host": "bad host", "public_port_min": 30000, "public_port_max": 30100}, "public_host"),
    ({"public_host": "127.0.0.1", "public_port_min": 30000, "public_port_max": 30100}, "public_host"),
    ({"public_host": "localhost", "public_port_min": 30000, "public_port_max": 30100}, "public_host"),
    ({"public_host": "gpu.example.com", "public_port_min": 30100, "public_port_max": 30000}, "public_port_min"),
    ({"public_host": "gpu.example.com", "public_port_min": 22, "public_port_max": 30000}, "public_port_min"),
    ({"public_host": "gpu.example.com", "public_port_min": "", "public_port_max": ""}, "public_port_min"),
    ({"public_host": "", "public_port_min": 30000, "public_port_max": 30100}, "public_host"),
    ({"public_host": "gpu.example.com", "public_port_min": 1024, "public_port_max": 65535}, "public_port_max"),
    ({"public_host": "gpu.example.com", "public_port_min": "x", "public_port_max": 30100}, "public_port_min"),
])
def test_bad_addresses_are_a_400_with_the_field_named_and_change_nothing(as_user, provider, cluster, data, field):
    response = _post(as_user(provider.admin, provider.organization), cluster, **data)
    assert response.status_code == 400
    assert field in response.context["address_form"].errors
    cluster.refresh_from_db()
    assert cluster.public_host == "" and cluster.public_port_min is None


def test_an_ipv6_address_is_accepted(as_user, provider, cluster):
    _post(as_user(provider.admin, provider.organization), cluster, public_host="2001:db8::10",
          public_port_min=40000, public_port_max=40010)
    cluster.refresh_from_db()
    assert cluster.public_host == "2001:db8::10"


def test_members_may_not_and_other_providers_get_a_404(as_user, provider, other_provider, cluster):
    data = {"public_host": "gpu.example.com", "public_port_min": 30000, "public_port_max": 30100}
    assert _post(as_user(provider.member, provider.organization), cluster, **data).status_code == 403
    assert _post(as_user(other_provider.admin, other_provider.organization), cluster, **data).status_code == 404
    assert Cluster.objects.get(pk=cluster.pk).public_host == ""
