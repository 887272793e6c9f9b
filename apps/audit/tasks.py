import logging

from celery import shared_task

from .selectors import audit_chain_verify

logger = logging.getLogger(__name__)


@shared_task(name="audit.chain_verify", acks_late=True)
def chain_verify() -> str:
    """Hourly: an operator learns of tampering from the logs/alerts, not only when someone looks."""
    broken = audit_chain_verify()
    if broken is not None:
        logger.error("AUDIT TAMPERING DETECTED: %s", broken)
        return str(broken)
    return "intact"
