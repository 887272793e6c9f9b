"""Node credentials: authenticating an agent (with a short cache), forgetting and revoking them."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.catalog.models import Node
from apps.catalog.services import require_fleet_admin
from apps.tenancy.access import Actor

from .models import NodeCredential

CREDENTIAL_PREFIX = "tgn"


def secret_hash(value: str) -> str:
    """Tokens and credentials are stored as their SHA-256, never in clear."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# An authenticated credential is remembered this long (s); revoking or retiring forgets it at once.
_CREDENTIAL_CACHE_S = 300


def _credential_cache_key(credential_hash: str) -> str:
    return f"nodecred:{credential_hash}"


def credential_authenticate(*, plaintext: str) -> Node | None:
    """The node a credential belongs to, or None when unknown, revoked or decommissioned.

    Every heartbeat authenticates, so the answer is cached in Redis; revocation, re-enrollment and
    decommissioning delete the cached entries (credential_cache_forget), so they take effect at once.
    """
    credential_hash = secret_hash(plaintext)
    key = _credential_cache_key(credential_hash)
    cached = cache.get(key)
    if cached is not None:
        return Node(**cached) if cached else None
    credential = (NodeCredential.objects.select_related("node")
                  .filter(credential_hash=credential_hash, revoked_at__isnull=True).first())
    node = credential.node if credential and credential.node.state != Node.State.DECOMMISSIONED else None
    cache.set(key, {"id": node.id, "organization_id": node.organization_id, "cluster_id": node.cluster_id,
                    "hostname": node.hostname, "state": node.state} if node else {}, _CREDENTIAL_CACHE_S)
    return node


def credential_cache_forget(*, node: Node) -> None:
    hashes = NodeCredential.objects.filter(node=node).values_list("credential_hash", flat=True)
    cache.delete_many([_credential_cache_key(h) for h in hashes])


@transaction.atomic
def node_credentials_revoke(*, actor: Actor, node: Node) -> int:
    require_fleet_admin(actor, node.organization_id)
    count = NodeCredential.objects.filter(node=node, revoked_at__isnull=True).update(revoked_at=timezone.now())
    credential_cache_forget(node=node)
    audit_record(actor=actor, action="node.credentials_revoked", organization=node.organization_id, target=node,
                 details={"hostname": node.hostname, "revoked": count})
    return count
