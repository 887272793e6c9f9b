from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from apps.telemetry.services import bootstrap_token_create


def inventory(hostname="gpu-01", devices=2, model="NVIDIA A100-SXM4-80GB", prefix=None):
    prefix = prefix or hostname
    return {
        "hostname": hostname, "agent_version": "1.0.0", "runtime": "process", "device_backend": "simulated",
        "cpu_milli": 64000, "memory_mib": 512000, "labels": {"rack": "r1"},
        "devices": [{"uuid": f"GPU-{prefix}-{i}", "index": i, "model": model, "vendor": "nvidia",
                     "memory_total_mib": 81920} for i in range(devices)],
    }


def report(node_id, seq, device_count=2, prefix="gpu-01", **overrides):
    body = {
        "node_id": str(node_id), "seq": seq,
        "collected_at": datetime.now(UTC).replace(second=seq % 60, microsecond=0).isoformat(),
        "devices": [{"uuid": f"GPU-{prefix}-{i}", "index": i, "utilization_pct": 50.0 + i, "memory_used_mib": 1024,
                     "memory_total_mib": 81920, "temperature_c": 55.0, "power_w": 250.0, "energy_mj": 1000 * seq,
                     "ecc_errors": 0, "xid_errors": 0, "health": "ok"} for i in range(device_count)],
        "assignments": [],
    }
    body.update(overrides)
    return body


@pytest.fixture
def enroll(cluster, provider):
    """enroll(hostname) → (node_id, credential, APIClient authenticated as that node)."""

    def do(hostname="gpu-01", devices=2):
        _token, plaintext = bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
        body = {"bootstrap_token": plaintext, **inventory(hostname, devices)}
        response = APIClient().post("/api/agent/v1/enroll", body, format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Node {body['credential']}")
        return body["node_id"], body["credential"], client

    return do
