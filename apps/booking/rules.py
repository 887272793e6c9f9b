"""What the billing mode decides about a booking: the priority band it is queued in and whether it may
be preempted. ``services.workload_submit`` applies it to every booking (portal form, API, admin), so no
request picks its own band: spot is always the lowest band and preemptible, on-demand and reserved
work is never preemptible, and a customer's priority only orders work inside its band.

Kept free of the models (plain mode values) so the model's CHECK constraint can be built from the
same table.
"""

from __future__ import annotations

from dataclasses import dataclass

# The customer's own priority (API ``priority``): 0 … CUSTOMER_PRIORITY_MAX, an order inside the band.
CUSTOMER_PRIORITY_MAX = 100


@dataclass(frozen=True)
class Band:
    base: int  # stored priority = base + customer priority
    preemptible: bool

    @property
    def top(self) -> int:
        return self.base + CUSTOMER_PRIORITY_MAX


# Placement takes higher stored priorities first: a reservation's paid-for window, then on-demand work,
# then spot. The bands do not overlap, whatever the customer asks inside them.
PRIORITY_BANDS: dict[str, Band] = {
    "reserved": Band(base=1000, preemptible=False),
    "on_demand": Band(base=0, preemptible=False),
    "spot": Band(base=-1000, preemptible=True),
}


def booking_band(*, billing_mode: str, customer_priority: int | None = 0) -> tuple[int, bool]:
    """(stored priority, preemptible) of a booking: the mode's band, the customer's priority clamped into it."""
    band = PRIORITY_BANDS[billing_mode]
    within = min(max(int(customer_priority or 0), 0), CUSTOMER_PRIORITY_MAX)
    return band.base + within, band.preemptible


def customer_priority(*, billing_mode: str, priority: int) -> int:
    """The customer's order inside the band, back from a stored priority."""
    band = PRIORITY_BANDS.get(billing_mode)
    return min(max(priority - band.base, 0), CUSTOMER_PRIORITY_MAX) if band else 0
