"""Telemetry's part when the catalog retires a node: its agent's cached credential must stop working at
once (the database check refuses it from now on; the cache must not outlive that)."""

from django.dispatch import receiver

from apps.catalog.models import Node
from apps.catalog.signals import node_retiring

from .credentials import credential_cache_forget


@receiver(node_retiring, dispatch_uid="telemetry_forget_retiring_node_credentials")
def _forget_credentials(sender, node: Node, **kwargs) -> None:
    credential_cache_forget(node=node)
