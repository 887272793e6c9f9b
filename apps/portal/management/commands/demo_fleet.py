import json
from pathlib import Path

from django.core.management.base import BaseCommand

from apps.portal.demo import demo_fleet_tokens


class Command(BaseCommand):
    help = ("Create the demo provider's clusters, keep one enrollment token per group of simulated nodes in "
            "--token-dir (reused while valid) and print the groups as JSON (token file paths, never tokens).")

    def add_arguments(self, parser):
        parser.add_argument("--token-dir", required=True, type=Path, help="folder for the token files (mode 0600)")

    def handle(self, *args, token_dir: Path, **options):
        groups = demo_fleet_tokens(token_dir=token_dir)
        self.stdout.write(json.dumps([group.__dict__ for group in groups]))
