"""What the agent channel tells the rest of the platform. Telemetry knows nothing about workloads; the
apps that do (scheduling) subscribe here, so the dependency keeps pointing one way."""

from django.dispatch import Signal

# sender=Assignment; kwargs: assignment, previous_state. Sent inside the transaction that saved it.
assignment_state_changed = Signal()

# sender=Node; kwargs: node. Sent inside the transaction that marked the node unreachable.
node_unreachable = Signal()
