"""The heartbeat report, validated with pydantic: it is the hottest request of the platform (every node,
every few seconds) and pydantic's compiled validators cost a fraction of DRF serializers'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from django.conf import settings
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

# Every integer within its database column: INTEGER (2^31 - 1) or BIGINT (2^63 - 1).
INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1
NonNegative = Annotated[int, Field(ge=0, le=INT_MAX)]
NonNegativeBig = Annotated[int, Field(ge=0, le=BIGINT_MAX)]


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
    energy_mj: NonNegativeBig | None = None
    ecc_errors: NonNegativeBig = 0
    xid_errors: NonNegativeBig = 0
    health: Literal["ok", "degraded", "failed"] = "ok"


class AssignmentUsageIn(_Strict):
    utilization_pct: Annotated[float, Field(ge=0, le=800)]  # % of one card; up to 8 whole cards
    memory_used_mib: NonNegative


class AssignmentStatusIn(_Strict):
    id: UUID
    state: Literal["starting", "running", "succeeded", "failed", "stopped"]
    exit_code: Annotated[int, Field(ge=-INT_MAX - 1, le=INT_MAX)] | None = None
    log_tail: str = ""
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    connection: Annotated[dict[str, str], Field(max_length=16)] = Field(default_factory=dict)
    usage: AssignmentUsageIn | None = None


class HeartbeatIn(_Strict):
    node_id: UUID
    seq: Annotated[int, Field(ge=1, le=BIGINT_MAX)]
    collected_at: AwareDatetime
    replayed: bool = False
    devices: Annotated[list[DeviceSampleIn], Field(max_length=64)]
    assignments: Annotated[list[AssignmentStatusIn], Field(max_length=1000)] = Field(default_factory=list)

    @field_validator("collected_at")
    @classmethod
    def _near_now(cls, value: datetime) -> datetime:
        window = timedelta(seconds=settings.TIDEGRID_AGENT_CLOCK_WINDOW_S)
        if abs(value - datetime.now(UTC)) > window:
            raise ValueError(f"must be within {window} of the server's clock (check the host's time)")
        return value


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
