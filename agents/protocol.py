"""The agent protocol's messages as typed structures: the assignment spec the server hands out, the
heartbeat report the agent sends and the reply it gets (docs/agent-protocol.md).

One module, no Django and no third-party packages, used by both sides: the server builds specs and
replies and parses reports with it; the agent builds reports and reads replies and specs with it, and
both runtimes take what a spec means (its device share, the workload's variables) from here instead of
re-deriving it. ``from_dict`` validates and raises ``ProtocolError`` with the field errors in the
API's format (``devices.1.utilization_pct``); every integer is bounded by the database column it ends
up in, so no report can overflow one.
"""

from __future__ import annotations

import math
import re
import shlex
import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

INT_MAX = 2**31 - 1  # PostgreSQL INTEGER
BIGINT_MAX = 2**63 - 1  # PostgreSQL BIGINT
MAX_STRING = 8192
LOG_TAIL_CHARS = 4096
MAX_DEVICES = 64
MAX_ASSIGNMENTS = 1000
MAX_CONNECTION_ENTRIES = 16

STARTING, RUNNING, SUCCEEDED, FAILED, STOPPED = "starting", "running", "succeeded", "failed", "stopped"
REPORTED_STATES = (STARTING, RUNNING, SUCCEEDED, FAILED, STOPPED)
FINAL_STATES = frozenset({SUCCEEDED, FAILED, STOPPED})
HEALTH_STATES = ("ok", "degraded", "failed")
ACTIONS = ("start", "stop")


class ProtocolError(ValueError):
    """A message that does not follow the protocol; ``errors`` maps field paths to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items()))
        self.errors = errors


class _Fields:
    """Reads one JSON object's fields, collecting every error under its path instead of stopping at the first."""

    def __init__(self, data: Any, path: str, errors: dict[str, list[str]]) -> None:
        self.path, self.errors = path, errors
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if not isinstance(data, Mapping):
            self.error("", "Must be an object.")

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path and name else (self.path or name or "non_field_errors")

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(self.key(name), []).append(message)

    def _get(self, name: str, required: bool) -> tuple[bool, Any]:
        if name not in self.data or (self.data[name] is None and not required):
            if required:
                self.error(name, "This field is required.")
            return False, None
        return True, self.data[name]

    def int(self, name: str, *, lo: int, hi: int, required: bool = True, default: int | None = None) -> int | None:
        present, value = self._get(name, required)
        if not present:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(name, "Must be an integer.")
            return default
        if not lo <= value <= hi:
            self.error(name, f"Must be between {lo} and {hi}.")
            return default
        return value

    def float(self, name: str, *, lo: float, hi: float, required: bool = True) -> float | None:
        present, value = self._get(name, required)
        if not present:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.error(name, "Must be a number.")
            return None
        if not lo <= value <= hi:
            self.error(name, f"Must be between {lo} and {hi}.")
            return None
        return float(value)

    def str(self, name: str, *, max_length: int = MAX_STRING, required: bool = True, default: str | None = None,
            choices: tuple[str, ...] | None = None) -> str | None:
        present, value = self._get(name, required)
        if not present:
            return default
        if not isinstance(value, str):
            self.error(name, "Must be a string.")
            return default
        if len(value) > max_length:
            self.error(name, f"At most {max_length} characters.")
            return default
        if choices is not None and value not in choices:
            self.error(name, f"Must be one of: {', '.join(choices)}.")
            return default
        return value

    def bool(self, name: str, *, default: bool) -> bool:
        present, value = self._get(name, False)
        if present and not isinstance(value, bool):
            self.error(name, "Must be true or false.")
            return default
        return value if present else default

    def uuid(self, name: str) -> str | None:
        value = self.str(name, max_length=64)
        if value is None:
            return None
        try:
            return str(uuid_module.UUID(value))
        except ValueError:
            self.error(name, "Must be a UUID.")
            return None

    def time(self, name: str, *, required: bool = True) -> datetime | None:
        value = self.str(name, max_length=64, required=required)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.error(name, "Must be an ISO 8601 time.")
            return None
        if moment.tzinfo is None:
            self.error(name, "Must carry a time zone offset (UTC: +00:00).")
            return None
        return moment

    def list(self, name: str, *, max_length: int, required: bool = True) -> list[Any]:
        present, value = self._get(name, required)
        if not present:
            return []
        if not isinstance(value, list):
            self.error(name, "Must be a list.")
            return []
        if len(value) > max_length:
            self.error(name, f"At most {max_length} items.")
            return []
        return value

    def str_dict(self, name: str, *, max_entries: int, max_value: int = MAX_STRING,
                 coerce: bool = False) -> dict[str, str]:
        present, value = self._get(name, False)
        if not present:
            return {}
        if not isinstance(value, Mapping) or len(value) > max_entries:
            self.error(name, f"Must be an object of at most {max_entries} entries.")
            return {}
        result = {}
        for key, item in value.items():
            if coerce and isinstance(item, int | float | bool):
                item = str(item)
            if not isinstance(item, str) or len(str(key)) > 256 or len(item) > max_value:
                self.error(name, f"Entry {str(key)[:40]!r} must be a string of at most {max_value} characters.")
                continue
            result[str(key)] = item
        return result


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ProtocolError(errors)


def isoformat(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


# --- the assignment spec (server → agent) ----------------------------------------------------------------


_SPEC_FIELDS = ("command", "env", "image", "workload_kind", "workload_id", "device_uuids", "device_indices",
                "compute_milli", "memory_mib", "profile", "duration_s", "ssh_authorized_keys")
MAX_SSH_KEYS = 50
# One public key per entry, as the server stores it ("<type> <base64>"): no options, no comment, no line breaks,
# so an entry can never add a second line or a forced command to the instance's authorized_keys.
_SSH_KEY_RE = re.compile(r"(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]{16,16384}={0,2}")


@dataclass(frozen=True)
class AssignmentSpec:
    """What to run and on which share of which devices. Keys the protocol does not name are kept in
    ``extra`` and passed through unchanged."""

    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    image: str | None = None
    workload_kind: str = "batch"
    workload_id: str | None = None
    device_uuids: tuple[str, ...] = ()
    device_indices: tuple[int, ...] = ()
    compute_milli: int | None = None  # per device, 1000 = a whole card
    memory_mib: int | None = None  # per device
    profile: str | None = None  # MIG / vNPU profile
    duration_s: float | None = None  # noop runtime (load tests)
    ssh_authorized_keys: tuple[str, ...] = ()  # the booking member's public keys (instances)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> AssignmentSpec:
        errors: dict[str, list[str]] = {}
        fields = _Fields(data, "", errors)
        raw = fields.data
        command: tuple[str, ...] = ()
        if isinstance(raw.get("command"), str):
            try:
                command = tuple(shlex.split(raw["command"]))
            except ValueError as error:
                fields.error("command", f"Cannot be split into words: {error}.")
        elif raw.get("command") is not None:
            parts = fields.list("command", max_length=4096)
            if not all(isinstance(part, str) for part in parts):
                fields.error("command", "Must be a list of strings.")
            command = tuple(str(part) for part in parts)
        uuids = fields.list("device_uuids", max_length=MAX_DEVICES, required=False)
        indices = fields.list("device_indices", max_length=MAX_DEVICES, required=False)
        if not all(isinstance(u, str) for u in uuids):
            fields.error("device_uuids", "Must be a list of strings.")
        if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= 255 for i in indices):
            fields.error("device_indices", "Must be a list of integers between 0 and 255.")
        ssh_keys = fields.list("ssh_authorized_keys", max_length=MAX_SSH_KEYS, required=False)
        if not all(isinstance(key, str) and _SSH_KEY_RE.fullmatch(key) for key in ssh_keys):
            fields.error("ssh_authorized_keys", "Must be a list of OpenSSH public keys (\"<type> <base64>\").")
        spec = cls(
            command=command,
            env=fields.str_dict("env", max_entries=1024, coerce=True),
            image=fields.str("image", max_length=512, required=False),
            workload_kind=fields.str("workload_kind", max_length=32, required=False, default="batch") or "batch",
            workload_id=fields.str("workload_id", max_length=64, required=False),
            device_uuids=tuple(str(u) for u in uuids),
            device_indices=tuple(int(i) for i in indices if isinstance(i, int)),
            compute_milli=fields.int("compute_milli", lo=0, hi=INT_MAX, required=False),
            memory_mib=fields.int("memory_mib", lo=0, hi=INT_MAX, required=False),
            profile=fields.str("profile", max_length=64, required=False) or None,
            duration_s=fields.float("duration_s", lo=0, hi=10**9, required=False),
            ssh_authorized_keys=tuple(str(key) for key in ssh_keys),
            extra={key: value for key, value in raw.items() if key not in _SPEC_FIELDS},
        )
        _raise(errors)
        return spec

    @classmethod
    def coerce(cls, value: AssignmentSpec | Mapping[str, Any] | None) -> AssignmentSpec:
        return value if isinstance(value, AssignmentSpec) else cls.from_dict(dict(value or {}))

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.extra, "command": list(self.command), "env": dict(self.env), "image": self.image,
            "workload_kind": self.workload_kind, "workload_id": self.workload_id,
            "device_uuids": list(self.device_uuids), "device_indices": list(self.device_indices),
            "compute_milli": self.compute_milli, "memory_mib": self.memory_mib, "profile": self.profile,
            "duration_s": self.duration_s, "ssh_authorized_keys": list(self.ssh_authorized_keys),
        }

    @property
    def is_instance(self) -> bool:
        return self.workload_kind == "instance"

    @property
    def device_count(self) -> int:
        return len(self.device_indices)

    @property
    def is_fractional(self) -> bool:
        """A share of one device (HAMi limits apply), as opposed to whole devices or a fixed MIG/vNPU profile."""
        return (not self.profile and self.compute_milli is not None and self.compute_milli < 1000
                and self.device_count <= 1)

    @property
    def is_shared(self) -> bool:
        """On a device other work may share: a fractional share or a MIG/vNPU profile."""
        return bool(self.profile) or self.is_fractional

    @property
    def hami_percent(self) -> int | None:
        """HAMi takes an integer percentage of the device's cores; never round a slice down to nothing."""
        return None if self.compute_milli is None else max(1, min(100, round(self.compute_milli / 10)))

    def identity_env(self, assignment_id: str) -> dict[str, str]:
        """The variables that tell a workload what it was given, whatever runs it."""
        env = {"TIDEGRID_ASSIGNMENT_ID": assignment_id}
        if self.compute_milli is not None:
            env["TIDEGRID_COMPUTE_MILLI"] = str(self.compute_milli)
        if self.memory_mib is not None:
            env["TIDEGRID_MEMORY_MIB"] = str(self.memory_mib)
        if self.profile:
            env["TIDEGRID_PROFILE"] = self.profile
        return env

    def device_env(self, *, vendor: str) -> dict[str, str]:
        """Device visibility and HAMi-core's limits, for a runtime without a device plugin to set them."""
        indices = ",".join(str(index) for index in self.device_indices)
        env = {"ASCEND_RT_VISIBLE_DEVICES" if vendor == "huawei" else "CUDA_VISIBLE_DEVICES": indices}
        if self.is_fractional:
            if self.memory_mib is not None:
                env["CUDA_DEVICE_MEMORY_LIMIT"] = f"{self.memory_mib}m"
            env["CUDA_DEVICE_SM_LIMIT"] = str(self.hami_percent)
        return env


# --- the heartbeat report (agent → server) ---------------------------------------------------------------


def _in(value: Any, kind: tuple[type, ...], lo: float, hi: float) -> bool:
    # ``type`` rather than isinstance: a bool is not a number here. NaN fails both comparisons.
    return type(value) in kind and lo <= value <= hi


_INT, _NUMBER = (int,), (int, float)


@dataclass(slots=True)
class DeviceSample:
    """One telemetry reading of one accelerator. Counters (energy, ECC, XID) are cumulative."""

    uuid: str
    index: int | None
    utilization_pct: float
    memory_used_mib: int
    memory_total_mib: int | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    energy_mj: int | None = None
    ecc_errors: int = 0
    xid_errors: int = 0
    health: str = "ok"

    @classmethod
    def from_dict(cls, data: Any, path: str, errors: dict[str, list[str]]) -> DeviceSample:
        if type(data) is dict:  # the hot path (every device of every report): one pass, no error bookkeeping
            g = data.get
            uuid, index, util, mem, total = (g("uuid"), g("index"), g("utilization_pct"), g("memory_used_mib"),
                                             g("memory_total_mib"))
            temp, power, energy, ecc, xid, health = (g("temperature_c"), g("power_w"), g("energy_mj"),
                                                     g("ecc_errors"), g("xid_errors"), g("health"))
            if (type(uuid) is str and 0 < len(uuid) <= 100 and (index is None or _in(index, _INT, 0, 255))
                    and _in(util, _NUMBER, 0, 100) and _in(mem, _INT, 0, INT_MAX)
                    and (total is None or _in(total, _INT, 0, INT_MAX))
                    and (temp is None or _in(temp, _NUMBER, -50, 200))
                    and (power is None or _in(power, _NUMBER, 0, 10_000))
                    and (energy is None or _in(energy, _INT, 0, BIGINT_MAX))
                    and (ecc is None or _in(ecc, _INT, 0, BIGINT_MAX))
                    and (xid is None or _in(xid, _INT, 0, BIGINT_MAX))
                    and (health is None or health in HEALTH_STATES)):
                return cls(uuid, index, float(util), mem, total, None if temp is None else float(temp),
                           None if power is None else float(power), energy, ecc or 0, xid or 0, health or "ok")
        f = _Fields(data, path, errors)  # something is wrong: find every field that is
        if not f.data.get("uuid") and "uuid" in f.data:
            f.error("uuid", "Must not be empty.")
        return cls(
            uuid=f.str("uuid", max_length=100) or "", index=f.int("index", lo=0, hi=255, required=False),
            utilization_pct=f.float("utilization_pct", lo=0, hi=100) or 0.0,
            memory_used_mib=f.int("memory_used_mib", lo=0, hi=INT_MAX) or 0,
            memory_total_mib=f.int("memory_total_mib", lo=0, hi=INT_MAX, required=False),
            temperature_c=f.float("temperature_c", lo=-50, hi=200, required=False),
            power_w=f.float("power_w", lo=0, hi=10_000, required=False),
            energy_mj=f.int("energy_mj", lo=0, hi=BIGINT_MAX, required=False),
            ecc_errors=f.int("ecc_errors", lo=0, hi=BIGINT_MAX, required=False, default=0) or 0,
            xid_errors=f.int("xid_errors", lo=0, hi=BIGINT_MAX, required=False, default=0) or 0,
            health=f.str("health", required=False, default="ok", choices=HEALTH_STATES) or "ok",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"uuid": self.uuid, "index": self.index, "utilization_pct": self.utilization_pct,
                "memory_used_mib": self.memory_used_mib, "memory_total_mib": self.memory_total_mib,
                "temperature_c": self.temperature_c, "power_w": self.power_w, "energy_mj": self.energy_mj,
                "ecc_errors": self.ecc_errors, "xid_errors": self.xid_errors, "health": self.health}


@dataclass
class AssignmentUsage:
    """What a running assignment itself uses: utilization in % of one card (up to 8 cards) and memory."""

    utilization_pct: float
    memory_used_mib: int

    def to_dict(self) -> dict[str, Any]:
        return {"utilization_pct": self.utilization_pct, "memory_used_mib": self.memory_used_mib}


@dataclass
class AssignmentReport:
    """The state of one assignment as the agent reports it (the runtimes keep and update these)."""

    id: str
    state: str
    exit_code: int | None = None
    log_tail: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    connection: dict[str, str] = field(default_factory=dict)
    usage: AssignmentUsage | None = None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def from_dict(cls, data: Any, path: str, errors: dict[str, list[str]]) -> AssignmentReport:
        f = _Fields(data, path, errors)
        usage = None
        if f.data.get("usage") is not None:
            u = _Fields(f.data["usage"], f.key("usage"), errors)
            usage = AssignmentUsage(utilization_pct=u.float("utilization_pct", lo=0, hi=800) or 0.0,
                                    memory_used_mib=u.int("memory_used_mib", lo=0, hi=INT_MAX) or 0)
        return cls(
            id=f.uuid("id") or "", state=f.str("state", choices=REPORTED_STATES) or "",
            exit_code=f.int("exit_code", lo=-INT_MAX - 1, hi=INT_MAX, required=False),
            log_tail=f.str("log_tail", required=False, default="") or "",
            started_at=f.time("started_at", required=False), finished_at=f.time("finished_at", required=False),
            connection=f.str_dict("connection", max_entries=MAX_CONNECTION_ENTRIES, max_value=2048), usage=usage,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "state": self.state, "exit_code": self.exit_code, "log_tail": self.log_tail,
            "started_at": isoformat(self.started_at), "finished_at": isoformat(self.finished_at),
            "connection": dict(self.connection),
            **({"usage": self.usage.to_dict() if isinstance(self.usage, AssignmentUsage) else dict(self.usage)}
               if self.usage is not None else {}),
        }


@dataclass(frozen=True)
class HeartbeatReport:
    node_id: str
    seq: int
    collected_at: datetime
    devices: tuple[DeviceSample, ...] = ()
    assignments: tuple[AssignmentReport, ...] = ()
    replayed: bool = False

    @classmethod
    def from_dict(cls, data: Any, *, now: datetime | None = None,
                  clock_window: timedelta | None = None) -> HeartbeatReport:
        """Validate a report. With ``now`` and ``clock_window``, ``collected_at`` must lie that close to
        ``now`` (the server's clock)."""
        errors: dict[str, list[str]] = {}
        f = _Fields(data, "", errors)
        collected_at = f.time("collected_at")
        if (collected_at is not None and now is not None and clock_window is not None
                and abs(collected_at - now) > clock_window):
            f.error("collected_at", f"Must be within {clock_window} of the server's clock (check the host's time).")
        report = cls(
            node_id=f.uuid("node_id") or "", seq=f.int("seq", lo=1, hi=BIGINT_MAX) or 0,
            collected_at=collected_at or datetime.min.replace(tzinfo=UTC),
            replayed=f.bool("replayed", default=False),
            devices=tuple(DeviceSample.from_dict(item, f"devices.{i}", errors)
                          for i, item in enumerate(f.list("devices", max_length=MAX_DEVICES))),
            assignments=tuple(AssignmentReport.from_dict(item, f"assignments.{i}", errors) for i, item in
                              enumerate(f.list("assignments", max_length=MAX_ASSIGNMENTS, required=False))),
        )
        _raise(errors)
        return report

    def to_dict(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "seq": self.seq, "collected_at": isoformat(self.collected_at),
                "replayed": self.replayed, "devices": [device.to_dict() for device in self.devices],
                "assignments": [assignment.to_dict() for assignment in self.assignments]}


# --- the reply (server → agent) --------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    id: str
    action: str  # start | stop
    spec: AssignmentSpec | None = None  # for start

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "action": self.action}
        if self.action == "start":
            item["spec"] = (self.spec or AssignmentSpec()).to_dict()
        return item


@dataclass(frozen=True)
class HeartbeatReply:
    ack_seq: int
    duplicate: bool = False
    heartbeat_interval_s: float | None = None
    ack_final: tuple[str, ...] = ()
    assignments: tuple[WorkItem, ...] = ()
    malformed: tuple[str, ...] = ()  # work items that could not be read (the agent logs and skips them)

    @classmethod
    def from_dict(cls, data: Any) -> HeartbeatReply:
        errors: dict[str, list[str]] = {}
        f = _Fields(data, "", errors)
        ack_seq = f.int("ack_seq", lo=0, hi=BIGINT_MAX, required=False, default=0) or 0
        interval = f.float("heartbeat_interval_s", lo=0, hi=10**9, required=False)
        ack_final = [str(item) for item in f.list("ack_final", max_length=10**6, required=False)]
        work, malformed = [], []
        for i, raw in enumerate(f.list("assignments", max_length=10**6, required=False)):
            item_errors: dict[str, list[str]] = {}
            item = _Fields(raw, f"assignments.{i}", item_errors)
            assignment_id = item.str("id", max_length=64)
            action = item.str("action", choices=ACTIONS)
            spec = None
            if action == "start" and not item_errors:
                try:
                    spec = AssignmentSpec.from_dict(item.data.get("spec") or {})
                except ProtocolError as error:
                    item_errors.update({f"assignments.{i}.spec.{k}": v for k, v in error.errors.items()})
            if item_errors:
                malformed.append(f"{raw!r:.200}: {ProtocolError(item_errors)}")
                continue
            work.append(WorkItem(id=assignment_id or "", action=action or "", spec=spec))
        _raise(errors)
        return cls(ack_seq=ack_seq, duplicate=f.bool("duplicate", default=False), heartbeat_interval_s=interval,
                   ack_final=tuple(ack_final), assignments=tuple(work), malformed=tuple(malformed))

    def to_dict(self) -> dict[str, Any]:
        return {"ack_seq": self.ack_seq, "duplicate": self.duplicate,
                "heartbeat_interval_s": self.heartbeat_interval_s, "ack_final": list(self.ack_final),
                "assignments": [item.to_dict() for item in self.assignments]}
