from django.core.management.base import BaseCommand

from apps.catalog.reference import reference_data_sync


class Command(BaseCommand):
    help = "Load or refresh accelerator models, region facts and latencies from apps/catalog/data."

    def handle(self, *args, **options):
        counts = reference_data_sync()
        self.stdout.write(self.style.SUCCESS(
            f"{counts['accelerators']} accelerator models, {counts['regions']} regions, "
            f"{counts['latencies']} region pairs"))
