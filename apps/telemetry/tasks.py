from celery import shared_task

from . import liveness
from .rollups import telemetry_prune, telemetry_rollup


@shared_task(name="telemetry.nodes_mark_unreachable", acks_late=True)
def nodes_mark_unreachable() -> int:
    return liveness.nodes_mark_unreachable()


@shared_task(name="telemetry.rollup", acks_late=True)
def rollup() -> dict:
    return telemetry_rollup()


@shared_task(name="telemetry.prune", acks_late=True)
def prune() -> dict:
    return telemetry_prune()
