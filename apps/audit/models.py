from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One entry of the append-only, hash-chained audit log.

    ``hash`` = SHA-256(prev_hash + canonical JSON of the event's fields), so editing any field, deleting
    an event or reordering them breaks the chain from that point on. A database trigger also rejects
    UPDATE and DELETE, so tampering needs a superuser who disables it first — and is then detected by
    ``manage.py audit_verify``.
    """

    seq = models.BigIntegerField(_("sequence"), unique=True, editable=False)
    occurred_at = models.DateTimeField(_("time"), editable=False, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False,  # deleting a user must not rewrite history: the id stays, the label says who
    )
    actor_label = models.CharField(_("actor"), max_length=300, editable=False)
    organization = models.ForeignKey(
        "tenancy.Organization", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False,
    )
    action = models.CharField(_("action"), max_length=100, editable=False, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True, editable=False)
    object_id = models.CharField(_("object id"), max_length=100, blank=True, editable=False)
    details = models.JSONField(_("details"), default=dict, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["organization", "-seq"], name="audit_org_seq_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"
