"""Acceptance 2: the booking flows over the REST API with an API key, against the real stack: the live
server, a real Celery worker placing and stopping, and a real node agent (simulated A100s, process
runtime) running the work and reporting back over HTTP."""

from __future__ import annotations

import sys
import threading
from types import SimpleNamespace

import pytest

from apps.booking.models import IdempotencyKey, Workload
from apps.catalog.models import Device
from apps.catalog.reference import reference_data_sync
from apps.tenancy.models import Role
from apps.tenancy.services import api_key_create
from tests.agents.live import http, shanghai_shared_a100, wait_for
from tests.conftest import make_tenant
from tests.core.test_celery import celery_worker_process  # noqa: F401 — a real Celery worker process

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _customer_key(name: str):
    customer = make_tenant(kind="customer", name=name)
    _key, plaintext = api_key_create(actor=customer.actor("owner"), organization=customer.organization,
                                     name="ci", role=Role.MEMBER)
    return customer, plaintext


@pytest.fixture
def stack(live_server, tmp_path, celery_worker_process):  # noqa: F811
    """A Shanghai cluster selling fractional A100 slices with one real agent, and a customer's API key."""
    _provider, fleet = shanghai_shared_a100(server_url=live_server.url, state_root=tmp_path, hostname="sh-a100-01")
    customer, key = _customer_key("Flow Robotics")
    base = f"{live_server.url}/api/v1/organizations/{customer.organization.id}/workloads/"
    yield SimpleNamespace(key=key, base=base, customer=customer)
    fleet.close()


def _until(stack, workload_id: str, state: str, what: str) -> dict:
    def reached():
        status, body = http("GET", f"{stack.base}{workload_id}/", key=stack.key)
        assert status == 200, body
        return body if body["state"] == state else None

    return wait_for(reached, timeout=120, what=what)


def test_book_a_quarter_of_an_a100_see_it_run_with_connection_details_and_stop_it(stack):
    status, body = http("POST", stack.base, key=stack.key, headers={"Idempotency-Key": "notebook-1"}, body={
        "name": "notebook", "kind": "instance", "preferred_region": "cn-shanghai", "gpu_milli": 250,
        "gpu_memory_mib": 20480, "accelerator_models": ["nvidia-a100-80gb"], "image": "pytorch"})
    assert status == 201, body
    assert body["state"] == "pending" and body["restartable"] is True
    workload_id = body["id"]

    running = _until(stack, workload_id, "running", "the slice to run")
    [placement] = running["placement"]
    assert {k: placement[k] for k in ("node", "region", "model", "compute_milli", "memory_mib", "released")} == {
        "node": "sh-a100-01", "region": "cn-shanghai", "model": "nvidia-a100-80gb", "compute_milli": 250,
        "memory_mib": 20480, "released": False}
    assert placement["device_index"] in (0, 1)
    assert running["connection"]["ssh"].startswith("ssh -p ") and running["connection"]["ssh"].endswith(
        "tidegrid@sh-a100-01")
    assert running["connection"]["jupyter"].startswith("http://sh-a100-01:")
    assert running["queue_position"] is None and running["pending_reason"] == ""
    assert "placed on sh-a100-01" in next(e["reason"] for e in running["events"] if e["to_state"] == "placed")
    device = Device.objects.get(node__hostname="sh-a100-01", index=placement["device_index"])
    assert device.free_compute_milli == 750

    status, body = http("POST", f"{stack.base}{workload_id}/stop/", key=stack.key)
    assert status == 200 and body["state"] in ("stopping", "stopped"), body
    stopped = _until(stack, workload_id, "stopped", "the slice to stop")
    assert stopped["run"]["state"] == "stopped" and stopped["exit_code"] == 143  # SIGTERM, as a shell says
    assert stopped["connection"] == {}
    assert stopped["placement"][0]["released"] is True
    assert [e["to_state"] for e in stopped["events"]][-2:] == ["stopping", "stopped"]
    device.refresh_from_db()
    assert device.free_compute_milli == 1000


def test_batch_jobs_run_to_completion_with_exit_code_and_log_tail(stack):
    def submit(name: str, code: str) -> str:
        status, body = http("POST", stack.base, key=stack.key, body={
            "name": name, "kind": "batch", "preferred_region": "cn-shanghai", "gpu_milli": 500,
            "gpu_memory_mib": 8192, "accelerator_models": ["nvidia-a100-80gb"], "image": "pytorch",
            "spec": {"command": [sys.executable, "-c", code], "env": {"EPOCHS": "2"}}})
        assert status == 201, body
        return body["id"]

    good = submit("train", "import os\nfor e in range(int(os.environ['EPOCHS'])): print(f'epoch {e + 1} loss=0.4')\n"
                           "print('visible', os.environ['CUDA_VISIBLE_DEVICES'], os.environ['TIDEGRID_COMPUTE_MILLI'])")
    bad = submit("broken", "import sys; print('loading data'); sys.exit(3)")

    done = _until(stack, good, "succeeded", "the job to succeed")
    assert done["exit_code"] == 0
    assert "epoch 2 loss=0.4" in done["log_tail"]
    assert f"visible {done['placement'][0]['device_index']} 500" in done["log_tail"]
    assert done["events"][-1]["reason"] == "exit code 0"
    assert done["placement"][0]["released"] is True
    failed = _until(stack, bad, "failed", "the broken job to fail")
    assert (failed["exit_code"], failed["log_tail"].strip()) == (3, "loading data")
    assert failed["events"][-1]["reason"] == "exit code 3"
    assert sorted(Device.objects.values_list("free_compute_milli", flat=True)) == [1000, 1000]


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_one_idempotency_key_book_once(live_server):
    reference_data_sync()
    customer, key = _customer_key("Retry Happy")
    base = f"{live_server.url}/api/v1/organizations/{customer.organization.id}/workloads/"
    body = {"name": "once", "kind": "batch", "preferred_region": "cn-shanghai", "gpu_milli": 250,
            "gpu_memory_mib": 4096, "image": "pytorch", "spec": {"command": ["python", "train.py"]}}
    start = threading.Barrier(10)
    answers: list[tuple[int, dict]] = []

    def create():
        start.wait()
        answers.append(http("POST", base, key=key, body=body, headers={"Idempotency-Key": "order-7"}))

    threads = [threading.Thread(target=create) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _body in answers)
    assert statuses == [200] * 9 + [201], answers
    assert len({answer["id"] for _status, answer in answers}) == 1
    assert Workload.objects.count() == 1 and IdempotencyKey.objects.count() == 1
