"""What the agent channel tells the rest of the platform. Telemetry knows nothing about workloads; the
apps that do (scheduling, billing) subscribe here. (What agents report about their assignments goes out
as scheduling's assignment_state_changed: scheduling owns dispatched work.)"""

from django.dispatch import Signal

# sender=Node; kwargs: node. Sent inside the transaction that marked the node unreachable.
node_unreachable = Signal()
