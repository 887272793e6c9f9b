"""Heartbeat ingestion benchmark: how many agent reports per second the web tier stores, with nothing lost.

Runs against a live server (gunicorn, real PostgreSQL): enrolls N simulated nodes with 8 devices each
through the agent API, then C client threads send heartbeats (each a full report of 8 device samples,
strictly increasing seq per node) for D seconds over keep-alive connections. At the end it checks in
the database that every accepted report stored exactly 8 samples once.

    python -m benchmarks.heartbeat_ingest --server http://127.0.0.1:8001 --token TGB --nodes 2000 \
        --clients 8 --duration 30

`make bench-heartbeat` starts the server and runs this with the numbers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlparse


def _post(conn: http.client.HTTPConnection, path: str, body: dict, headers: dict) -> tuple[int, dict]:
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    payload = response.read()
    return response.status, (json.loads(payload) if payload else {})


def enroll_nodes(server: str, token: str, count: int, prefix: str) -> list[dict]:
    url = urlparse(server)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    nodes = []
    for n in range(count):
        hostname = f"{prefix}-{n:05d}"
        status, body = _post(conn, "/api/agent/v1/enroll", {
            "bootstrap_token": token, "hostname": hostname, "agent_version": "bench", "runtime": "noop",
            "device_backend": "simulated", "cpu_milli": 96000, "memory_mib": 1024 * 1024,
            "devices": [{"uuid": f"GPU-{hostname}-{i}", "index": i, "model": "NVIDIA A100-SXM4-80GB",
                         "memory_total_mib": 81920} for i in range(8)],
        }, {})
        if status != 201:
            raise SystemExit(f"enrollment of {hostname} failed: {status} {body}")
        nodes.append({"id": body["node_id"], "credential": body["credential"], "hostname": hostname, "seq": 0})
    return nodes


def _report(node: dict) -> dict:
    node["seq"] += 1
    now = datetime.now(UTC).isoformat()
    return {"node_id": node["id"], "seq": node["seq"], "collected_at": now, "assignments": [],
            "devices": [{"uuid": f"GPU-{node['hostname']}-{i}", "index": i, "utilization_pct": 40.0 + i,
                         "memory_used_mib": 20480, "memory_total_mib": 81920, "temperature_c": 60.0,
                         "power_w": 300.0, "energy_mj": node["seq"] * 3_000_000, "ecc_errors": 0, "xid_errors": 0,
                         "health": "ok"} for i in range(8)]}


def run(server: str, nodes: list[dict], clients: int, duration: float) -> dict:
    url = urlparse(server)
    deadline = time.monotonic() + duration
    latencies: list[float] = []
    errors: list[str] = []
    accepted = [0]
    lock = threading.Lock()
    shards = [nodes[i::clients] for i in range(clients)]

    def worker(shard: list[dict]) -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        mine, local_latencies = 0, []
        while time.monotonic() < deadline:
            for node in shard:
                if time.monotonic() >= deadline:
                    break
                started = time.perf_counter()
                try:
                    status, body = _post(conn, "/api/agent/v1/heartbeat", _report(node),
                                         {"Authorization": f"Node {node['credential']}"})
                except (OSError, http.client.HTTPException) as exc:
                    node["seq"] -= 1  # the agent would resend it from its spool
                    errors.append(type(exc).__name__)
                    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                    continue
                local_latencies.append(time.perf_counter() - started)
                if status == 200 and not body.get("duplicate"):
                    mine += 1
                else:
                    node["seq"] -= 1
                    errors.append(str(status))
        with lock:
            accepted[0] += mine
            latencies.extend(local_latencies)

    threads = [threading.Thread(target=worker, args=(shard,)) for shard in shards]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "nodes": len(nodes), "clients": clients, "seconds": round(elapsed, 1), "reports": accepted[0],
        "reports_per_s": round(accepted[0] / elapsed, 1), "samples_per_s": round(8 * accepted[0] / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1) if latencies else None,
        "errors": len(errors), "expected_samples": 8 * accepted[0],
        "nodes_supported_at_10s": int(10 * accepted[0] / elapsed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True)
    parser.add_argument("--token", required=True, help="a fleet bootstrap token with max_uses >= --nodes")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--prefix", default="bench")
    args = parser.parse_args()
    t0 = time.monotonic()
    nodes = enroll_nodes(args.server, args.token, args.nodes, args.prefix)
    print(json.dumps({"enrolled": len(nodes), "enroll_s": round(time.monotonic() - t0, 1)}), flush=True)
    print(json.dumps(run(args.server, nodes, args.clients, args.duration)), flush=True)


if __name__ == "__main__":
    main()
