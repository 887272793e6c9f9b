"""Staff actions in the Django admin go to the audit trail too (the platform operator is audited)."""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models.signals import post_save
from django.dispatch import receiver

from .services import audit_record

_FLAGS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_log_entry")
def audit_admin_action(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    if not created:
        return
    audit_record(
        actor=instance.user,
        action=f"admin.{_FLAGS.get(instance.action_flag, 'action')}",
        details={"model": instance.content_type.model if instance.content_type else "",
                 "object_id": instance.object_id or "", "object": instance.object_repr,
                 "change": instance.get_change_message()},
    )
