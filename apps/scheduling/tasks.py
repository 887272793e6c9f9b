from celery import shared_task

from apps.booking.services import reservations_end

from . import services


@shared_task(name="scheduling.place_pending", acks_late=True)
def place_pending(region_code: str) -> dict:
    return services.place_pending(region_code=region_code)


@shared_task(name="scheduling.sweep", acks_late=True)
def sweep() -> list[str]:
    """Beat: stop reservations whose window ended, then retry every region with work to place (capacity
    may have freed up, a reservation's window may have opened)."""
    reservations_end()
    regions = services.regions_with_pending()
    for region_code in regions:
        place_pending.delay(region_code)
    return regions


@shared_task(name="scheduling.stop_workload", acks_late=True)
def stop_workload(workload_id: str) -> int:
    from apps.booking.models import Workload

    workload = Workload.objects.filter(pk=workload_id).first()
    return services.workload_stop_assignments(workload=workload) if workload else 0
