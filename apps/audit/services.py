"""The single entry point every app uses to write to the audit trail."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from .chain import GENESIS_HASH, canonical_payload, chain_hash
from .models import AuditEvent

# Serializes appends across all processes: the chain needs a strict order. Held only for the
# transaction of one insert, so it is cheap; audit writes are rare next to telemetry.
_AUDIT_LOCK_KEY = 0x7A_0D_17


def _actor_parts(actor: Any) -> tuple[Any, str]:
    if actor is None:
        return None, "system"
    user = getattr(actor, "user", actor)  # an Actor (user + maybe API key) or a plain user
    label = getattr(actor, "label", None) or getattr(user, "email", None) or str(user)
    user_id = getattr(user, "pk", None)
    return user_id, label


def _normalized(details: dict | None) -> dict:
    # Round-trip through JSON so the hash is computed over exactly what jsonb will give back.
    return json.loads(json.dumps(details or {}, default=str, ensure_ascii=False))


@transaction.atomic
def audit_record(*, actor: Any, action: str, organization: Any = None, target: Model | None = None,
                 details: dict | None = None) -> AuditEvent:
    """Append one event. Runs inside the caller's transaction, so a rolled-back change leaves no event."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
    last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    seq = (last["seq"] + 1) if last else 1
    prev_hash = last["hash"] if last else GENESIS_HASH
    actor_id, actor_label = _actor_parts(actor)
    organization_id = getattr(organization, "pk", organization)
    object_type = target._meta.label_lower if target is not None else ""
    object_id = str(target.pk) if target is not None else ""
    payload_details = _normalized(details)
    occurred_at = timezone.now()
    payload = canonical_payload(
        seq=seq, occurred_at=occurred_at, actor_id=actor_id, actor_label=actor_label,
        organization_id=organization_id, action=action, object_type=object_type, object_id=object_id,
        details=payload_details,
    )
    return AuditEvent.objects.create(
        seq=seq, occurred_at=occurred_at, actor_id=actor_id, actor_label=actor_label,
        organization_id=organization_id, action=action, object_type=object_type, object_id=object_id,
        details=payload_details, prev_hash=prev_hash, hash=chain_hash(prev_hash, payload),
    )
