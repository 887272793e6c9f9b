from django.core.management.base import BaseCommand, CommandError

from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exit non-zero naming the first edited or deleted event."

    def handle(self, *args, **options):
        broken = audit_chain_verify()
        if broken is not None:
            raise CommandError(str(broken))
        count = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {count} events verified"))
