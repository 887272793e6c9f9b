"""The thin kubernetes client module against a tiny fake API server on 127.0.0.1.

Not a Kubernetes: just enough of the core/v1 pods endpoints to prove that k8s_client drives the
official client correctly (paths, bodies, 404/409 handling, the JSON-form dicts it hands back).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from agents.runtimes.k8s_client import K8sClient, K8sError
from agents.runtimes.kubernetes import build_pod_manifest, pod_state

ASSIGNMENT = "c0ffee00-1234-4abc-8def-0123456789ab"


class FakeApiServer:
    def __init__(self) -> None:
        self.pods: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body, content_type="application/json") -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _not_found(self, name: str) -> None:
                self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                                 "message": f'pods "{name}" not found', "code": 404})

            def _route(self, method: str) -> None:
                url = urlsplit(self.path)
                server.requests.append((method, url.path))
                parts = url.path.strip("/").split("/")  # api v1 namespaces NS pods [NAME [log]]
                assert parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods", url.path
                name = parts[5] if len(parts) > 5 else None
                if method == "POST":
                    pod = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    if pod["metadata"]["name"] in server.pods:
                        return self._send(409, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                                "reason": "AlreadyExists", "code": 409})
                    pod["metadata"]["uid"] = "5a1f0c7e-0000-4000-8000-000000000001"
                    pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
                    server.pods[pod["metadata"]["name"]] = pod
                    return self._send(201, pod)
                if method == "GET" and name is None:
                    selector = parse_qs(url.query).get("labelSelector", [""])[0]
                    key, _, value = selector.partition("=")
                    items = [p for p in server.pods.values() if p["metadata"]["labels"].get(key) == value]
                    return self._send(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})
                if name not in server.pods:
                    return self._not_found(name)
                if method == "GET" and parts[-1] == "log":
                    return self._send(200, "step 1\nstep 2\n", "text/plain")
                if method == "GET":
                    return self._send(200, server.pods[name])
                if method == "DELETE":
                    return self._send(200, server.pods.pop(name))
                return self._send(405, {})

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_DELETE(self) -> None:
                self._route("DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def kubeconfig(self, path) -> str:
        host, port = self.httpd.server_address[:2]
        config = {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
                  "clusters": [{"name": "fake", "cluster": {"server": f"http://{host}:{port}"}}],
                  "users": [{"name": "agent", "user": {"token": "fake-token"}}],
                  "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "agent"}}]}
        path.write_text(json.dumps(config))
        return str(path)


def test_create_read_list_log_and_delete_a_pod(tmp_path):
    spec = {"command": ["python", "train.py"], "image": "pytorch/pytorch:2.5-cuda12.4", "device_indices": [0],
            "device_uuids": ["GPU-1"], "compute_milli": 500, "memory_mib": 40960}
    manifest = build_pod_manifest(ASSIGNMENT, spec, namespace="tidegrid", node_id="node-1",
                                  node_name="gpu-node-07")
    with FakeApiServer() as api:
        client = K8sClient("tidegrid", kubeconfig=api.kubeconfig(tmp_path / "kubeconfig"))
        client.create_pod(manifest)
        client.create_pod(manifest)  # a retried create of an existing pod is fine (409)
        stored = api.pods[f"tg-{ASSIGNMENT}"]
        assert stored["spec"]["containers"][0]["resources"]["limits"] == {
            "nvidia.com/gpu": "1", "nvidia.com/gpumem": "40960", "nvidia.com/gpucores": "50"}
        pod = client.read_pod(f"tg-{ASSIGNMENT}")
        assert pod["metadata"]["labels"]["tidegrid.io/assignment-id"] == ASSIGNMENT
        assert pod_state(pod).state == "starting"
        assert [p["metadata"]["name"] for p in client.list_pods("tidegrid.io/node-id=node-1")] == [f"tg-{ASSIGNMENT}"]
        assert client.list_pods("tidegrid.io/node-id=other") == []
        assert client.read_log_tail(f"tg-{ASSIGNMENT}") == "step 1\nstep 2\n"
        assert client.delete_pod(f"tg-{ASSIGNMENT}") is True
        assert client.delete_pod(f"tg-{ASSIGNMENT}") is False
        assert client.read_pod(f"tg-{ASSIGNMENT}") is None
        assert client.read_log_tail("missing") == ""
    assert ("POST", "/api/v1/namespaces/tidegrid/pods") in api.requests


def test_an_unreachable_api_server_is_a_k8s_error(tmp_path):
    with FakeApiServer() as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    client = K8sClient("tidegrid", kubeconfig=kubeconfig)  # the server is gone now
    client._core.api_client.configuration.retries = 0
    with pytest.raises(K8sError):
        client.read_pod("anything")
