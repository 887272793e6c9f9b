"""A tiny fake TideGrid agent API on 127.0.0.1 (stdlib http.server in a thread) and waiting helpers.

It follows docs/agent-protocol.md closely enough to test the agent: one-time enrollment, heartbeats
idempotent on seq (``duplicate`` for seq ≤ the last accepted), ``start`` repeated until the agent
reports the assignment, ``stop`` until it reports a final state, ``ack_final`` for final states. The
test controls it: ``mode`` = "ok" | "outage" (503) | "unauthorized" (401).

No fixtures here on purpose: these are plain context managers, so the tests need no conftest.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FINAL = {"succeeded", "failed", "stopped"}


class FakeServer:
    def __init__(self, *, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.mode = "ok"
        self.enroll_mode = "ok"
        self.cond = threading.Condition()
        self.enrollments: list[dict[str, Any]] = []
        self.credentials: dict[str, str] = {}  # credential -> node id
        self.node_ids: dict[str, str] = {}  # hostname -> node id
        self.last_seq: dict[str, int] = {}
        self.received: list[dict[str, Any]] = []  # every heartbeat body that reached the handler
        self.accepted: list[dict[str, Any]] = []  # reports stored (not duplicates)
        self.duplicates: list[int] = []
        self.refused = 0
        self.starts: dict[str, dict[str, Any]] = {}
        self.stops: set[str] = set()
        self.final: dict[str, dict[str, Any]] = {}
        self.extra_reply: dict[str, Any] = {}
        self.fail_after_store: set[int] = set()  # store these seqs, then answer 503 (a lost reply)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # --- control ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def set_mode(self, mode: str) -> None:
        with self.cond:
            self.mode = mode

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def accepted_seqs(self, node_id: str | None = None) -> list[int]:
        return [r["seq"] for r in self.accepted if node_id is None or r["node_id"] == node_id]

    def assignment_states(self, assignment_id: str) -> list[str]:
        return [a["state"] for r in self.accepted for a in r["assignments"] if a["id"] == assignment_id]

    # --- protocol ---------------------------------------------------------------------------------

    def _enroll(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.enroll_mode == "outage":
            return 503, {"error": {"code": "unavailable", "message": "down"}}
        if self.enroll_mode == "unauthorized" or not str(body.get("bootstrap_token", "")).startswith("tgb_"):
            return 401, {"error": {"code": "enrollment_refused", "message": "token unknown"}}
        self.enrollments.append(body)
        node_id = self.node_ids.setdefault(body["hostname"], str(uuid.uuid4()))
        credential = f"tgn_{uuid.uuid4().hex}"
        self.credentials = {c: n for c, n in self.credentials.items() if n != node_id}  # re-enroll replaces
        self.credentials[credential] = node_id
        self.last_seq[node_id] = 0  # as the real server: a new credential starts a new sequence
        return 201, {"node_id": node_id, "credential": credential, "heartbeat_interval_s": self.interval_s,
                     "cluster_id": "c-1", "region": "cn-shanghai", "last_seq": 0}

    def _heartbeat(self, auth: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.received.append(body)
        if self.mode == "outage":
            self.refused += 1
            return 503, {"error": {"code": "unavailable", "message": "maintenance"}}
        node_id = self.credentials.get(auth.removeprefix("Node "))
        if self.mode == "unauthorized" or node_id is None:
            return 401, {"error": {"code": "not_authenticated", "message": "credential revoked"}}
        if body.get("node_id") != node_id:
            return 403, {"error": {"code": "wrong_node", "message": "not yours"}}
        seq = body["seq"]
        duplicate = seq <= self.last_seq.get(node_id, 0)
        final_ids, reported = [], set()
        if duplicate:
            self.duplicates.append(seq)
        else:
            self.last_seq[node_id] = seq
            self.accepted.append(body)
            for item in body.get("assignments", []):
                reported.add(item["id"])
                if item["state"] in FINAL:
                    self.final[item["id"]] = item
                    final_ids.append(item["id"])
        work = []
        for assignment_id in list(self.stops):
            if assignment_id in self.final:
                self.stops.discard(assignment_id)
            else:
                work.append({"id": assignment_id, "action": "stop"})
        for assignment_id, spec in list(self.starts.items()):
            if assignment_id in reported or assignment_id in self.final:
                del self.starts[assignment_id]
            else:
                work.append({"id": assignment_id, "action": "start", "spec": spec})
        if seq in self.fail_after_store:
            self.fail_after_store.discard(seq)
            return 503, {"error": {"code": "unavailable", "message": "reply lost"}}
        reply = {"ack_seq": seq, "duplicate": duplicate, "heartbeat_interval_s": self.interval_s,
                 "ack_final": final_ids, "assignments": work}
        reply.update(self.extra_reply)
        return 200, reply

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.cond:
                    if self.path == "/api/agent/v1/enroll":
                        status, answer = server._enroll(body)
                    elif self.path == "/api/agent/v1/heartbeat":
                        status, answer = server._heartbeat(self.headers.get("Authorization", ""), body)
                    else:
                        status, answer = 404, {"error": {"code": "not_found", "message": self.path}}
                    server.cond.notify_all()
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.01) -> bool:
    """Poll a condition that has no event to wait on (a child process, a file); never a fixed sleep."""
    deadline = time.monotonic() + timeout
    event = threading.Event()
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        event.wait(step)


class AgentThread:
    """Runs an Agent's loop in a thread; ``stop()`` sets its stop event and returns its exit status."""

    def __init__(self, agent) -> None:
        self.agent = agent
        self.code: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.code = self.agent.run()

    def __enter__(self) -> AgentThread:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self, timeout: float = 20.0) -> int | None:
        self.agent.stop()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the agent did not stop"
        return self.code

    def join(self, timeout: float = 10.0) -> int | None:
        self._thread.join(timeout)
        return self.code
