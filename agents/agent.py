"""The agent loop: enroll once, then collect → spool → send (replaying the spool in order) → apply.

Collection and delivery are decoupled: a report is collected every interval whatever the server does,
and written to the spool first; delivery sends the spool oldest first and removes a report only once
the server answered 200 for it (a duplicate acknowledgement counts). While the server is unreachable
or failing, delivery backs off exponentially (with jitter, capped) but collection goes on, so an outage
shorter than the spool bound loses no telemetry; when the server is back the spool drains in seq order,
each replayed report marked ``"replayed": true``.

Stopping (SIGTERM/SIGINT set ``stop_event``): the current iteration finishes, the runtime's ``shutdown``
runs (the process runtime stops its workloads, the kubernetes runtime leaves its pods), one last report
with the final states is collected and one delivery attempt made; what is not delivered stays spooled
for the next start.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .backoff import Backoff
from .client import AgentClient, CredentialRejected, ReportRejected, TransientError, WrongNode
from .devices.base import DeviceBackend
from .protocol import AssignmentUsage, HeartbeatReply, HeartbeatReport, ProtocolError
from .runtimes.base import FAILED, STOPPED, AssignmentStatus, Runtime
from .spool import DEFAULT_MAX_REPORTS, Spool
from .state import AgentState
from .timeutil import utcnow

logger = logging.getLogger("agents")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CREDENTIAL = 3
EXIT_WRONG_NODE = 4

MIN_INTERVAL_S = 0.05
MAX_INTERVAL_S = 3600.0
FINAL_FLUSH_BUDGET_S = 10.0


class AgentExit(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class AgentConfig:
    server: str
    state_dir: Path
    hostname: str
    token: str | None = None
    interval_s: float = 10.0
    interval_pinned: bool = False  # an operator's explicit --interval outranks the server's suggestion
    spool_max: int = DEFAULT_MAX_REPORTS
    labels: dict[str, str] = field(default_factory=dict)
    cpu_milli: int | None = None
    memory_mib: int | None = None
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    http_timeout_s: float = 10.0
    ca_file: str | None = None
    durable: bool = True
    initial_delay_s: float = 0.0


class _NodeLog(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        return f"[{self.extra['node']}] {msg}", kwargs


def host_cpu_milli() -> int:
    return (os.cpu_count() or 1) * 1000


def host_memory_mib() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        return 0


def clamp_interval(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    if number != number or number <= 0:  # NaN or nonsense: keep what we have
        return default
    return min(MAX_INTERVAL_S, max(MIN_INTERVAL_S, number))


class Agent:
    def __init__(self, config: AgentConfig, *, backend: DeviceBackend, runtime: Runtime,
                 client: AgentClient | None = None, stop_event: threading.Event | None = None,
                 clock: Callable[[], float] = time.monotonic, backoff: Backoff | None = None) -> None:
        self.config = config
        self.backend = backend
        self.runtime = runtime
        self.client = client or AgentClient(config.server, timeout_s=config.http_timeout_s, ca_file=config.ca_file)
        self.stop_event = stop_event or threading.Event()
        self.clock = clock
        self.backoff = backoff or Backoff(base_s=config.backoff_base_s, cap_s=config.backoff_cap_s)
        self.log = _NodeLog(logger, {"node": config.hostname})
        state_dir = Path(config.state_dir)
        self.state = AgentState.load(state_dir, durable=config.durable)
        self.spool = Spool(state_dir / "spool", max_reports=config.spool_max, durable=config.durable)
        if self.spool.max_seq >= self.state.next_seq:
            self.state.next_seq = self.spool.max_seq + 1  # a crash between spooling and saving the state
        if config.interval_pinned:
            self.interval_s = clamp_interval(config.interval_s, 10.0)
        else:
            self.interval_s = clamp_interval(self.state.heartbeat_interval_s or config.interval_s, 10.0)
        self._synthetic: dict[str, AssignmentStatus] = {}
        # Reports already spooled when the agent starts were collected by an earlier run: replays.
        self._last_collected_seq = self.spool.max_seq + 1 if len(self.spool) else 0
        self._next_send_at = 0.0
        self._told_pinned = False
        self._start_delay_spent = False  # enrollment already waited the initial delay
        self.iterations = 0

    # --- public -----------------------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> int:
        """Run until stopped; the process exit status."""
        try:
            if not self.state.enrolled:
                self._enroll()
                if not self.state.enrolled:  # stopped while waiting for the server
                    self._guard("device backend close", self.backend.close)
                    return EXIT_OK
            self.log.info("node %s: reporting to %s every %.1f s (runtime %s, devices %s, %d report(s) spooled)",
                          self.state.node_id, self.config.server, self.interval_s, self.runtime.name,
                          self.backend.name, len(self.spool))
            self.runtime.attach(node_id=self.state.node_id)
            self.runtime.recover()
            self._loop()
        except AgentExit as exit_:
            self.log.error("%s", exit_)
            self._guard("runtime shutdown", self.runtime.shutdown)
            self._guard("device backend close", self.backend.close)
            return exit_.code
        self._shutdown()
        return EXIT_OK

    # --- enrollment -------------------------------------------------------------------------------

    def _enroll(self) -> None:
        if not self.config.token:
            raise AgentExit(EXIT_USAGE, f"no credential in {self.config.state_dir} and no bootstrap token given "
                                        "(--token): create one for this cluster in the provider portal")
        devices = [device.to_dict() for device in self.backend.inventory()]
        payload = {
            "bootstrap_token": self.config.token, "hostname": self.config.hostname,
            "agent_version": __version__, "runtime": self.runtime.name, "device_backend": self.backend.name,
            "cpu_milli": self.config.cpu_milli if self.config.cpu_milli is not None else host_cpu_milli(),
            "memory_mib": self.config.memory_mib if self.config.memory_mib is not None else host_memory_mib(),
            "labels": dict(self.config.labels), "devices": devices,
        }
        if self.config.initial_delay_s > 0:
            # A simulated fleet spreads its enrollments too: a thousand at once is a retry storm.
            self.stop_event.wait(self.config.initial_delay_s)
            self._start_delay_spent = True
        while not self.stop_event.is_set():
            try:
                answer = self.client.enroll(payload)
            except CredentialRejected as error:
                raise AgentExit(EXIT_CREDENTIAL, f"enrollment refused, the bootstrap token is unknown, used up, "
                                                 f"expired or revoked ({error}): create a new one") from None
            except (ReportRejected, WrongNode) as error:
                raise AgentExit(EXIT_USAGE, f"enrollment rejected: {error}") from None
            except TransientError as error:
                delay = self.backoff.failure(error.retry_after)
                self.log.warning("enrollment failed (%s); retrying in %.1f s", error, delay)
                self.stop_event.wait(delay)
                continue
            self.backoff.reset()
            self.state.node_id = str(answer["node_id"])
            self.state.credential = str(answer["credential"])
            self.state.cluster_id = answer.get("cluster_id")
            self.state.region = answer.get("region")
            self.state.server = self.config.server
            if answer.get("heartbeat_interval_s"):
                self._server_interval(answer["heartbeat_interval_s"])
            # A (re-)enrollment starts where the server's sequence for this credential stands (0 for a new
            # token). Reports still spooled were collected under an earlier enrollment whose state is gone:
            # the server restarted the sequence, so replaying them would store them twice.
            stale = self.spool.seqs()
            if stale:
                self.log.warning("dropping %d report(s) spooled under an earlier enrollment", len(stale))
                for seq in stale:
                    self.spool.remove(seq)
                self._last_collected_seq = 0
            if isinstance(answer.get("last_seq"), int) and not isinstance(answer["last_seq"], bool):
                self.state.next_seq = answer["last_seq"] + 1
            self.state.save()
            self.log.info("enrolled as node %s (cluster %s, region %s) with %d device(s)", self.state.node_id,
                          self.state.cluster_id, self.state.region, len(devices))
            return

    # --- loop -------------------------------------------------------------------------------------

    def _guard(self, what: str, call: Callable[[], Any]) -> Any:
        """Run one step; an exception is logged and swallowed so one bad iteration never kills the agent."""
        try:
            return call()
        except AgentExit:
            raise
        except Exception as error:
            self.log.error("%s failed: %s: %s", what, type(error).__name__, error)
            self.log.debug("%s traceback", what, exc_info=True)
            return None

    def _loop(self) -> None:
        delay = 0.0 if self._start_delay_spent else self.config.initial_delay_s
        next_collect = self.clock() + max(0.0, delay)
        while not self.stop_event.is_set():
            now = self.clock()
            if now >= next_collect:
                next_collect = now + self.interval_s
                self.iterations += 1
                self._guard("collecting a report", self._collect)
            if len(self.spool) and self.clock() >= self._next_send_at:
                self._guard("sending reports", self._flush)
            wake = next_collect
            if len(self.spool):
                wake = min(wake, self._next_send_at)
            self.stop_event.wait(max(0.0, wake - self.clock()))

    def _shutdown(self) -> None:
        self.log.info("stopping")
        self._guard("runtime shutdown", self.runtime.shutdown)
        self._guard("collecting the final report", self._collect)
        try:
            self._guard("sending the final reports", lambda: self._flush(final=True))
        except AgentExit as exit_:
            self.log.error("%s", exit_)
        self._guard("device backend close", self.backend.close)
        if len(self.spool):
            self.log.info("%d report(s) stay spooled for the next start", len(self.spool))
        self.log.info("stopped")

    # --- collect ----------------------------------------------------------------------------------

    def _collect(self) -> None:
        statuses = self.runtime.poll()
        known = {status.id for status in statuses}
        statuses += [status for id_, status in self._synthetic.items() if id_ not in known]
        self.backend.update_workloads(self.runtime.running_specs())
        try:
            samples = list(self.backend.sample())
        except Exception as error:
            # The assignments' states still matter: report them without device readings this time.
            self.log.error("reading the devices failed: %s: %s", type(error).__name__, error)
            samples = []
        for status in statuses:
            spec = self.runtime.spec_of(status.id) if status.state == "running" else None
            if spec is not None:
                usage = self._guard("attributing device use", lambda s=spec: self.backend.assignment_usage(s))
                status.usage = AssignmentUsage(**usage) if usage else None
        seq = self.state.next_seq
        report = HeartbeatReport(node_id=self.state.node_id, seq=seq, collected_at=utcnow(), devices=tuple(samples),
                                 assignments=tuple(statuses))
        self.spool.append(report.to_dict())
        self.state.next_seq = seq + 1
        self.state.save()
        self._last_collected_seq = seq

    # --- send -------------------------------------------------------------------------------------

    def _flush(self, *, final: bool = False) -> None:
        timeout = min(5.0, self.config.http_timeout_s) if final else None
        deadline = self.clock() + FINAL_FLUSH_BUDGET_S
        for seq in self.spool.seqs():
            if final and self.clock() > deadline:
                return  # a stop must stay prompt; the spool keeps the rest for the next start
            if self.stop_event.is_set() and not final:
                return  # stopping: the final flush in _shutdown sends what it can, in order
            report = self.spool.read(seq)
            if report is None:
                continue
            if report.get("node_id") != self.state.node_id:
                self.log.warning("dropping spooled report %d of another node id (%s)", seq, report.get("node_id"))
                self.spool.remove(seq)
                continue
            report["replayed"] = seq < self._last_collected_seq
            try:
                reply = self.client.heartbeat(self.state.credential, report, timeout_s=timeout)
            except TransientError as error:
                delay = self.backoff.failure(error.retry_after)
                self._next_send_at = self.clock() + delay
                self.log.warning("heartbeat %d failed (%s); %d report(s) spooled, next try in %.1f s",
                                 seq, error, len(self.spool), delay)
                return
            except ReportRejected as error:
                self.log.error("server rejected report %d (%s); dropping it", seq, error)
                self.spool.remove(seq)
                continue
            except CredentialRejected as error:
                raise AgentExit(EXIT_CREDENTIAL, f"the server no longer accepts this node's credential ({error}): "
                                                 f"it was revoked or replaced; re-enroll with a new bootstrap "
                                                 f"token (remove {self.state.path})") from None
            except WrongNode as error:
                raise AgentExit(EXIT_WRONG_NODE, f"the credential belongs to another node ({error}); "
                                                 f"the state in {self.config.state_dir} is inconsistent") from None
            if self.backoff.failures:
                self.log.info("server reachable again; delivering %d spooled report(s)", len(self.spool))
                self.backoff.reset()
            self._next_send_at = 0.0
            self.spool.remove(seq)  # the server has it, whatever its answer says
            try:
                answer = HeartbeatReply.from_dict(reply)
            except ProtocolError as error:
                self.log.error("cannot read the answer to report %d: %s", seq, error)
                continue
            if answer.ack_seq != seq:
                self.log.warning("report %d acknowledged as %r", seq, answer.ack_seq)
            if answer.duplicate:
                self.log.info("server already had report %d (duplicate acknowledgement)", seq)
            self._guard(f"applying the answer to report {seq}", lambda answer=answer: self._apply(answer))

    # --- apply ------------------------------------------------------------------------------------

    def _server_interval(self, value: Any) -> None:
        interval = clamp_interval(value, self.interval_s)
        self.state.heartbeat_interval_s = interval
        if self.config.interval_pinned:
            if interval != self.interval_s and not self._told_pinned:
                self.log.info("server suggests a %.1f s interval; keeping --interval %.2f s", interval,
                              self.interval_s)
                self._told_pinned = True
            return
        if interval != self.interval_s:
            self.log.info("heartbeat interval now %.1f s", interval)
            self.interval_s = interval

    def _apply(self, reply: HeartbeatReply) -> None:
        if reply.heartbeat_interval_s is not None:
            self._server_interval(reply.heartbeat_interval_s)
        for assignment_id in reply.ack_final:
            if self.runtime.knows(assignment_id):
                self.runtime.forget(assignment_id)
            self._synthetic.pop(assignment_id, None)
        for problem in reply.malformed:
            self.log.warning("ignoring malformed work item %s", problem)
        for item in reply.assignments:
            assignment_id, action = item.id, item.action
            if action == "start":
                if self.runtime.knows(assignment_id) or assignment_id in self._synthetic:
                    continue
                self.log.info("starting assignment %s", assignment_id)
                try:
                    self.runtime.start(assignment_id, item.spec)
                except Exception as error:
                    self.log.error("starting assignment %s failed: %s: %s", assignment_id, type(error).__name__,
                                   error)
                    if not self.runtime.knows(assignment_id):
                        self._synthetic[assignment_id] = AssignmentStatus(
                            id=assignment_id, state=FAILED, started_at=utcnow(), finished_at=utcnow(),
                            log_tail=f"[tidegrid-agent] could not start: {type(error).__name__}: {error}\n")
            elif action == "stop":
                if self.runtime.knows(assignment_id):
                    self.runtime.stop(assignment_id)
                elif assignment_id not in self._synthetic:
                    # Unknown here (never started, or lost with a previous agent): report it stopped so the
                    # server can close it.
                    self.log.info("stop for assignment %s that does not run here; reporting it stopped",
                                  assignment_id)
                    self._synthetic[assignment_id] = AssignmentStatus(
                        id=assignment_id, state=STOPPED, finished_at=utcnow(),
                        log_tail="[tidegrid-agent] the assignment was not running on this node\n")
            else:
                self.log.warning("ignoring unknown action %r for assignment %s", action, assignment_id)
