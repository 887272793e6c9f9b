"""The rollup, observer and target check run as Celery tasks in a real worker process."""

from datetime import date

import pytest

from apps.oversight.models import DeviceDay, DeviceStateSpan, KpiTarget
from tests.core.test_celery import celery_worker_process  # noqa: F401 — a real Celery worker process
from tests.oversight.fleet import build_fleet, expected_month
from tidegrid.celery import app


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_rolls_up_a_day_observes_states_and_checks_targets(celery_worker_process, settings):  # noqa: F811
    from tests.oversight.fleet import SAMPLE_MAX_GAP_S, at

    settings.TIDEGRID_OVERSIGHT_SAMPLE_MAX_GAP_S = SAMPLE_MAX_GAP_S  # the worker has the default; spans only here
    fleet = build_fleet(with_history=False)
    device = fleet.devices["sh-1/0"]
    DeviceStateSpan.objects.create(device=device, state="in_service", started_at=at(12, 0), ended_at=at(12, 18))
    DeviceStateSpan.objects.create(device=device, state="maintenance", started_at=at(12, 18), ended_at=at(13, 0))
    assert app.send_task("oversight.day_rollup", args=["2026-11-12"]).get(timeout=120) == 1
    row = DeviceDay.objects.get(device=device, day=date(2026, 11, 12))
    expected = expected_month(fleet, start=at(12), end=at(13))["sh-1/0"]["state_s"]
    assert (row.in_service_s, row.maintenance_s, row.registered_s) == (expected["in_service"],
                                                                       expected["maintenance"], 86400)
    opened = app.send_task("oversight.device_states_observe").get(timeout=120)
    assert opened["opened"] == len(fleet.devices)
    KpiTarget.objects.create(organization=fleet.government, kpi="utilization", green_at=0.5, amber_at=0.4)
    assert app.send_task("oversight.targets_check").get(timeout=120) == 0  # nothing measured this month
