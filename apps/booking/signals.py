"""What booking tells the apps above it, without importing them.

``workload_admission`` is sent inside the transaction that books a workload (``stage="submit"``: a new
booking or a restart, with the organization's submits serialized by its quota row) and inside the
placement transaction just before its capacity is taken (``stage="start"``). A receiver refuses by
raising ``ValidationError`` with field errors; the booking is then refused with them, and a start
leaves the workload pending with the message as its reason. Billing's funds check is one receiver.
"""

from django.dispatch import Signal

SUBMIT = "submit"
START = "start"

workload_admission = Signal()  # kwargs: workload (unsaved on a first submit), stage
