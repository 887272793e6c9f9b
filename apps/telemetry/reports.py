"""The heartbeat report, validated with pydantic: it is the hottest request of the platform (every node,
every few seconds) and pydantic's compiled validators cost a fraction of DRF serializers'."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

NonNegative = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=8192)


class DeviceSampleIn(_Strict):
    uuid: Annotated[str, Field(min_length=1, max_length=100)]
    index: Annotated[int, Field(ge=0, le=255)] | None = None
    utilization_pct: Annotated[float, Field(ge=0, le=100)]
    memory_used_mib: NonNegative
    memory_total_mib: NonNegative | None = None
    temperature_c: Annotated[float, Field(ge=-50, le=200)] | None = None
    power_w: Annotated[float, Field(ge=0, le=10_000)] | None = None
    energy_mj: NonNegative | None = None
    ecc_errors: NonNegative = 0
    xid_errors: NonNegative = 0
    health: Literal["ok", "degraded", "failed"] = "ok"


class AssignmentUsageIn(_Strict):
    utilization_pct: Annotated[float, Field(ge=0, le=800)]  # % of one card; up to 8 whole cards
    memory_used_mib: NonNegative


class AssignmentStatusIn(_Strict):
    id: UUID
    state: Literal["starting", "running", "succeeded", "failed", "stopped"]
    exit_code: int | None = None
    log_tail: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    connection: dict[str, str] = Field(default_factory=dict)
    usage: AssignmentUsageIn | None = None


class HeartbeatIn(_Strict):
    node_id: UUID
    seq: Annotated[int, Field(ge=1, le=2**62)]
    collected_at: datetime
    replayed: bool = False
    devices: Annotated[list[DeviceSampleIn], Field(max_length=64)]
    assignments: Annotated[list[AssignmentStatusIn], Field(max_length=1000)] = Field(default_factory=list)


def heartbeat_parse(body: bytes) -> tuple[HeartbeatIn | None, dict[str, list[str]]]:
    """The report parsed from the raw JSON body, or the field errors in the API's format
    (``devices.1.utilization_pct``; ``body`` when it is not JSON at all)."""
    try:
        return HeartbeatIn.model_validate_json(body), {}
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for error in exc.errors(include_url=False):
            if error["type"] == "json_invalid":
                fields.setdefault("body", []).append("The body is not valid JSON.")
                continue
            key = ".".join(str(part) for part in error["loc"]) or "non_field_errors"
            fields.setdefault(key, []).append(error["msg"])
        return None, fields
