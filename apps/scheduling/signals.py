"""What happens to dispatched work. Sent by scheduling itself (a stop of work that never started) and by
telemetry's heartbeat ingestion (what the agent reports); billing meters on it, scheduling's receivers
keep workloads in step."""

from django.dispatch import Signal

# sender=Assignment; kwargs: assignment, previous_state. Sent inside the transaction that saved it.
assignment_state_changed = Signal()
