from celery import shared_task

from .services import invitations_expire_overdue


@shared_task(name="tenancy.invitations_expire", acks_late=True)
def invitations_expire() -> int:
    return invitations_expire_overdue()
