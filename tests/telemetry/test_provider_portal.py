import pytest
from django.test import override_settings

from apps.catalog.models import Cluster, Device, Node
from apps.scheduling import dispatch
from apps.telemetry import services
from apps.telemetry.models import BootstrapToken
from apps.telemetry.rollups import telemetry_rollup
from tests.telemetry.conftest import report

pytestmark = pytest.mark.django_db



def test_register_a_cluster_and_get_the_enrollment_command(as_user, provider):
    client = as_user(provider.admin, provider.organization)
    response = client.post("/provider/clusters/", {"name": "sz-b", "region": _region_id("cn-suzhou"),
                                                   "kind": "kubernetes"})
    cluster = Cluster.objects.get(name="sz-b")
    assert response.status_code == 302
    page = client.post(f"/provider/clusters/{cluster.pk}/", {"max_uses": 2, "ttl_hours": 12})
    body = page.content.decode()
    assert "python -m agents --server" in body
    assert "--token-file tidegrid-token" in body and "--token tgb_" not in body  # never in the agent's argv
    assert "--runtime kubernetes" in body
    assert BootstrapToken.objects.get(cluster=cluster).max_uses == 2


def _region_id(code):
    from apps.catalog.models import Region

    return Region.objects.get(code=code).pk


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "", "region": "", "kind": "bare_metal"}, "This field is required"),
    ({"name": "x", "region": "999999", "kind": "bare_metal"}, "Select a valid choice"),
    ({"name": "x", "region": "1", "kind": "mainframe"}, "Select a valid choice"),
])
def test_bad_cluster_input_shows_errors(as_user, provider, data, message):
    client = as_user(provider.admin, provider.organization)
    response = client.post("/provider/clusters/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Cluster.objects.exists()


def test_duplicate_cluster_name_is_a_field_error(as_user, provider, cluster):
    client = as_user(provider.admin, provider.organization)
    response = client.post("/provider/clusters/", {"name": cluster.name, "region": _region_id("cn-shanghai"),
                                                   "kind": "bare_metal"})
    assert "already have a cluster" in response.content.decode()
    assert Cluster.objects.count() == 1


def test_bad_token_input_shows_errors(as_user, provider, cluster):
    client = as_user(provider.admin, provider.organization)
    response = client.post(f"/provider/clusters/{cluster.pk}/", {"max_uses": 0, "ttl_hours": 10000})
    assert response.status_code == 200
    assert not BootstrapToken.objects.exists()


def test_node_page_shows_devices_with_live_values_and_charts(as_user, provider, enroll):
    from django.utils import timezone

    node_id, _cred, agent = enroll("gpu-07", devices=2)
    agent.post("/api/agent/v1/heartbeat", report(node_id, 1, prefix="gpu-07", collected_at=timezone.now().isoformat()),
               format="json")
    client = as_user(provider.viewer, provider.organization)
    body = client.get(f"/provider/nodes/{node_id}/").content.decode()
    assert "gpu-07" in body
    assert "50%" in body
    assert "chart-4.6.1.umd.min.js" in body
    series = client.get(f"/provider/nodes/{node_id}/telemetry.json?range=1h").json()
    assert [d["index"] for d in series["devices"]] == [0, 1]


def test_chart_series_come_from_rollups_for_longer_ranges(as_user, provider, enroll):
    from django.utils import timezone

    node_id, _cred, agent = enroll("gpu-08", devices=1)
    body = report(node_id, 1, device_count=1, prefix="gpu-08", collected_at=timezone.now().isoformat())
    agent.post("/api/agent/v1/heartbeat", body, format="json")
    telemetry_rollup()
    client = as_user(provider.viewer, provider.organization)
    raw = client.get(f"/provider/nodes/{node_id}/telemetry.json?range=1h").json()
    day = client.get(f"/provider/nodes/{node_id}/telemetry.json?range=24h").json()
    week = client.get(f"/provider/nodes/{node_id}/telemetry.json?range=7d").json()
    assert raw["devices"][0]["points"][0]["utilization_pct"] == 50.0
    assert day["source"] == "minute" and day["devices"][0]["points"][0]["utilization_pct"] == 50.0
    assert week["source"] == "hour" and len(week["devices"][0]["points"]) == 1
    assert client.get(f"/provider/nodes/{node_id}/telemetry.json?range=1y").status_code == 400


def test_cordon_drain_and_decommission(as_user, provider, enroll):
    node_id, _cred, agent = enroll()
    node = Node.objects.get(id=node_id)
    assignment = dispatch.assignment_create(node=node, spec={"command": ["sleep", "60"]})
    client = as_user(provider.admin, provider.organization)
    client.post(f"/provider/nodes/{node_id}/action/", {"action": "cordon"})
    assert Node.objects.get(id=node_id).state == Node.State.CORDONED
    client.post(f"/provider/nodes/{node_id}/action/", {"action": "drain"})
    assert Node.objects.get(id=node_id).state == Node.State.DRAINING
    assignment.refresh_from_db()
    assert assignment.desired == "stop"
    client.post(f"/provider/nodes/{node_id}/action/", {"action": "decommission"})
    assert Node.objects.get(id=node_id).state == Node.State.DECOMMISSIONED
    assert agent.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json").status_code == 401


def test_node_page_offers_the_actions_the_catalog_allows(as_user, provider, enroll):
    from apps.catalog.services import node_actions_allowed

    node_id, _cred, _agent = enroll()
    client = as_user(provider.admin, provider.organization)
    for state, offered in [("active", {"cordon", "drain", "decommission"}),
                           ("draining", {"uncordon", "decommission"}), ("decommissioned", set())]:
        Node.objects.filter(id=node_id).update(state=state)
        assert set(node_actions_allowed(node=Node.objects.get(id=node_id))) == offered
        body = client.get(f"/provider/nodes/{node_id}/").content.decode()
        buttons = {a for a in ("cordon", "uncordon", "drain", "decommission")
                   if f'name="action" value="{a}"' in body}
        assert buttons == offered, state


def test_viewer_cannot_change_node_state(as_user, provider, enroll):
    node_id, _cred, _agent = enroll()
    client = as_user(provider.viewer, provider.organization)
    assert client.post(f"/provider/nodes/{node_id}/action/", {"action": "cordon"}).status_code == 403
    assert Node.objects.get(id=node_id).state == Node.State.ACTIVE


def test_release_a_quarantined_device(as_user, provider, enroll):
    node_id, _cred, agent = enroll()
    bad = report(node_id, 1)
    bad["devices"][0]["health"] = "failed"
    agent.post("/api/agent/v1/heartbeat", bad, format="json")
    device = Device.objects.get(node_id=node_id, index=0)
    assert device.health == Device.Health.QUARANTINED
    client = as_user(provider.admin, provider.organization)
    client.post(f"/provider/devices/{device.pk}/release/")
    device.refresh_from_db()
    assert device.health == Device.Health.OK


def test_customers_have_no_fleet_pages(as_user, tenant):
    client = as_user(tenant.owner, tenant.organization)
    assert client.get("/provider/clusters/").status_code == 404


def test_every_fleet_page_is_404_for_another_provider(as_user, provider, other_provider, cluster, enroll):
    node_id, _cred, _agent = enroll()
    device = Device.objects.filter(node_id=node_id).first()
    token, _plain = services.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    tokens_before = BootstrapToken.objects.filter(cluster=cluster).count()
    client = as_user(other_provider.owner, other_provider.organization)
    for path in (f"/provider/clusters/{cluster.pk}/", f"/provider/clusters/{cluster.pk}/nodes/",
                 f"/provider/nodes/{node_id}/", f"/provider/nodes/{node_id}/telemetry.json?range=1h"):
        assert client.get(path).status_code == 404, path
    for path, data in ((f"/provider/clusters/{cluster.pk}/", {"max_uses": 1, "ttl_hours": 1}),
                       (f"/provider/nodes/{node_id}/action/", {"action": "decommission"}),
                       (f"/provider/devices/{device.pk}/release/", {}),
                       (f"/provider/tokens/{token.pk}/revoke/", {})):
        assert client.post(path, data).status_code == 404, path
    assert Node.objects.get(id=node_id).state == Node.State.ACTIVE
    assert BootstrapToken.objects.filter(cluster=cluster).count() == tokens_before
    token.refresh_from_db()
    assert token.revoked_at is None
    listing = client.get("/provider/clusters/").content.decode()
    assert cluster.name not in listing


@override_settings(TIDEGRID_METRICS_TOKEN="scrape-secret")
def test_metrics_use_dcgm_names_and_need_the_token(client, enroll):
    from django.utils import timezone

    node_id, _cred, agent = enroll("gpu-09", devices=1)
    agent.post("/api/agent/v1/heartbeat",
               report(node_id, 1, device_count=1, prefix="gpu-09", collected_at=timezone.now().isoformat()),
               format="json")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").content.decode()
    assert 'DCGM_FI_DEV_GPU_UTIL{' in text
    line = next(line for line in text.splitlines() if line.startswith("DCGM_FI_DEV_GPU_UTIL{"))
    assert 'UUID="GPU-gpu-09-0"' in line and 'Hostname="gpu-09"' in line and 'region="cn-shanghai"' in line
    assert line.endswith(" 50.0")
    assert 'tidegrid_nodes{liveness="online",state="active"} 1.0' in text


def test_metrics_are_not_exposed_without_a_configured_token(client):
    assert client.get("/metrics").status_code == 404


@override_settings(TIDEGRID_AGENT_CLOCK_WINDOW_S=2 * 86400)  # a 30-hour-old sample (a long spool replay)
def test_retention_prunes_old_samples_and_rollups_but_keeps_recent_ones(enroll):
    from datetime import timedelta

    from django.db.models import F
    from django.utils import timezone

    from apps.telemetry.models import DeviceRollup, DeviceSample
    from apps.telemetry.rollups import telemetry_prune

    node_id, _cred, agent = enroll("gpu-10", devices=1)
    now = timezone.now()
    for seq, age in ((1, timedelta(hours=30)), (2, timedelta(minutes=5))):
        body = report(node_id, seq, device_count=1, prefix="gpu-10", collected_at=(now - age).isoformat())
        agent.post("/api/agent/v1/heartbeat", body, format="json")
    telemetry_rollup(now=now, lookback_hours=48)
    assert DeviceRollup.objects.filter(resolution="hour").count() == 2
    DeviceRollup.objects.filter(resolution="minute").update(bucket=F("bucket") - timedelta(days=9))
    removed = telemetry_prune(now=now)
    assert removed["raw"] == 1
    assert list(DeviceSample.objects.values_list("seq", flat=True)) == [2]
    assert not DeviceRollup.objects.filter(resolution="minute").exists()
    assert DeviceRollup.objects.filter(resolution="hour").count() == 2


def test_the_node_table_shows_each_nodes_current_utilization(as_user, provider, cluster, enroll):
    from django.utils import timezone

    node_id, _cred, agent = enroll("gpu-11", devices=2)
    agent.post("/api/agent/v1/heartbeat",
               report(node_id, 1, prefix="gpu-11", collected_at=timezone.now().isoformat()), format="json")
    client = as_user(provider.viewer, provider.organization)
    body = client.get(f"/provider/clusters/{cluster.pk}/nodes/").content.decode()
    assert "gpu-11" in body
    assert 'value="51"' in body  # devices at 50 % and 51 %: mean 50.5, shown rounded
