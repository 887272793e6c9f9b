from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from .chain import GENESIS_HASH, ChainBreak, canonical_payload, chain_hash
from .models import AuditEvent


def audit_events_for_organization(*, organization) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(organization=organization).order_by("-seq")


def audit_chain_verify(*, batch_size: int = 2000) -> ChainBreak | None:
    """Walk the whole chain in order; return the first broken event, or None when intact.

    Detects an edited event (its hash no longer matches its content), a deleted one (a gap in the
    sequence, or the next event's prev_hash pointing at a hash that is gone) and a reordering.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for event in _iter_events(batch_size):
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, None, f"event #{expected_seq} is missing (next present is #{event.seq})")
        if event.prev_hash != prev_hash:
            return ChainBreak(event.seq, event.id, "its link to the previous event does not match")
        payload = canonical_payload(
            seq=event.seq, occurred_at=event.occurred_at, actor_id=event.actor_id, actor_label=event.actor_label,
            organization_id=event.organization_id, action=event.action, object_type=event.object_type,
            object_id=event.object_id, details=event.details,
        )
        if chain_hash(prev_hash, payload) != event.hash:
            return ChainBreak(event.seq, event.id, "its content was changed after it was written")
        prev_hash = event.hash
        expected_seq += 1
    return None


def _iter_events(batch_size: int) -> Iterator[AuditEvent]:
    after = 0
    while True:
        batch = list(AuditEvent.objects.filter(seq__gt=after).order_by("seq")[:batch_size])
        if not batch:
            return
        yield from batch
        after = batch[-1].seq


def audit_chain_head() -> dict:
    """The newest event's sequence number and hash (what an export cites as "the chain at this time")."""
    head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    return {"seq": head["seq"], "hash": head["hash"]} if head else {"seq": 0, "hash": GENESIS_HASH}
