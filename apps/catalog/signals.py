"""What the catalog tells the apps above it. The catalog knows nodes, not the work on them or the agents'
credentials; the apps that own those subscribe here, so imports keep pointing down."""

from django.dispatch import Signal

# sender=Node; kwargs: node, action ("drain" or "decommission"). Sent inside the transaction that changes
# the node's state, before it is saved: receivers stop the work on it and forget cached credentials.
node_retiring = Signal()
