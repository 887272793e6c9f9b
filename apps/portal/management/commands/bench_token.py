import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.catalog.models import Region
from apps.catalog.services import cluster_create
from apps.portal.demo import demo_world_load
from apps.telemetry.services import bootstrap_token_create
from apps.tenancy.access import Actor
from apps.tenancy.models import Organization


class Command(BaseCommand):
    help = "Benchmarks: a fresh cluster of the demo provider and a fleet enrollment token for it (printed)."

    def add_arguments(self, parser):
        parser.add_argument("--nodes", type=int, required=True, help="how many nodes the token may enroll")
        parser.add_argument("--region", default="cn-shanghai")

    def handle(self, *args, nodes, region, **options):
        demo_world_load()
        actor = Actor(user=get_user_model().objects.get(email="provider@demo.tidegrid.cn"))
        provider = Organization.objects.get(kind=Organization.Kind.PROVIDER, name="East China Compute Hub")
        cluster = cluster_create(actor=actor, organization=provider, name=f"bench-{uuid.uuid4().hex[:6]}",
                                 region=Region.objects.get(code=region), kind="bare_metal")
        _token, plaintext = bootstrap_token_create(actor=actor, cluster=cluster, max_uses=nodes)
        self.stdout.write(plaintext)
