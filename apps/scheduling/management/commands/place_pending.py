import json

from django.core.management.base import BaseCommand

from apps.scheduling.services import place_pending


class Command(BaseCommand):
    help = "Place the pending workloads of a region now (what the Celery task does)."

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True)
        parser.add_argument("--policy", default=None)
        parser.add_argument("--no-lock", action="store_true", help="skip the region lock (tests of the DB guards)")

    def handle(self, *args, region, policy, no_lock, **options):
        kwargs = {"policy": policy} if policy else {}
        self.stdout.write(json.dumps(place_pending(region_code=region, lock=not no_lock, **kwargs)))
