import json

from django.core.management.base import BaseCommand

from apps.portal.demo import demo_fleet_tokens


class Command(BaseCommand):
    help = "Create the demo provider's clusters and print fresh enrollment tokens for the simulated fleet (JSON)."

    def handle(self, *args, **options):
        groups = demo_fleet_tokens()
        self.stdout.write(json.dumps([group.__dict__ for group in groups]))
