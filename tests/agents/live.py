"""Real agent processes against the live test server, and plain HTTP calls to its REST API from threads.

Used by the booking and scheduling integration tests. ``AgentFleet`` starts ``python -m agents`` (simulated
devices, process runtime) per node, can kill one with SIGKILL (a crashed host), and at the end stops the
agents and any workload process a killed agent left behind.
"""

from __future__ import annotations

import contextlib
import http.client as http_client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], Any], *, timeout: float = 60, what: str = "condition", every=None) -> Any:
    """Poll until ``condition()`` is truthy; ``every()`` runs before each poll (e.g. a placement round)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if every is not None:
            every()
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def http(method: str, url: str, *, key: str | None = None, body: Any = None,
         headers: dict[str, str] | None = None, timeout: float = 120, retries: int = 0) -> tuple[int, Any]:
    """One request on its own connection: (status, decoded JSON body).

    ``retries``: resend after a connection error, as a client with an Idempotency-Key may (the test
    server's listen backlog is short, so a burst of fifty connections sees some refused or reset).
    """
    if retries:
        assert "Idempotency-Key" in (headers or {}), "only a request with an Idempotency-Key is safe to resend"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={  # noqa: S310 - the test server
        "Content-Type": "application/json", "Accept": "application/json",
        **({"Authorization": f"Api-Key {key}"} if key else {}), **(headers or {})})
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the test server
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")
        except (urllib.error.URLError, ConnectionError, http_client.RemoteDisconnected):
            if attempt == retries:
                raise
            time.sleep(0.05 * (attempt + 1))  # back off before resending, as a client would
    raise AssertionError("unreachable")


class AgentFleet:
    def __init__(self, server_url: str, state_root: Path) -> None:
        self.server_url = server_url
        self.state_root = state_root
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, hostname: str, token: str, *, models: str = "NVIDIA A100-SXM4-80GB:2",
              interval: float = 0.2) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "agents", "--server", self.server_url, "--devices", "simulated",
             "--simulate-model", models, "--runtime", "process", "--state-dir", str(self.state_root / hostname),
             "--hostname", hostname, "--interval", str(interval), "--backoff-cap", "0.5", "--grace", "5",
             "--log-level", "INFO"],
            env={**os.environ, "TIDEGRID_TOKEN": token},  # the token from the environment, not argv
            cwd=ROOT, stdout=(self.state_root / f"{hostname}.log").open("a"), stderr=subprocess.STDOUT,
        )
        self.processes[hostname] = process
        return process

    def kill(self, hostname: str) -> None:
        """SIGKILL: the agent dies on the spot, reports nothing more, stops nothing."""
        process = self.processes[hostname]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def log(self, hostname: str) -> str:
        return (self.state_root / f"{hostname}.log").read_text()

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        # A killed agent leaves its workloads running (their own sessions): stop them by their records.
        for record in self.state_root.glob("*/assignments/*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                entry = json.loads(record.read_text())
                pid = entry["pid"]
                if pid and entry.get("finished_at") is None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)


def shanghai_shared_a100(*, server_url: str, state_root: Path, hostname: str, interval: float = 0.3):
    """The stack most end-to-end tests need: reference data and prices (transactional tests start from an
    emptied database), a provider's Shanghai cluster selling fractional A100 slices, and one real agent
    enrolled on it. Returns (provider tenant, fleet); the caller closes the fleet."""
    from apps.billing.seed import price_book_seed
    from apps.catalog.models import Node, Region
    from apps.catalog.reference import reference_data_sync
    from apps.catalog.services import cluster_create
    from apps.telemetry.services import bootstrap_token_create
    from tests.conftest import make_tenant

    reference_data_sync()
    price_book_seed()
    provider = make_tenant(kind="provider", name="Lingang Compute")
    cluster = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="AZ-2",
                             region=Region.objects.get(code="cn-shanghai"), kind="bare_metal",
                             gpu_sharing="fractional")
    _token, token = bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    fleet = AgentFleet(server_url, state_root)
    fleet.start(hostname, token, interval=interval)
    wait_for(lambda: Node.objects.filter(hostname=hostname, last_seq__gte=1).exists(), what="the agent to report")
    return provider, fleet
