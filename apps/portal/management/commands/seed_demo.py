from django.core.management.base import BaseCommand

from apps.portal.demo import DEMO_PASSWORD, demo_world_load


class Command(BaseCommand):
    help = "Load the demo world (one organization and login per persona). Safe to run again."

    def handle(self, *args, **options):
        for login in demo_world_load():
            where = f" — {login.organization}" if login.organization else ""
            self.stdout.write(f"{login.persona:>15}: {login.email} / {DEMO_PASSWORD}{where}")
