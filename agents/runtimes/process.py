"""Run each assignment as a local process (bare-metal hosts).

Each workload gets its own session (so its whole process group can be signalled), an environment of the
agent's own environment + the spec's ``env`` + the protocol's variables (which win, so a spec cannot
widen its device set), and a log file ``<state-dir>/logs/<assignment>.log`` with stdout and stderr.

A small record per assignment is kept in ``<state-dir>/assignments/`` (written atomically) so that an
agent that restarts after a crash finds what it had launched: a workload still alive then cannot be
supervised (it is not our child any more), so it is stopped and reported ``failed``; a final state the
server had not acknowledged yet is reported again. On a clean agent stop (SIGTERM) the running
workloads are stopped (SIGTERM, then SIGKILL after the grace period) and reported ``stopped``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..protocol import AssignmentSpec, ProtocolError
from ..statefiles import atomic_write_json
from ..timeutil import isoformat, utcnow
from .base import (
    FAILED,
    LOG_TAIL_BYTES,
    RUNNING,
    STARTING,
    STOPPED,
    SUCCEEDED,
    AssignmentStatus,
    Runtime,
)

logger = logging.getLogger(__name__)

# Never hand the agent's own secrets to a tenant's workload.
_PRIVATE_ENV = ("TIDEGRID_TOKEN", "TIDEGRID_AGENT_")
# What the server hears about an instance's endpoints (the ports and token are inside these).
_REPORTED_CONNECTION = ("ssh", "jupyter")
_IDLE = "import signal\nsignal.pause()"


def read_log_tail(path: Path, limit: int = LOG_TAIL_BYTES) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            data = handle.read(limit)
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return text[-limit:]


def exit_code_of(returncode: int) -> int:
    """Popen reports death by signal N as -N; report it the way a shell does (128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


@dataclass
class _Workload:
    id: str
    spec: AssignmentSpec
    log_path: Path
    started_at: datetime
    process: subprocess.Popen | None = None
    pid: int | None = None
    state: str = STARTING
    exit_code: int | None = None
    finished_at: datetime | None = None
    stop_requested: bool = False
    connection: dict[str, str] = field(default_factory=dict)
    note: str = ""
    kill_timer: threading.Timer | None = None
    identity: str | None = None

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id, "pid": self.pid, "identity": self.identity, "state": self.state, "exit_code": self.exit_code,
            "started_at": isoformat(self.started_at), "finished_at": isoformat(self.finished_at),
            "log_path": str(self.log_path), "connection": self.connection, "note": self.note,
            "spec": self.spec.to_dict(),
        }


class ProcessRuntime(Runtime):
    name = "process"

    def __init__(self, *, state_dir: Path, vendor: str = "nvidia", hostname: str = "localhost",
                 grace_s: float = 10.0, ssh_port_base: int = 22000, ssh_user: str = "tidegrid",
                 jupyter_port_base: int = 28000) -> None:
        self._vendor = vendor
        self._hostname = hostname
        self._grace_s = grace_s
        self._ssh_port_base = ssh_port_base
        self._ssh_user = ssh_user
        self._jupyter_port_base = jupyter_port_base
        self._log_dir = Path(state_dir) / "logs"
        self._record_dir = Path(state_dir) / "assignments"
        self._work_dir = Path(state_dir) / "work"
        for directory in (self._log_dir, self._record_dir, self._work_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._workloads: dict[str, _Workload] = {}

    # --- records ----------------------------------------------------------------------------------

    def _record_path(self, assignment_id: str) -> Path:
        return self._record_dir / f"{assignment_id}.json"

    def _save(self, workload: _Workload) -> None:
        try:
            atomic_write_json(self._record_path(workload.id), workload.record())
        except OSError as exc:
            logger.warning("could not record assignment %s: %s", workload.id, exc)

    # --- interface --------------------------------------------------------------------------------

    def knows(self, assignment_id: str) -> bool:
        return assignment_id in self._workloads

    def _free_port(self, key: str, base: int) -> int:
        used = {int(w.connection[key]) for w in self._workloads.values()
                if w.connection.get(key) and not w.finished_at}
        port = base + 1
        while port in used:
            port += 1
        return port

    def _instance_connection(self) -> dict[str, str]:
        """What an interactive instance is reachable at: an SSH port and a Jupyter port on this host, taken
        from two ranges, and a Jupyter token. The agent allocates and reports them and puts them in the
        workload's environment (TIDEGRID_SSH_PORT, TIDEGRID_JUPYTER_PORT, TIDEGRID_JUPYTER_TOKEN); the
        workload's image is what listens there (its sshd and ``jupyter lab --port … --IdentityProvider.token …``)."""
        ssh_port = self._free_port("ssh_port", self._ssh_port_base)
        jupyter_port = self._free_port("jupyter_port", self._jupyter_port_base)
        token = secrets.token_urlsafe(18)
        return {"ssh": f"ssh -p {ssh_port} {self._ssh_user}@{self._hostname}",
                "jupyter": f"http://{self._hostname}:{jupyter_port}/lab?token={token}",
                "ssh_port": str(ssh_port), "jupyter_port": str(jupyter_port), "jupyter_token": token}

    def start(self, assignment_id: str, spec: AssignmentSpec | Mapping[str, Any]) -> None:
        if assignment_id in self._workloads:
            return
        # The id names files, so it must be a plain token (the server sends UUIDs).
        if not assignment_id or not all(ch.isalnum() or ch in "-_" for ch in assignment_id):
            logger.error("refusing assignment with an unusable id %r", assignment_id)
            return
        log_path = self._log_dir / f"{assignment_id}.log"
        try:
            spec, problem = AssignmentSpec.coerce(spec), None
        except ProtocolError as error:
            spec, problem = AssignmentSpec(), f"the assignment's spec is not valid: {error}"
        workload = _Workload(id=assignment_id, spec=spec, log_path=log_path, started_at=utcnow())
        self._workloads[assignment_id] = workload
        if problem:
            self._fail_to_launch(workload, problem)
            return
        if spec.is_instance:
            workload.connection = self._instance_connection()
        command = list(spec.command)
        if not command and spec.is_instance:
            # An instance without a command runs until it is stopped (a container would run its image's
            # entrypoint; a bare-metal host has no image, only the slice and the ports).
            command = [sys.executable, "-c", _IDLE]
        if not command:
            self._fail_to_launch(workload, "the assignment has no command to run")
            return
        env = {key: value for key, value in os.environ.items() if not key.startswith(_PRIVATE_ENV)}
        env.update(spec.env)
        env.update(spec.identity_env(assignment_id))
        env.update(spec.device_env(vendor=self._vendor))
        if workload.connection:
            env["TIDEGRID_SSH_PORT"] = workload.connection["ssh_port"]
            env["TIDEGRID_JUPYTER_PORT"] = workload.connection["jupyter_port"]
            env["TIDEGRID_JUPYTER_TOKEN"] = workload.connection["jupyter_token"]
        cwd = self._work_dir / assignment_id
        cwd.mkdir(exist_ok=True, mode=0o700)
        if spec.ssh_authorized_keys:
            try:
                env["TIDEGRID_SSH_AUTHORIZED_KEYS_FILE"] = str(write_authorized_keys(cwd, spec.ssh_authorized_keys))
            except OSError as exc:
                self._fail_to_launch(workload, f"could not write the instance's authorized_keys: {exc}")
                return
        try:
            with log_path.open("ab") as log:
                workload.process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                    cwd=cwd, start_new_session=True, close_fds=True,
                )
        except OSError as exc:
            self._fail_to_launch(workload, f"could not start {command[0]!r}: {exc}")
            return
        workload.pid = workload.process.pid
        workload.identity = process_identity(workload.pid)
        logger.info("assignment %s started as pid %d: %s", assignment_id, workload.pid, shlex.join(command))
        self._save(workload)

    def _fail_to_launch(self, workload: _Workload, message: str) -> None:
        logger.error("assignment %s: %s", workload.id, message)
        workload.note = f"[tidegrid-agent] {message}\n"
        workload.state, workload.exit_code, workload.finished_at = FAILED, None, utcnow()
        with workload.log_path.open("ab") as log:
            log.write(workload.note.encode())
        self._save(workload)

    def stop(self, assignment_id: str) -> None:
        workload = self._workloads.get(assignment_id)
        if workload is None or workload.finished_at is not None or workload.stop_requested:
            return
        workload.stop_requested = True
        if workload.process is None:
            return
        logger.info("stopping assignment %s (pid %d)", assignment_id, workload.pid)
        self._signal(workload, signal.SIGTERM)
        timer = threading.Timer(self._grace_s, self._kill_if_alive, args=(workload,))
        timer.daemon = True
        workload.kill_timer = timer
        timer.start()

    def _signal(self, workload: _Workload, signum: int) -> None:
        try:
            os.killpg(workload.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError as exc:
            logger.warning("cannot signal assignment %s: %s", workload.id, exc)

    def _kill_if_alive(self, workload: _Workload) -> None:
        # Runs on the timer thread: only reads the Popen (poll is thread-safe) and sends a signal.
        process = workload.process
        if process is not None and process.poll() is None:
            logger.warning("assignment %s ignored SIGTERM for %.0f s; killing it", workload.id, self._grace_s)
            self._signal(workload, signal.SIGKILL)

    def poll(self) -> list[AssignmentStatus]:
        statuses = []
        for workload in self._workloads.values():
            if workload.finished_at is None and workload.process is not None:
                returncode = workload.process.poll()
                if returncode is None:
                    if workload.state == STARTING:
                        workload.state = RUNNING
                        self._save(workload)
                else:
                    self._finish(workload, returncode)
            statuses.append(self._status(workload))
        return statuses

    def _finish(self, workload: _Workload, returncode: int) -> None:
        if workload.kill_timer is not None:
            workload.kill_timer.cancel()
        # The group may still hold children the workload left behind; they go with it.
        self._signal(workload, signal.SIGKILL)
        workload.exit_code = exit_code_of(returncode)
        workload.finished_at = utcnow()
        if workload.stop_requested:
            workload.state = STOPPED
        else:
            workload.state = SUCCEEDED if returncode == 0 else FAILED
        logger.info("assignment %s %s (exit code %s)", workload.id, workload.state, workload.exit_code)
        self._save(workload)

    def _status(self, workload: _Workload) -> AssignmentStatus:
        return AssignmentStatus(
            id=workload.id, state=workload.state, exit_code=workload.exit_code,
            log_tail=read_log_tail(workload.log_path), started_at=workload.started_at,
            finished_at=workload.finished_at,
            connection={key: value for key, value in workload.connection.items() if key in _REPORTED_CONNECTION},
        )

    def forget(self, assignment_id: str) -> None:
        workload = self._workloads.pop(assignment_id, None)
        if workload is None:
            return
        if workload.finished_at is None:
            logger.warning("server acknowledged assignment %s as final while it still runs; stopping it",
                           assignment_id)
            self._stop_and_wait(workload)
        self._record_path(assignment_id).unlink(missing_ok=True)

    def spec_of(self, assignment_id: str) -> AssignmentSpec | None:
        workload = self._workloads.get(assignment_id)
        return workload.spec if workload is not None else None

    def running_specs(self) -> list[AssignmentSpec]:
        return [w.spec for w in self._workloads.values() if w.finished_at is None and w.process is not None]

    # --- lifecycle --------------------------------------------------------------------------------

    def _stop_and_wait(self, workload: _Workload) -> None:
        process = workload.process
        if process is None or workload.finished_at is not None:
            return
        workload.stop_requested = True
        self._signal(workload, signal.SIGTERM)
        try:
            returncode = process.wait(timeout=self._grace_s)
        except subprocess.TimeoutExpired:
            self._signal(workload, signal.SIGKILL)
            returncode = process.wait()
        self._finish(workload, returncode)

    def shutdown(self) -> None:
        """Stop every running workload: an agent that is not running cannot supervise or report them."""
        running = [w for w in self._workloads.values() if w.finished_at is None and w.process is not None]
        for workload in running:
            workload.stop_requested = True
            self._signal(workload, signal.SIGTERM)
        deadline = time.monotonic() + self._grace_s
        for workload in running:
            try:
                returncode = workload.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(workload, signal.SIGKILL)
                returncode = workload.process.wait()
            self._finish(workload, returncode)
        if running:
            logger.info("stopped %d running assignment(s) on shutdown", len(running))

    def recover(self) -> None:
        for path in sorted(self._record_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text())
                assignment_id = record["id"]
            except (OSError, ValueError, KeyError) as exc:
                logger.warning("ignoring unreadable assignment record %s: %s", path, exc)
                continue
            if assignment_id in self._workloads:
                continue
            try:
                spec = AssignmentSpec.coerce(record.get("spec"))
            except ProtocolError:
                spec = AssignmentSpec()
            workload = _Workload(
                id=assignment_id, spec=spec, log_path=Path(record["log_path"]),
                started_at=_parse_time(record.get("started_at")) or utcnow(), pid=record.get("pid"),
                state=record.get("state", FAILED), exit_code=record.get("exit_code"),
                finished_at=_parse_time(record.get("finished_at")),
                connection=record.get("connection") or {}, note=record.get("note", ""),
            )
            if workload.finished_at is None:
                # Launched by an earlier agent process that died: no longer our child, so its exit code
                # is lost. Stop whatever is left of it and say so.
                identity = record.get("identity")
                if workload.pid and identity and process_identity(workload.pid) == identity:
                    _kill_group_if_alive(workload.pid)
                workload.state, workload.finished_at = FAILED, utcnow()
                workload.note = "[tidegrid-agent] the agent restarted while this workload ran; it was stopped\n"
                with workload.log_path.open("ab") as log:
                    log.write(workload.note.encode())
                logger.warning("assignment %s was left running by a previous agent; stopped, reported failed",
                               assignment_id)
                self._save(workload)
            self._workloads[assignment_id] = workload


def write_authorized_keys(work_dir: Path, keys: tuple[str, ...] | list[str]) -> Path:
    """``<work dir>/.ssh/authorized_keys`` with one validated key a line (0600 in a 0700 directory, as sshd's
    StrictModes wants); the instance's sshd is pointed at it (``AuthorizedKeysFile``)."""
    ssh_dir = work_dir / ".ssh"
    ssh_dir.mkdir(exist_ok=True, mode=0o700)
    path = ssh_dir / "authorized_keys"
    fd = os.open(ssh_dir / ".authorized_keys.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(f"{key}\n" for key in keys))
    os.replace(ssh_dir / ".authorized_keys.tmp", path)
    return path


def process_identity(pid: int) -> str | None:
    """Boot id + start time of a process: tells a surviving workload from an unrelated process that got
    the same pid later (after a reboot, say), so recovery never signals a stranger. None off Linux."""
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (start time in clock ticks) counted after the parenthesised command name.
    fields = stat.rsplit(")", 1)[-1].split()
    return f"{boot_id}:{fields[19]}" if len(fields) > 19 else None


def _kill_group_if_alive(pgid: int) -> None:
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            return


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
