"""The hash chain: how an event's fingerprint is computed, and how the whole log is checked."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_payload(*, seq: int, occurred_at: datetime, actor_id: Any, actor_label: str, organization_id: Any,
                      action: str, object_type: str, object_id: str, details: dict) -> str:
    body = {
        "seq": seq,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": str(actor_id) if actor_id is not None else None,
        "actor_label": actor_label,
        "organization_id": str(organization_id) if organization_id is not None else None,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        return f"audit chain broken at event #{self.seq} (id {self.event_id}): {self.reason}"
