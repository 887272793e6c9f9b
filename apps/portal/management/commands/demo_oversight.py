from django.core.management.base import BaseCommand

from apps.portal.demo import demo_oversight_history


class Command(BaseCommand):
    help = "A month of observed history for the demo government's oversight dashboard. Safe to run again."

    def handle(self, *args, **options):
        created = demo_oversight_history()
        self.stdout.write("oversight history created" if created else "oversight history already there")
