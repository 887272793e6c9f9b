import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.catalog.models import AcceleratorModel, Device, Node
from apps.scheduling import dispatch
from apps.scheduling.models import Assignment
from apps.telemetry import services
from apps.telemetry.models import AssignmentSample, BootstrapToken, DeviceSample
from tests.telemetry.conftest import inventory, report

pytestmark = pytest.mark.django_db


def test_enrollment_creates_the_node_and_its_devices(enroll, cluster):
    node_id, credential, _client = enroll("gpu-01", devices=4)
    node = Node.objects.get(id=node_id)
    assert node.cluster == cluster
    assert node.organization_id == cluster.organization_id
    assert [d.index for d in node.devices.order_by("index")] == [0, 1, 2, 3]
    device = node.devices.first()
    assert device.free_compute_milli == 1000
    assert device.free_memory_mib == 81920
    assert credential.startswith("tgn_")
    assert credential not in str(list(node.credentials.values()))
    assert AuditEvent.objects.filter(action="node.enrolled", organization_id=cluster.organization_id).exists()


def test_a_bootstrap_token_is_one_time_by_default(provider, cluster):
    _token, plaintext = services.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    client = APIClient()
    assert client.post("/api/agent/v1/enroll", {"bootstrap_token": plaintext, **inventory("a")},
                       format="json").status_code == 201
    second = client.post("/api/agent/v1/enroll", {"bootstrap_token": plaintext, **inventory("b")}, format="json")
    assert second.status_code == 401
    assert second.json()["error"]["code"] == "enrollment_refused"
    assert not Node.objects.filter(hostname="b").exists()


def test_a_fleet_token_enrolls_up_to_its_limit(provider, cluster):
    _token, plaintext = services.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster, max_uses=3)
    client = APIClient()
    codes = [client.post("/api/agent/v1/enroll", {"bootstrap_token": plaintext, **inventory(f"n{i}")},
                         format="json").status_code for i in range(4)]
    assert codes == [201, 201, 201, 401]
    assert BootstrapToken.objects.get().uses == 3


def test_expired_or_revoked_tokens_are_refused(provider, cluster):
    token, plaintext = services.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    BootstrapToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert APIClient().post("/api/agent/v1/enroll", {"bootstrap_token": plaintext, **inventory()},
                            format="json").status_code == 401
    token2, plaintext2 = services.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    services.bootstrap_token_revoke(actor=provider.actor("admin"), token=token2)
    assert APIClient().post("/api/agent/v1/enroll", {"bootstrap_token": plaintext2, **inventory()},
                            format="json").status_code == 401


@pytest.mark.parametrize(("change", "field"), [
    ({"hostname": "bad host!"}, "hostname"),
    ({"runtime": "docker"}, "runtime"),
    ({"devices": [{"uuid": "x", "index": 0, "model": "T4"}]}, "devices"),
    ({"devices": [{"uuid": "x", "index": 0, "model": "T4", "memory_total_mib": 1},
                  {"uuid": "x", "index": 1, "model": "T4", "memory_total_mib": 1}]}, "devices"),
])
def test_bad_enrollment_input_is_a_400_and_does_not_use_the_token(provider, cluster, change, field):
    _token, plaintext = services.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    response = APIClient().post("/api/agent/v1/enroll", {"bootstrap_token": plaintext, **inventory(), **change},
                                format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert BootstrapToken.objects.get().uses == 0
    assert not Node.objects.exists()


def test_heartbeat_stores_samples_once_and_is_idempotent_on_seq(enroll):
    node_id, _cred, client = enroll()
    first = client.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json")
    assert first.status_code == 200
    assert first.json()["ack_seq"] == 1
    assert first.json()["duplicate"] is False
    again = client.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json")
    assert again.json()["duplicate"] is True
    assert DeviceSample.objects.filter(node_id=node_id).count() == 2
    assert Node.objects.get(id=node_id).last_seq == 1


def test_a_credential_cannot_report_for_another_node(enroll):
    _node_a, _cred_a, client_a = enroll("gpu-a")
    node_b, _cred_b, _client_b = enroll("gpu-b")
    response = client_a.post("/api/agent/v1/heartbeat", report(node_b, 1, prefix="gpu-b"), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_node"
    assert not DeviceSample.objects.filter(node_id=node_b).exists()
    assert Node.objects.get(id=node_b).last_seq == 0


def test_a_revoked_credential_stops_working(enroll, provider):
    node_id, _cred, client = enroll()
    services.node_credentials_revoke(actor=provider.actor("admin"), node=Node.objects.get(id=node_id))
    response = client.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_re_enrolling_replaces_the_credential(enroll):
    node_id, _old, old_client = enroll("gpu-01")
    node_id_again, _new, new_client = enroll("gpu-01")
    assert node_id_again == node_id
    assert old_client.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json").status_code == 401
    assert new_client.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json").status_code == 200


def test_missing_or_garbage_credentials_are_401(enroll):
    node_id, _cred, _client = enroll()
    assert APIClient().post("/api/agent/v1/heartbeat", report(node_id, 1), format="json").status_code == 401
    garbage = APIClient()
    garbage.credentials(HTTP_AUTHORIZATION="Node tgn_nope")
    assert garbage.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json").status_code == 401


@pytest.mark.parametrize("change", [
    {"seq": 0}, {"seq": "one"}, {"collected_at": "yesterday"},
    {"devices": [{"uuid": "GPU-gpu-01-0", "utilization_pct": 180, "memory_used_mib": 1}]},
    {"assignments": [{"id": "not-a-uuid", "state": "running"}]},
])
def test_a_malformed_report_is_a_400_and_stores_nothing(enroll, change):
    node_id, _cred, client = enroll()
    body = {**report(node_id, 1), **change}
    response = client.post("/api/agent/v1/heartbeat", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not DeviceSample.objects.exists()
    assert Node.objects.get(id=node_id).last_seq == 0


def test_assignments_are_delivered_and_their_states_recorded(enroll):
    node_id, _cred, client = enroll()
    node = Node.objects.get(id=node_id)
    assignment = dispatch.assignment_create(node=node, spec={"command": ["true"], "device_indices": [0]})
    reply = client.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json").json()
    assert reply["assignments"] == [{"id": str(assignment.id), "action": "start", "spec": assignment.spec}]

    running = {"id": str(assignment.id), "state": "running", "connection": {"ssh": "ssh gpu-01"}}
    reply = client.post("/api/agent/v1/heartbeat", report(node_id, 2, assignments=[running]), format="json").json()
    assert reply["assignments"] == []
    assignment.refresh_from_db()
    assert assignment.state == "running"
    assert assignment.connection == {"ssh": "ssh gpu-01"}

    done = {"id": str(assignment.id), "state": "failed", "exit_code": 3, "log_tail": "boom"}
    reply = client.post("/api/agent/v1/heartbeat", report(node_id, 3, assignments=[done]), format="json").json()
    assert reply["ack_final"] == [str(assignment.id)]
    assignment.refresh_from_db()
    assert (assignment.state, assignment.exit_code, assignment.log_tail) == ("failed", 3, "boom")


def test_a_running_assignment_reports_its_own_usage_and_bad_usage_is_refused(enroll):
    node_id, _cred, client = enroll()
    assignment = dispatch.assignment_create(node=Node.objects.get(id=node_id), spec={"device_indices": [0]})
    running = {"id": str(assignment.id), "state": "running",
               "usage": {"utilization_pct": 24.5, "memory_used_mib": 16384}}
    assert client.post("/api/agent/v1/heartbeat", report(node_id, 1, assignments=[running]),
                       format="json").status_code == 200
    sample = AssignmentSample.objects.get(assignment=assignment)
    assert (sample.utilization_pct, sample.memory_used_mib) == (24.5, 16384)
    assert sample.collected_at.second == 1  # the report's own time, not the arrival
    running["usage"]["utilization_pct"] = -3
    response = client.post("/api/agent/v1/heartbeat", report(node_id, 2, assignments=[running]), format="json")
    assert response.status_code == 400 and "assignments.0.usage.utilization_pct" in response.json()["error"]["fields"]
    assert AssignmentSample.objects.count() == 1


def test_stop_is_sent_until_the_agent_reports_a_final_state(enroll):
    node_id, _cred, client = enroll()
    assignment = dispatch.assignment_create(node=Node.objects.get(id=node_id), spec={"command": ["sleep", "100"]})
    running = {"id": str(assignment.id), "state": "running"}
    client.post("/api/agent/v1/heartbeat", report(node_id, 1, assignments=[running]), format="json")
    dispatch.assignment_stop(assignment=assignment)
    reply = client.post("/api/agent/v1/heartbeat", report(node_id, 2, assignments=[running]), format="json").json()
    assert reply["assignments"] == [{"id": str(assignment.id), "action": "stop"}]
    stopped = {"id": str(assignment.id), "state": "stopped", "exit_code": -15}
    reply = client.post("/api/agent/v1/heartbeat", report(node_id, 3, assignments=[stopped]), format="json").json()
    assert reply["assignments"] == []
    assert Assignment.objects.get().state == "stopped"


def test_a_device_with_new_ecc_errors_is_quarantined(enroll):
    node_id, _cred, client = enroll()
    bad = report(node_id, 1)
    bad["devices"][1]["ecc_errors"] = 2
    client.post("/api/agent/v1/heartbeat", bad, format="json")
    device = Device.objects.get(node_id=node_id, index=1)
    assert device.health == Device.Health.QUARANTINED
    assert "ECC" in device.health_reason
    assert Device.objects.get(node_id=node_id, index=0).health == Device.Health.OK
    assert AuditEvent.objects.filter(action="device.quarantined").count() == 1


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=30)
def test_a_silent_node_turns_unreachable_and_back_to_online_on_its_next_heartbeat(enroll):
    node_id, _cred, client = enroll()
    client.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json")
    later = timezone.now() + timedelta(seconds=31)
    assert services.nodes_mark_unreachable(now=later) == 1
    assert Node.objects.get(id=node_id).liveness == Node.Liveness.UNREACHABLE
    client.post("/api/agent/v1/heartbeat", report(node_id, 2), format="json")
    assert Node.objects.get(id=node_id).liveness == Node.Liveness.ONLINE
    actions = list(AuditEvent.objects.filter(object_id=node_id).values_list("action", flat=True))
    assert "node.unreachable" in actions and "node.reachable" in actions


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=30)
def test_work_declared_lost_while_the_node_was_away_is_stopped_when_it_returns(enroll):
    node_id, _cred, client = enroll()
    assignment = dispatch.assignment_create(node=Node.objects.get(id=node_id), spec={"command": ["sleep", "100"]})
    running = {"id": str(assignment.id), "state": "running"}
    client.post("/api/agent/v1/heartbeat", report(node_id, 1, assignments=[running]), format="json")
    assert services.nodes_mark_unreachable(now=timezone.now() + timedelta(seconds=31)) == 1
    assert Assignment.objects.get().state == "lost"
    reply = client.post("/api/agent/v1/heartbeat", report(node_id, 2, assignments=[running]), format="json").json()
    assert reply["assignments"] == [{"id": str(assignment.id), "action": "stop"}]
    assert reply["ack_final"] == []
    stopped = {"id": str(assignment.id), "state": "stopped", "exit_code": -15}
    reply = client.post("/api/agent/v1/heartbeat", report(node_id, 3, assignments=[stopped]), format="json").json()
    assert reply["ack_final"] == [str(assignment.id)]
    assert Assignment.objects.get().state == "lost"


def test_inventory_names_are_matched_to_the_reference_catalog(enroll):
    assert AcceleratorModel.objects.filter(code="nvidia-a100-80gb", slicing="mig").exists()
    node_id, _cred, _client = enroll()
    assert Device.objects.filter(node_id=node_id, model__code="nvidia-a100-80gb").count() == 2


def test_re_enrollment_with_a_new_token_starts_a_new_sequence(enroll):
    node_id, _cred, client = enroll("gpu-01")
    for seq in (1, 2, 3):
        client.post("/api/agent/v1/heartbeat", report(node_id, seq), format="json")
    from apps.telemetry.services import bootstrap_token_create
    from tests.telemetry.conftest import inventory as inv

    node = Node.objects.get(id=node_id)
    _t, token = bootstrap_token_create(actor=_admin_of(node), cluster=node.cluster)
    body = APIClient().post("/api/agent/v1/enroll", {"bootstrap_token": token, **inv("gpu-01")}, format="json").json()
    assert body["node_id"] == node_id
    assert body["last_seq"] == 0
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Node {body['credential']}")
    assert agent.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json").json()["duplicate"] is False


@override_settings(TIDEGRID_AGENT_MAX_SEQ_STEP=100)
def test_seq_advances_by_a_bounded_step(enroll):
    node_id, _cred, client = enroll()
    assert client.post("/api/agent/v1/heartbeat", report(node_id, 100), format="json").status_code == 200
    response = client.post("/api/agent/v1/heartbeat", report(node_id, 201), format="json")
    assert response.status_code == 400 and "seq" in response.json()["error"]["fields"]
    assert Node.objects.get(id=node_id).last_seq == 100
    assert DeviceSample.objects.filter(node_id=node_id).count() == 2
    assert client.post("/api/agent/v1/heartbeat", report(node_id, 200), format="json").json()["duplicate"] is False


def _admin_of(node):
    from apps.tenancy.access import Actor
    from apps.tenancy.models import Membership

    return Actor(user=Membership.objects.filter(organization_id=node.organization_id, role="admin").first().user)


def test_a_retried_enrollment_with_the_same_token_does_not_use_it_up(provider, cluster):
    _token, plaintext = services.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster, max_uses=1)
    client = APIClient()
    first = client.post("/api/agent/v1/enroll", {"bootstrap_token": plaintext, **inventory("a")}, format="json")
    retry = client.post("/api/agent/v1/enroll", {"bootstrap_token": plaintext, **inventory("a")}, format="json")
    other = client.post("/api/agent/v1/enroll", {"bootstrap_token": plaintext, **inventory("b")}, format="json")
    assert (first.status_code, retry.status_code, other.status_code) == (201, 201, 401)
    assert first.json()["node_id"] == retry.json()["node_id"]
    assert BootstrapToken.objects.get().uses == 1


def test_a_late_duplicate_enrollment_does_not_lock_out_the_agent(provider, cluster):
    _token, plaintext = services.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    client = APIClient()
    first = client.post("/api/agent/v1/enroll", {"bootstrap_token": plaintext, **inventory("a")}, format="json")
    # the agent timed out and sent the request again; the server processes the duplicate afterwards
    client.post("/api/agent/v1/enroll", {"bootstrap_token": plaintext, **inventory("a")}, format="json")
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Node {first.json()['credential']}")
    response = agent.post("/api/agent/v1/heartbeat", report(first.json()["node_id"], 1, prefix="a"), format="json")
    assert response.status_code == 200


def test_staff_resolve_device_uuid_conflicts_from_the_admin(enroll, provider, other_provider, client):
    from apps.catalog.services import cluster_create
    from apps.telemetry.models import DeviceUuidConflict
    from tests.factories import UserFactory

    node_id, _cred, _client = enroll("holder")
    other = cluster_create(actor=other_provider.actor("admin"), organization=other_provider.organization,
                           name="x", region=Node.objects.get(id=node_id).cluster.region, kind="bare_metal")
    _t, token = services.bootstrap_token_create(actor=other_provider.actor("admin"), cluster=other)
    response = APIClient().post("/api/agent/v1/enroll", {"bootstrap_token": token, **inventory("claimer", 1,
                                prefix="holder")}, format="json")
    assert response.status_code == 409
    conflict = DeviceUuidConflict.objects.get()
    # a provider admin is not staff: the service refuses
    with pytest.raises(PermissionDenied):
        services.device_uuid_conflict_resolve(actor=provider.actor("admin"), conflict=conflict, release=True)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/telemetry/deviceuuidconflict/").status_code == 200
    client.post("/admin/telemetry/deviceuuidconflict/", {"action": "dismiss_claim", "_selected_action": [conflict.pk]})
    conflict.refresh_from_db()
    assert conflict.resolution == DeviceUuidConflict.Resolution.DISMISSED and conflict.resolved_by == staff
    assert Device.objects.filter(uuid="GPU-holder-0", node_id=node_id).exists()
    assert client.get("/admin/catalog/node/?clamped=yes").status_code == 200


def test_a_stored_spec_the_protocol_cannot_carry_does_not_fail_the_report(enroll):
    node_id, _cred, client = enroll()
    assignment = dispatch.assignment_create(node=Node.objects.get(id=node_id), spec={"command": ["true"]})
    Assignment.objects.filter(pk=assignment.pk).update(spec={"command": [1, 2]})  # written before specs were checked
    response = client.post("/api/agent/v1/heartbeat", report(node_id, 1), format="json")
    assert response.status_code == 200 and response.json()["assignments"] == []


def test_a_spec_that_is_not_the_protocols_is_refused_when_work_is_created(enroll):
    from django.core.exceptions import ValidationError

    node_id, _cred, _client = enroll()
    with pytest.raises(ValidationError) as error:
        dispatch.assignment_create(node=Node.objects.get(id=node_id), spec={"device_indices": [999]})
    assert "spec.device_indices" in error.value.message_dict


def test_non_finite_numbers_and_deep_nesting_are_a_400(enroll):
    node_id, credential, _client = enroll()
    body = json.dumps(report(node_id, 1)).replace('"utilization_pct": 50.0', '"utilization_pct": NaN', 1)
    client = Client()
    response = client.post("/api/agent/v1/heartbeat", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Node {credential}")
    assert response.status_code == 400 and "devices.0.utilization_pct" in response.json()["error"]["fields"]
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/agent/v1/heartbeat", deep, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Node {credential}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"
