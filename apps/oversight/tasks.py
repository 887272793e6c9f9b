from celery import shared_task

from . import rollups, services


@shared_task(name="oversight.device_states_observe", acks_late=True)
def device_states_observe() -> dict:
    return rollups.device_states_observe()


@shared_task(name="oversight.recent_days_rollup", acks_late=True)
def recent_days_rollup() -> dict:
    return rollups.recent_days_rollup()


@shared_task(name="oversight.day_rollup", acks_late=True)
def day_rollup(day: str) -> int:
    from datetime import date

    return rollups.day_rollup(day=date.fromisoformat(day))


@shared_task(name="oversight.targets_check", acks_late=True)
def targets_check() -> int:
    return services.targets_check()
