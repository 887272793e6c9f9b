"""The state observer: spans extended while a state holds, a new span where it changes, gaps stay open."""

from datetime import timedelta

from apps.catalog.models import Device, Node
from apps.oversight.models import DeviceStateSpan
from apps.oversight.rollups import device_states_observe
from tests.oversight.fleet import at, build_fleet


def _spans(device):
    return list(DeviceStateSpan.objects.filter(device=device).order_by("started_at")
                .values_list("state", "started_at", "ended_at"))


def test_observer_records_what_the_server_saw(db):
    fleet = build_fleet(with_history=False)
    device = fleet.devices["sh-1/0"]
    node = fleet.nodes["sh-1"]
    t0 = at(3, 8)
    device_states_observe(now=t0)
    device_states_observe(now=t0 + timedelta(minutes=1))
    assert _spans(device) == [("in_service", t0, t0 + timedelta(minutes=1))]

    Node.objects.filter(pk=node.pk).update(state=Node.State.CORDONED)
    device_states_observe(now=t0 + timedelta(minutes=2))
    Node.objects.filter(pk=node.pk).update(liveness=Node.Liveness.UNREACHABLE)
    device_states_observe(now=t0 + timedelta(minutes=3))
    Node.objects.filter(pk=node.pk).update(liveness=Node.Liveness.ONLINE, state=Node.State.ACTIVE)
    Device.objects.filter(pk=device.pk).update(health=Device.Health.QUARANTINED)
    device_states_observe(now=t0 + timedelta(minutes=4))
    Device.objects.filter(pk=device.pk).update(health=Device.Health.OK)
    # the observer was down for an hour: that hour stays unobserved (not registered)
    device_states_observe(now=t0 + timedelta(hours=1, minutes=4))
    device_states_observe(now=t0 + timedelta(hours=1, minutes=5))
    minute = timedelta(minutes=1)
    assert _spans(device) == [
        ("in_service", t0, t0 + minute),
        ("maintenance", t0 + minute, t0 + 2 * minute),
        ("unreachable", t0 + 2 * minute, t0 + 3 * minute),
        ("quarantine", t0 + 3 * minute, t0 + 4 * minute),
        ("in_service", t0 + timedelta(hours=1, minutes=4), t0 + timedelta(hours=1, minutes=5)),
    ]
    # a decommissioned node's devices are no longer registered
    Node.objects.filter(pk=node.pk).update(state=Node.State.DECOMMISSIONED)
    device_states_observe(now=t0 + timedelta(hours=1, minutes=6))
    assert _spans(device)[-1][2] == t0 + timedelta(hours=1, minutes=5)
