"""Real agent processes (simulated devices, process runtime) against the live test server over HTTP."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.test import override_settings

from apps.catalog.models import Node, Region
from apps.catalog.reference import reference_data_sync
from apps.catalog.services import cluster_create
from apps.scheduling import dispatch
from apps.scheduling.models import Assignment
from apps.telemetry import services
from apps.telemetry.models import DeviceSample
from tests.agents.live import wait_for
from tests.conftest import make_tenant

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Switch:
    """A TCP relay between the agent and the server that can be switched off: the server 'goes away'."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.up = threading.Event()
        self.up.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while self.up.is_set() and (data := source.recv(65536)):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()

    def off(self) -> None:
        self.up.clear()
        for sock in self.open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.open.clear()

    def on(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def fleet(live_server, tmp_path):
    reference_data_sync()  # transactional tests start from an emptied database
    provider = make_tenant(kind="provider", name="Integration Compute")
    cluster = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="itest",
                             region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")
    processes: list[subprocess.Popen] = []

    def start(hostname: str, *, server: str | None = None, token: str | None = None) -> subprocess.Popen:
        if token is None:
            _t, token = services.bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
        token_file = tmp_path / f"{hostname}.token"  # as the portal shows it: the token in a file, not in argv
        token_file.write_text(token + "\n")
        process = subprocess.Popen(
            [sys.executable, "-m", "agents", "--server", server or live_server.url, "--token-file", str(token_file),
             "--devices", "simulated", "--simulate-model", "NVIDIA A100-SXM4-80GB:2", "--runtime", "process",
             "--state-dir", str(tmp_path / hostname), "--hostname", hostname, "--interval", "0.2",
             "--backoff-cap", "0.5", "--log-level", "INFO"],
            cwd=ROOT, stdout=(tmp_path / f"{hostname}.log").open("a"), stderr=subprocess.STDOUT,
        )
        processes.append(process)
        return process

    def node(hostname: str) -> Node:
        return wait_for(lambda: Node.objects.filter(hostname=hostname).first(), what=f"{hostname} to enroll")

    def log(hostname: str) -> str:
        return (tmp_path / f"{hostname}.log").read_text()

    def spooled(hostname: str) -> int:
        return len(list((tmp_path / hostname / "spool").glob("*.json")))

    yield type("Fleet", (), {"start": staticmethod(start), "node": staticmethod(node), "provider": provider,
                             "cluster": cluster, "spooled": staticmethod(spooled),
                             "log": staticmethod(log)})
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_agent_runs_an_assignment_as_a_local_process_and_reports_its_exit_code(fleet, tmp_path):
    fleet.start("itest-run")
    node = fleet.node("itest-run")
    wait_for(lambda: DeviceSample.objects.filter(node=node).count() >= 4, what="telemetry")
    go = tmp_path / "go"
    script = (
        "import os, pathlib, sys, time\n"
        f"go = pathlib.Path({str(go)!r})\n"
        "while not go.exists(): time.sleep(0.02)\n"
        "print('visible', os.environ['CUDA_VISIBLE_DEVICES'], 'milli', os.environ['TIDEGRID_COMPUTE_MILLI'],"
        " 'mem', os.environ['CUDA_DEVICE_MEMORY_LIMIT'], 'epochs', os.environ['EPOCHS'])\n"
        "sys.exit(3)\n"
    )
    assignment = dispatch.assignment_create(node=node, spec={
        "command": [sys.executable, "-c", script], "env": {"EPOCHS": "2"}, "workload_kind": "batch",
        "device_uuids": [node.devices.get(index=1).uuid], "device_indices": [1],
        "compute_milli": 250, "memory_mib": 10240, "profile": None,
    })
    wait_for(lambda: Assignment.objects.get(pk=assignment.pk).state == "running", what="the process to run")
    go.touch()
    done = wait_for(lambda: (a := Assignment.objects.get(pk=assignment.pk)).is_final and a, what="the exit")
    assert done.state == "failed"
    assert done.exit_code == 3
    assert "visible 1 milli 250 mem 10240m epochs 2" in done.log_tail


def test_samples_survive_an_outage_exactly_once_and_in_order(fleet, live_server):
    switch = Switch(int(live_server.url.rsplit(":", 1)[1]))
    try:
        fleet.start("itest-spool", server=f"http://127.0.0.1:{switch.port}")
        node = fleet.node("itest-spool")
        wait_for(lambda: Node.objects.get(pk=node.pk).last_seq >= 3, what="first reports")
        switch.off()
        seq_at_outage = Node.objects.get(pk=node.pk).last_seq
        wait_for(lambda: fleet.spooled("itest-spool") >= 8, timeout=30, what="reports to pile up in the spool")
        assert Node.objects.get(pk=node.pk).last_seq <= seq_at_outage + 1
        switch.on()
        wait_for(lambda: Node.objects.get(pk=node.pk).last_seq >= seq_at_outage + 10, what="the spool to drain")
        wait_for(lambda: fleet.spooled("itest-spool") <= 1, what="the spool to empty")
    finally:
        switch.close()
    last = Node.objects.get(pk=node.pk).last_seq
    seqs = list(DeviceSample.objects.filter(node=node, seq__lte=last).order_by("seq", "device__index")
                .values_list("seq", flat=True))
    assert seqs == [seq for seq in range(1, last + 1) for _device in range(2)]  # every report, once, in order


def test_a_revoked_credential_stops_the_agent(fleet):
    process = fleet.start("itest-revoke")
    node = fleet.node("itest-revoke")
    wait_for(lambda: Node.objects.get(pk=node.pk).last_seq >= 1, what="a first report")
    services.node_credentials_revoke(actor=fleet.provider.actor("admin"), node=node)
    wait_for(lambda: process.poll() is not None, timeout=30, what="the agent to give up")
    assert process.returncode != 0
    assert "revoked" in fleet.log("itest-revoke").lower()


@override_settings(TIDEGRID_NODE_UNREACHABLE_AFTER_S=1)
def test_a_stopped_agent_turns_its_node_unreachable_and_back(fleet):
    process = fleet.start("itest-live")
    node = fleet.node("itest-live")
    wait_for(lambda: Node.objects.get(pk=node.pk).last_seq >= 1, what="a first report")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    wait_for(lambda: services.nodes_mark_unreachable() or
             Node.objects.get(pk=node.pk).liveness == Node.Liveness.UNREACHABLE, timeout=15,
             what="the node to turn unreachable")
    assert Node.objects.get(pk=node.pk).liveness == Node.Liveness.UNREACHABLE
    seq_before = Node.objects.get(pk=node.pk).last_seq
    fleet.start("itest-live", token="unused-after-enrollment")  # same state dir: it keeps its credential
    wait_for(lambda: Node.objects.get(pk=node.pk).liveness == Node.Liveness.ONLINE, what="the node to come back")
    assert Node.objects.get(pk=node.pk).last_seq > seq_before

