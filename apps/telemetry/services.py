"""Telemetry's service API, one import for callers. The work is split by concern:
enrollment (bootstrap tokens, node enrollment, device UUID conflicts), credentials (agent authentication),
heartbeats (ingestion and the reply) and liveness (unreachable nodes)."""

from .credentials import CREDENTIAL_PREFIX, credential_authenticate, credential_cache_forget, node_credentials_revoke
from .enrollment import (
    BOOTSTRAP_PREFIX,
    DeviceUuidTaken,
    EnrollmentRefused,
    bootstrap_token_create,
    bootstrap_token_revoke,
    bootstrap_token_usable,
    device_uuid_conflict_resolve,
    node_enroll,
)
from .heartbeats import heartbeat_ingest, heartbeat_interval_s
from .liveness import nodes_mark_unreachable

__all__ = [
    "BOOTSTRAP_PREFIX", "CREDENTIAL_PREFIX", "DeviceUuidTaken", "EnrollmentRefused",
    "bootstrap_token_create", "bootstrap_token_revoke", "bootstrap_token_usable",
    "credential_authenticate", "credential_cache_forget", "device_uuid_conflict_resolve",
    "heartbeat_ingest", "heartbeat_interval_s", "node_credentials_revoke", "node_enroll",
    "nodes_mark_unreachable",
]
